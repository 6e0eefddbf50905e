"""Cost: from the provider when it reports one (Eden AI's ``cost``), else from ``[prices]``; no
price, no cost. Replayed answers cost the same but are counted as saved, not spent."""

from __future__ import annotations

import pytest
from dialect_server import completion

import jupyter_chat as jc
from jupyter_chat.display.footer import footer
from jupyter_chat.session.state import SESSION

PRICES = """
[prices]
"openai:gpt-4o-mini" = { input = 0.15, output = 0.6, cached_input = 0.075 }
"edenai:*" = { input = 100, output = 100 }
"""


def test_prices_from_the_config_file_give_a_cost(server, env):
    env.write_text(env.read_text() + PRICES)
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "total_tokens": 1200,
        "prompt_tokens_details": {"cached_tokens": 400},
    }
    server.script(completion("hi", usage=usage))
    turn = jc.chat("hi", model="openai:gpt-4o-mini")
    # 600 x 0.15 + 400 x 0.075 + 200 x 0.6, per million
    assert turn.record["cost"] == {"usd": pytest.approx(0.00024), "source": "prices"}
    assert "$0.00024" in footer(turn.record, "complete")


def test_a_provider_that_reports_its_cost_is_believed(server, env):
    env.write_text(env.read_text() + PRICES)  # edenai:* is priced, but Eden says what it cost
    turn = jc.chat("hi", model="edenai:openai/gpt-4o")
    assert turn.record["cost"] == {"usd": 0.0001, "source": "provider"}


def test_no_price_no_cost(server):
    turn = jc.chat("hi", model="openai:gpt-4o-mini")
    assert "cost" not in turn.record
    assert "$" not in footer(turn.record, "complete")


def test_set_price_at_run_time_and_bad_prices(server, env):
    jc.set_price("local:default", input=2, output=4)
    assert jc.chat("hi", model="local").record["cost"]["usd"] == pytest.approx(22e-6)
    with pytest.raises(jc.ConfigError, match="PROVIDER:MODEL"):
        jc.set_price("gpt-4o", input=1, output=1)
    with pytest.raises(jc.ConfigError, match="expected a number"):
        jc.set_price("local:x", input=float("nan"), output=1)
    env.write_text(env.read_text() + '[prices]\n"openai:m" = { input = 1 }\n')
    with pytest.raises(jc.ConfigError, match="give input and output"):
        jc.chat("hi", model="openai:m")


def test_replayed_answers_are_saved_not_spent(server, tmp_path):
    jc.set_price("local:*", input=1, output=1)
    jc.set_replay("auto", tmp_path / "s.chat.jsonl")
    live = jc.chat("hi", model="local", thread="t")
    jc.chat("hey", model="local")
    jc.set_replay("replay", tmp_path / "s.chat.jsonl")
    SESSION.clear("t")
    again = jc.chat("hi", model="local", thread="t")
    assert again.record["cost"] == live.record["cost"]  # what the answer cost, both times
    batch = jc.map(["hey"], model="local", progress=False)
    assert batch.spent_usd == 0 and batch.saved_usd == pytest.approx(8e-6)
    rows = {name: (lv, rp) for name, lv, rp in SESSION.ledger.rows()}
    assert rows["t"][0].requests == 1 and rows["t"][1].requests == 1
    assert rows["(no thread)"][1].usd == pytest.approx(8e-6)
    total_live, total_replayed = rows["notebook"]
    assert (total_live.tokens, total_replayed.tokens) == (16, 16)
    assert total_live.usd == pytest.approx(16e-6) and total_replayed.unpriced == 0
