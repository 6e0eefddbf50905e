"""The SSE reader (stream/sse.py), one test per rule of the HTML standard's "Interpreting an
event stream" (section 9.2.6), fed strings and bytes alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_chat.stream import Accumulator
from jupyter_chat.stream.sse import Decoder, Event, EventReader, Lines


def events(*pieces: bytes | str) -> list[Event]:
    """The events a stream of these reads dispatches."""
    reader = EventReader()
    out: list[Event] = []
    for p in pieces:
        out += reader.feed(p.encode() if isinstance(p, str) else p)
    return out


def lines(*pieces: bytes | str) -> list[str]:
    splitter = Lines()
    out: list[str] = []
    for p in pieces:
        out += splitter.feed(p.encode() if isinstance(p, str) else p)
    return out


def decode(*text_lines: str) -> list[Event]:
    d = Decoder()
    return [e for line in text_lines if (e := d.decode(line)) is not None]


# -- lines -------------------------------------------------------------------------------------
def test_crlf_lf_and_cr_each_end_a_line():
    assert lines("a\r\nb\nc\rd\n") == ["a", "b", "c", "d"]


def test_crlf_split_across_two_reads_ends_one_line():
    assert lines("a\r", "\nb\n") == ["a", "b"]
    assert lines("a\r", "", "\nb\n") == ["a", "b"]  # an empty read decides nothing


def test_cr_at_the_end_of_a_read_then_another_line():
    assert lines("a\r", "b\n") == ["a", "b"]


def test_two_crs_are_an_empty_line():
    assert lines("a\r\rb\r") == ["a", "", "b"]


def test_only_cr_lf_and_crlf_end_a_line():
    # U+2028, U+2029, NEL, form feed and vertical tab are text (str.splitlines would split)
    text = "data: a\u2028b\u2029c\x85d\x0ce\x0bf\x1cg"
    assert lines(text + "\n") == [text]


def test_a_line_without_its_end_is_held_back():
    splitter = Lines()
    assert splitter.feed(b"data: x") == []
    assert splitter.pending == 7
    assert splitter.feed(b"y\n") == ["data: xy"]


def test_one_leading_byte_order_mark_is_ignored():
    assert lines(b"\xef\xbb\xbfdata: x\n") == ["data: x"]


def test_a_byte_order_mark_split_across_reads_is_ignored():
    assert lines(b"\xef", b"\xbb", b"\xbfdata: x\n") == ["data: x"]
    assert lines(b"\xef\xbb", b"\xbfa\n") == ["a"]


def test_only_the_first_byte_order_mark_is_ignored():
    assert lines(b"\xef\xbb\xbf\xef\xbb\xbfa\n") == ["\ufeffa"]


def test_a_byte_order_mark_after_the_start_is_text():
    assert lines(b"a\n\xef\xbb\xbfb\n") == ["a", "\ufeffb"]


def test_a_start_that_is_not_a_byte_order_mark_is_kept():
    assert lines(b"\xef", b"x\n") == ["\ufffdx"]  # a broken sequence, decoded with U+FFFD
    assert lines(b"d", b"ata: x\n") == ["data: x"]


def test_utf8_is_decoded_once_the_line_is_whole():
    data = "data: Grüße 日本 🎉\n".encode()
    assert lines(*[data[i : i + 1] for i in range(len(data))]) == ["data: Grüße 日本 🎉"]


def test_invalid_utf8_becomes_the_replacement_character():
    assert lines(b"data: \xff\xfe ok\n") == ["data: \ufffd\ufffd ok"]


# -- fields and events -------------------------------------------------------------------------
def test_a_blank_line_dispatches_the_event():
    assert decode("data: x") == []
    assert decode("data: x", "") == [Event("x")]


def test_a_line_starting_with_a_colon_is_a_comment():
    assert decode(": keep-alive", "", ":data: x", "") == []


def test_one_space_after_the_colon_is_removed_and_only_one():
    assert decode("data: x", "") == [Event("x")]
    assert decode("data:x", "") == [Event("x")]
    assert decode("data:  x ", "") == [Event(" x ")]
    assert decode("data:\tx", "") == [Event("\tx")]


def test_the_value_starts_after_the_first_colon():
    assert decode('data: {"a": "b:c"}', "") == [Event('{"a": "b:c"}')]


def test_a_line_without_a_colon_is_a_field_with_an_empty_value():
    assert decode("data", "") == [Event("")]
    assert decode("event", "data: x", "") == [Event("x")]


def test_data_lines_are_joined_with_a_line_feed():
    assert decode("data: a", "data:", "data: b", "") == [Event("a\n\nb")]


def test_an_empty_data_line_dispatches_an_event_with_empty_data():
    assert decode("data:", "") == [Event("")]


def test_a_block_of_only_retry_dispatches_nothing():
    d = Decoder()
    assert [d.decode(line) for line in ("retry: 3000", "")] == [None, None]
    assert d.retry == 3000


def test_a_block_of_only_id_dispatches_nothing_but_sets_the_last_event_id():
    d = Decoder()
    assert [d.decode(line) for line in ("id: 7", "", "")] == [None, None, None]
    assert d.last_event_id == "7"


def test_a_block_of_only_event_dispatches_nothing_and_the_type_is_reset():
    assert decode("event: error", "", "data: x", "") == [Event("x", "message")]


def test_the_event_field_sets_the_type_of_the_next_event_only():
    assert decode("event: error", "data: x", "", "data: y", "") == [
        Event("x", "error"),
        Event("y", "message"),
    ]


def test_the_last_event_id_carries_over_to_later_events():
    got = decode("id: 1", "data: a", "", "data: b", "", "id:", "data: c", "")
    assert [e.id for e in got] == ["1", "1", ""]


def test_an_id_holding_null_is_ignored():
    assert decode("id: 1", "data: a", "", "id: 2\0", "data: b", "")[1].id == "1"


def test_retry_is_set_only_by_ascii_digits():
    d = Decoder()
    for value in ("10a", "-5", "  5", "1_000", "١٢", "", "²", "5 "):
        d.decode("retry:" + value)
    assert d.retry is None
    d.decode("retry: 250")
    assert d.retry == 250


def test_unknown_fields_are_ignored():
    assert decode("foo: bar", "data: x", "baz", "") == [Event("x")]


def test_field_names_are_case_sensitive():
    assert decode("Data: x", "DATA: y", "") == []


def test_an_event_unfinished_at_the_end_of_the_stream_is_not_dispatched():
    reader = EventReader()
    assert reader.feed(b"data: a\n\ndata: b\n") == [Event("a")]
    assert reader.pending  # the caller discards it: the stream ended mid-event
    reader = EventReader()
    reader.feed(b"data: a")
    assert reader.pending


def test_a_whole_stream_with_every_rule():
    stream = (
        b"\xef\xbb\xbf: hello\r\n"
        b"retry: 100\r\n\r\n"
        b"id: 3\rdata:\r\r"
        b"event: error\ndata: {\ndata: }\n\n"
        b"data: [DONE]\n\n"
    )
    assert events(stream) == [
        Event("", id="3", retry=100),
        Event("{\n}", "error", "3", 100),
        Event("[DONE]", id="3", retry=100),
    ]


STREAM = (
    b"\xef\xbb\xbfretry: 10\r\n\r\nid: 1\n\n: c\r\rdata:\n\n"
    + 'data: {"x": "é\u2028"}\r\n\r\nevent: e\ndata: a\ndata: b\n\n'.encode()
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(STREAM)), max_size=30))
def test_any_split_into_reads_gives_the_same_events(cuts):
    points = [0, *sorted(set(cuts)), len(STREAM)]
    assert events(*[STREAM[a:b] for a, b in zip(points, points[1:])]) == events(STREAM)


# -- what the accumulator makes of events ------------------------------------------------------
@pytest.mark.parametrize("data", ["", " ", "\n", "\t \n"])
def test_an_event_with_empty_data_carries_no_chunk(data):
    acc = Accumulator()
    assert acc.feed_data(data) == []
    assert acc.result().choices == [] and not acc.complete
