"""Streaming reader for a Skype export: .tar, .tar.gz/.tgz or a bare messages.json.

The input is recognised by its content, never its name. messages.json is read
straight out of the archive (no member is ever written to disk) and parsed by
ijson's C backend in one pass with constant memory.

How one pass yields both conversation headers and their messages: ijson builds
the whole document lazily in C, and after each chunk we take the finished
entries out of the lists it is building. A list element is finished once a
later one has started, so everything but the last element of the current
`MessageList` (and of `conversations`) can be handed on and dropped. The
builder keeps appending to the same list objects, so memory stays at about one
chunk of messages.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import ijson

CHUNK_SIZE = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
_SNIFF = 4096


class ExportError(Exception):
    """The input cannot be imported. Raised before anything is written (exit 2)."""


class ExportReadError(Exception):
    """The input broke part way through (truncated JSON, a tar cut short)."""


@dataclass
class ExportHeader:
    user_id: str | None = None
    export_date: str | None = None


@dataclass
class ConversationStart:
    """A conversation whose messages follow. `header` is what is known so far."""

    index: int
    conversation_id: str | None
    header: dict[str, Any]


@dataclass
class MessageChunk:
    """Consecutive entries of one conversation's MessageList, starting at entry `offset`."""

    index: int
    conversation_id: str | None
    offset: int
    entries: list[Any]


@dataclass
class ConversationEnd:
    """A conversation is complete; `header` now has every key it had (MessageList excluded)."""

    index: int
    conversation_id: str | None
    header: dict[str, Any]
    message_count: int
    message_list: str = "a list"  # what MessageList was, in JSON's words


@dataclass
class Position:
    """A place in the export: conversation `conversation_index`, its first `entries_done` entries behind.

    `byte_offset` is where the next entry (or, with no `header`, the next
    conversation) starts in messages.json, when it is known exactly; a resume
    then seeks there instead of parsing everything before it. `header` holds the
    conversation's keys that came before its MessageList, to rebuild the parse.
    """

    conversation_index: int = 0
    entries_done: int = 0
    byte_offset: int | None = None
    header: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversation_index": self.conversation_index,
            "entries_done": self.entries_done,
            "byte_offset": self.byte_offset,
            "header": self.header,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        offset = data.get("byte_offset")
        header = data.get("header")
        return cls(
            int(data.get("conversation_index", 0)),
            int(data.get("entries_done", 0)),
            int(offset) if isinstance(offset, int) else None,
            header if isinstance(header, dict) else None,
        )


@dataclass
class Boundary:
    """Asked for with `request_boundary()`: everything before `position` has been handed on."""

    position: Position


Event = ConversationStart | MessageChunk | ConversationEnd | Boundary
PRECISE_BUDGET = 256 * 1024  # bytes read one at a time while looking for an entry's first byte


@dataclass
class _Source:
    kind: str  # "json", "tar", "tar.gz", "json.gz"
    member: str | None = None
    size: int = 0


