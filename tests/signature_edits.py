"""The corpus of edits to a genuine signed EigenCloud output (the fixture, as a %%chat cell saves
it): each must be ``invalid`` (or an unknown signer) in the kernel, the CLI and the browser,
and the untouched outputs ``verified`` in all three."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from signed import saved_output

MIME = "application/vnd.jupyter-chat+json"
# a rotated or private signer: [signers] in the config names another address for chain 1
ROTATED_SIGNER = "0x00000000000000000000000000000000000000a1"
ROTATED_CONFIG = f'\n[signers]\n"1" = "{ROTATED_SIGNER}"\n'
PRIVATE_CHAIN = 31337  # a chain only a kernel's config knows: the browser has no signer for it
PRIVATE_CONFIG = f'\n[signers]\n"{PRIVATE_CHAIN}" = "0x00000000000000000000000000000000000000b2"\n'


def copy(output: dict) -> dict:
    return json.loads(json.dumps(output))


def genuine(turn: Any) -> dict:
    """The output a %%chat cell saves for the signed fixture turn."""
    return saved_output(turn)


def genuine_parsed(turn: Any) -> dict:
    """The same turn asked with a schema: the answer's JSON shown as the parsed value."""
    from jupyter_chat.display.bundle import bundle

    data, meta = bundle(
        answer=turn.text,
        reasoning=turn.reasoning,
        tool_calls=turn.tool_calls,
        record=turn.record,
        messages=turn.messages[-1:],
        status="complete",
        signed=turn.signed,
        parsed=("signal", json.loads(turn.text)),
    )
    return {"output_type": "display_data", "metadata": meta, "data": data}


def genuine_logprobs(turn: Any) -> dict:
    """The same turn asked with ``--logprobs``: tokens that spell the signed content, each
    with a log-probability (EigenCloud sends no alternatives), under the answer and in the
    footer; the figures are outside the signature and the output says so."""
    from logprobs_data import content

    from jupyter_chat.display.bundle import bundle
    from jupyter_chat.stream import compact_logprobs

    raw = turn.signed["response_contents"][0]
    record = {**turn.record, "logprobs": compact_logprobs({"content": content(raw, 0)})}
    data, meta = bundle(
        answer=turn.text,
        reasoning=turn.reasoning,
        tool_calls=turn.tool_calls,
        record=record,
        messages=turn.messages[-1:],
        status="complete",
        signed=turn.signed,
    )
    return {"output_type": "display_data", "metadata": meta, "data": data}


def _logprobs_edit(out: dict, edit: Callable[[dict], None]) -> None:
    """``edit`` applied to the structured turn's token probabilities (packed JSON)."""
    lp = json.loads(out["data"][MIME]["logprobs"])
    edit(lp)
    out["data"][MIME]["logprobs"] = json.dumps(lp, ensure_ascii=False, separators=(",", ":"))


def _logprob_figures(out: dict) -> None:
    """A token's figure changed: outside the signature, and shown as such (still verified)."""
    _logprobs_edit(out, lambda lp: lp["logprobs"].__setitem__(3, -4000))


def _logprob_token(out: dict) -> None:
    """A token of the structured turn's that the signed content does not hold."""

    def edit(lp: dict) -> None:
        lp["tokens"][lp["tokens"].index(' "bullish",')] = ' "bearish",'

    _logprobs_edit(out, edit)


def _logprobs_shown(out: dict) -> None:
    """The tokens' static rendering showing another word than the signed answer."""
    md = out["data"]["text/markdown"]
    at = md.index('<p class="jupyter-chat-tokens">')
    out["data"]["text/markdown"] = md[:at] + md[at:].replace("bullish", "bearish", 1)


def _logprobs_unlabelled(out: dict) -> None:
    """The static rendering no longer says the probabilities are outside the signature."""
    md = out["data"]["text/markdown"]
    out["data"]["text/markdown"] = md.replace(" (outside the signature)</summary>", "</summary>")


def _parsed(out: dict) -> None:
    value = out["data"][MIME]["parsed"]["value"]
    value["sentiment"], value["confidence"] = "bearish", 0.99


def _prompt(out: dict) -> None:
    msg = out["data"][MIME]["messages"][-1]
    msg["content"] = msg["content"].replace("I'm going long here", "I'm selling here")


CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "sell_everything", "arguments": '{"token": "LINK"}'},
}


def _tool_call(out: dict) -> None:
    out["data"][MIME]["tool_calls"] = [CALL]
    # a careful forger adds it to the other renderings too, as the bundle would
    out["data"]["text/markdown"] = out["data"]["text/markdown"].replace(
        "</div><p><sub>",
        "</div><p><strong>Tool call</strong> <code>sell_everything</code></p>"
        '<pre><code class="language-json">{"token": "LINK"}</code></pre><p><sub>',
    )
    plain = out["data"]["text/plain"]
    at = plain.rindex("\n\n[")
    out["data"]["text/plain"] = (
        plain[:at] + '\n\n[tool call] sell_everything({"token": "LINK"})' + plain[at:]
    )


def _markdown(out: dict) -> None:
    """Markdown outside the answer's section (between the reasoning and the answer)."""
    md = out["data"]["text/markdown"]
    out["data"]["text/markdown"] = md.replace(
        '<div class="jupyter-chat-answer">',
        '<p><strong>Analyst note: SELL LINK now.</strong></p><div class="jupyter-chat-answer">',
    )


def _plain(out: dict) -> None:
    """Text before the answer in text/plain."""
    text = out["data"]["text/plain"]
    at = text.index("\n\n") + 2  # after the reasoning's line
    out["data"]["text/plain"] = text[:at] + "Analyst note: SELL LINK now.\n\n" + text[at:]


def _hidden(out: dict) -> None:
    """Markup the kernel never makes, inside the answer's section: its text hidden."""
    md = out["data"]["text/markdown"]
    out["data"]["text/markdown"] = md.replace(
        '<div class="jupyter-chat-answer"><p>', '<div class="jupyter-chat-answer"><p hidden>'
    )


def _struck(out: dict) -> None:
    """The answer's own words, one struck through: the same text, another meaning."""
    md = out["data"]["text/markdown"]
    at = md.index('<div class="jupyter-chat-answer">')
    out["data"]["text/markdown"] = md[:at] + md[at:].replace(
        "bullish", "<s>bullish</s> bearish", 1
    ).replace(" bearish", "", 1)


def _private_chain(out: dict) -> None:
    out["data"][MIME]["signed"]["chain_id"] = PRIVATE_CHAIN


@dataclass(frozen=True)
class Edit:
    name: str
    base: Callable[[Any], dict]  # the genuine output it starts from
    edit: Callable[[dict], None] | None  # None: the output stays as it is
    config: str = ""  # appended to the kernel's and the CLI's config file
    why: str = ""  # words of the reason the kernel and the CLI give
    state: str = "invalid"  # or "not verifiable" (an unknown signer)

    def output(self, turn: Any) -> dict:
        out = copy(self.base(turn))
        if self.edit is not None:
            self.edit(out)
        return out


GENUINE = [
    Edit("genuine", genuine, None, state="verified"),
    Edit("genuine parsed", genuine_parsed, None, state="verified"),
    Edit("genuine logprobs", genuine_logprobs, None, state="verified"),
    Edit("logprob figures", genuine_logprobs, _logprob_figures, state="verified"),
]
EDITS = [
    Edit("parsed", genuine_parsed, _parsed, why="the parsed value shown is not"),
    Edit("prompt", genuine, _prompt, why="the prompt shown differs"),
    Edit("tool call", genuine, _tool_call, why="tool calls are shown"),
    Edit("added markdown", genuine, _markdown, why="the Markdown output shows more"),
    Edit("added plain text", genuine, _plain, why="the plain-text output shows another"),
    Edit("changed signer", genuine, None, ROTATED_CONFIG, why=f"expected {ROTATED_SIGNER}"),
    Edit("hidden answer", genuine, _hidden, why="markup the kernel never makes"),
    Edit("struck word", genuine, _struck, why="the Markdown output shows another answer"),
    Edit("private chain", genuine, _private_chain, state="not verifiable", why="unknown signer"),
    Edit("logprob token", genuine_logprobs, _logprob_token, why="not of the signed answer"),
    Edit("logprobs shown", genuine_logprobs, _logprobs_shown, why="not of the signed answer"),
    Edit(
        "logprobs unlabelled",
        genuine_logprobs,
        _logprobs_unlabelled,
        why="not shown as outside the signature",
    ),
]
