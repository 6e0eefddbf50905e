"""Budgets, the one rule: a run's cost estimated before anything is sent (each prompt at four
bytes of its request a token, rounded up, no tokenizer; each answer at its ``max_tokens``;
the ``[prices]``), refused when over, and a ledger that holds a request's worst case (its
prompt at one token a byte, which no byte-level tokenizer exceeds) before it is sent and
settles it to the actual cost after, so requests running at once never cross the budget
together. A replayed request costs nothing and holds nothing."""

from __future__ import annotations

import asyncio
import math
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import ChatError, ConfigError
from ..providers.config import CONFIG
from .accounting import usd

EPS = 1e-12  # float sums of dollar amounts: a cost equal to what is left fits
WAIT = 0.005  # seconds between two looks while requests in flight hold the rest


class BudgetError(ChatError):
    """A run refused before anything was sent (its estimate over the budget, a model with no
    price), or a request not sent because it could cross the budget. ``batch``: what a batch
    stopped by its budget finished (each unsent row holds this error)."""

    hint_default = "Give a larger budget: what finished is kept and a re-run under %chat replay auto sends only the rest."
    batch: Any = None


@dataclass(frozen=True)
class Estimate:
    """The worst case of one request: ``usd`` None when its model has no price."""

    model: str
    prompt_tokens: int  # estimated: 4 bytes a token
    prompt_bound: int  # at most: a token a byte
    answer_tokens: int | None  # None: no max_tokens (only a free or accepted model)
    usd: float | None  # the estimate
    worst_usd: float | None  # what is held while the request is in flight

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + (self.answer_tokens or 0)

    @property
    def worst_tokens(self) -> int:
        return self.prompt_bound + (self.answer_tokens or 0)


def estimate(prep: Any) -> Estimate:
    """The cost of ``prep``'s request: prompt tokens estimated at four bytes of the request
    body a token (rounded up; the JSON around the messages counts too), at most one a byte;
    the answer at ``max_tokens`` (times ``n``); priced by ``[prices]``."""
    req = prep.request
    body = req.body
    model = f"{req.provider}:{body.get('model')}"
    bound = len(req.content)
    prompt = math.ceil(bound / 4)
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    n = body.get("n") if isinstance(body.get("n"), int) and body.get("n") > 1 else 1
    answer = limit * n if isinstance(limit, int) and not isinstance(limit, bool) else None
    price = CONFIG.price(req.provider, body.get("model"))
    if price is None:
        return Estimate(model, prompt, bound, answer, None, None)
    if not (price.input or price.output):
        return Estimate(model, prompt, bound, answer, 0.0, 0.0)  # free whatever it says
    if answer is None:
        raise BudgetError(
            f"a budget needs max_tokens for {model}: without it the answer's cost has no bound",
            hint="Give max_tokens=N (%%chat --max-tokens N, or %chat defaults max_tokens=N).",
        )
    out = answer * price.output
    return Estimate(
        model,
        prompt,
        bound,
        answer,
        (prompt * price.input + out) / 1e6,
        (bound * price.input + out) / 1e6,
    )


@dataclass
class Ticket:
    """What one request holds of a budget until it is settled or released."""

    budget: Budget
    usd: float
    tokens: int  # held of the token cap for a model with no price
    priced: bool
    open: bool = True


