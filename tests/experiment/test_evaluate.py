"""``evaluate`` over loopback: the grid and its seeds (those of ``map(samples=K)``), the tidy
frame and the summary, sweeps, failures, checks before anything is sent, the resume after an
interrupt that sends only what is missing (counted at the server), rescoring without a
request, the model-graded scorer replayed offline, the Inspect AI log read by inspect_ai,
and the display (the chart, the HTML, the text table)."""

from __future__ import annotations

import math
import time

import pytest
from dialect_server import Reply, completion, last_user_text, wait_until

import jupyter_chat as jc
from jupyter_chat.experiment import contains, exact, model_graded, numeric

DATA = [
    {"q": "Capital of France?", "target": "Paris"},
    {"q": "3 + 4?", "target": "7"},
    {"q": "2 + 2?", "target": "4"},
]


def answer(body: dict) -> Reply:
    """The strong model gets all three right; the weak one misses the last."""
    text = last_user_text(body)
    strong = body.get("model") == "strong"
    if "France" in text:
        return completion("Paris")
    if "3 + 4" in text:
        return completion("7")
    return completion("4" if strong else "five")


def serve(server, n: int = 200) -> None:
    server.script(*[answer] * n)


MODELS = ["openai:strong", "openai:weak"]


def test_the_grid_its_seeds_frame_and_summary(server):
    serve(server)
    jc.set_price("openai:*", input=1.0, output=2.0)  # USD per 1M tokens: 5 in, 3 out each
    exp = jc.evaluate(
        DATA, "Q: {q}", models=MODELS, samples=2, scorers=["exact", numeric()], progress=False
    )
    assert len(server.requests) == 3 * 2 * 2 and len(exp.rows) == 12
    frame = exp.to_pandas()
    assert list(frame.columns[:8]) == [
        "item",
        "model",
        "setting",
        "sample",
        "answer",
        "target",
        "exact",
        "numeric",
    ]
    for col in ["seed", "total_tokens", "cost_usd", "latency_ms", "replayed", "error"]:
        assert col in frame.columns
    assert frame["replayed"].eq(False).all() and frame["cost_usd"].eq(11e-6).all()
    # the seeds are map(samples=2)'s: sample 0 the prompt's derived seed
    server.reset()
    serve(server)
    plain = jc.map(["Q: 3 + 4?"], model="openai:weak", samples=2, progress=False)
    mine = frame[(frame["item"] == 1) & (frame["model"] == "openai:weak")]
    assert list(mine["seed"]) == [s.record["params"]["seed"] for s in plain[0].samples]
    assert mine["seed"].nunique() == 2
    strong, weak = exp.summary_rows()
    assert (strong["model"], strong["items"], strong["answers"]) == ("openai:strong", 3, 6)
    assert strong["exact"]["mean"] == 1.0 and strong["exact"]["interval"] == "wilson"
    assert weak["exact"]["mean"] == pytest.approx(2 / 3)
    assert weak["numeric"]["mean"] == 0.5  # 'Paris' is no number: that item has no score
    assert strong["agreement"] == 1.0 and strong["failures"] == 0
    assert strong["tokens"] == 6 * 8 and strong["cost_usd"] == pytest.approx(6 * 11e-6)
    assert strong["latency_p50_ms"] <= strong["latency_p95_ms"]
    table = exp.summary()
    assert list(table["model"]) == MODELS and "exact_low" in table.columns


def test_a_sweep_is_a_setting_and_each_value_is_sent(server):
    serve(server)
    exp = jc.evaluate(
        DATA[:2], "Q: {q}", models="openai:strong", sweep={"temperature": [0, 0.7]}, progress=False
    )
    assert exp.settings == ["temperature=0", "temperature=0.7"]
    assert sorted(r.body["temperature"] for r in server.requests) == [0, 0, 0.7, 0.7]
    assert [e["setting"] for e in exp.summary_rows()] == exp.settings
    assert set(exp.to_pandas()["setting"]) == set(exp.settings)


def test_failures_are_counted_and_have_no_score(server):
    def broken(body):
        if "2 + 2" in last_user_text(body):
            return Reply(status=400, body={"error": {"message": "no arithmetic today"}})
        return answer(body)

    server.script(*[broken] * 3)
    exp = jc.evaluate(DATA, "Q: {q}", models="openai:strong", scorers="exact", progress=False)
    (entry,) = exp.summary_rows()
    assert entry["failures"] == 1 and entry["exact"]["mean"] == 1.0
    frame = exp.to_pandas()
    assert "no arithmetic today" in frame.loc[2, "error"] and math.isnan(frame.loc[2, "exact"])
    assert "1 failed" in repr(exp)


