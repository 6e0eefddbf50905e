"""An experiment's budget: the whole grid estimated before anything is sent (every model,
setting and sample, what replays left out), then one ledger that every (model, setting)'s
``map`` draws on, so the experiment as a whole never crosses it (session/budget.py's rule)."""

from __future__ import annotations

from typing import Any

from ..errors import ChatError
from ..session.ask import Options, prepare_call
from ..session.budget import Budget, BudgetError, check_run
from ..session.prepare import Prepared
from ..session.run import will_replay
from ..session.samples import prepare_samples
from ..session.state import SESSION


def grid_budget(budget: Any, unknown: Any) -> Budget | None:
    """The experiment's one ledger (a ``Budget`` given is used as it is), or None."""
    if budget is None or isinstance(budget, Budget):
        return budget
    return Budget(budget, unknown)


def check_grid(grid: list[tuple[list[Any], Options]], own: Budget | None) -> None:
    """Refuse the experiment before anything is sent when the estimate of every request it
    would send (the notebook's budget too) is over; nothing is done without a budget."""
    if own is None and getattr(SESSION, "budget", None) is None:
        return
    live: list[Prepared] = []
    for texts, options in grid:
        for text in texts:
            if isinstance(text, ChatError):
                continue
            prep = prepare_call(text, options)
            preps = prepare_samples(prep, options.samples) if options.samples else [prep]
            live += [p for p in preps if not will_replay(p)]
    check_run(live, own)


def stopped(rows: list[Any]) -> bool:
    """Whether the budget kept any of the rows from being sent."""
    return any(isinstance(r.result, BudgetError) for r in rows)


def stop_error(exp: Any, total: int, own: Budget | None) -> BudgetError:
    """The experiment stopped by its budget, carrying what finished (``.experiment``)."""
    left = f" ({own.status()})" if own is not None else ""
    err = BudgetError(
        f"experiment stopped by its budget{left}: {exp.answered} of {total} answers kept, "
        "nothing over it",
        hint="Give a larger budget: under %chat replay auto a re-run sends only the rest.",
    )
    err.experiment = exp
    return err
