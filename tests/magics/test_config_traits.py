"""The notebook's defaults as traitlets of ChatMagics, in real IPython kernels: ``%config`` and
an ``ipython_config.py`` in the kernel's profile set what the next cell uses, through the same
functions as ``%chat use``, ``seed``, ``system``, ``window`` and ``replay``; one precedence
rule (README "Defaults with %config and ipython_config.py")."""

from __future__ import annotations

import hashlib
import json
import textwrap

import pytest

from jupyter_chat.session.state import Session

PROFILE = """
c.ChatMagics.default_model = "openai:from-profile"
c.ChatMagics.seed = 41
c.ChatMagics.system = "From the profile."
c.ChatMagics.default_params = {"temperature": 0.25}
c.ChatMagics.window = "500t"
"""


def profile_dir(tmp_path, text: str) -> str:
    home = tmp_path / "ipython"
    (home / "profile_default").mkdir(parents=True)
    (home / "profile_default" / "ipython_config.py").write_text(textwrap.dedent(text))
    return str(home)


def asked(server) -> tuple[str, str]:
    seen = server.requests[-1]
    return seen.dialect, seen.body["model"]


def state(kernel) -> dict:
    ran = kernel.run(
        "print(json.dumps({'model': SESSION.model, 'seed': SESSION.seed, 'system': "
        "SESSION.system, 'params': SESSION.params, 'turns': SESSION.window_turns, "
        "'tokens': SESSION.window_tokens, 'replay': SESSION.replay_mode}))"
    )
    assert ran.reply["status"] == "ok", ran.error
    return json.loads(ran.stdout)


@pytest.fixture
def k(kernels, tmp_path):
    """A kernel of its own for each test: the defaults are kernel-wide."""
    return kernels(cwd=tmp_path)


def test_config_sets_the_model_the_next_cell_uses(server, k):
    ran = k.run('%config ChatMagics.default_model = "openai:gpt-config"')
    assert ran.reply["status"] == "ok" and ran.stderr == ""
    assert k.run("%%chat\nhi").reply["status"] == "ok"
    assert asked(server) == ("openai", "gpt-config")


def test_config_and_the_chat_commands_set_the_same_state(server, k):
    k.run("%config ChatMagics.seed = 5")
    k.run("%config ChatMagics.window = 3")
    k.run("%config ChatMagics.default_params = {'top_p': 0.5}")
    assert state(k) | {"model": None} == {
        "model": None,
        "seed": 5,
        "system": None,
        "params": {"top_p": 0.5},
        "turns": 3,
        "tokens": None,
        "replay": "off",
    }
    # a %chat command changes the trait too: %config shows what is in force
    k.run("%chat seed off\n%chat window 200t\n%chat defaults temperature=0\n%chat use eigencloud")
    shown = k.run(
        "print([get_ipython().run_line_magic('config', f'ChatMagics.{n}') for n in "
        "('seed', 'window', 'default_params', 'default_model')])"
    ).stdout
    assert shown.strip() == "[None, '200t', {'top_p': 0.5, 'temperature': 0}, 'eigencloud']"


def test_config_lists_the_defaults_with_their_help(k):
    k.run('%chat use openai:gpt-listed\n%chat system "Be brief."')
    out = k.run("%config ChatMagics").stdout
    for name in ("default_model", "system", "seed", "default_params", "window", "replay_mode"):
        assert f"ChatMagics.{name}=" in out
    assert "as %chat use" in out and "as %chat seed N" in out
    assert "Current: 'openai:gpt-listed'" in out


def test_a_bad_value_is_said_and_changes_nothing(server, k):
    k.run("%chat use openai:kept")
    ran = k.run('%config ChatMagics.default_model = "nosuch:model"')
    assert "unknown provider 'nosuch'" in ran.stderr
    ran = k.run('%config ChatMagics.replay_mode = "sometimes"')
    assert "unknown replay mode 'sometimes'" in ran.stderr
    assert k.run("%config ChatMagics.default_model").reply["status"] == "ok"
    assert state(k)["model"] == "openai:kept" and state(k)["replay"] == "off"
    assert server.requests == []


def test_replay_mode_and_path_by_config(server, k, tmp_path):
    store = tmp_path / "by-config.chat.jsonl"
    k.run(f"%config ChatMagics.replay_path = {str(store)!r}")
    k.run('%config ChatMagics.replay_mode = "record"')
    assert k.run("%%chat -m openai:rec\nhi").reply["status"] == "ok"
    assert store.exists() and len(store.read_text().splitlines()) == 1
    k.run("%chat replay replay")
    shown = k.run("print(get_ipython().run_line_magic('config', 'ChatMagics.replay_mode'))")
    assert shown.stdout.strip() == "replay" and state(k)["replay"] == "replay"
    sent = len(server.requests)
    assert k.run("%%chat -m openai:rec\nhi").reply["status"] == "ok"
    assert len(server.requests) == sent  # answered from the store the config named


