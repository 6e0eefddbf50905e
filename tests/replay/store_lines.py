"""A store line as the store tools' tests write it."""

from __future__ import annotations


def rec(key: str, answer: str, when: str = "2026-01-01T00:00:00+00:00") -> dict:
    return {
        "key": key,
        "request": {"provider": "local"},
        "response": {"choices": [{"answer": answer}]},
        "deltas": [],
        "recorded_at": when,
    }
