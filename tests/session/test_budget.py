"""Budgets (session/budget.py) over loopback: a run over its estimate refused with nothing sent,
a run stopped before the budget is crossed keeping what finished, the resume with a larger
budget sending only what is missing, models with no price named up front, the ledger under
concurrency, and the notebook's budget across calls."""

from __future__ import annotations

import pytest
from dialect_server import completion, last_user_text

import jupyter_chat as jc
from jupyter_chat.session.accounting import usd
from jupyter_chat.session.budget import Budget, BudgetError
from jupyter_chat.session.state import SESSION

PRICE = 1000.0  # USD per 1M tokens: $0.001 a token, so a few tokens are visible cents


def big_usage(max_tokens: int):
    """Answers that use all they may: the whole max_tokens, a prompt of 40 tokens (more than
    the 4-bytes-a-token estimate of these short prompts, less than one a byte)."""

    def reply(body: dict):
        usage = {"prompt_tokens": 40, "completion_tokens": max_tokens}
        usage["total_tokens"] = 40 + max_tokens
        return completion("ok " + last_user_text(body), usage=usage)

    return reply


def priced(server, n: int, max_tokens: int = 20) -> list[str]:
    jc.set_price("local:*", input=PRICE, output=PRICE)
    server.script(*[big_usage(max_tokens)] * n)
    return [f"q{i}" for i in range(n)]


def test_a_batch_over_its_estimate_is_refused_before_anything_is_sent(server):
    prompts = priced(server, 10)
    with pytest.raises(BudgetError) as err:
        jc.map(prompts, model="local", max_tokens=20, budget=0.05, progress=False)
    text = str(err.value)
    assert "estimated $0." in text and "for 10 requests" in text
    assert "over the budget $0.050" in text and "nothing was sent" in text
    assert server.requests == []
    with pytest.raises(jc.BudgetError, match="estimated .* for 1 request"):
        jc.chat("q", model="local", max_tokens=100, budget=0.01)
    with pytest.raises(BudgetError, match="estimated .* for 3 requests"):
        jc.chat("q", model="local", max_tokens=20, budget=0.01, samples=3)
    assert server.requests == []


def test_a_batch_stops_before_the_budget_is_crossed_and_keeps_what_finished(server):
    prompts = priced(server, 12)
    budget = 0.6  # the estimate ($0.045 a row) fits; the answers use more than estimated
    with pytest.raises(BudgetError) as err:
        jc.map(prompts, model="local", max_tokens=20, budget=budget, concurrency=4, progress=False)
    batch = err.value.batch
    assert "budget reached" in str(err.value) and f"of {usd(budget)}" in str(err.value)
    sent = len(server.requests)
    assert 0 < batch.answered == sent < 12
    assert batch.spent_usd <= budget  # nothing over
    assert batch.spent_usd == pytest.approx(sent * 60 * PRICE / 1e6)
    unsent = [r for r in batch if isinstance(r, BudgetError)]
    assert len(unsent) == 12 - sent and all("not sent" in str(r) for r in unsent)
    assert f"0 failed · {12 - sent} not sent (budget)" in batch.summary()
    assert batch.facts()["not_sent"] == 12 - sent
    # with return_exceptions the batch comes back with the unsent rows in place
    server.reset()
    server.script(*[big_usage(20)] * 12)
    kept = jc.map(
        prompts,
        model="local",
        max_tokens=20,
        budget=budget,
        return_exceptions=True,
        progress=False,
    )
    assert kept.answered == len(server.requests) and kept.spent_usd <= budget


def test_a_rerun_with_a_larger_budget_sends_only_what_is_missing(server, tmp_path):
    jc.set_replay("auto", tmp_path / "budget.chat.jsonl")
    prompts = priced(server, 10)
    with pytest.raises(BudgetError) as err:
        jc.map(prompts, model="local", max_tokens=20, budget=0.46, progress=False)
    first = err.value.batch
    done = {last_user_text(r.body) for r in server.requests}
    server.reset()
    server.script(*[big_usage(20)] * 10)
    again = jc.map(prompts, model="local", max_tokens=20, budget=1.0, progress=False)
    resent = {last_user_text(r.body) for r in server.requests}
    assert resent == set(prompts) - done and len(resent) == 10 - first.answered
    assert again.answered == 10 and again.replayed == first.answered
    # replayed answers cost nothing against the budget: only the new ones were spent
    assert again.spent_usd == pytest.approx(len(resent) * 60 * PRICE / 1e6)
    assert [t.text for t in again] == [f"ok {p}" for p in prompts]


