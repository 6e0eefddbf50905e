"""What one answer cost: as the provider reported it, else from the ``[prices]`` table; no
price, no cost (the ledger of all of them is the session's, state.py)."""

from __future__ import annotations

from typing import Any

from ..providers.config import CONFIG
from ..stream import Result
from .state import count


def cost_of(req: Any, result: Result) -> dict[str, Any] | None:
    """``{"usd", "source"}``: ``provider`` when the response says what it cost, ``prices``
    when the config file prices the model; None when neither does."""
    field = req.profile.cost_field
    reported = result.extras.get(field) if field else None
    if isinstance(reported, str):
        try:
            reported = float(reported)
        except ValueError:
            reported = None
    if isinstance(reported, (int, float)) and not isinstance(reported, bool) and reported >= 0:
        return {"usd": float(reported), "source": "provider"}
    usage = result.usage if isinstance(result.usage, dict) else None
    price = CONFIG.price(req.provider, req.body.get("model"), result.model)
    if price is None or usage is None:
        return None
    prompt = count(usage.get("prompt_tokens"))
    completion = count(usage.get("completion_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    cached = min(cached, prompt)
    cached_rate = price.input if price.cached_input is None else price.cached_input
    usd = ((prompt - cached) * price.input + cached * cached_rate + completion * price.output) / 1e6
    return {"usd": round(usd, 12), "source": "prices"}


def usd(x: float) -> str:
    """``$0.0012``, ``$0.012``, ``$1.23``: two significant digits below a dollar."""
    import math

    if x <= 0:
        return "$0"
    decimals = 2 if x >= 0.1 else min(8, 1 - math.floor(math.log10(x)))
    return f"${x:,.{decimals}f}"
