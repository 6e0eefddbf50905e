"""A sweep's one rule (session/sweep.py), in process: the values parsed the same from the
magic's text and the API's dict, checked against each provider's parameters, and every bad
sweep refused with one ConfigError line before anything is built or sent."""

from __future__ import annotations

import pytest

from jupyter_chat.errors import ConfigError
from jupyter_chat.session.resolve import Ask
from jupyter_chat.session.sweep import Sweep, label_value, parse_sweep, sweep_asks


@pytest.mark.parametrize(
    ("text", "api", "values"),
    [
        ("temperature=0,0.7,1.2", {"temperature": [0, 0.7, 1.2]}, (0, 0.7, 1.2)),
        ("seed=1, 2, 3", {"seed": (1, 2, 3)}, (1, 2, 3)),
        ("reasoning_effort=low,high", {"reasoning_effort": ["low", "high"]}, ("low", "high")),
        ('stop=[["a"], ["b", "c"]]', {"stop": [["a"], ["b", "c"]]}, (["a"], ["b", "c"])),
        ("top-p=0.5,1", {"top_p": [0.5, 1]}, (0.5, 1)),
        ("logprobs=true,false", {"logprobs": [True, False]}, (True, False)),
    ],
)
def test_the_magic_text_and_the_api_dict_give_the_same_sweep(text, api, values):
    assert (
        parse_sweep(text) == parse_sweep(api) == Sweep(text.split("=")[0].replace("-", "_"), values)
    )
    assert parse_sweep(parse_sweep(text)) == parse_sweep(text)


def test_values_keep_their_json_types():
    s = parse_sweep("temperature=0,0.7")
    assert [type(v) for v in s.values] == [int, float]
    assert [label_value(v) for v in parse_sweep('stop=[["a b"],["c"]]').values] == [
        '["a b"]',
        '["c"]',
    ]


BAD = {
    "temperature": "expected NAME=V1,V2",
    "temperature=": "no values",
    "temperature=0.7": "one value",
    "temperature=0,,1": "an empty value",
    "temperature=0,hot": "mix",
    "temperature=0,NaN": "finite",
    "seed=1,2.5": "not a whole number",
    "seed=1,true": "not a whole number",
    "temperature=0.5,0.5": "given twice",
    "model=a,b": "cannot be swept",
    "1x=1,2": "not a parameter name",
    "stop=[1": "not valid JSON",
    "temperature=0,null": "null",
}


@pytest.mark.parametrize("text", sorted(BAD))
def test_a_bad_sweep_is_one_config_error_line(text):
    with pytest.raises(ConfigError, match=BAD[text]) as err:
        parse_sweep(text)
    assert "\n" not in str(err.value)


def test_one_parameter_at_a_time_and_values_as_a_list():
    with pytest.raises(ConfigError, match="one parameter at a time, not 2"):
        parse_sweep({"temperature": [0, 1], "top_p": [0.5, 1]})
    with pytest.raises(ConfigError, match="give the values as a list"):
        parse_sweep({"temperature": 0.7})
    with pytest.raises(ConfigError, match="expected NAME=V1,V2"):
        parse_sweep(["temperature", 0, 1])
    with pytest.raises(ConfigError, match="at most 16"):
        parse_sweep({"seed": list(range(17))})


def test_the_values_are_checked_against_each_models_provider():
    asks = [Ask(model="eigencloud"), Ask(model="eigenai")]
    with pytest.raises(ConfigError, match="eigenai does not take a seed"):
        sweep_asks(asks, "seed=1,2")
    with pytest.raises(ConfigError, match="eigencloud does not take the parameter 'top_k'"):
        sweep_asks(asks, "top_k=1,40")
    with pytest.raises(ConfigError, match=r"temperature=3\.0: must be in 0\.\.2"):
        sweep_asks([Ask(model="openai:m")], "temperature=0,3")
    with pytest.raises(ConfigError, match="max_tokens=10.5: expected an integer"):
        sweep_asks([Ask(model="local")], "max_tokens=10.5,20")


def test_a_value_given_twice_is_refused():
    with pytest.raises(ConfigError, match="seed is given too"):
        sweep_asks([Ask(model="local", seed=7)], "seed=1,2")
    with pytest.raises(ConfigError, match="temperature is given too"):
        sweep_asks([Ask(model="local", params={"temperature": 0.2})], "temperature=0,1")


def test_the_columns_asks_vary_only_the_swept_value():
    base = [Ask(model="local", seed_from="cell"), Ask(model="openai:m", seed_from="cell")]
    asks = sweep_asks(base, {"temperature": [0, 1]})
    assert [(a.model, a.params, a.seed, a.seed_from) for a in asks] == [
        ("local", {"temperature": 0}, None, "cell"),
        ("local", {"temperature": 1}, None, "cell"),
        ("openai:m", {"temperature": 0}, None, "cell"),
        ("openai:m", {"temperature": 1}, None, "cell"),
    ]
    seeded = sweep_asks([Ask(model="local")], "seed=3,4")
    assert [a.seed for a in seeded] == [3, 4]
