"""A ``Batch``: the results of ``map`` in input order (a ``Turn``, or the error in its place),
their totals, and ``to_pandas()``: one row per input, on the input frame's index."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..session.accounting import usd
from ..session.turn import Turn


class Batch(list):
    """A list of ``Turn`` (or ``ChatError`` with ``return_exceptions=True``), plus totals.

    ``answered``, ``failed``, ``replayed``: counts; ``tokens``; ``cost_usd``: what the answers
    cost when they were produced (replayed ones included, so the figure is the same on every
    run), ``spent_usd``: paid in this run, ``saved_usd``: not paid because replayed;
    ``unpriced``: answers whose cost is unknown (no price, no cost)."""

    def __init__(
        self,
        results: list[Any],
        index: list[Any] | None = None,
        hashes: list[str | None] | None = None,
        total: int | None = None,
    ) -> None:
        super().__init__(results)
        self.index = index
        self.hashes = list(hashes or [])[: len(results)]
        self.hashes += [None] * (len(results) - len(self.hashes))
        self.total = len(results) if total is None else total
        self.interrupted = self.total > len(results)  # the rest never finished

    @property
    def turns(self) -> list[Turn]:
        return [r for r in self if isinstance(r, Turn)]

    @property
    def draws(self) -> list[Turn]:
        """Every answered request: each item's samples (``samples=K``), else its Turn."""
        return [d for t in self.turns for d in (t.samples or [t])]

    @property
    def answered(self) -> int:
        return len(self.turns)

    @property
    def failed(self) -> int:
        return len(self) - self.answered

    @property
    def not_sent(self) -> int:
        """Rows a budget kept from being sent (``BudgetError`` in their place)."""
        from ..session.budget import BudgetError

        return sum(1 for r in self if isinstance(r, BudgetError))

    @property
    def replayed(self) -> int:
        return sum(1 for t in self.turns if all(d.record.get("replayed") for d in t.samples or [t]))

    @property
    def tokens(self) -> int:
        return sum(_tokens(t) for t in self.draws)

    def _usd(self, replayed: bool | None) -> float:
        return sum(
            _cost(t) or 0.0
            for t in self.draws
            if replayed is None or bool(t.record.get("replayed")) == replayed
        )

    @property
    def cost_usd(self) -> float:
        return self._usd(None)

    @property
    def spent_usd(self) -> float:
        return self._usd(False)

    @property
    def saved_usd(self) -> float:
        return self._usd(True)

    @property
    def unpriced(self) -> int:
        return sum(1 for t in self.draws if _cost(t) is None)

    def summary(self) -> str:
        """One line that is the same live and replayed (how many replayed is in ``replayed``
        and in the output's metadata, not here)."""
        items = f"{self.total} items" if not self.interrupted else f"{len(self)} of {self.total}"
        unsent = self.not_sent
        parts = [items, f"{self.answered} answered", f"{self.failed - unsent} failed"]
        if unsent:
            parts.append(f"{unsent} not sent (budget)")
        parts.append(f"{self.tokens:,} tokens")
        if self.answered and self.unpriced < self.answered:
            cost = usd(self.cost_usd)
            parts.append(cost + (f" ({self.unpriced} unpriced)" if self.unpriced else ""))
        head = "batch interrupted: " if self.interrupted else "batch: "
        return head + " · ".join(parts)

    def facts(self) -> dict[str, Any]:
        """How this run went (an output's metadata): what was replayed, spent and saved."""
        return {
            "items": self.total,
            "answered": self.answered,
            "failed": self.failed,
            "not_sent": self.not_sent,
            "replayed": self.replayed,
            "sent": self.answered - self.replayed,
            "tokens": self.tokens,
            "spent_usd": round(self.spent_usd, 12),
            "saved_usd": round(self.saved_usd, 12),
            "unpriced": self.unpriced,
            "interrupted": self.interrupted,
        }

    def __repr__(self) -> str:
        return f"<Batch: {self.summary().split(': ', 1)[1]}>"

    def to_pandas(self) -> Any:
        """One row per input (per sample with ``samples=K``, plus ``sample`` and ``filed``):
        ``answer``, ``error``, ``finish_reason``, ``total_tokens``,
        ``cost_usd``, ``replayed``, ``repaired``, ``request_hash``, ``seed``. With a schema,
        one column per top-level field of the parsed answer (``parsed`` when it is not an
        object) comes first, and the raw ``answer``, ``request_hash`` and ``seed`` last. On
        the input frame's index when the batch ran over one."""
        try:
            import pandas as pd
        except ImportError:
            raise ConfigError(
                "Batch.to_pandas() needs pandas", hint="pip install 'jupyter-chat[pandas]'"
            ) from None
        if any(isinstance(r, Turn) and r.samples for r in self):
            return self._samples_frame(pd)
        rows = [self._row(r, h) for r, h in zip(self, self.hashes)]
        frame = pd.DataFrame(rows, columns=_columns(rows))
        if self.index is not None:
            frame.index = pd.Index(self.index)
        return frame

    def _samples_frame(self, pd: Any) -> Any:
        """One row per sample (``samples=K``): its ``sample`` index and ``seed``, and
        ``filed`` for the one its thread filed; on the item's index label, repeated."""
        rows, labels = [], []
        items = self.index if self.index is not None else range(len(self))
        for label, r, h in zip(items, self, self.hashes):
            picked = (r.agreement or {}).get("picked") if isinstance(r, Turn) else None
            for i, s in enumerate(r.samples if isinstance(r, Turn) else [r]):
                row = self._row(s, h)
                row["sample"] = i if isinstance(r, Turn) else None
                row["filed"] = i == picked
                rows.append(row)
                labels.append(label)
        frame = pd.DataFrame(rows, columns=[*_columns(rows), "sample", "filed"])
        frame.index = pd.Index(labels)
        return frame

    def _row(self, result: Any, hash_: str | None) -> dict[str, Any]:
        if not isinstance(result, Turn):
            return {"error": str(result), "request_hash": hash_}
        rec = result.record
        row: dict[str, Any] = {
            "answer": result.text,
            "error": None,
            "finish_reason": result.finish_reason,
            "total_tokens": _tokens(result) if result.usage else None,
            "cost_usd": _cost(result),
            "replayed": bool(rec.get("replayed")),
            "repaired": "repaired" in rec,
            "request_hash": rec.get("request_hash"),
            "seed": (rec.get("params") or {}).get("seed"),
        }
        if "schema" in rec:
            value = _plain(result.parsed)
            if isinstance(value, dict):
                row.update({(f"parsed_{k}" if k in row else k): v for k, v in value.items()})
            else:
                row["parsed"] = value
        return row


FACTS = ["error", "finish_reason", "total_tokens", "cost_usd", "replayed", "repaired"]
BASE_COLUMNS = ["answer", *FACTS, "request_hash", "seed"]


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """The schema's fields first, then what happened, the raw answer, hash and seed last;
    without a schema the answer leads."""
    fields: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k not in BASE_COLUMNS and k not in ("sample", "filed"):
                fields[k] = None
    if not fields:
        return BASE_COLUMNS
    return [*fields, *FACTS, "answer", "request_hash", "seed"]


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value


def _tokens(turn: Turn) -> int:
    usage = turn.usage if isinstance(turn.usage, dict) else {}
    n = usage.get("total_tokens")
    return n if isinstance(n, int) else 0


def _cost(turn: Turn) -> float | None:
    cost = turn.record.get("cost")
    return cost.get("usd") if isinstance(cost, dict) else None
