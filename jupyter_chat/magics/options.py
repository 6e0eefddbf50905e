"""The option parser shared by ``%%chat`` and ``%chat``: argparse that reports in the cell,
``KEY=VALUE`` parameters (JSON values, finite numbers, no names the session sets itself), and
header pairs."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from typing import Any

from IPython.core.error import UsageError

from .._secrets import clip
from ..errors import ChatError, did_you_mean

FORMATS = ("markdown", "text", "code", "json", "html")


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in the cell instead of exiting the kernel."""

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = self._suggestion(message)
        if hint:  # the likely fix first, then what argparse said
            message = f"{hint[0].upper()}{hint[1:]} ({message})"
        raise UsageError(clip(" ".join(f"{self.prog}: {message}".split()), 300))  # one line

    def _suggestion(self, message: str) -> str:
        """The nearest option to an unknown one, or subcommand (or choice) to a wrong one."""
        if message.startswith("unrecognized arguments:"):
            words = message.partition(":")[2].split()
            for word in (w.partition("=")[0] for w in words if w.startswith("-")):
                hint = did_you_mean(word, self._option_string_actions)
                if hint:
                    return hint
        found = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if found:
            return did_you_mean(found[1], re.findall(r"'([^']*)'", found[2]))
        return ""

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            raise UsageError(clip(" ".join(message.split()), 300))
        raise Done


class Done(Exception):
    """--help was printed."""


def cell_parser() -> Parser:
    p = Parser(
        prog="%%chat",
        description="Send the cell to a model; the answer streams into the output. The cell "
        "body is the user message; {name}, {obj.attr}, {d[key]}, {In[3]}, {Out[3]} and {Err[3]} "
        "are filled in from the notebook ({{ and }} for literal braces; code in ``` fences and "
        "`spans` is left alone).",
        add_help=True,
    )
    a = p.add_argument
    a("-m", "--model", help="PROVIDER:MODEL (or PROVIDER, or MODEL on the default provider)")
    a("-t", "--thread", help="the thread to continue (default: the notebook's current thread)")
    a("-s", "--system", help="system prompt for this turn (default: %%chat system)")
    a("--seed", type=int, help="seed to send (default: derived from the notebook seed and cell)")
    a(
        "--temperature",
        type=float,
        metavar="X",
        help="sampling temperature: --temperature 0 for the likeliest tokens, 1 for variety",
    )
    a(
        "--top-p",
        dest="top_p",
        type=float,
        metavar="X",
        help="sample only from the likeliest tokens that make up this share: --top-p 0.9",
    )
    a(
        "--max-tokens",
        dest="max_tokens",
        type=int,
        metavar="N",
        help="the longest answer, in tokens: --max-tokens 500 (local sends 256 unless told)",
    )
    a(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any provider parameter; VALUE is JSON when it parses (-p top_k=40, "
        "-p 'fallbacks=[\"a/b\"]'), else a string",
    )
    a(
        "--budget",
        type=float,
        metavar="USD",
        help="the most this cell may spend, in USD: --budget 0.05 (refused before sending when "
        "its estimate is over; %%chat budget USD limits the whole notebook)",
    )
    a("--no-stream", action="store_true", help="wait for the whole answer, then show it")
    a(
        "--logprobs",
        nargs="?",
        const=True,
        type=int,
        metavar="K",
        help="ask for each token's probability and its top K alternatives (default 5 where "
        "the provider gives alternatives); shown shaded, kept in the turn",
    )
    a("--new", action="store_true", help="start the thread afresh with this turn")
    a(
        "--format",
        choices=FORMATS,
        default="markdown",
        help="markdown (default); text; code (also offers the code as the next cell); json "
        "(parse and pretty-print); html",
    )
    a(
        "--schema",
        metavar="NAME",
        help="the answer must be JSON matching this notebook variable: a pydantic model, a "
        "JSON-schema dict or a type (list[str], a TypedDict); shown parsed, in turn.parsed",
    )
    a(
        "--repair",
        type=int,
        default=1,
        metavar="N",
        help="send an answer that does not match --schema back N times (default 1; 0: none)",
    )
    a("-o", "--out", metavar="VAR", help="store the Turn in this variable")
    a("--dry-run", action="store_true", help="show the request that would be sent (no key)")
    a("--no-interpolate", action="store_true", help="send the cell body as it is")
    a(
        "--tools",
        metavar="F1,F2",
        help="Python functions the model may call (run in the kernel), and MCP servers' tools: "
        "mcp:NAME (all of them) or mcp:NAME/TOOL",
    )
    a(
        "--live-tools",
        action="store_true",
        help="call MCP tools again even where the replay store holds their results",
    )
    a("--tool-choice", metavar="auto|required|none|NAME", help="whether and which tool to call")
    a("--max-steps", type=int, default=8, help="at most this many requests in a tool loop")
    a("--confirm", action="store_true", help="ask before running each tool call")
    a("--server-tools", metavar="ID1,ID2", help="Adaptive: switch on these server-side tools")
    a(
        "--image",
        action="append",
        default=[],
        metavar="PATH|URL|VAR",
        help="an image to send (repeatable): a file, an http(s) URL, or a variable holding bytes, "
        "a PIL image or a matplotlib figure",
    )
    a(
        "--compare",
        metavar="MODEL1,MODEL2,...",
        help="send the cell to each model at once, streaming side by side (widgets)",
    )
    a(
        "--sweep",
        action="append",
        metavar="NAME=V1,V2,...",
        help="send the cell once per value of one parameter (or seed), side by side, each "
        "column labelled by its value and what differs from the first marked",
    )
    a(
        "--samples",
        type=int,
        metavar="K",
        help="ask K times at once, each sample with its own seed derived from the cell's; "
        "shows how far the answers agree and files one in the thread",
    )
    a(
        "--pick",
        metavar="N|common",
        help="with --samples: the sample the thread files, by its index from 0 (default common: "
        "the first of the most common answer)",
    )
    for action in p._actions:  # every option that takes a value shows one
        if action.dest in EXAMPLES:
            action.help = f"{action.help} (e.g. {EXAMPLES[action.dest]})"
    return p


EXAMPLES = {
    "model": "-m local, -m eigencloud:gpt-oss-120b-f16",
    "thread": "-t review",
    "system": "-s 'Answer in one sentence.'",
    "seed": "--seed 7",
    "format": "--format code",
    "schema": "--schema Review",
    "repair": "--repair 2",
    "out": "-o turn",
    "tools": "--tools get_weather,mcp:everything/echo",
    "tool_choice": "--tool-choice required",
    "max_steps": "--max-steps 4",
    "server_tools": "--server-tools web_search",
    "image": "--image chart.png",
    "compare": "--compare local,openai:gpt-4o",
    "samples": "--samples 8",
    "pick": "--pick 3",
    "sweep": "--sweep temperature=0,0.7,1.2, --sweep seed=1,2,3",
    "logprobs": "--logprobs, --logprobs 3",
}


def split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"cannot parse the options: {exc}") from None


