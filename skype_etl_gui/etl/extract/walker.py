"""How one ijson pass yields both conversation headers and their messages.

ijson builds the whole document lazily in C, and after each read we take the
finished entries out of the lists it is building. A list element is finished
once a later one has started, so everything but the last element of the current
`MessageList` (and of `conversations`) can be handed on and dropped. The builder
keeps appending to the same list objects, so memory stays at about one chunk of
messages.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from ..errors import ExportError, ExportReadError
from ..values import json_default, json_type, record_id
from .depth import MARKER, MAX_DEPTH, Cut, DepthGuard
from .events import Boundary, ConversationEnd, ConversationStart, Event, ExportHeader, MessageChunk, Position

if TYPE_CHECKING:
    from .extractor import Extractor

PRECISE_BUDGET = 256 * 1024  # bytes read in small steps while looking for an entry's first byte
_BRACKET = re.compile(rb"[\[{]")
# an escaped backslash, a surrogate pair, or a surrogate on its own (which yajl turns into "?" or an error)
_ESCAPES = re.compile(
    rb"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)
ESCAPE_TAIL = 12  # bytes: the longest escape matched above, a surrogate pair
MAX_TAIL_READS = 512  # a run of backslashes this long at a chunk's end is left as it is


# what may be a lone surrogate, found in one pass without a call per match (emoji are surrogate pairs, and
# common): a high half not followed by a low one, a low half not preceded by a high one, or an escaped
# backslash before a surrogate escape (which only the exact pass below reads right)
_MAYBE_LONE = re.compile(
    rb"\\(?:u[dD](?:[89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|[c-fC-F][0-9a-fA-F]{2}(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}))"
    rb"|\\u[dD])"
)


def mend_surrogates(chunk: bytes) -> tuple[bytes, int]:
    """Every lone surrogate escape as \\ufffd, of the same length (offsets stay): the chunk and how many."""
    if b"\\u" not in chunk or _MAYBE_LONE.search(chunk) is None:
        return chunk, 0
    found = 0

    def replace(match: re.Match[bytes]) -> bytes:
        nonlocal found
        if match.group(1) is None:
            return match.group(0)
        found += 1
        return b"\\ufffd"

    mended = _ESCAPES.sub(replace, chunk)
    return (mended if found else chunk), found


MAX_READ = 256 * 1024 * 1024  # the most one read hands ijson while a long token is being parsed


class RootMap(dict):  # type: ignore[type-arg]
    """The mapping type ijson builds; the first one made is the document root."""

    __slots__ = ()
    holder: list[Any]

    def __init__(self) -> None:
        if not self.holder:
            self.holder.append(self)


def resume_prefix(start: Position) -> bytes:
    """JSON that puts the parser where the checkpoint stood: inside conversations, maybe inside a MessageList."""
    if start.header is None:
        return b'{"conversations": ['
    header = json.dumps(start.header, ensure_ascii=False, default=json_default)[:-1]
    separator = ", " if start.header else ""
    return ('{"conversations": [' + header + separator + '"MessageList": [').encode()


class Feeder:
    """The file ijson reads from.

    Between two reads the walker hands on the finished entries. Normally a read
    returns a whole chunk; while a boundary is wanted it returns one byte at a
    time, so the walker sees exactly which byte started the next entry.
    """

    def __init__(self, extractor: Extractor, stream: IO[bytes], offset: int, prefix: bytes, hasher: Any = None) -> None:
        """`hasher`: a SHA-256 of messages.json's bytes before `offset` (checkpoints carry the hash up to them)."""
        self.extractor = extractor
        self.stream = stream
        self.between_reads: Callable[[], None] = lambda: None
        self.prefix = prefix
        self.buffer = b""
        self.position = 0  # in buffer
        self.buffer_start = offset  # in messages.json, of the buffer's first byte
        self.next_start = offset  # of the first byte after the buffer, as read from the export
        self.exact = True  # the buffer is the export's bytes as they are (not cut by the depth guard)
        self.guard = DepthGuard()
        self.hasher = hasher if hasher is not None else hashlib.sha256()  # of the bytes before raw_start
        self.raw_start = offset  # where `original` starts in messages.json
        self.original = b""  # the last chunk as read (a byte order mark included)
        self.precise_budget = 0
        self.last_byte = b""  # the single byte of the last precise read
        self.last_offset: int | None = -1
        self.gave_up = False  # a boundary was wanted and none was found within the budget
        # yajl lexes a token that spans reads again from its start at every read, so a 50 MB string fed
        # 64 KB at a time costs 50 MB x 800; reads double while nothing new appears, which keeps it linear
        self.read_size = extractor.chunk_size

    def read(self, size: int) -> bytes:
        if size == 0:
            return b""  # ijson's first read only asks for the type
        if self.extractor.on_read is not None:
            self.extractor.on_read()
        self.between_reads()
        if self.prefix:
            prefix, self.prefix = self.prefix, b""
            return self.guard.filter(prefix)  # the guard learns the depth the resume starts at
        while self.position >= len(self.buffer):  # a chunk can be all left out by the depth guard: read on
            if not self._refill():
                return b""
        if self.precise_budget > 0:
            # up to the next bracket in one read, then the bracket on its own: the walker sees whether it began
            # the next entry (inside a long string there is no bracket, so no read of one byte at a time)
            found = _BRACKET.search(self.buffer, self.position)
            end = len(self.buffer) if found is None else found.start()
            if end > self.position:
                data = self.buffer[self.position : end]
                self.last_byte = b""
            else:
                data = self.buffer[self.position : self.position + 1]
                # where the export was cut, offsets in the buffer are not the export's: no exact place then
                self.last_byte, self.last_offset = data, (self.buffer_start + self.position if self.exact else None)
            self.precise_budget = max(self.precise_budget - len(data), 0)
            self.gave_up = self.precise_budget == 0  # the next entry did not begin within the budget
        else:
            data = self.buffer[self.position : self.position + max(size, self.read_size)]
            self.last_byte = b""
        self.position += len(data)
        return data

    @property
    def offset(self) -> int:
        """Where the next byte handed out is in messages.json (after a cut buffer: where that buffer ends)."""
        return self.buffer_start + self.position if self.exact else self.next_start

    def hash_to(self, offset: int | None) -> str | None:
        """SHA-256 of messages.json's bytes before `offset` (within the last chunk read), for a checkpoint."""
        if offset is None or not self.raw_start <= offset <= self.raw_start + len(self.original):
            return None
        hasher = self.hasher.copy()
        hasher.update(self.original[: offset - self.raw_start])
        return hasher.hexdigest()

    def progressed(self, moved: bool) -> None:
        """After a read: something new was parsed (reads go back to their size), or not (the next one doubles)."""
        if moved or self.precise_budget:
            self.read_size = self.extractor.chunk_size
        else:
            self.read_size = min(self.read_size * 2, MAX_READ)

    def _refill(self) -> bool:
        try:
            chunk = self.stream.read(max(self.extractor.chunk_size, self.read_size))
        except (OSError, EOFError, tarfile.TarError) as exc:
            if "unexpected end of data" in str(exc) or isinstance(exc, EOFError):
                raise ExportReadError(
                    f"{self.extractor.path}: the archive ends early at byte {self.extractor.bytes_read}; "
                    "the file looks truncated"
                ) from exc
            raise ExportReadError(
                f"{self.extractor.path}: reading failed at byte {self.extractor.bytes_read} ({exc})"
            ) from exc
        # a chunk never ends inside an escape, so each is seen whole by mend_surrogates
        for _ in range(MAX_TAIL_READS):
            if not chunk or b"\\" not in chunk[-ESCAPE_TAIL:]:
                break
            more = self.stream.read(ESCAPE_TAIL)
            if not more:
                break
            chunk += more
        self.hasher.update(self.original)  # the whole previous chunk is behind now
        self.raw_start, self.original = self.next_start, chunk
        start = self.next_start
        if start == 0 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
            start = 3
        chunk, lone = mend_surrogates(chunk)  # the hash is of `original`, the bytes as read
        self.extractor.lone_surrogates += lone
        filtered = self.guard.filter(chunk)
        self.buffer_start, self.next_start, self.exact = start, start + len(chunk), filtered is chunk
        self.buffer, self.position = filtered, 0
        return bool(chunk)


