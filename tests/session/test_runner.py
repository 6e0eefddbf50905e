"""The one runner and the ask written once: the same options, signature and docs on every
Python call; a wrong call is one clear line; an interrupt of ``chat()`` (plain, or while a
structured answer is repaired) is one calm line in a real kernel, as in the magics."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
from dialect_server import Reply, chunk, sse

import jupyter_chat as jc
from jupyter_chat.session.ask import Options

ASK = {
    "model": None,
    "thread": None,
    "system": None,
    "seed": None,
    "stream": False,
    "tools": None,
    "images": None,
    "schema": None,
    "repair": 1,
    "samples": None,
    "pick": None,
    "budget": None,
    "budget_unknown": "refuse",
}


@pytest.mark.parametrize("name", ["chat", "achat", "map", "imap"])
def test_every_python_call_takes_the_same_ask(name):
    fn = getattr(jc, name)
    params = inspect.signature(fn).parameters
    assert {n: params[n].default for n in ASK} == ASK
    assert list(params)[-1] == "params" and params["params"].kind is inspect.Parameter.VAR_KEYWORD
    for option in ASK:  # documented once, shown on each
        assert f"\n    {option} : " in fn.__doc__, option
    assert [f.name for f in Options.__dataclass_fields__.values()] == [*ASK, "params"]


def test_chat_and_achat_take_the_prompt_and_model_positionally(server):
    assert list(inspect.signature(jc.chat).parameters)[:2] == ["prompt", "model"]
    assert jc.chat("hi", "local", seed=3).record["params"]["seed"] == 3
    # map's template and options: the options are keyword-only
    assert inspect.signature(jc.map).parameters["model"].kind is inspect.Parameter.KEYWORD_ONLY


def test_a_wrong_call_is_one_clear_line_not_a_bug(server):
    with pytest.raises(jc.ConfigError) as e:
        jc.chat("hi", "local", *[None] * 3, False, *[None] * 3, 1, *[None] * 3, "refuse", "x")
    assert "chat(): too many positional arguments" in str(e.value)
    assert "bug" not in str(e.value)
    with pytest.raises(jc.ConfigError, match="map\\(\\): missing a required argument"):
        jc.map()
    assert server.requests == []


def test_jupyter_chat_local_is_a_module_that_starts_nothing():
    code = (
        "import jupyter_chat.local as local, jupyter_chat, sys;"
        "assert jupyter_chat.local is local;"
        "assert callable(local.start) and callable(local.stop) and callable(local.status);"
        "print(local.status().get('running'), 'httpx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def slow(*words: str) -> Reply:
    return Reply(events=sse(*(chunk(w) for w in words)), split=50, delay=0.05)


def test_interrupting_chat_is_one_calm_line(server, k):
    server.script(slow(*(f"w{i} " for i in range(300))))
    code = "import jupyter_chat\njupyter_chat.chat('long one', model='local', stream=True)"
    reply, errors, _ = k.interrupted(code, after=1.5)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    (error,) = errors
    (line,) = error["traceback"]
    assert line.startswith("\x1b[31minterrupted: kept ") and "nothing filed" in line
    assert "Traceback" not in json.dumps(errors) and "jupyter_chat" not in json.dumps(errors)


def test_interrupting_chat_while_it_repairs_is_one_calm_line(server, k):
    # the first answer does not match the schema; the repair's answer is slow
    server.script(
        Reply(events=sse(chunk('{"n": "not a number"}'), chunk(finish="stop"))),
        slow(*(f"w{i} " for i in range(300))),
    )
    code = (
        "import jupyter_chat\n"
        "jupyter_chat.chat('a number', model='local', stream=True,\n"
        "    schema={'type': 'object', 'properties': {'n': {'type': 'integer'}},"
        " 'required': ['n']})"
    )
    reply, errors, _ = k.interrupted(code, after=1.5)
    assert len(server.requests) == 2  # interrupted during the repair
    assert reply["ename"] == "KeyboardInterrupt"
    (error,) = errors
    assert len(error["traceback"]) == 1 and "nothing filed" in error["traceback"][0]
