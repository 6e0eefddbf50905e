"""``map(..., executor=client)``: the rows to send sharded to the workers of a Dask distributed
cluster. Each worker runs jupyter-chat's own batch on its shard, with the requests as the
notebook built them (models, parameters, seeds: identical hashes) and the keys handed over
explicitly (never shown, never logged); it records into its own store shard beside the store
(``NAME.chat.jsonl.shard-K``), merged into the store at the end by the code of ``jupyter-chat
store merge``. Results come back in input order; progress is counted per shard."""

from __future__ import annotations

import dataclasses
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..providers.config import CONFIG
from ..session.prepare import Prepared, request_hash
from ..session.state import SESSION
from .run import TICK, Progress, Results
from .shard import Keys, keys_of, portable, run_shard

STOP_WAIT = 10.0  # seconds an interrupt waits for the shards to stop (each within a report)
_MISSING = object()  # a row no shard finished (interrupted)


def shard_paths(store: Any) -> list[Path]:
    """The shards a run left beside ``store`` (an interrupted run's, merged before the next)."""
    found = store.path.parent.glob(store.path.name + ".shard-*")
    return sorted(p for p in found if not p.name.endswith((".lock", ".tmp")))


def merge_shards(store: Any) -> int:
    """Merge the shards beside ``store`` into it (``jupyter-chat store merge``), then remove
    them; how many there were."""
    from ..replay.tools import merge

    shards = shard_paths(store)
    if shards:
        merge(store.path, shards)
        for p in shards:
            p.unlink(missing_ok=True)
            p.with_name(p.name + ".lock").unlink(missing_ok=True)
        store.refresh()
    return len(shards)


