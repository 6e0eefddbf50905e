"""Cost: from the provider when it reports one (Eden AI's ``cost``), else from ``[prices]``; no
price, no cost. Replayed answers cost the same but are counted as saved, not spent."""

from __future__ import annotations

import json
import re

import pytest
from dialect_server import Reply, completion

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


# what a provider may send as its cost: each is "cost unknown", with a note saying why
HOSTILE_COSTS = {
    "Infinity": (float("inf"), "not a finite number"),
    "-Infinity": (float("-inf"), "not a finite number"),
    "NaN": (float("nan"), "not a finite number"),
    '"1e400"': ("1e400", "not a finite number"),
    "1e308": (1e308, "more than $1,000 for one answer"),
    "a 400-digit integer": (10**400, "401-digit number, more than $1,000"),
    "1001": (1001, "more than $1,000 for one answer"),
    "-0.5": (-0.5, "a negative cost"),
    '"cheap"': ("cheap", "not a number"),
    "true": (True, "not a number"),
    "an object": ({"usd": 1}, "not a number"),
}


def raw_completion(cost_literal: str) -> Reply:
    """A body whose cost is written as it is (``1e400`` is not a float JSON can round-trip)."""
    body = json.dumps(completion("Hello.").body).replace(
        '"usage"', f'"cost": {cost_literal}, "usage"'
    )
    return Reply(body=body.encode(), content_type="application/json")


@pytest.mark.parametrize("name", list(HOSTILE_COSTS))
def test_an_implausible_reported_cost_is_unknown_with_a_note(server, name):
    value, why = HOSTILE_COSTS[name]
    server.script(completion("Hello.", cost=value))
    turn = jc.chat("hi", model="edenai:openai/gpt-4o")
    cost = turn.record["cost"]
    assert cost["usd"] is None and cost["source"] == "provider"
    assert cost["note"].startswith("cost unknown: the provider reported") and why in cost["note"]
    assert len(cost["note"]) < 120  # never a 300-digit figure
    shown = footer(turn.record, "complete")
    assert "$" not in shown and "inf" not in shown.lower() and "nan" not in shown.lower()
    [(_, live, _)] = [r for r in SESSION.ledger.rows() if r[0] == "notebook"]
    assert (live.requests, live.usd, live.unpriced) == (1, 0.0, 1)


def test_a_cost_literal_too_large_for_a_float_is_unknown(server):
    server.script(raw_completion("1e400"), raw_completion("1" + "0" * 400))
    for _ in range(2):
        turn = jc.chat("hi", model="edenai:openai/gpt-4o")
        assert turn.record["cost"]["usd"] is None and "$" not in footer(turn.record, "complete")


def test_the_largest_plausible_cost_is_believed_and_prices_stand_in_for_a_bad_one(server, env):
    server.script(completion("a", cost=1000), completion("b", cost="0.25"))
    assert jc.chat("a", model="edenai:openai/gpt-4o").record["cost"]["usd"] == 1000.0
    assert jc.chat("b", model="edenai:openai/gpt-4o").record["cost"]["usd"] == 0.25
    env.write_text(env.read_text() + PRICES)  # edenai:* is priced at 100 per 1M
    server.script(completion("c", cost=float("inf")))
    cost = jc.chat("c", model="edenai:openai/gpt-4o").record["cost"]
    assert cost["source"] == "prices" and cost["usd"] == pytest.approx(8 * 100 / 1e6)
    assert "priced from [prices]" in cost["note"]


def test_hostile_token_counts_with_a_price_give_no_absurd_cost(server):
    jc.set_price("openai:*", input=1, output=1)
    usage = {"prompt_tokens": 10**400, "completion_tokens": 10**15, "total_tokens": 5}
    server.script(
        completion("a", usage=usage), completion("b", usage={**usage, "prompt_tokens": 1})
    )
    for _ in range(2):
        cost = jc.chat("hi", model="openai:m").record["cost"]
        assert cost["usd"] is None and cost["source"] == "prices"
        assert "token counts reported give" in cost["note"]


def test_in_a_kernel_hostile_costs_leave_the_footer_and_usage_sane(server, k):
    server.script(
        completion("fine", cost=0.25),
        completion("one", cost=float("inf")),
        completion("two", cost="1e400"),
        completion("three", cost=1e308),
    )
    footers, notes = [], []
    for n in range(4):
        ran = k.run(f"%%chat -m edenai:openai/gpt-4o --no-stream -t costs\ncell {n}")
        assert ran.reply["status"] == "ok"
        footers.append(ran.final["data"]["text/plain"].splitlines()[-1])
        notes.append(ran.final["metadata"]["jupyter_chat"].get("notes", []))
    assert "· $0.25 ·" in footers[0] and notes[0] == []
    for shown, said in zip(footers[1:], notes[1:]):
        assert "$" not in shown and "inf" not in shown.lower()
        assert "· cost unknown ·" in shown  # with the note saying why, where notes are shown
        assert [n for n in said if n.startswith("cost unknown: the provider reported ")]
    text = re.sub(r"\\(.)", r"\1", k.run("%chat usage").final["data"]["text/markdown"])
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
        for line in text.splitlines()[2:]
    }
    assert rows["costs"][0] == "4" and rows["costs"][2] == "$0.25 + 3 unpriced"
    assert rows["notebook"][2] == "$0.25 + 3 unpriced"
    assert "inf" not in text.lower() and "0000000" not in text
