"""What a provider does differently, as hooks on its profile: the client, the stream and the
session call these and never branch on a provider's name.

A profile names its hooks (``hooks = "signed"``, ``"server-tools"``, ``"managed"``; default
``"plain"``), so an endpoint added in the config file can take a built-in's behaviour too.
Small differences that are plain data (``stop`` as a list, a temperature floor, no vision)
stay fields of the profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

# stands for the managed local server's address until it runs (profiles resolve to it)
MANAGED_BASE = "http://127.0.0.1:0/v1"


@dataclass(frozen=True)
class Verdict:
    state: str  # "verified" | "invalid" | "not verifiable"
    reason: str
    signer: str | None = None


class Hooks:
    """The defaults: what an OpenAI-compatible server needs."""

    async def base_url(self, profile: Any, url: str) -> str:
        """The URL to send to, at send time (the managed local server starts here)."""
        return url

    def shown_url(self, url: str) -> str:
        """The URL as a dry run or a record shows it."""
        return url

    def default_params(self, profile: Any) -> dict[str, Any]:
        """Parameters sent unless the call, the notebook's defaults or the config say else."""
        return dict(profile.default_params)

    def logprobs_refusal(self, profile: Any) -> tuple[str, str] | None:
        """Why asking this provider for token log-probabilities would bring none, and what
        to do instead (empty: the session names the providers that give them); None when
        it gives them."""
        if profile.gives_logprobs:
            return None
        return f"{profile.name} does not give token log-probabilities", ""

    def served_model(self, url: str, asked: Any, served: str | None) -> str | None:
        """The name of the model that answered, as records and footers say it."""
        return served

    def tool_params(
        self, profile: Any, server_tools: list[str] | dict[str, bool] | None, tools: list | None
    ) -> dict[str, Any] | None:
        """Request parameters for server-side tools, or None when ``tools`` are functions."""
        if server_tools is not None:
            raise ConfigError(
                f"{profile.name} has no server-side tools",
                hint="Server-side tool switches belong to profiles with hooks = "
                '"server-tools"; use function tools (tools=[...], --tools) here.',
            )
        return None

    def check_signature(
        self,
        profile: Any,
        messages: list[dict[str, Any]],
        model: str | None,
        contents: list,
        signature: str | None,
        signers: dict[int, str],
    ) -> Any:
        """A ``Verdict`` for providers that sign their answers; None for the others."""
        return None

    def signed_block(
        self,
        profile: Any,
        messages: list[dict[str, Any]],
        model: str | None,
        contents: list,
        signature: str | None,
    ) -> dict[str, Any] | None:
        """What a later verification needs, kept in the output; None when nothing is signed."""
        return None