class _CountingReader(io.RawIOBase):
    """Counts bytes read from the file on disk, for progress by bytes."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        return n or 0


class _Map(dict):  # type: ignore[type-arg]
    """The mapping type ijson builds; the first one made is the document root."""

    __slots__ = ()
    holder: list[Any]

    def __init__(self) -> None:
        if not self.holder:
            self.holder.append(self)


def fingerprint(path: str | os.PathLike[str], sample: int = 1 << 20) -> str:
    """Size plus a hash of the head, middle and tail: cheap for gigabytes, changes when the file does."""
    size = os.path.getsize(path)
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        for start in (0, max(size // 2 - sample // 2, 0), max(size - sample, 0)):
            f.seek(start)
            digest.update(f.read(sample))
    return f"{size}:{digest.hexdigest()[:32]}"


class Extractor:
    """Reads one export; `events()` yields conversation starts, message chunks and ends."""

    def __init__(
        self, path: str | os.PathLike[str], chunk_size: int = CHUNK_SIZE, start: Position | None = None
    ) -> None:
        """`start`: continue from a checkpoint's position instead of the beginning."""
        self.path = Path(path)
        self.chunk_size = chunk_size
        self.start = start
        self.header = ExportHeader()
        self._reader: _CountingReader | None = None
        self._member_file: IO[bytes] | None = None
        self._member_size = 0
        self._feeder: _Feeder | None = None
        self.source = self.inspect()

    # --- recognising the input -----------------------------------------------------
    def inspect(self) -> _Source:
        """Recognise the export by content; raise ExportError with a clear reason if it is not one."""
        path = self.path
        if not path.exists():
            raise ExportError(f"{path}: no such file")
        if path.is_dir():
            raise ExportError(f"{path}: is a folder; choose the export .tar or messages.json inside it")
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                head = f.read(_SNIFF)
        except OSError as exc:
            raise ExportError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        if size == 0:
            raise ExportError(f"{path}: the file is empty")
        if head.startswith(GZIP_MAGIC):
            try:
                with gzip.open(path, "rb") as g:
                    inner = g.read(_SNIFF)
            except (OSError, EOFError) as exc:
                raise ExportError(f"{path}: a damaged gzip file ({exc})") from exc
            if _looks_like_tar(inner):
                return self._inspect_tar(size, "tar.gz")
            if _looks_like_json_object(inner, path):
                return _Source("json.gz", None, size)
            raise ExportError(f"{path}: a gzip file that holds neither a Skype export tar nor messages.json")
        if _looks_like_tar(head):
            return self._inspect_tar(size, "tar")
        if _looks_like_json_object(head, path):
            return _Source("json", None, size)
        raise ExportError(f"{path}: not a Skype export (expected a .tar from Skype's export page or its messages.json)")

    def _inspect_tar(self, size: int, kind: str) -> _Source:
        member = None
        try:
            with tarfile.open(self.path, "r|*") as tar:
                for info in tar:
                    if _is_messages_member(info):
                        member = info.name
                        break
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ExportError(f"{self.path}: a damaged tar archive ({exc})") from exc
        if member is None:
            raise ExportError(f"{self.path}: the archive holds no messages.json; is this a Skype chat export?")
        return _Source(kind, member, size)

    # --- streaming -----------------------------------------------------------------
    @property
    def bytes_total(self) -> int:
        return self._member_size if self.source.kind == "tar" else self.source.size

    @property
    def bytes_read(self) -> int:
        """Progress through the input: the member for a plain tar, the file on disk otherwise."""
        if self.source.kind == "tar" and self._member_file is not None:
            return self._member_file.tell()
        return self._reader.count if self._reader else 0

    def _open_stream(self, offset: int = 0) -> tuple[IO[bytes], list[Any]]:
        """The messages.json byte stream from `offset` on, and what to close afterwards."""
        raw = open(self.path, "rb")  # noqa: SIM115 - closed by stream()
        kind = self.source.kind
        closing: list[Any] = [raw]
        if kind == "tar":
            # random access: the member's data straight from the file, and a resume seeks in it
            tar = tarfile.open(fileobj=raw, mode="r:")
            closing.insert(0, tar)
            for info in tar:
                if _is_messages_member(info):
                    member = tar.extractfile(info)
                    if member is None:
                        break
                    self._member_file = member
                    self._member_size = info.size
                    member.seek(offset)
                    return member, closing
            raise ExportReadError(f"{self.path}: messages.json vanished from the archive while reading")
        if kind == "json":
            raw.seek(offset)
        self._reader = _CountingReader(raw)
        source: IO[bytes] = io.BufferedReader(self._reader, buffer_size=self.chunk_size)  # type: ignore[arg-type]
        closing.insert(0, source)
        if kind == "json":
            self._reader.count = offset
            return source, closing
        if kind == "json.gz":
            stream: IO[bytes] = gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[assignment]
            closing.insert(0, stream)
        else:
            tar = tarfile.open(fileobj=source, mode="r|gz")
            closing.insert(0, tar)
            found = None
            for info in tar:
                if _is_messages_member(info):
                    found = tar.extractfile(info)
                    break
            if found is None:
                raise ExportReadError(f"{self.path}: messages.json vanished from the archive while reading")
            stream = found
        _skip(stream, offset)  # compressed: no seeking, only reading past
        return stream, closing

    def request_boundary(self) -> None:
        """Ask for a Boundary event at the next entry (or conversation) start, with its exact byte offset."""
        if self._feeder is not None:
            self._feeder.precise_budget = PRECISE_BUDGET

    def stream(self, sink: Callable[[Event], None]) -> None:
        """Stream the export into `sink`: for each conversation a start, its message chunks, an end.

        `sink` runs between two reads of the input, so whatever it raises stops the
        parse at once (that is how the pipeline cancels).
        """
        start = self.start
        offset = start.byte_offset if start is not None and start.byte_offset is not None else None
        stream, closing = self._open_stream(offset or 0)
        holder: list[Any] = []
        map_type = type("_RootMap", (_Map,), {"__slots__": (), "holder": holder})
        walker = _Walker(self, start, precise=offset is not None)
        prefix = _resume_prefix(start) if start is not None and offset is not None else b""
        feeder = _Feeder(self, stream, offset or 0, prefix)
        feeder.between_reads = lambda: walker.step(holder[0], sink, feeder, final=False) if holder else None
        self._feeder = feeder
        try:
            try:
                # numbers as ijson reads them exactly (int, or Decimal): use_float would fail on integers past 64 bits
                roots = list(ijson.items(feeder, "", map_type=map_type, buf_size=self.chunk_size))
            except ijson.IncompleteJSONError as exc:
                if "premature" in str(exc).lower() or "incomplete" in str(exc).lower():
                    raise ExportReadError(
                        f"{self.path}: the JSON ends too early at byte {self.bytes_read}; the file looks truncated"
                    ) from exc
                raise ExportReadError(f"{self.path}: invalid JSON near byte {self.bytes_read} ({exc})") from exc
            except ijson.JSONError as exc:
                raise ExportReadError(f"{self.path}: invalid JSON near byte {self.bytes_read} ({exc})") from exc
            if not holder or not roots or roots[0] is not holder[0]:
                raise ExportReadError(f"{self.path}: the top level of messages.json is not an object")
            walker.step(holder[0], sink, feeder, final=True)
        finally:
            self._feeder = None
            for obj in closing:
                obj.close()

    def events(self) -> list[Event]:
        """All events of a small export at once (for tests and scripts; use `stream` for real sizes)."""
        collected: list[Event] = []
        self.stream(collected.append)
        return collected