def test_everything_is_checked_before_anything_is_sent(server):
    with pytest.raises(jc.ConfigError):
        jc.evaluate(DATA, "Q: {q}", models=["openai:strong", "nosuch:model"], progress=False)
    with pytest.raises(jc.ConfigError, match="given too"):
        jc.evaluate(
            DATA, "Q: {q}", models="openai:strong", sweep="temperature=0,1", temperature=0.5
        )
    with pytest.raises(jc.ConfigError, match="named twice"):
        jc.evaluate(DATA, "Q: {q}", models=["openai:a", "openai:a"])
    with pytest.raises(jc.ConfigError, match="'txt', which is not a column"):
        jc.evaluate(DATA, "Q: {txt}", models="openai:a")
    assert server.requests == []


def test_an_interrupted_experiment_resumes_sending_only_what_is_missing(
    server, tmp_path, monkeypatch
):
    store = tmp_path / "exp.chat.jsonl"
    jc.set_replay("auto", store)
    serve(server)
    from jupyter_chat.batch import api

    real = api.ProgressView.tick

    def interrupt_after_three(self):
        if self.counts.done >= 3:
            raise KeyboardInterrupt
        real(self)

    monkeypatch.setattr(api.ProgressView, "tick", interrupt_after_three)
    with pytest.raises(jc.ExperimentInterrupted) as info:
        jc.evaluate(DATA, "Q: {q}", models=MODELS, samples=2, concurrency=1, progress=False)
    partial = info.value.experiment
    assert 0 < partial.answered < 12 and partial.summary_rows()
    time.sleep(0.5)  # a request cancelled in flight may still be answered and recorded
    assert wait_until(lambda: server.active == 0)
    recorded = len(store.read_text().splitlines())
    assert 3 <= recorded < 12
    monkeypatch.setattr(api.ProgressView, "tick", real)
    server.reset()
    serve(server)
    exp = jc.evaluate(DATA, "Q: {q}", models=MODELS, samples=2, scorers="exact", progress=False)
    assert len(server.requests) == 12 - recorded  # only the missing ones were sent
    assert exp.replayed == recorded and exp.answered == 12
    server.reset()
    again = jc.evaluate(DATA, "Q: {q}", models=MODELS, samples=2, scorers="exact", progress=False)
    assert server.requests == [] and again.replayed == 12
    assert list(again.to_pandas()["answer"]) == list(exp.to_pandas()["answer"])


def test_rescoring_sends_nothing(server):
    serve(server)
    exp = jc.evaluate(DATA, "Q: {q}", models=MODELS, scorers="exact", progress=False)
    server.reset()

    def short(answer):
        return len(answer) < 3

    again = exp.rescore([contains(), short])
    assert server.requests == []
    assert list(again.scores) == ["contains", "short"] and list(exp.scores) == ["exact"]
    assert again.summary_rows()[1]["short"]["mean"] == pytest.approx(1 / 3)  # 7 alone


def test_the_model_graded_scorer_is_recorded_then_replayed_offline(server, tmp_path):
    store = tmp_path / "graded.chat.jsonl"
    jc.set_replay("auto", store)

    def grader_or_answer(body):
        text = last_user_text(body)
        if "You are grading" in text:
            right = "Reference answer: Paris" in text and "Submitted answer: Paris" in text
            return completion("Looks right.\nGRADE: C" if right else "GRADE: I")
        return answer(body)

    server.script(*[grader_or_answer] * 20)
    graded = model_graded("openai:grader", temperature=0)
    exp = jc.evaluate(
        DATA, "Q: {q}", models="openai:strong", scorers=[exact(), graded], progress=False
    )
    graders = [r for r in server.requests if r.body["model"] == "grader"]
    assert len(graders) == 3 and all(r.body["temperature"] == 0 for r in graders)
    assert "Question: Q: Capital of France?" in last_user_text(graders[0].body)
    assert exp.scores["graded"] == [1.0, 0.0, 0.0]
    assert graded.explanations[0] == "Looks right.\nGRADE: C"

    jc.set_replay("replay", store)  # offline: a miss would be an error, never a request
    server.reset()
    again = jc.evaluate(
        DATA,
        "Q: {q}",
        models="openai:strong",
        scorers=[exact(), model_graded("openai:grader", temperature=0)],
        progress=False,
    )
    assert server.requests == [] and again.scores == exp.scores
    assert all(r.turn.record["replayed"] for r in again.rows)


