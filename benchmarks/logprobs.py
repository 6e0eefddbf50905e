"""Token probabilities: what a 2,000-token answer with ``--logprobs`` sends to the browser and
adds to the saved notebook, against the answer's size.

    PYTHONPATH=. python benchmarks/logprobs.py [--quick]

The stream of benchmarks/magics.py (2,000 ``chat.completion.chunk`` events, ``tok{i%10} ``,
10,000 characters of answer, sent at once), each chunk carrying its token's ``logprobs`` as
llama.cpp and OpenAI send them (the log-probability as a full float, the token's bytes, and
``top_logprobs`` alternatives with theirs; values drawn once from a fixed seed: most tokens
likely, some not), into a fresh kernel, as ``%%chat -m local --logprobs K`` for K = 0, 5 (the
default) and 20 (the most), and as ``%%chat -m local`` (no logprobs, the anchor).

* to the browser, with the extension present (its comm opened with a hello, as in
  benchmarks/extension.py) and without it: the bytes of the display and comm messages' JSON
  content for the cell; the final display split into its parts (the structured turn's
  ``logprobs``, the static rendering in ``text/markdown``);
* to the saved notebook: the cell's output as nbformat writes it (``display_data``: data and
  metadata), the bytes it takes in the ``.ipynb``; and, for scale, what it would take with
  the structured turn's logprobs as JSON lists rather than packed in one string (nbformat
  puts each item of a list on a line of its own).

Ratios are to the answer's characters; "added" is with logprobs minus without. Median over
repetitions (3, or 1 with --quick). Writes benchmarks/results/logprobs.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile

from _common import PacedSSE, meta, warn_load, write_result
from extension import hello
from magics import ANSWER, Kernel, N, kernel_env

KS = (None, 0, 5, 20)  # None: no logprobs asked (the anchor)
MIME = "application/vnd.jupyter-chat+json"


def _logprob(rng: random.Random) -> float:
    """Most tokens near-certain, one in five between 30 and 90 %, one in twenty rare."""
    r = rng.random()
    if r < 0.05:
        return math.log(rng.uniform(0.005, 0.1))
    if r < 0.25:
        return math.log(rng.uniform(0.3, 0.9))
    return math.log(rng.uniform(0.9, 0.9999))


def _entry(token: str, value: float, top: list[tuple[str, float]]) -> dict:
    def one(t: str, v: float) -> dict:
        return {"token": t, "logprob": v, "bytes": list(t.encode())}

    return {**one(token, value), "top_logprobs": [one(t, v) for t, v in top]}


def events(k: int | None) -> list[bytes]:
    """The answer's chunks, each with its token's logprobs and ``k`` alternatives."""
    rng = random.Random(7)
    out = []
    for i in range(N):
        token = f"tok{i % 10} "
        delta = {"index": 0, "delta": {"content": token}, "finish_reason": None}
        if k is not None:
            value = _logprob(rng)
            others = [f"tok{(i + n) % 10} " if n < 9 else f" alt{n}" for n in range(1, k + 1)]
            rest = max(1e-6, 1 - math.exp(value))
            top = [(token, value)] + [
                (t, math.log(rest / (n + 2))) for n, t in enumerate(others[: max(0, k - 1)])
            ]
            top.sort(key=lambda p: -p[1])
            delta["logprobs"] = {"content": [_entry(token, value, top[:k])], "refusal": None}
        obj = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "default",
            "choices": [delta],
        }
        out.append(b"data: %s\n\n" % json.dumps(obj, separators=(",", ":")).encode())
    usage = {"prompt_tokens": 1, "completion_tokens": N, "total_tokens": N + 1}
    end = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000}
    end.update(model="default", usage=usage)
    end["choices"] = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    return out + [b"data: %s\n\n" % json.dumps(end).encode(), b"data: [DONE]\n\n"]


class Server(PacedSSE):
    def __init__(self) -> None:
        self.k: int | None = None
        self._events = {k: events(k) for k in KS}
        super().__init__()

    def script(self) -> tuple[list[bytes], float]:
        return self._events[self.k], 0.0


def size(obj: object) -> int:
    return len(json.dumps(obj))


def saved_size(content: dict) -> int:
    """The output's bytes in a saved .ipynb (nbformat's JSON, as frontends write it)."""
    import nbformat

    out = nbformat.v4.new_output("display_data", data=content["data"], metadata=content["metadata"])
    cell = nbformat.v4.new_code_cell("", outputs=[out])
    empty = nbformat.v4.new_code_cell("")
    return len(nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))) - len(
        nbformat.writes(nbformat.v4.new_notebook(cells=[empty]))
    )


def unpacked_saved(content: dict) -> int:
    """The same output saved with the structured turn's logprobs as JSON lists, not packed."""
    data = dict(content["data"])
    data[MIME] = {**data[MIME], "logprobs": json.loads(data[MIME]["logprobs"])}
    return saved_size({"data": data, "metadata": content["metadata"]})