@dataclass
class Budget:
    """A limit in USD, with what was spent and what requests in flight hold.

    ``unknown``: what a model with no price may do: ``"refuse"`` (named up front, nothing
    sent), ``"allow"`` (sent; its cost is unknown and not counted) or a number of tokens it
    may use in all (its prompts' estimates and ``max_tokens`` held, then its usage counted)."""

    limit: float
    unknown: Any = "refuse"
    spent: float = 0.0
    held: float = 0.0
    tokens: int = 0  # used by models with no price
    tokens_held: int = 0
    requests: int = 0
    unpriced: int = 0
    in_flight: int = 0  # tickets open
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def __post_init__(self) -> None:
        limit = self.limit
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit >= 0:
            raise ConfigError(f"budget must be an amount in USD (0 or more), got {limit!r}")
        if not math.isfinite(limit):
            raise ConfigError(
                "budget must be a finite amount in USD", hint="Leave it out for none."
            )
        self.limit = float(limit)
        u = self.unknown
        if u not in ("refuse", "allow") and (
            isinstance(u, bool) or not isinstance(u, int) or u < 0
        ):
            raise ConfigError(
                f"budget_unknown must be 'refuse', 'allow' or a number of tokens, got {u!r}"
            )

    @property
    def left(self) -> float:
        return max(0.0, self.limit - self.spent - self.held)

    def check(self, estimates: list[Estimate]) -> None:
        """Refuse a run before anything is sent: a model with no price (unless accepted), or
        an estimate over what is left; the message shows the estimate."""
        unpriced = sorted({e.model for e in estimates if e.usd is None})
        if unpriced and self.unknown == "refuse":
            raise BudgetError(
                f"no price for {', '.join(unpriced)}: its cost cannot be estimated under the "
                f"budget {usd(self.limit)}",
                hint="Set a price (jupyter_chat.set_price or [prices]), cap its tokens with "
                'budget_unknown=N, or accept the unknown cost with budget_unknown="allow".',
            )
        if isinstance(self.unknown, int) and unpriced:
            capped = [e for e in estimates if e.usd is None]
            if any(e.answer_tokens is None for e in capped):
                raise BudgetError(
                    "a token cap (budget_unknown=N) needs max_tokens",
                    hint="Give max_tokens=N (%%chat --max-tokens N).",
                )
            want = sum(e.tokens for e in capped)
            room = self.unknown - self.tokens - self.tokens_held
            if want > room:
                raise BudgetError(
                    f"estimated {want:,} tokens for {len(capped)} requests to {', '.join(unpriced)}"
                    f" (no price), over the cap of {self.unknown:,} ({max(room, 0):,} left); "
                    "nothing was sent"
                )
        cost = sum(e.usd for e in estimates if e.usd is not None)
        if cost > self.left + EPS:
            n = len(estimates)
            raise BudgetError(
                f"estimated {usd(cost)} for {n} request{'s' * (n != 1)} (prompts at 4 bytes a "
                f"token, answers at max_tokens), over the budget {usd(self.limit)} "
                f"({usd(self.left)} left); nothing was sent",
                hint="Give a larger budget, fewer rows or a smaller max_tokens.",
            )

    def take(self, e: Estimate) -> Ticket | None:
        """Hold ``e``'s worst case; None while requests in flight hold what it needs; a
        ``BudgetError`` when it cannot fit even once they are settled."""
        with self._cond:
            priced = e.usd is not None
            cost = e.worst_usd or 0.0
            tokens = e.worst_tokens if not priced and isinstance(self.unknown, int) else 0
            fits = self.spent + self.held + cost <= self.limit + EPS and (
                not tokens or self.tokens + self.tokens_held + tokens <= self.unknown
            )
            if not fits:
                if self.in_flight:
                    return None
                raise BudgetError(
                    f"not sent: the budget {usd(self.limit)} would be crossed (spent "
                    f"{usd(self.spent)}, this request up to "
                    + (f"{usd(cost)})" if priced else f"{tokens:,} tokens of {self.unknown:,})")
                )
            self.held += cost
            self.tokens_held += tokens
            self.in_flight += 1
            return Ticket(self, cost, tokens, priced)

    def close(self, ticket: Ticket, record: dict[str, Any] | None, sent: bool = True) -> None:
        """Settle a ticket: to the record's cost (``record`` None: the worst case held), or
        release it (``sent`` False: nothing was answered, e.g. an HTTP error)."""
        with self._cond:
            if not ticket.open:
                return
            ticket.open = False
            self.in_flight -= 1
            self.held = max(0.0, self.held - ticket.usd) if self.in_flight else 0.0
            self.tokens_held -= ticket.tokens
            if sent:
                self.requests += 1
                cost = (record or {}).get("cost") if record is not None else None
                known = cost.get("usd") if isinstance(cost, dict) else None
                if record is not None and not ticket.priced:
                    self.unpriced += known is None
                if isinstance(known, (int, float)):
                    self.spent += known
                elif ticket.priced or record is None:
                    self.spent += ticket.usd  # unknown: the worst case stays spent
                if ticket.tokens:
                    usage = (record or {}).get("usage") or {}
                    used = usage.get("total_tokens") if isinstance(usage, dict) else None
                    self.tokens += used if isinstance(used, int) else ticket.tokens
            self._cond.notify_all()

    def add(self, record: dict[str, Any]) -> None:
        """Count an answer paid for elsewhere (a worker's, ``executor=``)."""
        with self._cond:
            cost = record.get("cost")
            known = cost.get("usd") if isinstance(cost, dict) else None
            self.requests += 1
            if isinstance(known, (int, float)):
                self.spent += known
            else:
                self.unpriced += 1
                usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
                used = usage.get("total_tokens")
                self.tokens += used if isinstance(used, int) else 0

    def status(self) -> str:
        """One line: the limit, spent, held by requests in flight, and left."""
        parts = [f"budget {usd(self.limit)}", f"spent {usd(self.spent)}", f"{usd(self.left)} left"]
        if self.held:
            parts.insert(2, f"{usd(self.held)} held by requests in flight")
        if self.unknown != "refuse":
            cap = (
                "allowed"
                if self.unknown == "allow"
                else f"{self.tokens:,} of {self.unknown:,} tokens"
            )
            parts.append(f"models with no price: {cap}")
        return " · ".join(parts)