def parse_params(pairs: list[str], option: str = "-p") -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a value is JSON when it parses, and must when it looks like JSON.
    Names the session sets itself (``seed``, ``model``, ...) and non-finite numbers are
    refused here, before anything is sent or kept."""
    from ..session.resolve import check_param_names

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise UsageError(f"{option} {pair!r}: expected KEY=VALUE")
        out[key] = _json_value(raw, f"{option} {key}")
    try:
        check_param_names(out)
    except ChatError as exc:
        raise UsageError(f"{option}: {exc}") from None
    return out


def parse_headers(pairs: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` header pairs, the names kept as written (``X-Team``)."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not _HEADER_NAME.fullmatch(name):
            raise UsageError(f"--header {pair!r}: expected NAME=VALUE with a header name")
        if any(c in value for c in "\r\n\x00"):
            raise UsageError(f"--header {name}: a header value is one line")
        out[name] = value.strip()
    return out


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}")


def _json_value(raw: str, where: str) -> Any:
    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a finite number")

    try:
        return json.loads(raw, parse_constant=no_constant)
    except RecursionError:
        raise UsageError(f"{where}: the value is nested too deeply") from None
    except ValueError as exc:
        if "finite" in str(exc) or raw.strip()[:1] in ("[", "{", '"'):
            why = str(exc) if "finite" in str(exc) else "the value is not valid JSON"
            raise UsageError(f"{where}: {why}: {clip(raw, 80)}") from None
        return raw
