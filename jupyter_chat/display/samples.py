"""A samples cell's output: while the samples run, one line saying how many have answered; then
the samples view (draws.py) as one output: ``text/markdown`` (one sanitized HTML block that
every frontend renders, each sample a ``<details>``), ``text/plain``, and
``application/vnd.jupyter-chat.samples+json`` for the JupyterLab extension, with each sample's
run record in the metadata (``jupyter_chat_samples``): what differs between a run and its
replay (times, the replay flag) stays out of the data, so strict nbval compares what was shown."""

from __future__ import annotations

from typing import Any

from .._text import plain
from ..session.accounting import usd
from ..session.agreement import letter
from ..session.prepare import Prepared, hash_images
from ..session.run import will_replay
from ..session.samples import SampleSet
from ..session.state import SESSION
from ..session.turn import Turn
from .bundle import markdown_bundle
from .draws import (
    common_html,
    common_plain,
    draw_html,
    draw_plain,
    fields_html,
    fields_plain,
    head_html,
    head_plain,
)
from .footer import safe_id
from .markup import Html, html_block, html_text, text
from .sanitize import MARKDOWN_LIMIT

SAMPLES_MIME = "application/vnd.jupyter-chat.samples+json"


def shown_messages(prep: Prepared) -> list[dict[str, Any]]:
    """The system prompt and this turn's messages, images as their hashes."""
    req = prep.request
    shown = [m for m in req.body["messages"] if m.get("role") == "system"][:1] + prep.new
    return [hash_images(m) for m in shown]


def _label(entry: dict[str, Any]) -> str:
    parts = [f"sample {entry['index']}"]
    if entry["seed"] is not None:
        parts.append(f"seed {entry['seed']}")
    if entry["error"] is not None:
        parts.append("failed")
    elif entry["group"] is not None:
        parts.append(f"answer {entry['group']}")
    if entry["filed"]:
        parts.append("filed")
    return " · ".join(parts)


def samples_view(done: SampleSet) -> dict[str, Any]:
    """What the view shows, as JSON data (the extension's MIME type)."""
    s = done.summary
    schema = done.preps[0].schema if done.preps else None
    filed = filed_sample(done)
    entries = []
    for i, (prep, r) in enumerate(zip(done.preps, done.results)):
        ok = isinstance(r, Turn)
        group = s["groups"][i]
        entry: dict[str, Any] = {
            "index": i,
            "seed": prep.request.body.get("seed"),
            "group": letter(group) if group is not None else None,
            "answer": r.text if ok else "",
            "reasoning": r.reasoning if ok else "",
            "tokens": ((r.usage or {}).get("total_tokens") if ok else None),
            "finish_reason": r.finish_reason if ok else None,
            "error": None if ok else str(r),
            "filed": i == filed,
        }
        if ok and schema is not None and not r.schema_errors:
            entry["parsed"] = schema.plain(r.parsed)
        entries.append(entry)
    return {
        "version": 1,
        "messages": shown_messages(done.preps[0]) if done.preps else [],
        "agreement": s,
        "schema": schema.name if schema is not None else None,
        "samples": entries,
        "footer": samples_footer(done, filed),
    }


def filed_sample(done: SampleSet) -> int | None:
    """The sample the thread files (``finish``): the picked one, when none failed."""
    base = done.preps[0] if done.preps else None
    if done.failed or base is None or base.thread is None:
        return None
    return done.summary["picked"]


def samples_footer(done: SampleSet, filed: int | None) -> str:
    """``local:gemma · 8 requests · seeds from 7 · 1,234 tokens · $0 · thread default: filed
    sample 2, the most common answer``."""
    turns = done.turns
    first = turns[0].record if turns else {}
    req = done.preps[0].request if done.preps else None
    model = first.get("served_model") or (req.body.get("model") if req else None)
    parts = [f"{safe_id(req.provider if req else '?')}:{safe_id(model)}"]
    parts.append(f"{len(done.preps)} request{'s' if len(done.preps) != 1 else ''}")
    seeds = done.summary["seeds"]
    parts.append(f"seeds from {seeds[0]}" if seeds and seeds[0] is not None else "unseeded")
    tokens = [(t.usage or {}).get("total_tokens") for t in turns]
    if tokens and all(isinstance(n, int) for n in tokens):
        parts.append(f"{sum(tokens):,} tokens")
    costs = [(t.record.get("cost") or {}).get("usd") for t in turns]
    if costs and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in costs):
        parts.append(usd(sum(costs)))
    thread = done.preps[0].thread if done.preps else None
    if filed is not None:
        why = done.summary["why"]
        parts.append(f"thread {safe_id(thread)}: filed sample {filed}, {why}")
    elif done.failed:
        parts.append(f"{len(done.failed)} failed: nothing filed")
    return " · ".join(parts)


