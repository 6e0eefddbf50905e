"""The built-in providers' profiles as data (providers.md section 2): where each lives, how it
authenticates, the parameters it documents."""

from __future__ import annotations

from typing import Any

# Parameters of the OpenAI chat-completions body that an OpenAI-compatible server accepts.
OPENAI_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "n",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "user",
        "stream_options",
        "metadata",
        "reasoning_effort",
        "service_tier",
    }
)


def _p(*names: str) -> frozenset[str]:
    return frozenset(names)


# EigenAI on EigenCloud, both networks: the documented parameters (use-eigenai.mdx).
_EIGENCLOUD: dict[str, Any] = dict(
    auth_header="X-API-Key",
    auth_scheme="",
    params=frozenset(
        {
            "max_tokens",
            "seed",
            "temperature",
            "top_p",
            "logprobs",
            "frequency_penalty",
            "presence_penalty",
            "tools",
            "tool_choice",
        }
    ),
    default_model="gpt-oss-120b-f16",
    stream_usage=False,
    vision=False,  # gpt-oss and qwen3 read text; the signature covers string content only
    hooks="signed",
    structured="instruction",
)

# providers.md section 2. Only documented parameters are accepted; users widen an
# allow-list with ``extra_params`` in the config file when their deployment takes more.
BUILTIN: dict[str, dict[str, Any]] = {
    "eigenai": dict(
        title="Eigen AI (eigenai.com)",
        base_url="https://app.eigenai.com/api/v1",
        params=_p(
            "temperature",
            "max_tokens",
            "top_p",
            "top_k",
            "min_p",
            "repetition_penalty",
            "reasoning_effort",
            "chat_template_kwargs",
        ),
        default_model="gpt-oss-120b",
        stream_usage=False,
        structured="instruction",
    ),
    "eigencloud": dict(
        _EIGENCLOUD,
        title="EigenAI on EigenCloud (mainnet, signed)",
        base_url="https://eigenai.eigencloud.xyz/v1",
        chain_id=1,
    ),
    "eigencloud-sepolia": dict(
        _EIGENCLOUD,
        title="EigenAI on EigenCloud (Sepolia testnet, signed)",
        base_url="https://eigenai-sepolia.eigencloud.xyz/v1",
        chain_id=11155111,
    ),
    "edenai": dict(
        title="Eden AI v3",
        base_url="https://api.edenai.run/v3",
        params=OPENAI_PARAMS
        | _p(
            "fallbacks",
            "router_candidates",
            "pre_hooks",
            "post_hooks",
            "thinking",
            "web_search_options",
            "verbosity",
            "extra_body",
            "extra_headers",
            "image_config",
            "routing",
            "session_id",
            "modalities",
            "prediction",
            "audio",
        ),
        list_params=_p("stop"),
        max_items={"fallbacks": 3},
        model_pattern=r"\S+",
        model_hint="Use provider/model (openai/gpt-4o), a bare model, or @edenai.",
        cost_field="cost",
    ),
    "patgateway": dict(
        title="PAT-header gateway",
        params=_p(
            "rag_params",
            "tools",
            "tool_choice",
            "temperature",
            "top_p",
            "max_tokens",
            "stop",
            "presence_penalty",
            "frequency_penalty",
            "logit_bias",
            "chat_id",
            "max_completion_tokens",
            "n",
            "user",
        ),
        clamp_min={"temperature": 0.001, "top_p": 0.001},
        header_env={"X-User-Id": "PATGATEWAY_USER_ID", "X-Project-Id": "PATGATEWAY_PROJECT_ID"},
        default_model="",
        models_path=None,
        structured="instruction",
    ),
    "adaptive": dict(
        title="Adaptive Engine",
        params=_p(
            "stream_options",
            "session_id",
            "user",
            "ab_campaign",
            "n",
            "labels",
            "metadata",
            "system_prompt_args",
            "tags",
            "use_tools",
            "tools",
            "store",
            "stop",
            "max_tokens",
            "temperature",
            "top_p",
            "max_ttft_ms",
            "response_format",
        ),
        list_params=_p("stop"),
        uuid_params=_p("session_id", "user"),
        model_pattern=r"[^/\s]+(/[^/\s]+)?",
        model_hint="Adaptive models are PROJECT/MODEL, or PROJECT for its default model.",
        models_path=None,
        data_url_images=True,
        hooks="server-tools",
        structured="instruction",  # response_format is documented in prose, not in its API
    ),
    "openai": dict(title="Any OpenAI-compatible endpoint", base_url="https://api.openai.com/v1"),
    "local": dict(
        title="A local OpenAI-compatible server (LOCAL_BASE_URL, else a managed llama.cpp)",
        key_required=False,
        default_model="default",
        # the same whatever LOCAL_BASE_URL says: a recording replays on either server
        default_params={"max_tokens": 256},
        hooks="managed",
        null_content_as_empty=True,
        structured="json_object",
        vision=False,  # the packaged model reads text; set vision = true for a vision GGUF
        price={"input": 0, "output": 0},  # a server on this machine: no bill ([prices] may say)
        silent_stream_usage=True,
    ),
}
