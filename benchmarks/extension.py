"""A 2,000-token answer rendered with the JupyterLab extension present: what goes to the browser.

    PYTHONPATH=. python benchmarks/extension.py [--quick]

The same stream as benchmarks/magics.py case 2 (2,000 ``chat.completion.chunk`` events,
``tok{i%10} ``, 10,000 characters of answer, ``paced`` over ~4 s or ``fast``), into a fresh
kernel where, after ``%load_ext jupyter_chat``, the test client opened the ``jupyter_chat`` comm
with ``{"type": "hello"}``, as the extension does (the hello is handled between cells).
Then ``%%chat -m local`` streams only the new text as ``comm_msg`` deltas, between one first
display (the turn's placeholder) and one final full update. Counted from the kernel's iopub
messages for the cell: the display and comm messages and the bytes of their JSON content
(what goes to the browser), split into the first display, the deltas and the final display
(itself split by MIME type and metadata), as a ratio to the answer's size. The anchor is
benchmarks/magics.py's naive loop (``handle.update()`` after every chunk), read from
benchmarks/results/magics.json when present. Median over repetitions (3, or 1 with --quick).
Writes benchmarks/results/extension.json. Exits 1 if the deltas do not add up to the answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import uuid

from _common import RESULTS, meta, warn_load, write_result
from magics import ANSWER, OURS, Kernel, SSEServer, kernel_env

AIM = 3.0  # display + comm bytes within 3 times the answer


def size(obj: object) -> int:
    return len(json.dumps(obj))


def hello(k: Kernel) -> None:
    """%load_ext, then open the ``jupyter_chat`` comm with a hello, as the extension does when
    it connects (the kernel only registers the comm's target)."""
    ran = k.run("%load_ext jupyter_chat")
    if ran["reply"]["status"] != "ok":
        raise RuntimeError(f"%load_ext jupyter_chat: status {ran['reply']['status']}")
    msg = k.kc.session.msg(
        "comm_open",
        {
            "comm_id": uuid.uuid4().hex,
            "target_name": "jupyter_chat",
            "data": {"type": "hello", "version": 1},
        },
    )
    k.kc.shell_channel.send(msg)
    k.run("pass")  # the hello is handled before the next cell


def render_once(k: Kernel, cell_id: str) -> dict:
    ran = k.run(OURS, cell_id=cell_id)
    if ran["reply"]["status"] != "ok":
        raise RuntimeError(f"%%chat failed: {ran['reply'].get('evalue')}")
    ds = [m for m in ran["messages"] if m["msg_type"] in ("display_data", "update_display_data")]
    cs = [m for m in ran["messages"] if m["msg_type"] == "comm_msg"]
    deltas = [m["content"]["data"] for m in cs if m["content"]["data"].get("type") == "delta"]
    final = ds[-1]["content"]
    parts = {f"final {mime}": size(v) for mime, v in final["data"].items()}
    parts["final metadata"] = size(final["metadata"])
    return {
        "display_messages": len(ds),
        "comm_messages": len(cs),
        "first_display_bytes": sum(size(m["content"]) for m in ds[:-1]),
        "comm_bytes": sum(size(m["content"]) for m in cs),
        "delta_text_chars": sum(
            len(d.get("answer", "")) + len(d.get("reasoning", "")) for d in deltas
        ),
        "final_display_bytes": size(final),
        "final_parts": parts,
        "bytes": sum(size(m["content"]) for m in ds + cs),
        "deltas_ok": "".join(d.get("answer", "") for d in deltas) == ANSWER,
        "final_ok": ANSWER.strip() in final["data"]["text/markdown"],  # plain is its head
        "wall_s": ran["wall"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 rendering per mode")
    args = ap.parse_args()
    reps = 1 if args.quick else 3
    load = warn_load()
    answer = len(ANSWER)
    server = SSEServer()
    url = f"http://127.0.0.1:{server.port}/v1"
    out: dict = {}
    with tempfile.TemporaryDirectory() as cwd:
        k = Kernel(sys.executable, kernel_env(url), cwd)
        try:
            hello(k)
            server.mode = "fast"
            render_once(k, "warm")  # imports and the connection, unmeasured
            for mode in ("paced", "fast"):
                server.mode = mode
                runs = []
                for _ in range(reps):
                    runs.append(r := render_once(k, "ext"))
                    r["ratio_to_answer"] = r["bytes"] / answer
                    print(
                        f"   {mode:5} {r['display_messages']} displays + {r['comm_messages']:3d}"
                        f" comm messages  {r['bytes'] / 1e3:7.1f} KB = "
                        f"{r['ratio_to_answer']:.2f}x the answer  (first display "
                        f"{r['first_display_bytes'] / 1e3:.1f} KB, deltas "
                        f"{r['comm_bytes'] / 1e3:.1f} KB, final "
                        f"{r['final_display_bytes'] / 1e3:.1f} KB)",
                        flush=True,
                    )
                mid = sorted(runs, key=lambda x: x["bytes"])[len(runs) // 2]
                out[mode] = {
                    **{
                        key: statistics.median(x[key] for x in runs)
                        for key in (
                            "display_messages",
                            "comm_messages",
                            "bytes",
                            "first_display_bytes",
                            "comm_bytes",
                            "final_display_bytes",
                            "ratio_to_answer",
                            "wall_s",
                        )
                    },
                    "final_parts": mid["final_parts"],
                    "ok": all(x["deltas_ok"] and x["final_ok"] for x in runs),
                    "runs": runs,
                }
        finally:
            k.close()
            server.close()

    naive = None
    if (RESULTS / "magics.json").exists():
        naive = json.loads((RESULTS / "magics.json").read_text())["render"]
    print(
        f"\nanswer: {answer:,} characters; bytes = JSON of the display and comm messages' content"
    )
    for mode, r in out.items():
        parts = ", ".join(
            f"{k} {v / 1e3:.1f} KB"
            for k, v in sorted(r["final_parts"].items(), key=lambda kv: -kv[1])
        )
        line = (
            f"   {mode:5} {r['bytes'] / 1e3:7.1f} KB = {r['ratio_to_answer']:.2f}x the answer "
            f"(aim <= {AIM:.0f}x: {'met' if r['ratio_to_answer'] <= AIM else 'MISSED'}); "
            f"final display {r['final_display_bytes'] / r['bytes']:.0%} of it: {parts}"
        )
        if naive:
            line += (
                f"; updating on every chunk: {naive[mode]['naive']['bytes'] / 1e6:.2f} MB "
                f"(magics.json)"
            )
        print(line)
    import ipykernel
    import IPython

    write_result(
        "extension",
        {
            "meta": meta(
                args.quick,
                load_avg_1min_start=load,
                reps=reps,
                answer_chars=answer,
                versions={"ipykernel": ipykernel.__version__, "ipython": IPython.__version__},
            ),
            "aim_ratio": AIM,
            "results": out,
        },
    )
    return 0 if all(r["ok"] for r in out.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
