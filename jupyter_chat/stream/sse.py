"""Server-sent events read as the WHATWG HTML standard says: bytes -> lines -> events.

Implements section 9.2.6 "Interpreting an event stream" of the HTML standard
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
Pure and incremental: no I/O, so every rule is tested with strings. ``Lines`` splits bytes
into lines (only CR, LF and CRLF end one, a leading byte-order mark is dropped, UTF-8 is
decoded only once a line is whole); ``Decoder.decode(line)`` returns an ``Event`` or None;
``EventReader.feed(bytes)`` does both for the transport's hot path.
"""

from __future__ import annotations

BOM = b"\xef\xbb\xbf"


class Event:
    """One dispatched event: its type (``message`` unless an ``event:`` field named one), its
    data, the last event id and the reconnection time the stream has set so far."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(
        self, data: str, event: str = "message", id: str = "", retry: int | None = None
    ) -> None:
        self.data, self.event, self.id, self.retry = data, event, id, retry

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and (self.data, self.event, self.id, self.retry) == (
            other.data,
            other.event,
            other.id,
            other.retry,
        )

    def __repr__(self) -> str:
        return f"Event(data={self.data!r}, event={self.event!r}, id={self.id!r})"


class Lines:
    """Bytes in, complete lines out (as text, without their end)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []  # the line being received
        self._cr = False  # the last read ended with CR: an LF next belongs to it
        self._start = True  # the stream's first bytes may be a byte-order mark

    def feed(self, data: bytes) -> list[str]:
        if self._start:
            # "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
            head = b"".join(self._parts) + data
            if len(head) < len(BOM) and BOM.startswith(head):
                self._parts = [head] if head else []
                return []  # not yet known whether it is a mark
            self._start, self._parts = False, []
            data = head[len(BOM) :] if head.startswith(BOM) else head
        if not data:
            return []
        if self._cr:
            self._cr = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:
            # "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED
            # (CRLF) character pair, a single U+000A LINE FEED (LF) character, or a single
            # U+000D CARRIAGE RETURN (CR) character."
            self._cr = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        elif b"\n" not in data:
            if data:
                self._parts.append(data)
            return []
        if self._parts:
            self._parts.append(data)
            data = b"".join(self._parts)
            self._parts = []
        lines = data.split(b"\n")
        rest = lines.pop()
        if rest:
            self._parts.append(rest)
        # decoded as UTF-8 only once whole: a character split across reads stays whole
        return [line.decode("utf-8", "replace") for line in lines]

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line (discarded at the end of the stream)."""
        return sum(len(p) for p in self._parts)


class Decoder:
    """Lines in, events out: ``decode(line)`` returns the event a blank line dispatches."""

    __slots__ = ("_data", "_event", "_id", "last_event_id", "retry")

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._id = ""  # the last event ID buffer
        self.last_event_id = ""
        self.retry: int | None = None

    def decode(self, line: str) -> Event | None:
        if not line:  # "If the line is empty (a blank line): Dispatch the event"
            return self._dispatch()
        if line[0] == ":":  # "If the line starts with a U+003A COLON character": a comment
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":  # "If value starts with a U+0020 SPACE, remove it"
            value = value[1:]
        # without a colon, "the whole line as the field name, and the empty string as value"
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:  # "If the field value does not contain NULL"
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():  # "only ASCII digits"
            self.retry = int(value)
        # "Otherwise: The field is ignored."
        return None

    def _dispatch(self) -> Event | None:
        self.last_event_id = self._id
        if not self._data:
            # "If the data buffer is an empty string, set the data buffer and the event type
            # buffer to the empty string and return." (a block of only retry:, id:, event:)
            self._event = ""
            return None
        # each data line added its value and a LF; the last LF is removed: a join
        event = Event("\n".join(self._data), self._event or "message", self._id, self.retry)
        self._data = []
        self._event = ""
        return event

    @property
    def pending(self) -> bool:
        """An event has begun but no blank line has dispatched it yet."""
        return bool(self._data)


class EventReader:
    """Bytes in, events out. At the end of the stream an unfinished event is discarded ("If
    the file ends in the middle of an event, before the final empty line, the incomplete
    event is not dispatched."); ``pending`` says whether there was one."""

    def __init__(self) -> None:
        self.lines = Lines()
        self.decoder = Decoder()

    def feed(self, data: bytes) -> list[Event]:
        decode = self.decoder.decode
        out = []
        for line in self.lines.feed(data):
            event = decode(line)
            if event is not None:
                out.append(event)
        return out

    @property
    def pending(self) -> bool:
        return self.decoder.pending or self.lines.pending > 0
