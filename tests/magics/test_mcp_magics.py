"""``%chat mcp`` and ``%%chat --tools mcp:...`` in a real IPython kernel: servers added and
listed (a header's value never shown), a tool loop against server-everything (npm, stdio) and
the MCPServer over HTTP, live, then replayed with the servers gone, and ``--live-tools``."""

from __future__ import annotations

import json

import pytest
from dialect_server import Reply, chunk, sse
from mcp_servers import TinyHttp, everything_command

TOKEN = "mcp-magic-token-8c2d4a"


@pytest.fixture(scope="module")
def everything():
    command = everything_command()
    if command is None:
        pytest.skip("npm is not on this machine: server-everything cannot be installed")
    return command


def tool_turn(name, args):
    call = {"index": 0, "id": "call_0", "type": "function"}
    call["function"] = {"name": name, "arguments": args}
    return Reply(events=sse(chunk(tool_calls=[call]), chunk(finish="tool_calls")))


def answer(text):
    return Reply(events=sse(chunk(text), chunk(finish="stop")))


def shown(ran) -> str:
    """Every output of the cell (not the echo of its source)."""
    return json.dumps([m["content"] for m in ran.messages if m["msg_type"] != "execute_input"])


def test_add_and_list_show_no_header_value(kernels, tmp_path):
    k = kernels(cwd=tmp_path)
    ran = k.run(
        f'%chat mcp add tiny --url http://127.0.0.1:9/mcp --header "Authorization=Bearer {TOKEN}"'
    )
    assert ran.error is None and "--tools mcp:tiny" in shown(ran)
    assert '\\"Authorization\\" = \\"...\\"' in shown(ran)  # the TOML to keep, no value
    listed = k.run("%chat mcp list")
    assert "Authorization: ***" in shown(listed) and "http://127.0.0.1:9/mcp" in shown(listed)
    assert TOKEN not in shown(ran) + shown(listed)
    bad = k.run("%chat mcp add tiny")
    assert "give -- COMMAND ARGS... (stdio) or --url URL (HTTP)" in shown(bad)
    loaded = k.run("import sys; print('mcp' in sys.modules)")  # nothing started, nothing imported
    assert loaded.stdout.strip() == "False"


def test_a_cell_with_mcp_tools_live_then_replayed_with_the_servers_gone(
    server, kernels, tmp_path, everything
):
    k = kernels(cwd=tmp_path)
    http = TinyHttp(TOKEN)
    store = tmp_path / "nb.chat.jsonl"
    cell_echo = "%%chat -m local --tools mcp:everything/echo\nEcho hi"
    cell_mul = "%%chat -m local --tools mcp:tiny/multiply --max-steps 3\nSix times seven?"
    try:
        k.run(f"%chat replay record {store}")
        ran = k.run(f"%chat mcp add everything -- {' '.join(everything)}")
        assert ran.error is None
        k.run(f'%chat mcp add tiny --url {http.url} --header "Authorization=Bearer {TOKEN}"')
        server.script(tool_turn("echo", '{"message": "hi"}'), answer("It echoed."))
        live = k.run(cell_echo)
        assert live.error is None and "Echo: hi" in shown(live)  # the result, shown
        server.script(tool_turn("multiply", '{"a": 6, "b": 7}'), answer("42"))
        live2 = k.run(cell_mul)
        assert live2.error is None and server.requests[-1].body["messages"][-1]["content"] == "42"
        assert k.run("%chat mcp list").error is None
        listed = k.run("%chat mcp tools everything")
        assert "get-sum" in shown(listed) and "Echoes back the input" in shown(listed)
    finally:
        http.stop()
    # the servers gone: the kernel's sessions closed, the stdio command made unusable
    k.run("from jupyter_chat.client.mcp import LINKS; LINKS.close_all()")
    k.run("%chat mcp add everything -- /nonexistent/mcp-server")
    k.run(f"%chat replay replay {store}")
    server.reset()
    again = k.run(cell_echo)
    assert again.error is None and "Echo: hi" in shown(again)
    again2 = k.run(cell_mul)
    assert again2.error is None and server.requests == []
    assert TOKEN not in store.read_text() + shown(again2) + shown(live2)
    # --live-tools calls the server again: it is gone, so the cell fails in one line
    gone = k.run("%%chat -m local --tools mcp:everything/echo --live-tools\nEcho hi")
    assert "MCP server 'everything' (/nonexistent/mcp-server) did not start" in gone.error["evalue"]
