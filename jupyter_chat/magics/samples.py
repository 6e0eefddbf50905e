"""``%%chat --samples K [--pick N]``: the options checked, then the session's samples
(session/samples.py) with the cell's samples view (display/samples.py)."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from ..display.formats import code_of
from ..display.samples import SamplesView
from ..session.prepare import Prepared
from ..session.samples import check_samples, sample


def samples_asked(args: Any) -> tuple[int, int | str | None] | None:
    """``(K, pick)`` when the cell asks for samples (checked now, before anything is built),
    else None (also with ``--compare`` or ``--sweep``: the comparison takes the samples)."""
    if args.samples is None:
        if args.pick is not None:
            raise UsageError("%%chat --pick chooses among samples: give --samples K too")
        return None
    if args.compare or getattr(args, "sweep", None):  # compare(samples=K): a column a sample
        if args.pick is not None:
            raise UsageError("%%chat --pick with --compare or --sweep: a comparison files nothing")
        return None
    refused = [
        flag
        for flag, used in (
            ("--tools", args.tools),
            ("--tool-choice", args.tool_choice),
            ("--confirm", args.confirm),
        )
        if used
    ]
    if refused:
        raise UsageError(
            f"%%chat --samples does not take {', '.join(refused)}: the samples are one "
            "question asked K times, answered whole"
        )
    pick: int | str | None = args.pick
    if isinstance(pick, str) and pick != "common":
        if not pick.isdigit():
            raise UsageError(f"%%chat --pick {pick!r}: give a sample's index (from 0) or common")
        pick = int(pick)
    k = check_samples(args.samples, pick)
    assert k is not None
    return k, pick


def run_samples(magics: Any, args: Any, preps: list[Prepared], pick: Any) -> None:
    """Run the samples, showing how many have answered, then the samples view; file the
    picked one (a failed sample fails the cell, after the view, and files nothing)."""
    view = SamplesView(preps, magics.terminal)
    try:
        done = sample(preps, pick, on_result=view.count, tick=view.tick)
    except KeyboardInterrupt:
        view.interrupted()
        raise
    view.final(done)
    turn = done.finish()
    if args.out:
        magics.shell.user_ns[args.out] = turn
    if args.format == "code":
        magics.shell.set_next_input(code_of(turn.text), replace=False)