def render(k: Kernel, code: str) -> dict:
    ran = k.run(code, cell_id="lp")
    if ran["reply"]["status"] != "ok":
        raise RuntimeError(f"{code!r} failed: {ran['reply'].get('evalue')}")
    kinds = ("display_data", "update_display_data", "comm_msg")
    sent = [m for m in ran["messages"] if m["msg_type"] in kinds]
    ds = [m for m in sent if m["msg_type"] != "comm_msg"]
    final = ds[-1]["content"]
    turn = final["data"].get(MIME, {})
    md = final["data"]["text/markdown"]
    block = md[md.find('<div class="jupyter-chat-logprobs">') :] if "logprobs" in turn else ""
    return {
        "browser_bytes": sum(size(m["content"]) for m in sent),
        "messages": len(sent),
        "final_bytes": size(final),
        "structured_logprobs_bytes": size(turn["logprobs"]) if "logprobs" in turn else 0,
        "unpacked_saved_bytes": unpacked_saved(final) if "logprobs" in turn else 0,
        "static_block_bytes": len(block),
        "saved_bytes": saved_size(final),
        "tokens": len(json.loads(turn["logprobs"])["tokens"]) if "logprobs" in turn else 0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 rendering per case")
    args = ap.parse_args()
    reps = 1 if args.quick else 3
    load = warn_load()
    answer = len(ANSWER)
    server = Server()
    url = f"http://127.0.0.1:{server.port}/v1"
    out: dict = {}
    try:
        for frontend in ("extension", "plain"):
            with tempfile.TemporaryDirectory() as cwd:
                k = Kernel(sys.executable, kernel_env(url), cwd)
                try:
                    if frontend == "extension":
                        hello(k)
                    else:
                        k.run("%load_ext jupyter_chat")
                    server.k = None
                    render(k, "%%chat -m local\nwarm up")  # imports, the connection
                    for kk in KS:
                        server.k = kk
                        flag = "" if kk is None else f" --logprobs {kk}"
                        runs = [render(k, f"%%chat -m local{flag}\nhi") for _ in range(reps)]
                        med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                        out.setdefault(frontend, {})["none" if kk is None else str(kk)] = med
                finally:
                    k.close()
    finally:
        server.close()

    print(f"answer: {answer:,} characters, {N:,} tokens; bytes: JSON of what is sent or saved")
    ok = True
    for frontend, cases in out.items():
        base = cases["none"]
        for name, r in cases.items():
            r["browser_ratio"] = r["browser_bytes"] / answer
            r["saved_ratio"] = r["saved_bytes"] / answer
            r["browser_added"] = r["browser_bytes"] - base["browser_bytes"]
            r["saved_added"] = r["saved_bytes"] - base["saved_bytes"]
            if name != "none":
                ok = ok and r["tokens"] == N
            label = "no logprobs" if name == "none" else f"--logprobs {name}"
            print(
                f"   {frontend:9} {label:13} to the browser {r['browser_bytes'] / 1e3:7.1f} KB"
                f" = {r['browser_ratio']:5.2f}x the answer (+{r['browser_added'] / 1e3:.1f} KB:"
                f" structured {r['structured_logprobs_bytes'] / 1e3:.1f} KB, static"
                f" {r['static_block_bytes'] / 1e3:.1f} KB); saved {r['saved_bytes'] / 1e3:7.1f} KB"
                f" = {r['saved_ratio']:5.2f}x (+{r['saved_added'] / 1e3:.1f} KB; unpacked lists"
                f" {r['unpacked_saved_bytes'] / 1e3:.1f} KB)",
                flush=True,
            )
    write_result(
        "logprobs",
        {
            "meta": meta(args.quick, load_avg_1min_start=load, reps=reps, answer_chars=answer),
            "results": out,
        },
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
