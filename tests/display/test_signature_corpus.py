"""The edit corpus (tests/signature_edits.py) in the kernel and in the CLI: the function
``%chat verify`` uses, ``%chat verify`` in a real kernel, and ``jupyter-chat verify`` as a
real subprocess all say ``invalid`` (or an unknown signer) for every edit and ``verified`` for
the untouched outputs; the browser's share is tests/e2e/test_browser_signatures.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from signature_edits import EDITS, GENUINE, ROTATED_CONFIG, ROTATED_SIGNER
from signed import FIXTURE, fixture_reply, write_nb

import jupyter_chat as jc
from jupyter_chat.display.audit import audit
from jupyter_chat.display.renderings import same_json, same_text
from jupyter_chat.providers.config import CONFIG

CASES = GENUINE + EDITS


@pytest.fixture
def signed_turn(server):
    server.script(fixture_reply())
    turn = jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")
    assert turn.record["signature"] == "verified"
    return turn


def _configure(cfg, extra: str) -> None:
    if extra:
        cfg.write_text(cfg.read_text() + extra)
        CONFIG.__init__()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_kernel_rule(case, signed_turn, env, tmp_path):
    """audit(), the function %chat verify calls, in this process."""
    path = write_nb(tmp_path / "edited.ipynb", case.output(signed_turn))
    _configure(env, case.config)
    [(where, v)] = audit(path)
    assert (where, v.state) == ("cell 1", case.state), v.reason
    assert case.why in v.reason


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_cli(case, signed_turn, env, tmp_path):
    """``jupyter-chat verify`` as a real process, with the config the case names."""
    path = write_nb(tmp_path / "edited.ipynb", case.output(signed_turn))
    cfg = tmp_path / "config.toml"
    cfg.write_text(env.read_text() + case.config)
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_chat.cli", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**_environ(), "JUPYTER_CHAT_CONFIG": str(cfg)},
    )
    line = out.stdout.splitlines()[0]
    assert line.startswith(f"cell 1: {case.state}"), out.stdout + out.stderr
    assert case.why in line
    assert out.returncode == (1 if case.state == "invalid" else 0)


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_CHAT_")}


def test_percent_chat_verify_in_a_real_kernel(signed_turn, kernels, tmp_path):
    """``%chat verify`` in real kernels: one with the default signers over the whole corpus,
    one whose config rotates chain 1's signer over the genuine output."""
    plain = [c for c in CASES if not c.config]
    book = write_nb(tmp_path / "corpus.ipynb", *(c.output(signed_turn) for c in plain))
    rows = _verify_rows(kernels(cwd=tmp_path), book)
    assert rows == [(f"cell {n}", c.state) for n, c in enumerate(plain, 1)]
    rotated = [c for c in CASES if c.config == ROTATED_CONFIG]
    book = write_nb(tmp_path / "rotated.ipynb", *(c.output(signed_turn) for c in rotated))
    k = kernels(cwd=tmp_path, load=False)
    ran = k.run(
        "import os, pathlib\np = pathlib.Path(os.environ['JUPYTER_CHAT_CONFIG'])\n"
        f"p.write_text(p.read_text() + {ROTATED_CONFIG!r})\n%load_ext jupyter_chat"
    )
    assert ran.reply["status"] == "ok", ran.error
    assert _verify_rows(k, book) == [("cell 1", "invalid")]


def _verify_rows(kernel, book) -> list[tuple[str, str]]:
    ran = kernel.run(f"%chat verify {book}")
    assert ran.reply["status"] == "ok", ran.error
    text = ran.final["data"]["text/plain"]
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        if cells and cells[0].startswith("cell "):
            rows.append((cells[0], cells[1]))
    return rows


# -- the comparison the rule is made of (shown.ts has the same) ---------------------------------
@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("confidence: 0.85", "confidence:0.850", True),
        ("1.0", "1", True),
        ("a  b\n c", "abc", True),
        ("not safe", "safe", False),
        ("-5", "5", False),
        ("12.959", "12959", False),
        ("<b>", "b", False),
    ],
)
def test_text_is_compared_by_tokens(a, b, same):
    assert same_text(a, b) is same


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"a": [1, 2.0]}, json.loads('{"a": [1.0, 2]}'), True),
        (True, 1, False),
        (None, 0, False),
        ("1", 1, False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (10**400, float("inf"), True),
    ],
)
def test_json_values_are_compared_with_their_types(a, b, same):
    assert same_json(a, b) is same


# -- the rule at run time, the signer table, the comm ---------------------------------------------
def test_a_signed_answer_that_also_carries_tool_calls_is_invalid_at_run_time(server):
    """The signature covers the content, never tool calls: a response whose signed content
    holds but which also carries a tool call is not verified when it arrives either."""
    reply = fixture_reply()
    reply.body["choices"][0]["message"]["tool_calls"] = [
        {"id": "c1", "type": "function", "function": {"name": "sell", "arguments": "{}"}}
    ]
    server.script(reply)
    turn = jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")
    assert turn.record["signature"] == "invalid"
    assert "tool calls are shown" in turn.record["notes"][0]


def test_the_signer_table_is_one_file_that_the_extension_imports():
    from pathlib import Path

    from jupyter_chat.providers.eigencloud import DEFAULT_SIGNERS, SIGNERS_FILE

    table = json.loads(SIGNERS_FILE.read_text())
    assert {int(k): v for k, v in table.items()} == DEFAULT_SIGNERS
    assert DEFAULT_SIGNERS[1] == FIXTURE["expected_signer"]
    src = Path(__file__).resolve().parents[2] / "labextension" / "src"
    ts = (src / "signature.ts").read_text()
    assert "from '../../jupyter_chat/providers/signers.json'" in ts
    for path in src.glob("*.ts"):  # no second copy of an address anywhere in the extension
        text = path.read_text().lower()
        assert not any(a[2:].lower() in text for a in table.values()), path.name


def test_the_kernel_sends_its_signer_table_on_hello(env):
    """In reply to the extension's hello, the comm carries the config's signer table."""
    from jupyter_chat.display.comm import Frontend

    env.write_text(env.read_text() + ROTATED_CONFIG)
    CONFIG.__init__()

    class Comm:
        sent: list = []

        def send(self, data):
            self.sent.append(data)

        def on_close(self, f):
            pass

        def close(self):
            raise AssertionError("a hello is never refused")

    comm = Comm()
    Frontend()._opened(comm, {"content": {"data": {"type": "hello", "version": 1}}})
    [msg] = comm.sent
    assert msg["type"] == "signers"
    assert msg["signers"]["1"] == ROTATED_SIGNER
    assert (
        msg["signers"]["11155111"]
        == json.loads((Path(jc.__file__).parent / "providers" / "signers.json").read_text())[
            "11155111"
        ]
    )


def test_a_chat_cell_in_a_real_kernel_saves_an_output_the_rule_verifies(server, kernels, tmp_path):
    """The genuine output is what a real %%chat cell displays, not only what the test builds."""
    system, user = (m["content"] for m in FIXTURE["request"]["messages"])
    server.script(fixture_reply())
    k = kernels(cwd=tmp_path)
    ran = k.run(f'%%chat -m eigencloud:gpt-oss-120b-f16 -s "{system}"\n{user}')
    assert ran.reply["status"] == "ok", ran.error
    out = ran.final
    assert out["metadata"]["jupyter_chat"]["signature"] == "verified"
    output = {"output_type": "display_data", "data": out["data"], "metadata": out["metadata"]}
    [(_, v)] = audit(write_nb(tmp_path / "cell.ipynb", output))
    assert v.state == "verified", v.reason
