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
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


Event = ConversationStart | MessageChunk | ConversationEnd


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

    def __init__(self, path: str | os.PathLike[str], chunk_size: int = CHUNK_SIZE) -> None:
        self.path = Path(path)
        self.chunk_size = chunk_size
        self.header = ExportHeader()
        self._reader: _CountingReader | None = None
        self._member_file: IO[bytes] | None = None
        self._member_size = 0
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

    def _open_stream(self) -> tuple[IO[bytes], list[Any]]:
        """The messages.json byte stream, and what to close afterwards."""
        raw = open(self.path, "rb")  # noqa: SIM115 - closed by stream()
        kind = self.source.kind
        if kind == "tar":
            # tarfile reads the members' data straight from the file, no extra layer
            source: IO[bytes] = raw
        else:
            self._reader = _CountingReader(raw)
            source = io.BufferedReader(self._reader, buffer_size=self.chunk_size)  # type: ignore[arg-type]
        closing: list[Any] = [source, raw]
        if kind == "json":
            return source, closing
        if kind == "json.gz":
            unzipped: IO[bytes] = gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[assignment]
            return unzipped, [unzipped, *closing]
        tar = tarfile.open(fileobj=source, mode="r|gz" if kind == "tar.gz" else "r|")
        closing.insert(0, tar)
        for info in tar:
            if _is_messages_member(info):
                member = tar.extractfile(info)
                if member is None:
                    break
                self._member_file = member
                self._member_size = info.size
                return member, closing
        raise ExportReadError(f"{self.path}: messages.json vanished from the archive while reading")

    def stream(self, sink: Callable[[Event], None]) -> None:
        """Stream the export into `sink`: for each conversation a start, its message chunks, an end.

        `sink` runs between two reads of the input, so whatever it raises stops the
        parse at once (that is how the pipeline cancels).
        """
        stream, closing = self._open_stream()
        holder: list[Any] = []
        map_type = type("_RootMap", (_Map,), {"__slots__": (), "holder": holder})
        walker = _Walker(self)
        feeder = _Feeder(self, stream, lambda: walker.step(holder[0], sink, final=False) if holder else None)
        try:
            try:
                roots = list(ijson.items(feeder, "", map_type=map_type, use_float=True, buf_size=self.chunk_size))
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
            walker.step(holder[0], sink, final=True)
        finally:
            for obj in closing:
                obj.close()

    def events(self) -> list[Event]:
        """All events of a small export at once (for tests and scripts; use `stream` for real sizes)."""
        collected: list[Event] = []
        self.stream(collected.append)
        return collected


class _Feeder:
    """The file ijson reads from; between two reads the finished entries are handed on."""

    def __init__(self, extractor: Extractor, stream: IO[bytes], between_reads: Callable[[], None]) -> None:
        self.extractor = extractor
        self.stream = stream
        self.between_reads = between_reads
        self.first = True

    def read(self, size: int) -> bytes:
        self.between_reads()
        try:
            chunk = self.stream.read(size)
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise ExportReadError(
                f"{self.extractor.path}: reading failed at byte {self.extractor.bytes_read} ({exc})"
            ) from exc
        if self.first and chunk:  # ijson's first read(0) only asks for the type
            self.first = False
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")
        return chunk


class _Walker:
    """Takes finished conversations and messages out of the document ijson is building."""

    def __init__(self, extractor: Extractor) -> None:
        self.extractor = extractor
        self.current: Any = None  # the conversation at the head of the list
        self.index = -1
        self.started = False
        self.taken = 0  # entries of the current MessageList already handed on
        self.checked_root = False

    def step(self, root: dict[str, Any], sink: Callable[[Event], None], final: bool) -> None:
        for event in self._events(root, final):
            sink(event)

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
            self.current, self.index, self.started, self.taken = conv, self.index + 1, False, 0
        conv_id = _conv_id(conv)
        messages = conv.get("MessageList") if isinstance(conv, dict) else None
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
                yield MessageChunk(self.index, conv_id, self.taken, ready)
                self.taken += ready_count
        if finished:
            yield ConversationEnd(self.index, conv_id, _header(conv), self.taken)
            self.current = None


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
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


def _conv_id(conv: Any) -> str | None:
    if not isinstance(conv, dict):
        return None
    value = conv.get("id")
    if value is None or isinstance(value, (dict, list)):
        return None
    return value if isinstance(value, str) else str(value)


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
