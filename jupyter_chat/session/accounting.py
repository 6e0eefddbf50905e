"""What one answer cost: as the provider reported it, else from the ``[prices]`` table; no
price, no cost; an implausible cost is unknown, with a note (the ledger is the session's,
state.py)."""

from __future__ import annotations

import math
from typing import Any

from ..providers.config import CONFIG
from ..stream import Result
from .state import count

# USD for one answer: above this a reported or computed cost is not believed (the dearest
# models cost tens of dollars per million tokens; $1,000 is far beyond any one answer), so a
# provider's bug or a hostile response cannot show "$inf" or a 300-digit figure, or poison
# the ledger (%chat usage)
MAX_COST = 1000.0


def cost_of(req: Any, result: Result) -> dict[str, Any] | None:
    """``{"usd", "source"}``: ``provider`` when the response says what it cost, ``prices``
    when the config file prices the model; None when neither does. A cost that is not a
    finite number from 0 to ``MAX_COST`` is unknown: ``{"usd": None, "source", "note"}``,
    the note saying why (and a price from ``[prices]`` is used instead, when there is one)."""
    field = req.profile.cost_field
    reported = result.extras.get(field) if field else None
    note, source = None, "provider"
    if reported is not None:
        value, why = plausible(reported)
        if why is None:
            return {"usd": value, "source": "provider"}
        note = f"cost unknown: the provider reported {why}"
    priced = _priced(req, result)
    if priced is not None:
        value, why = plausible(priced)
        if why is None:
            cost = {"usd": round(value, 12), "source": "prices"}
            return {**cost, "note": note + "; priced from [prices]"} if note else cost
        if note is None:
            note, source = f"cost unknown: the token counts reported give {why}", "prices"
    return {"usd": None, "source": source, "note": note} if note else None


def plausible(value: Any) -> tuple[float | None, str | None]:
    """``(usd, None)`` for a plausible cost of one answer, else ``(None, what was wrong)``."""
    shown = _shown(value)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None, f"{shown}, not a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"{shown}, not a number"
    if isinstance(value, int) and abs(value) > MAX_COST:  # a 400-digit int overflows a float
        return None, f"{shown}, more than ${MAX_COST:,.0f} for one answer"
    value = float(value)
    if not math.isfinite(value):
        return None, f"{shown}, not a finite number"
    if value < 0:
        return None, f"{shown}, a negative cost"
    if value > MAX_COST:
        return None, f"{shown}, more than ${MAX_COST:,.0f} for one answer"
    return value, None


def _shown(value: Any) -> str:
    """A reported value, short: a cost of 1e308 is said as 1e+308, never in 309 digits."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value) if abs(value) < 10**12 else f"a {len(str(abs(value)))}-digit number"
        return text
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _priced(req: Any, result: Result) -> float | None:
    """The cost from ``[prices]`` and the usage reported, or None without both."""
    usage = result.usage if isinstance(result.usage, dict) else None
    price = CONFIG.price(req.provider, req.body.get("model"), result.model)
    if price is not None and not (price.input or price.output or price.cached_input):
        return 0.0  # free whatever the usage, reported or not
    if price is None or usage is None:
        return None
    prompt = count(usage.get("prompt_tokens"))
    completion = count(usage.get("completion_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    cached = min(cached, prompt)
    cached_rate = price.input if price.cached_input is None else price.cached_input
    try:  # token counts are ints as reported: a 400-digit one overflows a float
        return (
            float(prompt - cached) * price.input
            + float(cached) * cached_rate
            + float(completion) * price.output
        ) / 1e6
    except OverflowError:
        return math.inf


def usd(x: float) -> str:
    """``$0.0012``, ``$0.012``, ``$1.23``: two significant digits below a dollar."""
    if not isinstance(x, (int, float)) or not math.isfinite(x):
        return "cost unknown"
    if x <= 0:
        return "$0"
    decimals = 2 if x >= 0.1 else min(8, 1 - math.floor(math.log10(x)))
    return f"${x:,.{decimals}f}"
