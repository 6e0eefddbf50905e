"""Python functions as tools (the loop), Adaptive's server-side tools, and images."""

from __future__ import annotations

import base64
import http.server
import io
import json
import threading
from pathlib import Path

import pytest
from dialect_server import Reply, chunk, sse

import jupyter_chat as jc
from jupyter_chat.session.state import SESSION
from jupyter_chat.session.tools import schema, tool

CALLS: list = []


@tool
def get_weather(city: str, unit: str = "c") -> dict:
    """Get the current weather for a city.

    Parameters
    ----------
    city : str
        The city's name.
    unit : str
        c or f.
    """
    CALLS.append(("get_weather", city, unit))
    return {"city": city, "temp": 21, "unit": unit}


def broken(x: int) -> str:
    """Always fails."""
    raise RuntimeError("the sensor is offline")


@pytest.fixture(autouse=True)
def clear_calls():
    CALLS.clear()


def call_chunk(index, id_, name, args, **kw):
    return chunk(
        tool_calls=[
            {
                "index": index,
                "id": id_,
                "type": "function",
                "function": {"name": name, "arguments": args},
            }
        ],
        **kw,
    )


def tool_turn(*calls):
    """A streamed assistant turn that asks for these (name, args) calls."""
    return Reply(
        events=sse(
            *(call_chunk(i, f"call_{i}", n, a) for i, (n, a) in enumerate(calls)),
            chunk(finish="tool_calls"),
        )
    )


def answer(text="It is 21 degrees."):
    return Reply(events=sse(chunk(text), chunk(finish="stop")))


def test_schema_from_signature_hints_and_docstring():
    fn = schema(get_weather)["function"]
    assert (
        fn["name"] == "get_weather" and fn["description"] == "Get the current weather for a city."
    )
    props = fn["parameters"]["properties"]
    assert props["city"] == {"description": "The city's name.", "type": "string"}
    assert props["unit"]["default"] == "c" and fn["parameters"]["required"] == ["city"]


def test_a_two_step_tool_loop(server):
    server.script(tool_turn(("get_weather", '{"city": "Paris"}')), answer())
    turn = jc.chat("Weather in Paris?", model="local", tools=[get_weather], stream=True, thread="w")
    assert turn.text == "It is 21 degrees." and CALLS == [("get_weather", "Paris", "c")]
    first, second = (r.body for r in server.requests)
    assert first["tools"][0]["function"]["name"] == "get_weather"
    msgs = second["messages"]
    assert msgs[-2]["role"] == "assistant" and msgs[-2]["tool_calls"][0]["id"] == "call_0"
    assert msgs[-2]["content"] == ""  # never null: llama.cpp answers 500 to that
    assert msgs[-1] == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": '{"city": "Paris", "temp": 21, "unit": "c"}',
    }
    assert turn.record["tool_calls"] == [
        {
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
            "ok": True,
            "result": msgs[-1]["content"],
        }
    ]
    assert turn.record["steps"] == 2
    roles = [m["role"] for m in SESSION.history("w")]
    assert roles == ["user", "assistant", "tool", "assistant"]  # the whole exchange is kept