def test_ipython_config_sets_the_defaults_at_kernel_start(server, kernels, tmp_path):
    env = {"IPYTHONDIR": profile_dir(tmp_path, PROFILE)}
    kernel = kernels(cwd=tmp_path, env=env)
    assert state(kernel) == {
        "model": "openai:from-profile",
        "seed": 41,
        "system": "From the profile.",
        "params": {"temperature": 0.25},
        "turns": None,
        "tokens": 500,
        "replay": "off",
    }
    assert kernel.run("%%chat\nhi").reply["status"] == "ok"
    body = server.requests[-1].body
    assert asked(server) == ("openai", "from-profile")
    assert body["messages"][0] == {"role": "system", "content": "From the profile."}
    assert body["temperature"] == 0.25
    assert body["seed"] == seed_of("%%chat\nhi", 41) != seed_of("%%chat\nhi", 0)


def seed_of(cell: str, notebook_seed: int) -> int:
    """The seed a cell sends under a notebook seed (its key: the hash of its text)."""
    session = Session()
    session.seed = notebook_seed
    return session.derive_seed("src:" + hashlib.sha256(cell.encode()).hexdigest()[:16])


def test_one_precedence_rule(server, kernels, tmp_path):
    """A cell's option > the notebook's (whatever set it last: %chat use, %config, and
    ipython_config.py when the extension loaded) > JUPYTER_CHAT_MODEL > the config file."""
    env = {
        "IPYTHONDIR": profile_dir(tmp_path, PROFILE),
        "JUPYTER_CHAT_MODEL": "openai:from-env",
    }
    kernel = kernels(cwd=tmp_path, env=env)

    def model_of(cell: str = "%%chat\nhi") -> str:
        assert kernel.run(cell).reply["status"] == "ok"
        return asked(server)[1]

    assert model_of() == "from-profile"  # ipython_config.py over the environment
    assert model_of("%%chat -m openai:from-cell\nhi") == "from-cell"
    kernel.run("%chat use openai:from-use")
    assert model_of() == "from-use"  # set later: wins
    kernel.run('%config ChatMagics.default_model = "openai:from-config"')
    assert model_of() == "from-config"
    kernel.run("%chat use openai:from-use-again")
    assert model_of() == "from-use-again"
    assert model_of("%%chat -m openai:from-cell\nhi") == "from-cell"
    kernel.run("%config ChatMagics.default_model = None")
    assert model_of() == "from-env"  # the notebook's unset: the environment


def test_a_bad_ipython_config_value_is_said_and_the_extension_loads(server, kernels, tmp_path):
    env = {
        "IPYTHONDIR": profile_dir(
            tmp_path,
            'c.ChatMagics.replay_mode = "sometimes"\nc.ChatMagics.window = "lots"\n'
            "c.ChatMagics.seed = 3\n",
        )
    }
    kernel = kernels(load=False, cwd=tmp_path, env=env)
    ran = kernel.run("%load_ext jupyter_chat")
    assert ran.reply["status"] == "ok"
    assert "ChatMagics.replay_mode left out: unknown replay mode 'sometimes'" in ran.stderr
    assert "ChatMagics.window left out" in ran.stderr
    kernel.run("import json\nfrom jupyter_chat.session.state import SESSION")
    got = state(kernel)
    assert (got["seed"], got["replay"], got["turns"], got["tokens"]) == (3, "off", None, None)


def test_load_ext_with_a_profile_stays_light_and_networkless(server, kernels, tmp_path):
    env = {
        "IPYTHONDIR": profile_dir(
            tmp_path,
            PROFILE.replace('c.ChatMagics.default_params = {"temperature": 0.25}\n', "")
            + 'c.ChatMagics.replay_mode = "auto"\n',
        )
    }
    kernel = kernels(load=False, cwd=tmp_path, env=env)
    assert kernel.run("%load_ext jupyter_chat").reply["status"] == "ok"
    heavy = kernel.run(
        "import sys; print(sorted(m for m in ('httpx', 'pydantic', 'httpx_sse', "
        "'jupyter_chat.providers.profiles', 'jupyter_chat.client.runtime') if m in sys.modules))"
    )
    assert heavy.stdout.strip() == "[]"
    assert server.requests == []
    assert list(tmp_path.glob("*.chat.jsonl")) == []  # no store touched before a turn