def test_a_model_with_no_price_is_named_up_front_then_capped_or_accepted(server):
    with pytest.raises(BudgetError) as err:
        jc.map(["a", "b"], model="openai:gpt-x", max_tokens=10, budget=1.0, progress=False)
    assert "no price for openai:gpt-x" in str(err.value)
    assert 'budget_unknown="allow"' in str(err.value) and server.requests == []
    with pytest.raises(BudgetError, match="over the cap of 20"):
        jc.map(["a", "b"], model="openai:gpt-x", max_tokens=10, budget=1.0, budget_unknown=20)
    assert server.requests == []
    out = jc.map(
        ["a", "b"],
        model="openai:gpt-x",
        max_tokens=10,
        budget=1.0,
        budget_unknown=1000,
        progress=False,
    )
    assert out.answered == 2 and out.unpriced == 2
    turn = jc.chat("a", model="openai:gpt-x", budget=1.0, budget_unknown="allow")
    assert turn.text and len(server.requests) == 3


def test_a_priced_model_under_a_budget_needs_max_tokens_and_local_is_free(server):
    jc.set_price("openai:*", input=1.0, output=2.0)
    with pytest.raises(BudgetError, match="needs max_tokens for openai:gpt-x") as err:
        jc.chat("a", model="openai:gpt-x", budget=1.0)
    assert "max_tokens=N" in str(err.value) and server.requests == []
    # the local server sends no bill: $0 fits any budget, even none at all
    assert jc.chat("a", model="local", budget=0).text == "Hello from local."


def test_the_ledger_holds_the_worst_case_so_concurrency_cannot_cross(server):
    prompts = priced(server, 30)
    out = jc.map(
        prompts,
        model="local",
        max_tokens=20,
        budget=1.4,
        concurrency=16,
        return_exceptions=True,
        progress=False,
    )
    assert 0 < out.answered < 30 and out.spent_usd <= 1.4
    assert out.answered == len(server.requests)


def test_the_notebooks_budget_spans_calls_and_replays_cost_nothing(server, tmp_path):
    jc.set_replay("auto", tmp_path / "nb.chat.jsonl")
    prompts = priced(server, 8)
    SESSION.budget = Budget(0.2)
    jc.chat("first", model="local", max_tokens=20)  # $0.06
    jc.chat("first", model="local", max_tokens=20)  # replayed: nothing
    assert SESSION.budget.spent == pytest.approx(0.06) and len(server.requests) == 1
    with pytest.raises(BudgetError, match="left"):  # $0.14 left: three rows estimated over
        jc.map(prompts[:6], model="local", max_tokens=20, progress=False)
    with pytest.raises(BudgetError) as err:
        jc.map(prompts[:2], model="local", max_tokens=20, progress=False)
    assert "spent $0.12 of $0.20" in str(err.value)  # the second row would cross it
    assert SESSION.budget.spent <= 0.2 and len(server.requests) == 2


def test_a_comparison_over_the_notebooks_budget_is_refused_before_any_column_starts(server):
    priced(server, 4)
    SESSION.budget = Budget(0.1)
    with pytest.raises(BudgetError, match="estimated .* for 4 requests") as err:
        jc.compare("q", models=["local"], seeds=[1, 2, 3, 4], max_tokens=20)
    assert "nothing was sent" in str(err.value)
    assert server.requests == [] and SESSION.budget.spent == 0


def test_bad_budgets_are_refused_before_sending(server):
    for bad in (-1, float("nan"), float("inf"), "5", True):
        with pytest.raises(jc.ConfigError, match="budget"):
            jc.chat("a", model="local", budget=bad)
    with pytest.raises(jc.ConfigError, match="budget_unknown"):
        jc.chat("a", model="local", budget=1, budget_unknown="maybe")
    assert server.requests == []


def test_a_request_answered_with_an_error_releases_what_it_held(server):
    from dialect_server import Reply

    prompts = priced(server, 0)
    server.script(Reply(status=400, body={"error": {"message": "no"}}), big_usage(20))
    budget = Budget(0.2)
    out = jc.map(
        prompts + ["a", "b"],
        model="local",
        max_tokens=20,
        budget=budget,
        concurrency=1,
        return_exceptions=True,
        progress=False,
    )
    assert isinstance(out[0], jc.InvalidRequestError) and out[1].text == "ok b"
    assert budget.spent == pytest.approx(0.06) and budget.held == 0 and budget.in_flight == 0


def test_achat_is_refused_up_front_too_and_a_budget_object_can_span_calls(server):
    import asyncio

    priced(server, 2)
    shared = Budget(0.2)
    jc.chat("one", model="local", max_tokens=20, budget=shared)
    with pytest.raises(BudgetError, match=r"over the budget \$0.20 \(\$0.14 left\)"):
        asyncio.run(jc.achat("two", model="local", max_tokens=200, budget=shared))
    assert len(server.requests) == 1 and shared.requests == 1
