"""Asking for token log-probabilities, one rule for every front end: ``logprobs`` given as
``True`` (``--logprobs``), a number of alternatives ``K`` (``--logprobs K``) or ``False``
becomes the provider's ``logprobs`` and ``top_logprobs``; a provider that would send none is
refused here, before anything is sent or paid for.

- ``True``: the chosen tokens' log-probabilities, and the top ``DEFAULT_TOP`` alternatives
  where the provider takes ``top_logprobs`` (a ``top_logprobs`` given wins);
- ``K`` (0 to 20): ``K`` alternatives (0: none), refused where the provider takes no
  ``top_logprobs``;
- ``False``: neither is sent (it undoes ``%chat defaults logprobs=...`` for one cell).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..providers.config import CONFIG

DEFAULT_TOP = 5
MAX_TOP = 20


def ask_logprobs(params: dict[str, Any], profile: Any, sending: bool = True) -> None:
    """Turn the ``logprobs`` asked for into the provider's parameters, in ``params``; raise a
    ``ConfigError`` saying what to do when the provider would send none. ``sending``: False
    when the answer can only come from a recording (replay), where the server's settings
    do not matter."""
    value = params.get("logprobs")
    if value is None:
        return
    if value is False:
        params.pop("logprobs")
        params.pop("top_logprobs", None)
        return
    if value is not True and (not isinstance(value, int) or not 0 <= value <= MAX_TOP):
        raise ConfigError(
            f"logprobs={value!r}: expected true or a number of alternatives from 0 to {MAX_TOP}",
            hint="Use --logprobs, or --logprobs K for the top K alternatives of each token.",
        )
    given = params.get("top_logprobs")
    if value is not True and given is not None and given != value:
        raise ConfigError(
            f"logprobs={value} and top_logprobs={given!r} disagree",
            hint="Give the number of alternatives once: logprobs=K.",
        )
    check_gives(profile, sending)
    takes_top = profile.accepts("top_logprobs")
    if value is True:
        top = given if given is not None else (DEFAULT_TOP if takes_top else 0)
    else:
        top = value
    if top and not takes_top:
        raise ConfigError(
            f"{profile.name} gives token log-probabilities without alternatives",
            hint="Ask without a number of alternatives: --logprobs, or logprobs=True.",
        )
    params["logprobs"] = True
    if top:
        params["top_logprobs"] = top
    else:
        params.pop("top_logprobs", None)


def check_gives(profile: Any, sending: bool = True) -> None:
    """Raise a ``ConfigError`` saying what to do when ``profile`` would send no token
    log-probabilities (``sending``: False when the answer comes from a recording, where only a
    provider that never gives them is refused)."""
    refusal = profile.quirks.logprobs_refusal(profile)
    if refusal is None:
        return
    if not sending and profile.gives_logprobs:  # only this server's settings say no
        return
    why, hint = refusal
    if not hint:
        givers = [name for name, p in CONFIG.profiles().items() if p.gives_logprobs]
        hint = (
            f"Ask a provider that gives them ({', '.join(givers)}), or set logprobs = true "
            f"in [providers.{profile.name}] of the config file if this deployment does."
        )
    raise ConfigError(why, hint=hint)
