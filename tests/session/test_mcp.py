"""MCP tools in the tool loop, against real servers no one here wrote: server-everything from
npm over stdio, and the ``mcp`` package's MCPServer over streamable HTTP (tests/mcp_server.py).
The model is the loopback dialect server, scripted to ask for the calls. Each loop runs live,
then replays offline with the server gone; a failing server is one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from dialect_server import Reply, chunk, sse
from mcp_servers import TinyHttp, everything_command, tiny_stdio_command

import jupyter_chat as jc
from jupyter_chat.client.mcp import LINKS
from jupyter_chat.replay.tools import compact, stats
from jupyter_chat.session import mcp as session_mcp
from jupyter_chat.session.state import SESSION

TOKEN = "mcp-test-token-5f1e9c"


@pytest.fixture(scope="module")
def everything():
    command = everything_command()
    if command is None:
        pytest.skip("npm is not on this machine: server-everything cannot be installed")
    return command


@pytest.fixture(autouse=True)
def no_servers():
    session_mcp._ADDED.clear()
    yield
    LINKS.close_all()
    session_mcp._ADDED.clear()


def tool_turn(*calls):
    """A streamed assistant turn that asks for these (name, JSON arguments) calls."""
    return Reply(
        events=sse(
            *(
                chunk(
                    tool_calls=[
                        {
                            "index": i,
                            "id": f"call_{i}",
                            "type": "function",
                            "function": {"name": n, "arguments": a},
                        }
                    ]
                )
                for i, (n, a) in enumerate(calls)
            ),
            chunk(finish="tool_calls"),
        )
    )


def answer(text):
    return Reply(events=sse(chunk(text), chunk(finish="stop")))


def tool_messages(server, i=1):
    return [m["content"] for m in server.requests[i].body["messages"] if m["role"] == "tool"]


def test_import_and_load_ext_do_not_import_mcp():
    code = (
        "import sys, jupyter_chat\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'jupyter_chat')\n"
        "ip.run_line_magic('chat', 'mcp add ev -- npx -y @modelcontextprotocol/server-everything')\n"
        "ip.run_line_magic('chat', 'mcp list')\n"
        "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_everything_over_stdio_live_then_replayed_with_the_server_gone(
    server, tmp_path, everything
):
    store = tmp_path / "mcp.jsonl"
    jc.set_replay("record", str(store))
    session_mcp.add_server("everything", command=everything[0], args=everything[1:])
    server.script(tool_turn(("echo", '{"message": "hello"}')), answer("It said hello."))
    live = jc.chat("Echo hello", model="local", tools=["mcp:everything/echo"], stream=True)
    assert live.text == "It said hello."
    offered = server.requests[0].body["tools"]
    assert [t["function"]["name"] for t in offered] == ["echo"]
    assert "$schema" not in offered[0]["function"]["parameters"]
    assert tool_messages(server) == ["Echo: hello"]  # the real server's answer went back
    assert live.record["tool_calls"] == [
        {
            "name": "echo",
            "arguments": '{"message": "hello"}',
            "ok": True,
            "result": "Echo: hello",
            "mcp": "everything",
        }
    ]
    LINKS.close_all()
    session_mcp.add_server("everything", command="/nonexistent/mcp-server")  # it cannot start
    jc.set_replay("replay", str(store))
    server.reset()
    again = jc.chat("Echo hello", model="local", tools=["mcp:everything/echo"], stream=True)
    assert again.text == live.text and again.record["replayed"] and server.requests == []
    assert again.record["tool_calls"] == live.record["tool_calls"]
    assert LINKS.opened() == {}  # no server was started


def test_all_of_a_servers_tools_and_a_python_function_side_by_side(server, everything):
    session_mcp.add_server("everything", command=everything[0], args=everything[1:])

    def local_clock() -> str:
        """The time."""
        return "noon"

    server.script(
        tool_turn(("get-sum", '{"a": 2, "b": 40}'), ("local_clock", "{}")), answer("42 at noon.")
    )
    turn = jc.chat("Sum", model="local", tools=["mcp:everything", local_clock])
    names = [t["function"]["name"] for t in server.requests[0].body["tools"]]
    assert {"echo", "get-sum", "local_clock"} <= set(names)
    assert "42" in tool_messages(server)[0] and tool_messages(server)[1] == "noon"
    assert turn.text == "42 at noon."


def test_http_server_with_a_header_live_then_replayed_with_the_server_gone(server, tmp_path):
    store = tmp_path / "http.jsonl"
    jc.set_replay("auto", str(store))
    http = TinyHttp(TOKEN)
    try:
        session_mcp.add_server("tiny", url=http.url, headers={"Authorization": f"Bearer {TOKEN}"})
        server.script(tool_turn(("multiply", '{"a": 6, "b": 7}')), answer("42."))
        live = jc.chat("6*7?", model="local", tools=["mcp:tiny"], thread="m")
    finally:
        LINKS.close_all()
        http.stop()
    assert tool_messages(server) == ["42"] and live.text == "42."
    assert stats(store)["providers"] == {"local": 2, "mcp:tiny": 2}  # the list and the call
    compact(store)  # the store's tools keep MCP recordings like any other
    jc.set_replay("replay", str(store))
    server.reset()
    again = jc.chat("6*7?", model="local", tools=["mcp:tiny"], thread="m2")
    assert again.text == "42." and again.record["replayed"] and server.requests == []
    kept = [store.read_text(), json.dumps(live.record), json.dumps(SESSION.history("m"))]
    assert not any(TOKEN in text for text in kept)  # a header value is a key


def test_live_tools_call_the_server_again_over_a_recording(server, tmp_path, everything):
    jc.set_replay("auto", str(tmp_path / "s.jsonl"))
    session_mcp.add_server("everything", command=everything[0], args=everything[1:])
    server.script(tool_turn(("echo", '{"message": "x"}')), answer("ok"))
    jc.chat("E", model="local", tools=["mcp:everything/echo"])
    LINKS.close_all()
    jc.chat("E", model="local", tools=["mcp:everything/echo"])  # replayed: nothing started
    assert LINKS.opened() == {}
    live = session_mcp.mcp_tools("mcp:everything/echo", live=True)
    jc.chat("E", model="local", tools=live)  # the model's turns replay; the tool is called
    assert LINKS.opened() == {"everything": True}


def test_confirm_declined_calls_nothing_and_max_steps_applies(server, everything):
    session_mcp.add_server("everything", command=everything[0], args=everything[1:])
    server.script(tool_turn(("echo", '{"message": "x"}')), answer("ok"))
    jc.chat("E", model="local", tools=["mcp:everything/echo"], confirm=lambda call: False)
    assert tool_messages(server) == ["error: the user declined to run this tool"]
    server.reset()
    server.script(*[tool_turn(("echo", '{"message": "x"}'))] * 3)
    with pytest.raises(jc.ChatError, match="still calling tools after 2 steps"):
        jc.chat("E", model="local", tools=["mcp:everything/echo"], max_steps=2)


def test_a_tool_that_answers_with_an_error_is_one_line_and_files_nothing(server):
    session_mcp.add_server("tiny", command=tiny_stdio_command()[0], args=tiny_stdio_command()[1:])
    server.script(tool_turn(("fail", '{"why": "the disk is full"}')), answer("never"))
    with pytest.raises(jc.ChatError) as e:
        jc.chat("F", model="local", tools=["mcp:tiny/fail"], thread="f")
    assert str(e.value).startswith("MCP server 'tiny': tool 'fail' failed")
    assert "\n" not in str(e.value) and SESSION.history("f") == [] and len(server.requests) == 1


def test_a_server_that_dies_mid_call_is_one_line(server):
    session_mcp.add_server("tiny", command=tiny_stdio_command()[0], args=tiny_stdio_command()[1:])
    server.script(tool_turn(("die", "{}")), answer("never"))
    with pytest.raises(jc.ChatError, match="MCP server 'tiny' went away while calling 'die'") as e:
        jc.chat("D", model="local", tools=["mcp:tiny/die"], thread="d")
    assert "\n" not in str(e.value) and SESSION.history("d") == []
    server.reset()
    server.script(tool_turn(("shout", '{"text": "back"}')), answer("It is back."))
    again = jc.chat("S", model="local", tools=["mcp:tiny/shout"], thread="d")  # started anew
    assert tool_messages(server) == ["BACK"] and again.text == "It is back."


def test_a_server_that_does_not_start_is_one_line(server):
    session_mcp.add_server("gone", command="/nonexistent/mcp-server", args=["--x"])
    with pytest.raises(jc.ChatError, match="MCP server .gone. .* did not start") as e:
        jc.chat("G", model="local", tools=["mcp:gone"])
    assert "\n" not in str(e.value) and server.requests == []


def test_an_http_server_that_refuses_says_its_status_and_never_the_key(server):
    http = TinyHttp(TOKEN)
    try:
        session_mcp.add_server("keyed", url=http.url, headers={"Authorization": "Bearer wrong"})
        with pytest.raises(jc.ChatError, match="did not connect: HTTP 401 Unauthorized") as e:
            jc.chat("K", model="local", tools=["mcp:keyed"])
        assert "refused the headers: check the key" in str(e.value)
        assert "wrong" not in str(e.value) and "\n" not in str(e.value)
        right = {"Authorization": f"Bearer {TOKEN}"}
        session_mcp.add_server("moved", url=http.url[: -len("mcp")] + "nope", headers=right)
        with pytest.raises(jc.ChatError, match="did not connect: HTTP 404 Not Found"):
            jc.chat("K", model="local", tools=["mcp:moved"])
    finally:
        LINKS.close_all()
        http.stop()
    assert server.requests == []


def test_a_missing_recording_in_replay_mode_names_the_server(server, tmp_path):
    jc.set_replay("replay", str(tmp_path / "empty.jsonl"))
    with pytest.raises(jc.ChatError, match="no recording of MCP server 'x'.s tool list"):
        jc.chat("G", model="local", tools=["mcp:x"])


def test_unknown_server_and_tool_are_named(server, everything):
    with pytest.raises(jc.ChatError, match="no MCP server named 'nope'"):
        jc.chat("G", model="local", tools=["mcp:nope"])
    session_mcp.add_server("everything", command=everything[0], args=everything[1:])
    with pytest.raises(jc.ChatError, match="has no tool 'ecko'.*echo"):
        jc.chat("G", model="local", tools=["mcp:everything/ecko"])


def test_servers_in_the_config_file(server, env, tmp_path, monkeypatch):
    cfg = env
    cfg.write_text(
        cfg.read_text()
        + "\n[mcp.tiny]\n"
        + f"command = {json.dumps(tiny_stdio_command()[0])}\n"
        + f"args = {json.dumps(tiny_stdio_command()[1:])}\n"
    )
    server.script(tool_turn(("shout", '{"text": "hi"}')), answer("HI"))
    jc.chat("S", model="local", tools=["mcp:tiny/shout"])
    assert tool_messages(server) == ["HI"]
    assert session_mcp.servers()["tiny"].transport == "stdio"


@pytest.mark.parametrize(
    "table, said",
    [
        ('[mcp.a]\nargs = ["x"]\n', "give a command (stdio) or a url (HTTP)"),
        ('[mcp.a]\nurl = "ftp://x"\n', "url must start with http"),
        ('[mcp.a]\ncommand = "x"\nport = 3\n', "unknown field 'port'"),
        ('[mcp.a]\nurl = "http://h/mcp"\nheaders = { A = 5 }\n', "headers must be a table"),
    ],
)
def test_a_bad_server_in_the_config_file_is_one_line(server, env, table, said):
    env.write_text(env.read_text() + "\n" + table)
    with pytest.raises(jc.ChatError, match=re.escape(said)) as e:
        jc.chat("S", model="local", tools=["mcp:a"])
    assert str(e.value).startswith(str(env))  # the file is named


def test_headers_in_a_config_file_inside_the_notebooks_folder_are_refused(
    server, tmp_path, monkeypatch
):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[mcp.a]\nurl = "http://h/mcp"\nheaders = {{ Authorization = "{TOKEN}" }}\n')
    monkeypatch.setenv("JUPYTER_CHAT_CONFIG", str(cfg))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(jc.ChatError, match="lies inside the notebook's folder") as e:
        jc.chat("S", model="local", tools=["mcp:a"])
    assert TOKEN not in str(e.value)


def test_a_key_a_tool_echoes_is_redacted_everywhere(server, tmp_path, everything):
    jc.set_replay("record", str(tmp_path / "k.jsonl"))
    session_mcp.add_server("everything", command=everything[0], args=everything[1:])
    session_mcp.add_server("keyed", url="http://127.0.0.1:9/mcp", headers={"X-Key": TOKEN})
    server.script(tool_turn(("echo", json.dumps({"message": TOKEN}))), answer("done"))
    turn = jc.chat("E", model="local", tools=["mcp:everything/echo"], thread="k")
    assert tool_messages(server) == ["Echo: ***"]
    # what MCP adds: its recordings, the tool messages filed, the record's results
    lines = (tmp_path / "k.jsonl").read_text().splitlines()
    kept = [line for line in lines if '"op":' in line]
    kept += [json.dumps(m) for m in SESSION.history("k") if m["role"] == "tool"]
    kept += [c["result"] for c in turn.record["tool_calls"]]
    assert len(kept) == 4 and not any(TOKEN in text for text in kept)


def test_a_call_that_takes_too_long_is_one_line(server):
    cmd = tiny_stdio_command()
    session_mcp.add_server("tiny", command=cmd[0], args=cmd[1:], timeout=1)
    server.script(tool_turn(("sleep", '{"seconds": 30}')), answer("never"))
    with pytest.raises(jc.ChatError, match="MCP server 'tiny' timed out while calling 'sleep'"):
        jc.chat("S", model="local", tools=["mcp:tiny/sleep"])


def test_without_the_mcp_package_the_error_says_what_to_install(server, monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)  # import mcp fails, as when not installed
    session_mcp.add_server("gone", command="/nonexistent/mcp-server")
    with pytest.raises(jc.ChatError, match=r"need the mcp package.*jupyter-chat\[mcp\]"):
        jc.chat("G", model="local", tools=["mcp:gone"])