def _skip(stream: IO[bytes], count: int) -> None:
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            raise ExportReadError("the export is shorter than the checkpoint says: has it changed?")
        count -= len(chunk)


def _resume_prefix(start: Position) -> bytes:
    """JSON that puts the parser where the checkpoint stood: inside conversations, maybe inside a MessageList."""
    if start.header is None:
        return b'{"conversations": ['
    header = json.dumps(start.header, ensure_ascii=False, default=json_default)[:-1]
    separator = ", " if start.header else ""
    return ('{"conversations": [' + header + separator + '"MessageList": [').encode()


class _Feeder:
    """The file ijson reads from.

    Between two reads the walker hands on the finished entries. Normally a read
    returns a whole chunk; while a boundary is wanted it returns one byte at a
    time, so the walker sees exactly which byte started the next entry.
    """

    def __init__(self, extractor: Extractor, stream: IO[bytes], offset: int, prefix: bytes) -> None:
        self.extractor = extractor
        self.stream = stream
        self.between_reads: Callable[[], None] = lambda: None
        self.prefix = prefix
        self.buffer = b""
        self.position = 0  # in buffer
        self.offset = offset  # in messages.json, of the next byte handed out
        self.precise_budget = 0
        self.last_byte = b""  # the single byte of the last precise read
        self.last_offset = -1

    def read(self, size: int) -> bytes:
        if size == 0:
            return b""  # ijson's first read only asks for the type
        self.between_reads()
        if self.prefix:
            prefix, self.prefix = self.prefix, b""
            return prefix
        if self.position >= len(self.buffer) and not self._refill():
            return b""
        if self.precise_budget > 0:
            self.precise_budget -= 1
            data = self.buffer[self.position : self.position + 1]
            self.last_byte, self.last_offset = data, self.offset
        else:
            data = self.buffer[self.position : self.position + size]
            self.last_byte = b""
        self.position += len(data)
        self.offset += len(data)
        return data

    def _refill(self) -> bool:
        try:
            chunk = self.stream.read(self.extractor.chunk_size)
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise ExportReadError(
                f"{self.extractor.path}: reading failed at byte {self.extractor.bytes_read} ({exc})"
            ) from exc
        if self.offset == 0 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
            self.offset = 3
        self.buffer, self.position = chunk, 0
        return bool(chunk)