def samples_bundle(done: SampleSet) -> tuple[dict[str, Any], dict[str, Any]]:
    """The output of a samples cell, and its metadata (each sample's run record)."""
    view = samples_view(done)
    s, entries = view["agreement"], view["samples"]
    schema = view["schema"]
    common = s["common"]
    parts: list[Html] = [head_html(s, "sample")]
    plain_parts = [head_plain(s, "sample")]
    if common is not None:
        top = entries[common["members"][0]]
        parsed = (schema, top["parsed"]) if schema is not None and "parsed" in top else None
        caption = f"Most common answer ({top['group']}, {common['count']} of {s['answered']})"
        parts.append(Html("<p><strong>{}</strong></p>").format(html_text(caption, True)))
        parts.append(common_html(top["answer"], MARKDOWN_LIMIT, parsed))
        plain_parts.append(common_plain(top["answer"], parsed))
    if s.get("fields"):
        parts.append(fields_html(s["fields"], s["answered"]))
        plain_parts.append(fields_plain(s["fields"], s["answered"]))
    draws = []
    for e in entries:
        parsed = (schema, e["parsed"]) if schema is not None and "parsed" in e else None
        label = _label(e)
        draws.append(
            draw_html(
                "sample",
                e["index"],
                label,
                e["answer"],
                MARKDOWN_LIMIT,
                e["reasoning"],
                parsed,
                e["error"],
            )
        )
        plain_parts.append(draw_plain(label, e["answer"], e["error"]))
    parts.append(
        Html('<div class="jupyter-chat-samples-list">{}</div>').format(Html("").join(draws))
    )
    parts.append(Html("<p><sub>{}</sub></p>").format(html_text(view["footer"], True)))
    md = html_block(Html('<div class="jupyter-chat-samples">{}</div>').format(Html("").join(parts)))
    plain_parts.append(f"[{view['footer']}]")
    data = markdown_bundle(md, plain("\n\n".join(p for p in plain_parts if p)))
    data[SAMPLES_MIME] = view
    records = [r.record if isinstance(r, Turn) else None for r in done.results]
    return data, {"jupyter_chat_samples": records}


class SamplesView:
    """A samples cell's display: a line counting the answers while they run (none when every
    sample replays: one display, the same under every runner), then the view."""

    def __init__(self, preps: list[Prepared], terminal: bool = False) -> None:
        self.k = len(preps)
        self.done = 0
        self._shown = -1
        self.handle: Any = None
        replayed = all(will_replay(p) for p in preps) and not SESSION.pace
        if not replayed and not terminal:
            from IPython.display import display

            self.handle = display(self._line(), raw=True, display_id=True)
            self._shown = 0

    def _line(self, state: str = "answered") -> dict[str, Any]:
        line = f"sampling: {self.done} of {self.k} {state}"
        return markdown_bundle(text(line), line)

    def count(self, index: int, result: Any) -> None:
        """A sample ended (called on the loop thread: only counts)."""
        self.done += 1

    def tick(self) -> None:
        """Show the count when it changed (on the cell's thread)."""
        if self.handle is not None and self.done != self._shown:
            self._shown = self.done
            self.handle.update(self._line(), raw=True)

    def interrupted(self) -> None:
        if self.handle is not None:
            self.handle.update(self._line("answered, then interrupted: nothing filed"), raw=True)

    def final(self, done: SampleSet) -> None:
        from IPython.display import display

        data, metadata = samples_bundle(done)
        if self.handle is not None:
            self.handle.update(data, metadata=metadata, raw=True)
        else:
            display(data, metadata=metadata, raw=True)
