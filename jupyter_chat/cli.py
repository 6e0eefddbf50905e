"""``jupyter-chat``: verify signatures in a notebook or replay store; re-run a notebook and check
its chat turns against their recordings; look after replay stores."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._secrets import clip
from .errors import ChatError


def _verify(args: argparse.Namespace) -> int:
    from .display.audit import audit

    results = audit(args.path)
    if not results:
        print(f"{args.path}: no signed turns")
        return 0
    for where, v in results:
        print(
            f"{where}: {v.state}"
            + (f" ({v.reason})" if v.state != "verified" else f" by {v.signer}")
        )
    counts = {
        s: sum(v.state == s for _, v in results) for s in ("verified", "invalid", "not verifiable")
    }
    print(f"{len(results)} signed turns: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 1 if counts["invalid"] else 0


def _rerun(args: argparse.Namespace) -> int:
    import nbclient
    import nbformat

    path = Path(args.notebook)
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    if args.check:
        env["JUPYTER_CHAT_REPLAY"] = "check"
    client = nbclient.NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env=env)
    except nbclient.exceptions.CellExecutionError as exc:
        print(f"{path}: a cell failed: {str(exc).strip().splitlines()[-1]}", file=sys.stderr)
        return 2
    verdicts = []
    for n, cell in enumerate(nb.cells, 1):
        for out in cell.get("outputs", []):
            record = out.get("metadata", {}).get("jupyter_chat")
            if record:
                match = record.get("matches_recording")
                state = {True: "matches", False: "DIFFERS", None: "no recording"}[match]
                verdicts.append(match)
                print(f"cell {n}: {record['provider']}:{record.get('model')} {state}")
    if args.output:
        nbformat.write(nb, args.output)
        print(f"executed notebook written to {args.output}")
    differs = sum(v is False for v in verdicts)
    if args.check:
        print(
            f"{len(verdicts)} chat turns: {sum(v is True for v in verdicts)} match, "
            f"{differs} differ, {sum(v is None for v in verdicts)} unrecorded"
        )
    return 1 if differs else 0


def _store(args: argparse.Namespace) -> int:
    from .replay import tools

    if args.op == "stats":
        for path in args.stores:
            s = tools.stats(path)
            by = ", ".join(f"{p} {n}" for p, n in s["providers"].items()) or "none"
            bad = s["bad"]
            print(
                f"{path}: {s['recordings']} recordings in {s['lines']} lines "
                f"({s['duplicates']} superseded), {s['bytes'] / 1e6:.2f} MB; "
                f"torn last line: {'yes' if s['torn'] else 'no'}; bad lines: {len(bad)}; "
                f"by provider: {by}"
            )
            for n, why in bad[: tools.SHOWN_BAD]:
                print(f"{path}: line {n} is bad ({why})", file=sys.stderr)
            if bad:
                print(
                    f"{path}: fix or delete the bad lines, or drop them: jupyter-chat store "
                    f"compact --drop-bad {path}",
                    file=sys.stderr,
                )
    elif args.op == "compact":
        for path in args.stores:
            before, after, dropped = tools.compact(path, drop_bad=args.drop_bad)
            _said(dropped)
            print(f"{path}: {before} lines -> {after}")
    elif args.op == "merge":
        count, dropped = tools.merge(args.out, args.stores, drop_bad=args.drop_bad)
        _said(dropped)
        print(f"{args.out}: {count} recordings")
    else:
        tools.check_prunable(args.store, writing=not args.dry_run)  # before the notebook runs
        keep = tools.used_keys(args.notebook)
        if args.dry_run:
            unused = set(tools.check_prunable(args.store, writing=False).records) - keep
            n = len(unused)
            print(f"{args.store}: {n} recording{'' if n == 1 else 's'} unused by {args.notebook}")
            return 0
        before, after = tools.prune(args.store, keep)
        print(f"{args.store}: {before} recordings -> {after} (used by {args.notebook})")
    return 0


def _said(dropped: list[str]) -> None:
    for line in dropped:
        print(f"jupyter-chat: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jupyter-chat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="verify the EigenCloud signatures in a notebook or store")
    v.add_argument("path", help="a .ipynb notebook or a .jsonl replay store")
    v.set_defaults(func=_verify)
    r = sub.add_parser("rerun", help="re-execute a notebook")
    r.add_argument("notebook")
    r.add_argument(
        "--check",
        action="store_true",
        help="call the providers and compare each chat turn with its recording",
    )
    r.add_argument("--output", help="write the executed notebook here")
    r.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    r.set_defaults(func=_rerun)
    st = sub.add_parser("store", help="replay stores: stats, compact, merge, prune")
    ops = st.add_subparsers(dest="op", required=True)
    o = ops.add_parser("stats", help="recordings, duplicates, size, providers of each store")
    o.add_argument("stores", nargs="+")
    drop = "drop bad lines (each is named) instead of refusing; good lines are always kept"
    o = ops.add_parser("compact", help="rewrite each store with one line per recording")
    o.add_argument("stores", nargs="+")
    o.add_argument("--drop-bad", action="store_true", help=drop)
    o = ops.add_parser("merge", help="merge stores into OUT (the most recent recording wins)")
    o.add_argument("out")
    o.add_argument("stores", nargs="+")
    o.add_argument("--drop-bad", action="store_true", help=drop)
    o = ops.add_parser("prune", help="keep only the recordings NOTEBOOK uses (run in replay)")
    o.add_argument("store")
    o.add_argument("--notebook", required=True, help="the notebook the store belongs to")
    o.add_argument("--dry-run", action="store_true", help="say what would go, change nothing")
    st.set_defaults(func=_store)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ChatError as exc:
        print(f"jupyter-chat: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        print(f"jupyter-chat: {type(exc).__name__}: {clip(str(exc), 300)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
