"""An experiment as Inspect AI eval logs: one log (JSON, format version 2) per (model,
setting), as Inspect writes one per task and model; each answer an ``EvalSample`` (the item
its ``id``, the sample its ``epoch``), each scorer a score with its mean and the interval's
bounds as metrics. Plain JSON written here; ``inspect_ai`` is not needed to write it."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .summary import turn_cost

STOPS = {"stop": "stop", "length": "max_tokens", "tool_calls": "tool_calls"}


def _id(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:22]


def _slug(text: str) -> str:
    """A file name's part: no ``_``, which separates the parts Inspect reads back."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "default"


def write_log(exp: Any, path: Any, task: str) -> list[Path]:
    """Write the logs: ``path`` a ``.json`` file when the experiment has one (model,
    setting), else a folder (made if missing) with one log each, named as Inspect names its
    own (``TIMESTAMP_TASK_MODEL-SETTING_ID.json``) so that ``inspect view`` and
    ``list_eval_logs`` find them. Returns the paths written."""
    path = Path(path)
    configs = exp.configs
    now = datetime.datetime.now(datetime.timezone.utc)
    if path.suffix == ".json":
        if len(configs) != 1:
            raise ConfigError(
                f"to_inspect: {len(configs)} (model, setting) pairs make {len(configs)} logs",
                hint="Give a folder: one log is written per model and setting.",
            )
        targets = [path]
    else:
        path.mkdir(parents=True, exist_ok=True)
        stamp = now.strftime("%Y-%m-%dT%H-%M-%S+00-00")
        targets = [
            path / f"{stamp}_{_slug(task)}_{_slug(f'{m} {s}')}_{_id('eval', m, s)}.json"
            for m, s in configs
        ]
    summary = {(e["model"], e["setting"]): e for e in exp.summary_rows()}
    for (model, setting), out in zip(configs, targets):
        log = _log(exp, model, setting, summary[(model, setting)], task, now.isoformat())
        out.write_text(json.dumps(log, ensure_ascii=False, default=str), encoding="utf-8")
    return targets


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def _log(exp: Any, model: str, setting: str, entry: dict, task: str, now: str) -> dict[str, Any]:
    idx = [n for n, r in enumerate(exp.rows) if r.model == model and r.setting == setting]
    inspect_model = model.replace(":", "/", 1) if model else "default"
    samples = [_sample(exp, n, inspect_model) for n in idx]
    usage = _usage([exp.rows[n].turn for n in idx if exp.rows[n].turn is not None])
    scores = []
    for name in exp.scores:
        s = entry[name]
        metrics = {"mean": s["mean"], "ci95_low": s["low"], "ci95_high": s["high"]}
        scores.append(
            {
                "name": name,
                "scorer": name,
                "scored_samples": sum(1 for n in idx if exp.scores[name][n] is not None),
                "unscored_samples": sum(1 for n in idx if exp.scores[name][n] is None),
                "params": {},
                "metrics": {
                    k: {"name": k, "value": v, "params": {}}
                    for k, v in metrics.items()
                    if _num(v) is not None
                },
                "metadata": {"interval": s["interval"]},
            }
        )
    return {
        "version": 2,
        "status": "success",
        "eval": {
            "eval_id": _id("eval", model, setting),
            "run_id": _id("run", model, setting),
            "created": now,
            "task": task,
            "task_id": _id("task", task),
            "task_version": 0,
            "task_args": {},
            "dataset": {"name": task, "samples": entry["items"]},
            "model": inspect_model,
            "model_generate_config": {},
            "config": {"epochs": exp.samples or 1},
            "metadata": {"setting": setting, "source": "jupyter-chat"},
        },
        "plan": {"name": "plan", "steps": [{"solver": "generate", "params": {}}]},
        "results": {
            "total_samples": len(samples),
            "completed_samples": sum(1 for s in samples if "error" not in s),
            "scores": scores,
        },
        "stats": {
            "started_at": now,
            "completed_at": now,
            "model_usage": {inspect_model: usage} if usage else {},
        },
        "samples": samples,
    }


def _sample(exp: Any, n: int, model: str) -> dict[str, Any]:
    row = exp.rows[n]
    turn = row.turn
    target = row.target
    out: dict[str, Any] = {
        "id": row.item if isinstance(row.item, (int, str)) else str(row.item),
        "epoch": row.sample + 1,
        "input": row.prompt or "",
        "target": target if isinstance(target, str) else json.dumps(target, default=str),
        "messages": [{"role": "user", "content": row.prompt or "", "source": "input"}],
        "scores": {
            name: {"value": v, "answer": turn.text if turn else None}
            for name, values in exp.scores.items()
            if (v := values[n]) is not None
        },
        "metadata": {"setting": row.setting},
        "store": {},
        "events": [],
    }
    if turn is None:
        out["error"] = {"message": str(row.result), "traceback": "", "traceback_ansi": ""}
        out["output"] = {"model": model, "choices": []}
        return out
    rec = turn.record
    message = {"role": "assistant", "content": turn.text, "source": "generate"}
    out["messages"].append(message)
    out["output"] = {
        "model": model,
        "choices": [
            {"message": message, "stop_reason": STOPS.get(turn.finish_reason or "", "unknown")}
        ],
        "usage": _usage([turn]),
        "time": (rec.get("latency_ms") or 0) / 1000,
    }
    out["model_usage"] = {model: _usage([turn])}
    out["metadata"].update(
        seed=(rec.get("params") or {}).get("seed"),
        replayed=bool(rec.get("replayed")),
        request_hash=rec.get("request_hash"),
        cost_usd=turn_cost(turn),
    )
    return out


def _usage(turns: list[Any]) -> dict[str, Any]:
    fields = {"input_tokens": "prompt_tokens", "output_tokens": "completion_tokens"}
    total = {k: 0 for k in [*fields, "total_tokens"]}
    for t in turns:
        usage = t.usage if isinstance(t.usage, dict) else {}
        for k, theirs in [*fields.items(), ("total_tokens", "total_tokens")]:
            v = usage.get(theirs)
            total[k] += v if isinstance(v, int) else 0
    costs = [turn_cost(t) for t in turns]
    if costs and all(c is not None for c in costs):
        total["total_cost"] = sum(costs)
    return total