_NO_CONVERSATION = object()


class Walker:
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
        self.cuts: list[Cut] = []  # values the depth guard left out, not yet found in what was handed on

    def step(self, root: dict[str, Any], sink: Callable[[Event], None], feeder: Feeder, final: bool) -> None:
        self.cuts += feeder.guard.take_cuts()
        began = self._what_began(root, feeder)
        moved = False
        for event in self._events(root, final):
            moved = True
            sink(event)
        if began is not None or feeder.gave_up:
            feeder.precise_budget = 0
            feeder.last_byte = b""
            feeder.gave_up = False
            # without an offset when none was found within the budget
            sink(Boundary(began or Position(self.index, self.taken)))
        lengths = self._lengths(root)
        feeder.progressed(moved or lengths != self.lengths or began is not None)
        self.lengths = lengths

    @staticmethod
    def _lengths(root: dict[str, Any]) -> tuple[int, int]:
        conversations = root.get("conversations")
        if not isinstance(conversations, list) or not conversations:
            return (0, 0)
        last = conversations[-1]
        messages = last.get("MessageList") if isinstance(last, dict) else None
        return (len(conversations), len(messages) if isinstance(messages, list) else 0)

    def _what_began(self, root: dict[str, Any], feeder: Feeder) -> Position | None:
        """After a one-byte read: the position it began, if that byte opened the next entry or conversation."""
        if feeder.last_byte not in (b"{", b"["):
            return None
        conversations, messages = self._lengths(root)
        content_hash = feeder.hash_to(feeder.last_offset)
        if conversations > self.lengths[0]:
            # a new conversation: after the walk, it is the current one, with nothing taken
            return Position(self.index + 1, 0, feeder.last_offset, None, content_hash)
        if messages > self.lengths[1] and _conv_id(self.current) is not None:
            # plain data: the checkpoint goes into JSON and across processes
            try:
                header = json.loads(json.dumps(_header(self.current), default=json_default))
            except (ValueError, RecursionError):
                return None  # a header too deep to keep: the checkpoint goes without a byte offset
            return Position(self.index, self.taken + messages - 1, feeder.last_offset, header, content_hash)
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
                    repairs = self._repairs(ready, offset) if self.cuts else {}
                    yield MessageChunk(self.index, conv_id, offset, ready, repairs)
        if finished:
            kind = json_type(messages) if isinstance(conv, dict) and "MessageList" in conv else "missing"
            header = _header(conv)
            repaired = sum(self._repairs([header], 0).values()) if self.cuts else 0
            yield ConversationEnd(self.index, conv_id, header, self.taken, kind, repaired)
            self.current = _NO_CONVERSATION

    def _repairs(self, entries: list[Any], offset: int) -> dict[int, int]:
        """Which of these entries had values left out (they hold the marker), and how many bytes each."""
        found: dict[int, int] = {}
        for position, entry in enumerate(entries, offset):
            markers = _markers(entry, MAX_DEPTH)
            if markers:
                taken, self.cuts = self.cuts[:markers], self.cuts[markers:]
                found[position] = sum(c.bytes_left_out for c in taken)
            if not self.cuts:
                break
        return found


def _markers(value: Any, depth: int) -> int:
    """How many left-out markers a value holds (it nests at most MAX_DEPTH: the guard saw to that)."""
    if isinstance(value, str):
        return 1 if value == MARKER else 0
    if depth <= 0:
        return 0
    if isinstance(value, dict):
        return sum(_markers(v, depth - 1) for v in value.values())
    if isinstance(value, list):
        return sum(_markers(v, depth - 1) for v in value)
    return 0


def _conv_id(conv: Any) -> str | None:
    return record_id(conv.get("id")) if isinstance(conv, dict) else None


def _header(conv: Any) -> dict[str, Any]:
    if not isinstance(conv, dict):
        return {"__invalid__": conv}
    return {k: v for k, v in conv.items() if k != "MessageList"}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
