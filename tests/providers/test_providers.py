"""Provider profiles, parameter checks, user-added endpoints, configuration and keys."""

from __future__ import annotations

import json
import os

import pytest
from dialect_server import DIALECTS

import jupyter_chat as jc
from jupyter_chat.providers.config import CONFIG

EDEN = "edenai:openai/gpt-4o"


def sent(server):
    [seen] = server.requests
    return seen.body


# -- parameters: accepted where the provider has them, refused before sending where not ---------
@pytest.mark.parametrize(
    "model,param,value",
    [
        ("eigencloud", "top_k", 5),
        ("eigencloud", "reasoning_effort", "low"),
        ("adaptive:proj", "top_logprobs", 2),  # logprobs: tests/session/test_logprobs_ask.py
        ("eigenai", "tools", []),
        ("patgateway", "fallbacks", ["a"]),
        (EDEN, "rag_params", {}),
        ("eigencloud", "chat_id", "c"),
    ],
)
def test_a_parameter_the_provider_lacks_is_refused_before_sending(server, model, param, value):
    with pytest.raises(jc.InvalidRequestError, match=f"does not accept the parameter '{param}'"):
        jc.chat("hi", model=model, **{param: value})
    assert server.requests == []


@pytest.mark.parametrize(
    "model,params",
    [
        (
            EDEN,
            {
                "fallbacks": ["a/b", "c/d", "e/f"],
                "reasoning_effort": "high",
                "pre_hooks": [{"action": "pdf_text_extract"}],
                "session_id": "nb-1",
            },
        ),
        ("edenai:@edenai", {"router_candidates": ["openai/gpt-4o", "anthropic/claude"]}),
        (
            "eigenai",
            {"top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1, "reasoning_effort": "low"},
        ),
        ("eigencloud", {"seed": 7, "temperature": 0, "logprobs": True}),
        ("patgateway", {"rag_params": {"index": "docs"}, "chat_id": "thread-1", "top_p": 0.9}),
        (
            "adaptive:proj/model",
            {
                "ab_campaign": "c1",
                "labels": {"k": "v"},
                "system_prompt_args": {"name": "x"},
                "max_ttft_ms": 500,
                "user": "9b2f1f5e-9a51-4d7c-8d43-3c1b6a0b2c11",
                "tools": [{"id": "search", "enabled": True}],
                "use_tools": True,
            },
        ),
        ("openai:gpt-test", {"anything_goes": 1, "top_k": 3}),
    ],
)
def test_provider_specific_parameters_are_sent_as_given(server, model, params):
    jc.chat("hi", model=model, **params)
    body = sent(server)
    assert {k: body[k] for k in params} == params


def test_a_seed_the_provider_cannot_take_is_noted_not_refused(server):
    turn = jc.chat("hi", model="adaptive:proj", seed=5)
    assert "seed" not in sent(server)
    assert turn.record["notes"] == ["seed 5 not sent: adaptive does not take a seed"]
    assert "seed" not in turn.record["params"]


def test_eden_stop_string_becomes_a_list_and_fallbacks_are_capped(server):
    jc.chat("hi", model=EDEN, stop="END")
    assert sent(server)["stop"] == ["END"]
    server.reset()
    with pytest.raises(jc.InvalidRequestError, match="at most 3"):
        jc.chat("hi", model=EDEN, fallbacks=["a", "b", "c", "d"])
    assert server.requests == []


def test_adaptive_rules(server):
    with pytest.raises(jc.InvalidRequestError, match="must be a UUID"):
        jc.chat("hi", model="adaptive:proj", user="alice")
    with pytest.raises(jc.InvalidRequestError, match="PROJECT/MODEL"):
        jc.chat("hi", model="adaptive:a/b/c")
    with pytest.raises(jc.ConfigError, match="no model given for adaptive"):
        jc.chat("hi", model="adaptive")
    assert server.requests == []


@pytest.mark.parametrize(
    "param,value,why",
    [
        ("temperature", "hot", "expected a number"),
        ("temperature", 2.5, "must be in 0..2"),
        ("temperature", float("nan"), "finite"),
        ("top_p", -0.1, "must be in 0..1"),
        ("max_tokens", 0, "must be in 1..inf"),
        ("max_tokens", 10.5, "expected an integer"),
        ("seed", True, "expected an integer"),
        ("n", 0, "must be in 1"),
    ],
)
def test_bad_values_are_refused_with_the_parameter_named(server, param, value, why):
    with pytest.raises(jc.InvalidRequestError, match=why) as e:
        jc.chat("hi", model="openai:gpt-test", **{param: value})
    assert str(e.value).startswith(f"openai: {param}=")
    assert server.requests == []


def test_patgateway_clamps_temperature_and_top_p(server):
    jc.chat("hi", model="patgateway", temperature=0, top_p=0)
    body = sent(server)
    assert (body["temperature"], body["top_p"]) == (0.001, 0.001)


def test_unknown_provider_is_a_clear_error(server):
    with pytest.raises(jc.ConfigError, match="unknown provider 'nope'.*one of: eigenai"):
        jc.chat("hi", model="nope:model")
    assert server.requests == []


def test_bare_model_goes_to_the_default_provider(server, monkeypatch):
    monkeypatch.setenv("JUPYTER_CHAT_MODEL", "openai:gpt-test")
    jc.chat("hi")
    assert sent(server)["model"] == "gpt-test"
    server.reset()
    jc.chat("hi", model="other-model")
    assert sent(server)["model"] == "other-model" and server.requests[0].dialect == "openai"


# -- endpoints users add ------------------------------------------------------------------------
def test_endpoint_from_the_config_file_needs_no_python(server, env, monkeypatch):
    env.write_text(
        env.read_text()
        + f"""
[providers.myvllm]
base_url = "{server.base_url("openai")}"
key_env = "MYVLLM_TOKEN"
default_model = "served-model"
headers = {{ "X-Team" = "research" }}
"""
    )
    monkeypatch.setenv("MYVLLM_TOKEN", DIALECTS["openai"][3])
    assert jc.chat("hi", model="myvllm").text == "Hello from openai."
    seen = server.requests[0]
    assert seen.body["model"] == "served-model" and seen.headers["x-team"] == "research"
    assert "myvllm" in jc.providers()


def test_endpoint_added_from_python_with_its_own_auth_header(server, monkeypatch):
    monkeypatch.setenv("GW_KEY", DIALECTS["patgateway"][3])
    jc.add_provider(
        "gw",
        server.base_url("patgateway"),
        auth_header="X-PAT",
        auth_scheme="",
        key_env="GW_KEY",
        extends="patgateway",
    )
    jc.chat("hi", model="gw", temperature=0)
    seen = server.requests[0]
    assert seen.headers["x-pat"] == DIALECTS["patgateway"][3]
    assert seen.body["temperature"] == 0.001  # the rules of the profile it extends


def test_env_base_url_overrides_a_custom_profile(server, monkeypatch):
    jc.add_provider("mine", "http://127.0.0.1:9/v1", key_required=False)
    monkeypatch.setenv("MINE_BASE_URL", server.base_url("local"))
    assert jc.chat("hi", model="mine:x").text == "Hello from local."


@pytest.mark.parametrize(
    "kwargs,msg",
    [
        (dict(name="bad name", base_url="http://x/v1"), "name"),
        (dict(name="x", base_url="ftp://host/v1"), "base_url"),
        (dict(name="x", base_url="http://h/v1", extends="nope"), "extends='nope'"),
        (dict(name="x", base_url="http://h/v1", timeout=3), "timeout"),
    ],
)
def test_invalid_provider_definitions_change_nothing(kwargs, msg):
    before = set(jc.providers())
    with pytest.raises(jc.ConfigError, match=msg):
        jc.add_provider(**kwargs)
    assert set(jc.providers()) == before


def test_corrupted_config_file_is_a_clear_error(env):
    env.write_text("[providers.x\nbase_url = ")
    with pytest.raises(jc.ConfigError, match=f"cannot read the config file {env}"):
        jc.providers()


def test_unknown_config_section_and_client_setting(env):
    env.write_text("[clients]\nx = 1\n")
    with pytest.raises(jc.ConfigError, match="unknown section or key 'clients'"):
        jc.providers()
    env.write_text("[client]\nread_timout = 1\n")
    with pytest.raises(jc.ConfigError, match="unknown client setting 'read_timout'"):
        jc.providers()


def test_configure_rejects_bad_values_and_keeps_the_old_ones():
    jc.configure(read_timeout=5)
    with pytest.raises(jc.ConfigError, match="expected a number"):
        jc.configure(read_timeout="soon")
    assert CONFIG.settings.read_timeout == 5


def test_client_settings_from_the_config_file(env):
    env.write_text("[client]\nread_timeout = 7\nmax_retries = 0\n")
    CONFIG.refresh()
    assert (CONFIG.settings.read_timeout, CONFIG.settings.max_retries) == (7.0, 0)


# -- keys ---------------------------------------------------------------------------------------
def test_key_from_a_config_file_outside_the_notebook_folder(server, env, monkeypatch, tmp_path):
    monkeypatch.delenv("EDENAI_API_KEY")
    monkeypatch.chdir(tmp_path)  # the notebook's folder; the config lives elsewhere
    env.write_text(env.read_text() + f'\n[keys]\nedenai = "{DIALECTS["edenai"][3]}"\n')
    assert jc.chat("hi", model=EDEN).text == "Hello from edenai."


def test_keys_in_a_config_file_inside_the_notebook_folder_are_refused(monkeypatch, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[keys]\nedenai = "sk-should-not-live-here"\n')
    monkeypatch.setenv("JUPYTER_CHAT_CONFIG", str(cfg))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(jc.ConfigError, match="inside the notebook's folder") as e:
        jc.providers()
    assert "sk-should-not-live-here" not in str(e.value)


def test_run_time_key_is_bound_to_its_host(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    jc.set_key("openai", DIALECTS["openai"][3])
    assert jc.chat("hi", model="openai:gpt-test").text == "Hello from openai."
    monkeypatch.setenv(
        "OPENAI_BASE_URL", server.base_url("openai").replace("127.0.0.1", "localhost")
    )
    with pytest.raises(jc.AuthenticationError, match="not sent to another host"):
        jc.chat("hi", model="openai:gpt-test")
    assert len(server.requests) == 1


def test_run_time_key_wins_over_the_environment(server):
    jc.set_key("openai", "sk-runtime-override-123")
    with pytest.raises(jc.AuthenticationError):
        jc.chat("hi", model="openai:gpt-test")  # the server knows only the env key
    assert server.requests[0].headers["authorization"] == "Bearer sk-runtime-override-123"


def test_set_key_refuses_empty_keys():
    with pytest.raises(jc.ConfigError, match="empty"):
        jc.set_key("openai", "  ")


def test_env_is_read_at_request_time_not_import_time(server, monkeypatch):
    monkeypatch.setenv("EIGENAI_API_KEY", "sk-changed-later-456")
    with pytest.raises(jc.AuthenticationError):
        jc.chat("hi", model="eigenai")
    assert server.requests[0].headers["authorization"] == "Bearer sk-changed-later-456"
    assert os.environ["EIGENAI_API_KEY"] == "sk-changed-later-456"


def test_run_time_key_is_bound_to_its_port_too(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    jc.set_key("openai", DIALECTS["openai"][3])
    port = server.base_url("openai").split(":")[2].split("/")[0]
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url("openai").replace(port, "9"))
    with pytest.raises(jc.AuthenticationError, match="not sent to another host"):
        jc.chat("hi", model="openai:gpt-test")
    assert server.requests == []


def test_credentials_in_a_base_url_are_masked_everywhere_and_the_path_goes_before_the_query(
    server, monkeypatch
):
    from jupyter_chat.client.request import build_request

    base = server.base_url("openai").replace("http://", "http://me:pw-in-url-7f3a@")
    monkeypatch.setenv("OPENAI_BASE_URL", base + "?key=sk-in-query-9c1d&api-version=2")
    req = build_request("openai", "m", [{"role": "user", "content": "x"}])
    assert req.url.split("?")[0].endswith("/openai/v1/chat/completions")
    assert req.url.endswith("?key=sk-in-query-9c1d&api-version=2")
    shown = json.dumps(req.public()) + repr(req)
    assert "pw-in-url-7f3a" not in shown and "sk-in-query-9c1d" not in shown
    assert "***@127.0.0.1" in shown and "key=***&api-version=2" in shown
    with pytest.raises(jc.ChatError) as err:  # an error that names the URL names it masked
        raise jc.ProviderError(f"failed: {req.url}")
    assert "pw-in-url-7f3a" not in str(err.value) and "sk-in-query-9c1d" not in str(err.value)