def test_the_inspect_log_is_read_by_inspect_ai(server, tmp_path):
    log_mod = pytest.importorskip("inspect_ai.log")
    serve(server)
    exp = jc.evaluate(
        DATA, "Q: {q}", models=MODELS, samples=2, scorers=["exact", "contains"], progress=False
    )
    paths = exp.to_inspect(tmp_path / "logs")
    assert [p.name.split("_")[1:3] for p in paths] == [
        ["jupyter-chat", "openai-strong"],
        ["jupyter-chat", "openai-weak"],
    ]
    # named as Inspect names its own, so its viewer's listing finds them
    listed = log_mod.list_eval_logs(str(tmp_path / "logs"))
    assert sorted(i.task for i in listed) == ["jupyter-chat", "jupyter-chat"]
    log = log_mod.read_eval_log(str(paths[1]))
    assert log.status == "success" and log.eval.model == "openai/weak"
    assert log.eval.config.epochs == 2 and len(log.samples) == 6
    first = log.samples[0]
    assert (first.id, first.epoch, first.target) == (0, 1, "Paris")
    assert first.output.completion == "Paris" and first.scores["exact"].value == 1.0
    (exact_score, contains_score) = log.results.scores
    assert exact_score.name == "exact"
    assert exact_score.metrics["mean"].value == pytest.approx(2 / 3)
    low = exp.summary_rows()[1]["exact"]["low"]
    assert exact_score.metrics["ci95_low"].value == pytest.approx(low)
    with pytest.raises(jc.ConfigError, match="Give a folder"):
        exp.to_inspect(tmp_path / "one.json")
    one = jc.evaluate(DATA, "Q: {q}", models="openai:strong", progress=False)
    (path,) = one.to_inspect(tmp_path / "one.json")
    assert log_mod.read_eval_log(str(path)).results.scores[0].name == "match"
    assert '"summary"' in one.to_json(tmp_path / "one.exp.json")


def test_the_display_has_the_chart_the_table_and_text(server):
    serve(server)
    exp = jc.evaluate(DATA, "Q: {q}", models=MODELS, scorers="exact", progress=False)
    bundle = exp._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "exact: mean and 95% interval" in svg and "openai:weak" in svg
    assert "0.67 [0.21, 0.94]" in svg  # the weak model's 2 of 3, Wilson
    page = bundle["text/html"]
    assert '<img alt="experiment summary chart" src="data:image/svg+xml;base64,' in page
    assert "<script" not in page and "Wilson score interval" in page
    text = bundle["text/plain"]
    assert text.splitlines()[0] == "experiment: 6 answers · 6 answered · 0 failed"
    assert "openai:weak" in text and "0.67 [0.21, 0.94]" in text


def test_named_prompts_are_settings_crossed_with_a_sweep(server):
    serve(server)
    exp = jc.evaluate(
        DATA[:2],
        prompt={"plain": "Q: {q}", "terse": "Answer in one word. Q: {q}"},
        models="openai:strong",
        sweep="temperature=0,1",
        progress=False,
    )
    assert exp.settings == [
        "prompt=plain · temperature=0",
        "prompt=plain · temperature=1",
        "prompt=terse · temperature=0",
        "prompt=terse · temperature=1",
    ]
    sent = sorted((last_user_text(r.body)[:6], r.body["temperature"]) for r in server.requests)
    assert sent == sorted(
        [("Q: Cap", 0), ("Q: 3 +", 0), ("Q: Cap", 1), ("Q: 3 +", 1)]
        + [("Answer", 0), ("Answer", 0), ("Answer", 1), ("Answer", 1)]
    )
    rows = exp.to_pandas()
    assert rows.loc[rows["setting"].str.startswith("prompt=terse"), "answer"].tolist() == [
        "Paris",
        "7",
        "Paris",
        "7",
    ]


def test_without_models_the_notebooks_model_answers(server):
    serve(server)
    exp = jc.evaluate(DATA[:1], "Q: {q}", scorers="contains", progress=False)
    assert exp.models == ["default"] and exp.summary_rows()[0]["model"] == "default"
    assert exp.rows[0].turn is not None and len(server.requests) == 1


def test_a_frame_its_index_and_targets_from_a_column_a_list_or_a_function(server):
    import pandas as pd

    frame = pd.DataFrame(
        {"q": ["Capital of France?", "3 + 4?"], "answer": ["Paris", "7"]},
        index=pd.Index(["fr", "sum"], name="id"),
    )
    serve(server)
    exp = jc.evaluate(frame, "Q: {q}", models="openai:weak", target="answer", progress=False)
    rows = exp.to_pandas()
    assert list(rows["item"]) == ["fr", "sum"] and list(rows["target"]) == ["Paris", "7"]
    assert exp.summary_rows()[0]["match"]["mean"] == 1.0
    by_list = exp.rescore("exact")  # the same answers; targets as evaluate took them
    assert by_list.scores["exact"] == [1.0, 1.0]
    server.reset()
    serve(server)
    listed = jc.evaluate(["Q: 2 + 2?"], models="openai:weak", target=["4"], progress=False)
    assert listed.rows[0].target == "4" and listed.scores["match"] == [0.0]  # 'five'
    made = jc.evaluate(["Q: 3 + 4?"], models="openai:weak", target=lambda item: "7", progress=False)
    assert made.scores["match"] == [1.0]
    with pytest.raises(jc.ConfigError, match="2 targets for 1 items"):
        jc.evaluate(["Q: 3 + 4?"], models="openai:weak", target=["7", "8"])
    with pytest.raises(jc.ConfigError, match="'nope' is not a column"):
        jc.evaluate(frame, "Q: {q}", models="openai:weak", target="nope")