class Sharded:
    """``map``'s results when an executor runs the rows to send: iterate once, in order."""

    def __init__(
        self,
        client: Any,
        preps: list[Any],
        live: list[Prepared],
        concurrency: int,
        counts: Progress,
        tick: Any,
    ) -> None:
        if not (hasattr(client, "submit") and hasattr(client, "scheduler_info")):
            raise ConfigError(
                f"executor= takes a Dask distributed Client, not {type(client).__name__}",
                hint="from distributed import Client; client = Client(...) (pip install "
                "'jupyter-chat[dask]').",
            )
        if any(p.thread is not None for p in live):
            raise ConfigError("executor= runs rows without a thread", hint="Leave out thread=.")
        self.client, self.preps, self.concurrency = client, preps, concurrency
        self.counts, self.tick = counts, tick
        mode, self.store = SESSION.replay_state()
        # replay and check need the notebook's own store: nothing is sharded then
        self.live = live if mode in ("off", "record", "auto") else []
        self.mode = mode
        self.hashes = [request_hash(p.request) if isinstance(p, Prepared) else None for p in preps]
        self.shards: dict[int, dict[str, Any]] = {}

    def __iter__(self) -> Any:
        """The results in order; after an interrupt, those up to the first row not finished
        (every finished row is recorded), then the KeyboardInterrupt."""
        self.interrupted = False
        for r in self._run():
            if r is _MISSING:
                break
            yield r
        if self.interrupted:
            raise KeyboardInterrupt

    def _run(self) -> list[Any]:
        out: list[Any] = [_MISSING] * len(self.preps)
        sent = {id(p) for p in self.live}
        here = [i for i, p in enumerate(self.preps) if id(p) not in sent]
        rows = iter([self.preps[i] for i in here])  # replayed or failed: nothing to send
        for i, r in zip(here, Results(rows, self.concurrency, True, Progress(), self.tick)):
            out[i] = r
            self.counts.add(r)
        todo = [i for i, p in enumerate(self.preps) if id(p) in sent]
        if todo:
            for i, r in self._remote(todo):
                out[i] = r
        return out

    def _remote(self, todo: list[int]) -> list[tuple[int, Any]]:
        workers = list(self.client.scheduler_info().get("workers", {}))
        if not workers:
            raise ConfigError("the Dask cluster has no workers", hint="Start some, then re-run.")
        n = self.n = min(len(workers), len(todo))
        parts = [todo[k * len(todo) // n : (k + 1) * len(todo) // n] for k in range(n)]
        keys = Keys(keys_of([self.preps[i] for i in todo]))
        setup = self._setup(len(todo))
        topic = f"jupyter-chat-{uuid.uuid4().hex[:12]}"
        self.client.subscribe_topic(topic, self._heard)
        base = (self.counts.done, self.counts.failed, self.counts.replayed)
        futures = []
        for k, part in enumerate(parts):
            share = {**setup, "shard": k, "topic": topic, **_share(setup, len(part))}
            if self.store is not None and self.mode in ("record", "auto"):
                share["store"] = str(self.store.path) + f".shard-{k}"
            preps = [portable(self.preps[i], n) for i in part]
            futures.append(
                self.client.submit(
                    run_shard,
                    preps,
                    keys,
                    share,
                    workers=[workers[k]],
                    pure=False,
                    key=f"{topic}-{k}",
                )
            )
        try:
            while not all(f.done() for f in futures):
                time.sleep(TICK)
                self._sum(base)
                self.tick()
        except KeyboardInterrupt:  # the shards stop within a report, keeping what finished
            from distributed import Event, wait

            self.interrupted = True
            Event(topic, client=self.client).set()
            wait(futures, timeout=STOP_WAIT)
        except BaseException:
            self.client.cancel(futures)
            raise
        finally:
            self.client.unsubscribe_topic(topic)
            self._merge(len(parts))
        if self.interrupted:
            self.client.cancel([f for f in futures if not f.done()])
            done = [f.result() if f.status == "finished" else [] for f in futures]
        else:
            done = [f.result() for f in futures]
        pairs = [(i, r) for part, rs in zip(parts, done) for i, r in zip(part, rs)]
        self.counts.done, self.counts.failed, self.counts.replayed = base
        for _, r in pairs:
            self.counts.add(r)
            self._count_here(r)
        return pairs

    def _setup(self, rows: int) -> dict[str, Any]:
        """What a worker needs besides the requests: settings, prices, the budget left."""
        prices = {}
        for i in {(p.request.provider, p.request.body.get("model")) for p in self.live}:
            price = CONFIG.price(*i)
            if price is not None:
                prices[f"{i[0]}:{i[1]}"] = dataclasses.asdict(price)
        own = self.live[0].budget if self.live else None
        budgets = [b for b in (own, SESSION.budget) if b is not None]
        unknown = budgets[0].unknown if budgets else "refuse"
        if isinstance(unknown, int):  # the token cap left for models with no price
            unknown = max(0, unknown - budgets[0].tokens - budgets[0].tokens_held)
        return {
            "settings": dataclasses.asdict(CONFIG.settings),
            "prices": prices,
            "concurrency": self.concurrency,
            "rows": rows,
            "left": min((b.left for b in budgets), default=None),
            "unknown": unknown,
        }

    def _heard(self, event: Any) -> None:
        """A shard's progress (on the client's thread)."""
        msg = event[1] if isinstance(event, tuple) else event
        if isinstance(msg, dict) and "shard" in msg:
            self.shards[msg["shard"]] = msg

    def _sum(self, base: tuple[int, int, int]) -> None:
        shards = list(self.shards.values())
        self.counts.shards = [
            self.shards[k]["done"] if k in self.shards else 0 for k in range(self.n)
        ]
        self.counts.done = base[0] + sum(s["done"] for s in shards)
        self.counts.failed = base[1] + sum(s["failed"] for s in shards)
        self.counts.replayed = base[2]

    def _count_here(self, result: Any) -> None:
        """A worker's answer counts in this notebook's ledger and budgets too."""
        if isinstance(result, BaseException):
            return
        SESSION.ledger.add(result.record)
        if not result.record.get("replayed"):
            for b in {id(b): b for b in (self.live[0].budget, SESSION.budget) if b}.values():
                b.add(result.record)

    def _merge(self, n: int) -> None:
        if self.store is None or self.mode not in ("record", "auto"):
            return
        found = merge_shards(self.store)
        if found < n:
            warnings.warn(
                f"{n - found} of {n} store shards were not found beside {self.store.path.name}: "
                "those workers do not share its folder, so their answers were not recorded here",
                stacklevel=2,
            )


def _share(setup: dict[str, Any], rows: int) -> dict[str, Any]:
    """A shard's part of the budget left (and of a token cap), by its rows: the parts never
    add up to more than what is left."""
    left, unknown, part = setup["left"], setup["unknown"], rows / setup["rows"]
    return {
        "budget": None if left is None else left * part,
        "unknown": int(unknown * part) if isinstance(unknown, int) else unknown,
    }
