"""Tables people read and words they see, in a real kernel: ``%chat usage`` (the local model
costs $0; which tokens were sent and which replayed), ``%chat threads`` (every column named),
``%chat history`` (each turn's model and seed, long turns folded), ``%%chat --help`` (an example
for every option that takes a value), typos led by the fix, ``--dry-run`` shown whole, and
``%chat provider add`` naming the config file in use."""

from __future__ import annotations

import re

from dialect_server import Reply, chunk, sse


def table(ran) -> tuple[list[str], dict[str, list[str]]]:
    """The header and the rows (by first cell) of the Markdown table a cell showed."""
    text = re.sub(r"\\(.)", r"\1", ran.final["data"]["text/markdown"])
    lines = [line for line in text.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines]
    return cells[0], {row[0]: row[1:] for row in cells[2:]}


def test_usage_says_the_local_model_costs_nothing_and_names_its_token_columns(server, k):
    k.run("SESSION.ledger.threads.clear()")
    assert k.run("%%chat -m local -t free\nhi").reply["status"] == "ok"
    header, rows = table(k.run("%chat usage free"))
    assert header == ["thread", "sent", "tokens sent", "spent", "replayed", "tokens replayed"]
    assert rows["free"][2] == "$0"  # not "cost unknown": a server on this machine sends no bill
    footer = k.run("%%chat -m local -t free\nagain").final["data"]["text/plain"]
    assert "· $0 ·" in footer or footer.rstrip("]").endswith("$0")


def test_threads_names_every_column(server, k):
    k.run("%%chat -m local -t named\nhi")
    header, rows = table(k.run("%chat threads"))
    assert header == ["thread", "turns", "current"] and all(header)
    assert rows["named"][0] == "1"


def test_history_shows_each_turns_model_and_seed_and_folds_long_turns(server, k):
    long = "word " * 400
    server.script(
        Reply(events=sse(chunk("short answer"), chunk(finish="stop"))),
        Reply(events=sse(chunk(long), chunk(finish="stop"))),
    )
    k.run("%%chat -m openai:m-asked -t hist --seed 11\nfirst")
    k.run("%%chat -m openai:m-asked -t hist --seed 12\nsecond")
    ran = k.run("%chat history hist")
    md, plain = ran.final["data"]["text/markdown"], ran.final["data"]["text/plain"]
    # the model that answered (the dialect server names itself test-model) and the seed sent
    assert "turn 1 · openai:test-model · seed 11" in md
    assert "turn 2 · openai:test-model · seed 12" in md
    assert md.count("<details>") == 1 and "(2,000 characters)" in md  # the long answer only
    assert plain.startswith("-- turn 1 · openai:test-model · seed 11")


def test_cell_help_gives_an_example_for_every_option_that_takes_a_value(server, k):
    from jupyter_chat.magics.options import cell_parser

    ran = k.run("%%chat --help")
    text = ran.stdout
    for action in cell_parser()._actions:
        if action.nargs == 0:
            continue
        assert any(o in (action.help or "") for o in action.option_strings), action.dest
    for example in ("--temperature 0", "--top-p 0.9", "--max-tokens 500", "--seed 7"):
        assert example in " ".join(text.split()), example


def test_a_mistyped_subcommand_leads_with_the_fix(server, k):
    ran = k.run("%chat modles")
    line = ran.reply["evalue"]
    assert line.startswith("%chat: Did you mean models? ("), line


def test_provider_add_names_the_config_file_in_use(server, k):
    # the kernel's config file is named by JUPYTER_CHAT_CONFIG: said so (the same output on
    # every machine, so a notebook showing it passes nbval anywhere) ...
    ran = k.run("%chat provider add mine --base-url http://127.0.0.1:9/v1 --no-key")
    md = re.sub(r"\\(.)", r"\1", ran.final["data"]["text/markdown"])
    assert "config file (`$JUPYTER_CHAT_CONFIG`)" in md
    assert "~/.config/jupyter-chat/config.toml" not in md
    # ... and without it, the file the configuration is read from, home as ~
    k.run("import os; os.environ.pop('JUPYTER_CHAT_CONFIG'); os.environ['HOME'] = '/nowhere'")
    ran = k.run("%chat provider add mine2 --base-url http://127.0.0.1:9/v1 --no-key")
    md = re.sub(r"\\(.)", r"\1", ran.final["data"]["text/markdown"])
    assert "config file (`~/.config/jupyter-chat/config.toml`)" in md
