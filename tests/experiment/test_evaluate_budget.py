"""An experiment under a budget, over loopback: the whole grid refused before anything is sent
when its estimate is over (though each setting alone would fit), a model with no price named up
front, and a run whose answers cost more than estimated stopped before crossing the budget,
what finished kept (and not paid again when resumed)."""

from __future__ import annotations

import pytest
from dialect_server import completion, last_user_text

import jupyter_chat as jc
from jupyter_chat.session.ask import Options, prepare_call
from jupyter_chat.session.budget import estimate

DATA = [{"q": "Capital of France?"}, {"q": "3 + 4?"}, {"q": "2 + 2?"}]
MODELS = ["openai:strong", "openai:weak"]


def setting_estimate(model: str, max_tokens: int) -> float:
    """What one (model, setting) of two samples is estimated to cost."""
    options = Options(model=model, params={"max_tokens": max_tokens})
    return sum(2 * estimate(prepare_call(f"Q: {d['q']}", options)).usd for d in DATA)


def test_the_whole_grid_is_refused_up_front_though_each_setting_fits(server):
    jc.set_price("openai:*", input=1.0, output=2.0)
    one = setting_estimate("openai:strong", 100)
    with pytest.raises(jc.ChatError, match="over the budget") as info:
        jc.evaluate(
            DATA, "Q: {q}", models=MODELS, samples=2, budget=1.5 * one, max_tokens=100,
            progress=False,
        )  # fmt: skip
    assert type(info.value).__name__ == "BudgetError"
    assert "12 requests" in str(info.value) and "nothing was sent" in str(info.value)
    assert server.requests == []


def test_a_model_with_no_price_is_named_up_front(server):
    jc.set_price("openai:strong", input=1.0, output=2.0)
    with pytest.raises(jc.ChatError, match="no price for openai:weak"):
        jc.evaluate(DATA, "Q: {q}", models=MODELS, budget=1.0, max_tokens=10, progress=False)
    assert server.requests == []


def test_a_costly_run_stops_before_crossing_and_keeps_what_finished(server, tmp_path):
    jc.set_replay("auto", tmp_path / "budget.chat.jsonl")
    jc.set_price("openai:*", input=1.0, output=2.0)
    usage = {"prompt_tokens": 500, "completion_tokens": 50, "total_tokens": 550}

    def costly(body):  # each answer costs $0.0006, far more than estimated
        return completion(last_user_text(body)[-5:], usage=usage)

    server.script(*[costly] * 30)
    limit = 2.0e-3
    assert 2 * setting_estimate("openai:weak", 50) < limit  # the estimate fits
    with pytest.raises(jc.ChatError, match="stopped by its budget") as info:
        jc.evaluate(
            DATA, "Q: {q}", models=MODELS, samples=2, budget=limit, max_tokens=50,
            concurrency=1, progress=False,
        )  # fmt: skip
    partial = info.value.experiment
    assert f"{partial.answered} of 12 answers kept, nothing over it" in str(info.value)
    spent = sum(r.turn.record["cost"]["usd"] for r in partial.rows if r.turn is not None)
    assert 0 < partial.answered < 12 and spent <= limit  # nothing over
    assert len(server.requests) == partial.answered
    assert partial.models == MODELS and partial.summary_rows()[0]["answers"] > 0
    # resumed with a larger budget: what finished replays and costs nothing again
    server.reset()
    server.script(*[costly] * 30)
    exp = jc.evaluate(
        DATA, "Q: {q}", models=MODELS, samples=2, budget=1.0, max_tokens=50, progress=False
    )
    assert exp.answered == 12 and len(server.requests) == 12 - partial.answered