def budgets_of(prep: Any) -> list[Budget]:
    """The budgets a request counts against: its run's (``budget=``) and the notebook's."""
    from .state import SESSION

    found = [getattr(prep, "budget", None), getattr(SESSION, "budget", None)]
    return [b for b in found if b is not None]


def check_run(preps: list[Any], own: Budget | None = None) -> None:
    """Refuse the run of ``preps`` (those that will be sent) before anything is sent."""
    from .state import SESSION

    for b in (own, getattr(SESSION, "budget", None)):
        if b is not None and preps:
            b.check([estimate(p) for p in preps])


def hold(prep: Any) -> list[Ticket]:
    """Hold ``prep``'s worst case in every budget it counts against, waiting while requests
    in flight hold the rest; a ``BudgetError`` (nothing held) when it cannot fit."""
    tickets: list[Ticket] = []
    budgets = budgets_of(prep)
    if not budgets:
        return tickets
    e = estimate(prep)
    try:
        for b in budgets:
            with b._cond:
                while (t := b.take(e)) is None:
                    b._cond.wait(WAIT * 20)
            tickets.append(t)
    except BaseException:
        settle(tickets, None, sent=False)
        raise
    return tickets


async def ahold(prep: Any) -> list[Ticket]:
    """``hold`` on the shared loop: it waits without blocking the loop."""
    tickets: list[Ticket] = []
    budgets = budgets_of(prep)
    if not budgets:
        return tickets
    e = estimate(prep)
    try:
        for b in budgets:
            while (t := b.take(e)) is None:
                await asyncio.sleep(WAIT)
            tickets.append(t)
    except BaseException:
        settle(tickets, None, sent=False)
        raise
    return tickets


def settle(tickets: list[Ticket], record: dict[str, Any] | None, sent: bool = True) -> None:
    for t in tickets:
        t.budget.close(t, record, sent)


def billed(exc: BaseException) -> bool:
    """Whether a failed request may have been paid for: an HTTP error status was answered
    before any token (released); an interrupt or a cut stream may have been (kept)."""
    return not (isinstance(exc, ChatError) and exc.status is not None)
