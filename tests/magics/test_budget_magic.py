"""``%chat budget`` in a real kernel: the notebook's limit spans cells, refuses a cell whose
estimate is over what is left (nothing sent), keeps what was spent when the limit changes."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_state(k):
    k.run("from jupyter_chat.session.state import SESSION; SESSION.__init__()")


def plain(ran) -> str:
    return ran.final["data"]["text/plain"]


def test_the_notebook_budget_spans_cells_and_refuses_before_sending(server, k):
    ran = k.run('jupyter_chat.set_price("local:*", input=1000, output=1000)\n%chat budget 0.3')
    assert ran.error is None
    assert plain(ran) == "Notebook budget $0.30 · spent $0 · $0.30 left."
    ran = k.run("%%chat -m local --max-tokens 20\nhello")
    assert ran.error is None and len(server.requests) == 1
    ran = k.run("%chat budget")  # 5 + 3 tokens at $0.001 each
    assert plain(ran) == "Notebook budget $0.30 · spent $0.0080 · $0.29 left."
    ran = k.run("%%chat -m local --max-tokens 500\nwrite a long story")
    assert ran.error["ename"] == "BudgetError"
    assert (
        "estimated $0.5" in ran.error["evalue"] and "over the budget $0.30" in ran.error["evalue"]
    )
    assert "nothing was sent" in ran.error["evalue"] and len(server.requests) == 1
    ran = k.run("%chat budget 1")  # a new limit keeps what was spent
    assert plain(ran) == "Notebook budget $1.00 · spent $0.0080 · $0.99 left."
    ran = k.run("%%chat -m local --max-tokens 500\nwrite a long story")
    assert ran.error is None and len(server.requests) == 2
    ran = k.run("%chat budget off")
    assert plain(ran) == "No budget: nothing limits what this notebook spends."
    ran = k.run("%chat budget lots")
    assert "expected an amount in USD" in (ran.error or ran.reply)["evalue"]  # a UsageError


def test_a_model_with_no_price_under_the_notebook_budget(server, k):
    ran = k.run("%chat budget 1")
    assert ran.error is None
    ran = k.run("%%chat -m openai:gpt-test --max-tokens 20\nhi")
    assert "no price for openai:gpt-test" in ran.error["evalue"] and server.requests == []
    ran = k.run("%chat budget 1 --unknown allow")
    assert "models with no price: allowed" in plain(ran)
    ran = k.run("%%chat -m openai:gpt-test --max-tokens 20\nhi")
    assert ran.error is None and len(server.requests) == 1


def test_a_cells_own_budget_refuses_it_before_sending(server, k):
    k.run('jupyter_chat.set_price("local:*", input=1000, output=1000)')
    ran = k.run("%%chat -m local --max-tokens 500 --budget 0.1\nwrite a long story")
    assert ran.error["ename"] == "BudgetError" and "over the budget $0.10" in ran.error["evalue"]
    assert server.requests == []
    ran = k.run("%%chat -m local --max-tokens 500 --samples 2 --budget 0.9\nwrite a long story")
    assert "estimated $1.0" in ran.error["evalue"] and "for 2 requests" in ran.error["evalue"]
    ran = k.run("%%chat -m local --max-tokens 20 --budget 0.2\nhello")
    assert ran.error is None and len(server.requests) == 1
    ran = k.run("%%chat --compare local,local:b --budget 1\nhello")
    assert "%chat budget USD limits comparisons" in (ran.error or ran.reply)["evalue"]
