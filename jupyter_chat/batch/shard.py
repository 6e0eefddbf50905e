"""What a Dask worker runs for ``map(..., executor=client)`` (cluster.py): one shard of the
batch through jupyter-chat's own batch, with the requests as the notebook built them, the
keys handed over (never shown), recording into its store shard and reporting its counts on
the run's topic; it stops when the run's event is set (an interrupt in the notebook)."""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from typing import Any

from .._secrets import Secret
from ..errors import ChatError
from ..providers.config import CONFIG
from ..session.prepare import Prepared
from ..session.state import SESSION
from .run import Progress, Results

EVERY = 0.25  # seconds between two progress reports of a shard
_ONE_SHARD = threading.Lock()  # a worker process runs one shard at a time (its SESSION)


class Keys:
    """The keys the shards need, per provider: pickled to the workers, never shown."""

    def __init__(self, keys: dict[str, tuple[str, str, str, str | None]]) -> None:
        self._keys = keys  # provider -> (header, scheme, key, host)

    def __repr__(self) -> str:
        return f"Keys({sorted(self._keys)}, ***)"

    def auth(self, provider: str) -> Any:
        from ..client.request import KeyAuth

        if provider not in self._keys:
            return None
        header, scheme, value, host = self._keys[provider]
        return KeyAuth(header, scheme, Secret(value, host, "the notebook (executor=)"))


def keys_of(preps: list[Prepared]) -> dict[str, tuple[str, str, str, str | None]]:
    found = {}
    for p in preps:
        a = p.request.auth
        if a is not None and p.request.provider not in found:
            found[p.request.provider] = (a.header, a.scheme, a.secret.reveal(), a.secret.host)
    return found


def portable(prep: Prepared, shards: int) -> Prepared:
    """``prep`` without its key and budget (neither pickles; the worker puts them back), its
    provider's ``rpm``, ``tpm`` and ``concurrency`` split between the shards (each process
    keeps its own count, so together they stay within the provider's limits)."""
    req = copy.copy(prep.request)  # keeps its hash (and a sample's draw)
    req.auth = None
    p = req.profile
    if p is not None and (p.rpm or p.tpm or p.concurrency):
        share = {
            k: max(1, v // shards) for k in ("rpm", "tpm", "concurrency") if (v := getattr(p, k))
        }
        req.profile = p.model_copy(update=share)
    return dataclasses.replace(prep, request=req, budget=None)


def run_shard(preps: list[Prepared], keys: Keys, setup: dict[str, Any]) -> list[Any]:
    """In a worker: the shard's rows through jupyter-chat's batch, in order, recorded into
    the shard's store; its progress reported on the run's topic."""
    from ..session.budget import Budget

    with _ONE_SHARD:
        CONFIG.configure(**setup["settings"])
        for name, price in setup["prices"].items():
            CONFIG.set_price(name, {k: v for k, v in price.items() if v is not None})
        budget = Budget(setup["budget"], setup["unknown"]) if setup["budget"] is not None else None
        for p in preps:
            p.request.auth = keys.auth(p.request.provider)
            p.budget = budget
        store = setup.get("store")
        SESSION.set_replay("record", store) if store else SESSION.set_replay("off")
        counts = Progress(total=len(preps))
        report = _reporter(setup["topic"], setup["shard"], counts)
        results: list[Any] = []
        try:
            results.extend(Results(iter(preps), setup["concurrency"], True, counts, report))
        except Stopped:  # the notebook was interrupted: what finished goes back
            pass
        finally:
            if SESSION.store is not None:
                SESSION.store.close()
            SESSION.set_replay("off")
        report(final=True)
        return [_plain_error(r) for r in results]


class Stopped(Exception):
    """The notebook asked the shards to stop (an interrupt)."""


def _reporter(topic: str, shard: int, counts: Progress) -> Any:
    """A shard's ``tick``: its counts on the run's topic, and a stop when the run's event
    is set."""
    last = [0.0]

    def report(final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - last[0] < EVERY:
            return
        last[0] = now
        from distributed import Event, get_worker

        msg = {"shard": shard, "done": counts.done, "failed": counts.failed, "usd": counts.usd}
        try:
            worker = get_worker()
        except ValueError:  # not on a worker (run_shard called here)
            return
        worker.log_event(topic, msg)
        if not final and Event(topic).is_set():
            raise Stopped

    return report


def _plain_error(result: Any) -> Any:
    """A row's error travels as itself (ChatErrors pickle); anything else as a ChatError."""
    if isinstance(result, BaseException) and not isinstance(result, ChatError):
        return ChatError(f"{type(result).__name__}: {result}")
    return result
