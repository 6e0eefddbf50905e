"""Every value of the config file is checked when the file is read (issue 20): a bad one is one
line naming the file, the value and what to do; nothing is sent, the settings in force stay,
a key is never echoed. Through the API and in a real kernel."""

from __future__ import annotations

import pytest
from dialect_server import completion

import jupyter_chat as jc
from jupyter_chat.providers.config import CONFIG

SECRET = "sk-do-not-show-me-0123456789"

# (the file's text, what the one line says)
BAD = {
    "client = 5": ("client = 5\n", "client = 5: expected a table"),
    "providers = 5": ("providers = 5\n", "providers = 5: expected a table"),
    "a provider that is a value": ('[providers]\nx = "y"\n', "providers.x = 'y': expected a table"),
    "a bad model_pattern": (
        '[providers.x]\nbase_url = "http://127.0.0.1:9/v1"\nmodel_pattern = "(["\n',
        "model_pattern '([' is not a regular expression",
    ),
    "a built-in's bad model_pattern": (
        '[providers.openai]\nmodel_pattern = "a{2,1}"\n',
        "provider 'openai': model_pattern 'a{2,1}' is not a regular expression",
    ),
    "an unknown provider field": (
        '[providers.x]\nbase_url = "http://127.0.0.1:9/v1"\nbase_ur = 1\n',
        "provider 'x': base_ur",
    ),
    "prices = 5": ("prices = 5\n", "prices = 5: expected a table"),
    "a price that is a number": ('[prices]\n"openai:m" = 5\n', "give input and output"),
    "default_model = 5": ("default_model = 5\n", "default_model = 5: expected a model name"),
    "default_model = []": ("default_model = []\n", "default_model = []: expected a model name"),
    "a timeout as text": ('[client]\nread_timeout = "soon"\n', "read_timeout = 'soon'"),
    "an endless timeout": ("[client]\nconnect_timeout = inf\n", "connect_timeout = inf"),
    "half a retry": ("[client]\nmax_retries = 1.5\n", "expected a whole number"),
    "a misspelt setting": ("[client]\nread_timout = 1\n", "unknown client setting 'read_timout'"),
    "signers = 5": ("signers = 5\n", "signers = 5: expected a table"),
    "a signer that is no address": ('[signers]\n"1" = "0x12"\n', "expected a chain id"),
    "a signer chain that is no number": (
        '[signers]\nmainnet = "0x7053bfb0433a16a2405de785d547b1b32cee0cf3"\n',
        "'mainnet'",
    ),
    "keys = a string": (f'keys = "{SECRET}"\n', "keys = ...: expected a table"),
    "a key that is a number": ("[keys]\nopenai = 12345678901234\n", "expected the key as"),
    "an unknown section": ("[clients]\nx = 1\n", "unknown section or key 'clients'"),
}


@pytest.fixture
def config(env, tmp_path, monkeypatch):
    """A config file outside the notebook's folder (so [keys] may be in it)."""
    folder = tmp_path / "notebook"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return env


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_value_is_one_line_naming_the_file_and_nothing_is_sent(server, config, name):
    text, says = BAD[name]
    jc.configure(read_timeout=33)
    server.script(completion("fine"))
    assert jc.chat("before", model="openai:m").text == "fine"  # the good file, read
    config.write_text(text)
    for attempt in (lambda: jc.chat("hi", model="openai:m"), jc.providers, CONFIG.signers):
        with pytest.raises(jc.ConfigError) as err:
            attempt()
        message = str(err.value)
        assert message.startswith(f"{config}: ") and says in message, message
        assert "\n" not in message and "bug" not in message and SECRET not in message
        assert "12345678901234" not in message
    assert len(server.requests) == 1  # nothing sent with the bad file
    assert CONFIG.settings.read_timeout == 33  # the settings in force stay


def test_the_fixed_file_is_taken_at_once(server, config):
    good = config.read_text()
    config.write_text(good + "\n[client]\nmax_retries = 1.5\n")
    with pytest.raises(jc.ConfigError, match="whole number"):
        jc.providers()
    config.write_text(good + "\n[client]\nmax_retries = 3\nread_timeout = 7\n")
    jc.providers()
    assert (CONFIG.settings.max_retries, CONFIG.settings.read_timeout) == (3, 7.0)


def test_run_time_mistakes_do_not_blame_the_file(config):
    with pytest.raises(jc.ConfigError) as err:
        jc.configure(read_timeout="soon")
    assert str(config) not in str(err.value) and "read_timeout = 'soon'" in str(err.value)
    with pytest.raises(jc.ConfigError, match="model_pattern '\\(\\[' is not a regular"):
        jc.add_provider("x", base_url="http://127.0.0.1:9/v1", model_pattern="([")
    assert "x" not in jc.providers()


def test_in_a_kernel_a_bad_config_value_fails_the_cell_with_one_line(server, k):
    path = k.run("import os; print(os.environ['JUPYTER_CHAT_CONFIG'])").stdout.strip()
    with open(path, encoding="utf-8") as f:
        good = f.read()
    try:
        for text, says in (BAD["client = 5"], BAD["a bad model_pattern"]):
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + good)
            ran = k.run("%%chat -m openai:gpt-test\nhi")
            assert ran.reply["status"] == "error"
            lines = [x for x in "".join(ran.error["traceback"]).splitlines() if x.strip()]
            assert len(lines) == 1 and path in lines[0] and says in lines[0], lines
            assert "bug in jupyter-chat" not in lines[0]
        assert server.requests == []
    finally:
        with open(path, "w", encoding="utf-8") as f:
            f.write(good)
    server.script(completion("back"))
    assert k.run("%%chat -m openai:gpt-test\nhi").reply["status"] == "ok"
