"""Answers with token log-probabilities as OpenAI-style servers send them (tests' own data):
an answer cut into tokens, each with a log-probability and alternatives made up from the
token and its place (the same every run), streamed or not, as the loopback server's reply."""

from __future__ import annotations

import math
import re
from typing import Any

from dialect_server import USAGE, Reply, chunk, sse

WORDS = re.compile(r"\s*\S+|\s+")


def tokens_of(text: str) -> list[str]:
    """``text`` as tokens: each word with the white space before it (joined: ``text``)."""
    return WORDS.findall(text)


def logprob_of(i: int, token: str) -> float:
    """A made-up log-probability: most tokens likely, every seventh and eleventh less, every
    23rd rare: every step of the shading has some."""
    if i % 23 == 5:
        return -2.8 - (i % 3) * 0.4  # under 10 %
    if i % 7 == 3:
        return -0.9 - (i % 5) * 0.25  # 15 to 40 %
    if i % 11 == 7:
        return -0.5  # 61 %
    return -0.02 - (len(token) % 4) * 0.03


def entry(i: int, token: str, k: int, with_bytes: bool = True) -> dict[str, Any]:
    value = logprob_of(i, token)
    alts = [(f"{token.strip() or '_'}{'x' * (n + 1)}", value - 0.7 * (n + 1)) for n in range(k)]
    if value < -0.5 and k:  # a rare token: its first alternative was likelier
        alts[0] = (alts[0][0], math.log(max(1e-9, 1 - math.exp(value)) * 0.8))

    def one(t: str, v: float) -> dict[str, Any]:
        out: dict[str, Any] = {"token": t, "logprob": v}
        out["bytes"] = list(t.encode()) if with_bytes else None
        return out

    top = sorted([one(token, value), *(one(t, v) for t, v in alts)], key=lambda e: -e["logprob"])
    return {**one(token, value), "top_logprobs": top[:k] if k else []}


def content(text: str, k: int = 3) -> list[dict[str, Any]]:
    return [entry(i, t, k) for i, t in enumerate(tokens_of(text))]


def reply_with_logprobs(text: str, pieces_per_event: int = 1) -> Any:
    """A reply made from the request: streamed or not as asked, with ``top_logprobs`` (or none)
    alternatives for each token when ``logprobs`` is asked for."""

    def make(body: dict) -> Reply:
        k = int(body.get("top_logprobs") or 0)
        lps = content(text, k) if body.get("logprobs") else None
        if not body.get("stream"):
            choice: dict[str, Any] = {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": text},
            }
            if lps is not None:
                choice["logprobs"] = {"content": lps, "refusal": None}
            return Reply(
                body={
                    "id": "c-lp",
                    "object": "chat.completion",
                    "created": 1,
                    "model": body.get("model") or "m",
                    "usage": USAGE,
                    "choices": [choice],
                }
            )
        toks = tokens_of(text)
        events = [chunk(role="assistant", content="")]
        for at in range(0, len(toks), pieces_per_event):
            c = chunk("".join(toks[at : at + pieces_per_event]))
            if lps is not None:
                c["choices"][0]["logprobs"] = {
                    "content": lps[at : at + pieces_per_event],
                    "refusal": None,
                }
            events.append(c)
        events += [chunk(finish="stop"), {"id": "c-lp", "choices": [], "usage": USAGE}]
        return Reply(events=sse(*events))

    return make


def long_answer(n_tokens: int) -> str:
    """Prose of about ``n_tokens`` tokens (words), in paragraphs of sixty."""
    text = (
        "the model reads each token and weighs what comes next so a likely word gets a high "
        "probability and a rare one a low one which is what the shading shows"
    )
    words = text.split(" ")
    out, para = [], []
    for i in range(n_tokens):
        para.append(words[i % len(words)])
        if len(para) == 60:
            out.append(" ".join(para) + ".")
            para = []
    if para:
        out.append(" ".join(para) + ".")
    return "\n\n".join(out)