_NO_CONVERSATION = object()


def json_default(value: Any) -> Any:
    """JSON for what ijson makes that json cannot write: Decimal numbers (as numbers where finite)."""
    if isinstance(value, Decimal):
        if value.is_finite():
            return int(value) if value == value.to_integral_value() else float(value)
        return str(value)
    return str(value)


class _Walker:
    """Takes finished conversations and messages out of the document ijson is building."""

    def __init__(self, extractor: Extractor, start: Position | None, precise: bool) -> None:
        self.extractor = extractor
        self.current: Any = _NO_CONVERSATION  # the conversation at the head of the list (may itself be None)
        self.started = False
        self.taken = 0  # entries of the current MessageList already handed on (or skipped)
        self.checked_root = False
        self.lengths = (0, 0)  # conversations, current MessageList: to see what the last byte began
        # resuming: at the exact place (precise), or from the top, skipping what is behind
        self.index = (start.conversation_index - 1) if start and precise else -1
        self.first_taken = start.entries_done if start and precise else 0
        self.skip_to = (start.conversation_index, start.entries_done) if start and not precise else (0, 0)

    def step(self, root: dict[str, Any], sink: Callable[[Event], None], feeder: _Feeder, final: bool) -> None:
        began = self._what_began(root, feeder)
        for event in self._events(root, final):
            sink(event)
        if began is not None or (feeder.precise_budget == 0 and feeder.last_byte):
            feeder.precise_budget = 0
            feeder.last_byte = b""
            # without an offset when none was found within the budget
            sink(Boundary(began or Position(self.index, self.taken)))
        self.lengths = self._lengths(root)

    @staticmethod
    def _lengths(root: dict[str, Any]) -> tuple[int, int]:
        conversations = root.get("conversations")
        if not isinstance(conversations, list) or not conversations:
            return (0, 0)
        last = conversations[-1]
        messages = last.get("MessageList") if isinstance(last, dict) else None
        return (len(conversations), len(messages) if isinstance(messages, list) else 0)

    def _what_began(self, root: dict[str, Any], feeder: _Feeder) -> Position | None:
        """After a one-byte read: the position it began, if that byte opened the next entry or conversation."""
        if feeder.last_byte not in (b"{", b"["):
            return None
        conversations, messages = self._lengths(root)
        if conversations > self.lengths[0]:
            # a new conversation: after the walk, it is the current one, with nothing taken
            return Position(self.index + 1, 0, feeder.last_offset, None)
        if messages > self.lengths[1] and _conv_id(self.current) is not None:
            # plain data: the checkpoint goes into JSON and across processes
            try:
                header = json.loads(json.dumps(_header(self.current), default=json_default))
            except (ValueError, RecursionError):
                return None  # a header too deep to keep: the checkpoint goes without a byte offset
            return Position(self.index, self.taken + messages - 1, feeder.last_offset, header)
        return None

    def _events(self, root: dict[str, Any], final: bool) -> Iterator[Event]:
        if not self.checked_root and ("userId" in root or "exportDate" in root or "conversations" in root):
            self.extractor.header = ExportHeader(_str_or_none(root.get("userId")), _str_or_none(root.get("exportDate")))
            if "conversations" in root:
                self.checked_root = True
        conversations = root.get("conversations")
        if conversations is None:
            if final:
                raise ExportError(f'{self.extractor.path}: messages.json has no "conversations" list')
            return
        if not isinstance(conversations, list):
            raise ExportError(
                f'{self.extractor.path}: "conversations" in messages.json is {json_type(conversations)}, not a list'
            )
        if final:
            self.extractor.header = ExportHeader(_str_or_none(root.get("userId")), _str_or_none(root.get("exportDate")))
        # every conversation but the last is finished
        while len(conversations) > 1 or (final and conversations):
            conv = conversations.pop(0)
            yield from self._advance(conv, finished=True)
        if conversations:
            yield from self._advance(conversations[0], finished=False)

    def _advance(self, conv: Any, finished: bool) -> Iterator[Event]:
        if conv is not self.current:
            self.current, self.index, self.started = conv, self.index + 1, False
            self.taken, self.first_taken = self.first_taken, 0
        conv_id = _conv_id(conv)
        messages = conv.get("MessageList") if isinstance(conv, dict) else None
        skip_index, skip_entries = self.skip_to
        if self.index < skip_index:  # resuming from the top: this conversation is already stored
            if isinstance(messages, list):
                del messages[: len(messages) - (0 if finished else 1)]
            if finished:
                self.current = _NO_CONVERSATION
            return
        # without an id yet (a key after MessageList), messages wait for the conversation's end
        streamable = isinstance(messages, list) and (conv_id is not None or finished)
        if not self.started and (finished or (streamable and len(messages) > 1)):  # type: ignore[arg-type]
            self.started = True
            yield ConversationStart(self.index, conv_id, _header(conv))
        if self.started and streamable:
            assert isinstance(messages, list)
            ready_count = len(messages) - (0 if finished else 1)
            if ready_count > 0:
                ready = messages[:ready_count]
                del messages[:ready_count]
                offset = self.taken
                self.taken += ready_count
                if self.index == skip_index and offset < skip_entries:  # already stored
                    ready = ready[skip_entries - offset :]
                    offset = skip_entries
                if ready:
                    yield MessageChunk(self.index, conv_id, offset, ready)
        if finished:
            kind = json_type(messages) if isinstance(conv, dict) and "MessageList" in conv else "missing"
            yield ConversationEnd(self.index, conv_id, _header(conv), self.taken, kind)
            self.current = _NO_CONVERSATION


def json_type(value: Any) -> str:
    """What a JSON value is, in the words of JSON."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    return "null" if value is None else type(value).__name__


def record_id(value: Any) -> str | None:
    """An id as stored: text as it is, a number as text; anything else (empty, true/false, null, a list) is none."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    if isinstance(value, (float, Decimal)) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value)


def _conv_id(conv: Any) -> str | None:
    return record_id(conv.get("id")) if isinstance(conv, dict) else None


def _header(conv: Any) -> dict[str, Any]:
    if not isinstance(conv, dict):
        return {"__invalid__": conv}
    return {k: v for k, v in conv.items() if k != "MessageList"}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_messages_member(info: tarfile.TarInfo) -> bool:
    name = info.name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return info.isfile() and name == "messages.json"


def _looks_like_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _looks_like_json_object(head: bytes, path: Path) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return True
    if text.startswith(b"["):
        raise ExportError(f'{path}: the JSON is a list, not a Skype export (expected an object with "conversations")')
    return False