def test_parallel_calls_and_fragmented_arguments(server):
    frags = [
        call_chunk(0, "call_a", "get_weather", '{"ci'),
        call_chunk(1, "call_b", "get_weather", '{"city": "Oslo", '),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": 'ty": "Rome"}'}}]),
        chunk(tool_calls=[{"index": 1, "function": {"arguments": '"unit": "f"}'}}]),
        chunk(finish="tool_calls"),
    ]
    server.script(Reply(events=sse(*frags), split=7), answer())
    jc.chat("Two cities", model="local", tools=[get_weather], stream=True, parallel_tool_calls=True)
    assert CALLS == [("get_weather", "Rome", "c"), ("get_weather", "Oslo", "f")]
    tool_msgs = [m for m in server.requests[1].body["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["call_a", "call_b"]
    assert server.requests[0].body["parallel_tool_calls"] is True


def test_a_failing_tool_and_bad_arguments_go_back_to_the_model(server):
    server.script(tool_turn(("broken", '{"x": 1}'), ("get_weather", "{not json")), answer("Sorry."))
    turn = jc.chat("Try", model="local", tools=[broken, get_weather], stream=True)
    tool_msgs = [m["content"] for m in server.requests[1].body["messages"] if m["role"] == "tool"]
    assert tool_msgs[0] == "error: RuntimeError: the sensor is offline"
    assert tool_msgs[1].startswith("error: invalid JSON arguments")
    assert [c["ok"] for c in turn.record["tool_calls"]] == [False, False]
    assert turn.text == "Sorry." and CALLS == []


def test_the_step_limit_is_a_clear_error_and_files_nothing(server):
    server.script(*[tool_turn(("get_weather", '{"city": "X"}'))] * 3)
    with pytest.raises(jc.ChatError, match="still calling tools after 2 steps") as e:
        jc.chat("Loop", model="local", tools=[get_weather], max_steps=2, thread="lim")
    assert "max_steps" in str(e.value)
    assert SESSION.history("lim") == [] and len(server.requests) == 2


def test_confirm_refused_runs_nothing(server):
    server.script(tool_turn(("get_weather", '{"city": "Paris"}')), answer("OK."))
    jc.chat("W?", model="local", tools=[get_weather], confirm=lambda call: False)
    assert CALLS == []
    tool_msg = server.requests[1].body["messages"][-1]
    assert tool_msg["content"] == "error: the user declined to run this tool"


def test_named_tool_choice_is_forced_once(server):
    server.script(tool_turn(("get_weather", '{"city": "Lima"}')), answer())
    jc.chat(
        "W?",
        model="openai:gpt-test",
        tools=[get_weather],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    first, second = (r.body for r in server.requests)
    assert first["tool_choice"]["function"]["name"] == "get_weather"
    assert second["tool_choice"] == "auto"  # otherwise the model could never answer


def test_raw_harmony_tool_calls_become_calls(server):
    raw = (
        "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>"
        'commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Kyiv"}'
        "<|call|>"
    )
    server.script(
        Reply(
            body={
                "id": "h",
                "model": "gpt-oss-120b-f16",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": raw}}],
            }
        ),
        answer(),
    )
    turn = jc.chat("W?", model="eigencloud", tools=[get_weather])
    assert CALLS == [("get_weather", "Kyiv", "c")]
    tool_msg = server.requests[1].body["messages"][-1]
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"].startswith("call_")
    assert turn.text == "It is 21 degrees."


def test_a_tool_exchange_replays(server, tmp_path):
    jc.set_replay("record", str(tmp_path / "t.jsonl"))
    server.script(tool_turn(("get_weather", '{"city": "Paris"}')), answer())
    live = jc.chat("W?", model="local", tools=[get_weather], stream=True)
    jc.set_replay("replay", str(tmp_path / "t.jsonl"))
    server.reset()
    again = jc.chat("W?", model="local", tools=[get_weather], stream=True)
    assert again.text == live.text and server.requests == [] and again.record["replayed"]
    assert len(CALLS) == 2  # the functions ran again, the model did not


def test_adaptive_server_side_tools(server):
    jc.chat("hi", model="adaptive:proj", server_tools=["search", "calc"])
    body = server.requests[-1].body
    assert body["tools"] == [{"id": "search", "enabled": True}, {"id": "calc", "enabled": True}]
    assert body["use_tools"] is True
    with pytest.raises(jc.ConfigError, match="server-side tools, not function tools"):
        jc.chat("hi", model="adaptive:proj", tools=[get_weather])
    with pytest.raises(jc.ConfigError, match="has no server-side tools"):
        jc.chat("hi", model="local", server_tools=["search"])


# -- images -------------------------------------------------------------------------------------
def png_bytes(size=(4, 3), color=(200, 30, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def image_parts(server):
    content = server.requests[-1].body["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    return [p["image_url"]["url"] for p in content[1:]]


def test_images_from_every_kind_of_source(server, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from PIL import Image

    path = tmp_path / "red.png"
    path.write_bytes(png_bytes())
    jpeg = io.BytesIO()
    Image.new("RGB", (2, 2)).save(jpeg, format="JPEG")
    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1])
    turn = jc.chat(
        "What is this?",
        model="openai:gpt-test",
        images=[
            str(path),
            jpeg.getvalue(),
            Image.new("RGB", (3, 3)),
            fig,
            "https://example.org/cat.png",
        ],
    )
    urls = image_parts(server)
    assert urls[0] == "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
    assert urls[1].startswith("data:image/jpeg;base64,")
    assert urls[2].startswith("data:image/png;base64,") and urls[3].startswith("data:image/png")
    assert urls[4] == "https://example.org/cat.png"  # a URL the provider may fetch itself
    record = json.dumps(turn.record)
    assert "base64" not in record and len(turn.record["images"]) == 5
    assert turn.record["images"][0]["media_type"] == "image/png"


@pytest.fixture
def image_host():
    """A loopback web server with one image, counting requests."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            if self.path == "/cat.png":
                body = png_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", hits
    srv.shutdown()


def test_adaptive_gets_a_data_url_even_for_a_url(server, image_host):
    base, hits = image_host
    jc.chat("What is this?", model="adaptive:proj", images=[f"{base}/cat.png"])
    [url] = image_parts(server)
    assert url == "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    assert hits == ["/cat.png"]
    server.reset()
    with pytest.raises(jc.ConfigError, match="cannot fetch the image"):
        jc.chat("What is this?", model="adaptive:proj", images=[f"{base}/missing.png"])
    assert server.requests == []


def test_image_errors_come_before_sending(server, tmp_path):
    with pytest.raises(jc.ConfigError, match="eigencloud does not take images"):
        jc.chat("What is this?", model="eigencloud", images=[png_bytes()])
    with pytest.raises(jc.ConfigError, match="cannot read the image"):
        jc.chat("What is this?", model="openai:gpt-test", images=[str(tmp_path / "no.png")])
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes()[:8] + b"\0" * (11 * 1024 * 1024))
    with pytest.raises(jc.ConfigError, match="the limit is 10 MB"):
        jc.chat("What is this?", model="openai:gpt-test", images=[str(big)])
    with pytest.raises(jc.ConfigError, match="unsupported image format"):
        jc.chat("What is this?", model="openai:gpt-test", images=[b"GIF? no, text"])
    assert server.requests == []


def test_recordings_keep_an_images_hash_not_its_bytes(server, tmp_path):
    store = tmp_path / "img.jsonl"
    jc.set_replay("auto", str(store))
    jc.chat("What is this?", model="openai:gpt-test", images=[png_bytes()])
    text = store.read_text()
    assert "base64" not in text and "sha256:" in text
    assert jc.chat("What is this?", model="openai:gpt-test", images=[png_bytes()]).record[
        "replayed"
    ]
    with pytest.raises(jc.ChatError):  # another image is another request
        jc.set_replay("replay", str(store))
        jc.chat("What is this?", model="openai:gpt-test", images=[png_bytes(color=(0, 0, 9))])


def test_magics_tools_confirm_images_and_thumbnails(server, kernels, tmp_path):

    kernel = kernels(load=False, cwd=tmp_path)
    Path(tmp_path / "pic.png").write_bytes(png_bytes())
    kernel.run(
        "%load_ext jupyter_chat\nran = []\n"
        "def lookup(q: str) -> str:\n    'Search.'\n    ran.append(q)\n"
        "    return 'found ' + q"
    )
    server.script(tool_turn(("lookup", '{"q": "x"}')), answer("Done."))
    cell = kernel.run("%%chat -m local --tools lookup\nFind x")
    assert cell.reply["status"] == "ok", cell.error
    texts = [d["content"]["data"]["text/plain"] for d in cell.of("display_data")]
    assert any("lookup returned: found x" in t for t in texts)
    assert "Done." in cell.final["data"]["text/plain"]
    server.script(tool_turn(("lookup", '{"q": "y"}')), answer("No."))
    cell = kernel.run("%%chat -m local --tools lookup --confirm\nFind y", stdin="n")
    assert "Run lookup" in cell.stdin_prompts[0]["prompt"]
    assert kernel.run("print(ran)").stdout.strip() == "['x']"  # y was refused
    cell = kernel.run("%%chat -m openai:gpt-test --image pic.png\nWhat is this?")
    assert cell.final["data"]["text/markdown"].startswith(
        '<div class="jupyter-chat-turn"><p><img src="data:image/png;base64,'
    )
    assert "[image image/png" in cell.final["data"]["text/plain"]
    sent = server.requests[-1].body["messages"][-1]["content"][1]["image_url"]["url"]
    assert sent.startswith("data:image/png;base64,")
    cell = kernel.run("%%chat -m local --tools nosuchfn\nhi")
    assert cell.reply["status"] == "error" and "'nosuchfn' is not a function" in cell.stderr
