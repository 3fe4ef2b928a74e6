"""Streaming reader for a Skype export: .tar, .tar.gz/.tgz or a bare messages.json.

messages.json is read straight out of the archive (no member is ever written to
disk) and parsed by ijson's C backend in one pass with constant memory; see
walker.py for how that one pass yields headers and messages alike.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from ..errors import Cancelled, ExportError, ExportReadError
from .events import Event, ExportHeader, Position
from .sniff import ExportSource, StoppableReader, inspect_export, is_messages_member
from .walker import PRECISE_BUDGET, Feeder, RootMap, Walker, resume_prefix

CHUNK_SIZE = 64 * 1024


class _Member(io.RawIOBase):
    """messages.json inside a plain tar: a window onto the file, so a resume seeks straight to its place."""

    def __init__(self, reader: StoppableReader, start: int, size: int) -> None:
        self.reader = reader
        self.start = start
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seek_to(self, offset: int) -> None:
        self.position = min(max(offset, 0), self.size)
        self.reader.seek(self.start + self.position)

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self.size - self.position)
        if wanted <= 0:
            return 0
        n = self.reader.readinto(memoryview(buffer)[:wanted])
        self.position += n
        return n


class Extractor:
    """Reads one export; `stream(sink)` hands on conversation starts, message chunks and ends."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        chunk_size: int = CHUNK_SIZE,
        start: Position | None = None,
        source: ExportSource | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """`start`: continue from a checkpoint's position instead of the beginning.

        `source`: the export as already inspected (not looked at again); `stop`:
        once set, the next read of the export raises Cancelled.
        """
        self.path = Path(path)
        self.chunk_size = chunk_size
        self.start = start
        self.stop = stop
        self.header = ExportHeader()
        # called before every read ijson makes (the pipeline watches memory there when it parses in-process)
        self.on_read: Callable[[], None] | None = None
        self.lone_surrogates = 0  # \ud800-\udfff escapes without their pair, read as U+FFFD (see walker.py)
        self._reader: StoppableReader | None = None
        self._member: _Member | None = None
        self._feeder: Feeder | None = None
        self.source = source if source is not None else inspect_export(self.path, stop)

    # --- streaming -----------------------------------------------------------------
    @property
    def bytes_total(self) -> int:
        if self.source.kind == "tar" and self.source.member_size is not None:
            return self.source.member_size
        return self.source.size

    @property
    def bytes_read(self) -> int:
        """Progress through the input: the member for a plain tar, the file on disk otherwise."""
        if self._member is not None:
            return self._member.tell()
        return self._reader.count if self._reader else 0

    def _open_stream(self, offset: int, closing: contextlib.ExitStack, hasher: Any = None) -> IO[bytes]:
        """The messages.json byte stream from `offset` on; what it opens goes on `closing`.

        With a `hasher`, the bytes before `offset` are read through it rather than skipped (a resume checks
        them); without, a plain file or tar seeks there.
        """
        if self.source.fd is not None:  # handed on through a pipe, from its start (see ExportSource.fd)
            raw: IO[bytes] = closing.enter_context(os.fdopen(self.source.fd, "rb", buffering=0, closefd=False))
        else:
            raw = closing.enter_context(open(self.path, "rb"))
        reader = StoppableReader(raw, self.stop)
        kind = self.source.kind
        seek = hasher is None
        if kind == "tar" and self.source.member_offset is not None and self.source.member_size is not None:
            self._member = _Member(reader, self.source.member_offset, self.source.member_size)
            self._member.seek_to(offset if seek else 0)
            stream: IO[bytes] = closing.enter_context(io.BufferedReader(self._member, buffer_size=self.chunk_size))
            if not seek:
                _skip(stream, offset, self.stop, hasher)
            return stream
        if kind == "json" and seek:
            raw.seek(offset)
            reader.count = offset
        self._reader = reader
        source: IO[bytes] = closing.enter_context(io.BufferedReader(reader, buffer_size=self.chunk_size))
        if kind == "json":
            if not seek:
                _skip(source, offset, self.stop, hasher)
            return source
        if kind == "json.gz":
            stream = closing.enter_context(gzip.GzipFile(fileobj=source, mode="rb"))  # type: ignore[arg-type,assignment]
        else:
            tar = closing.enter_context(tarfile.open(fileobj=source, mode="r|*"))
            found = next((tar.extractfile(info) for info in tar if is_messages_member(info)), None)
            if found is None:
                raise ExportReadError(f"{self.path}: messages.json vanished from the archive while reading")
            stream = found
        _skip(stream, offset, self.stop, hasher)  # compressed: no seeking, only reading past
        return stream

    @contextlib.contextmanager
    def messages_json(self, offset: int = 0) -> Iterator[IO[bytes]]:
        """messages.json's bytes from `offset` on, as the parser reads them (for tools and benchmarks)."""
        with contextlib.ExitStack() as closing:
            yield self._open_stream(offset, closing)

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
        holder: list[Any] = []
        map_type = type("_RootMap", (RootMap,), {"__slots__": (), "holder": holder})
        walker = Walker(self, start, precise=offset is not None)
        prefix = resume_prefix(start) if start is not None and offset is not None else b""
        with contextlib.ExitStack() as closing:
            hasher = hashlib.sha256()
            stream = self._open_stream(offset or 0, closing, hasher)
            if start is not None and start.content_hash and offset and hasher.hexdigest() != start.content_hash:
                raise ExportError(
                    f"{self.path}: its first {offset:,} bytes are not the ones the interrupted import read, so "
                    "that import cannot be resumed; import it again without --resume (nothing already stored "
                    "is duplicated)"
                )
            feeder = Feeder(self, stream, offset or 0, prefix, hasher)
            feeder.between_reads = lambda: walker.step(holder[0], sink, feeder, final=False) if holder else None
            self._feeder = feeder
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
            finally:
                self._feeder = None
            if not holder or not roots or roots[0] is not holder[0]:
                raise ExportReadError(f"{self.path}: the top level of messages.json is not an object")
            walker.step(holder[0], sink, feeder, final=True)

    def events(self) -> list[Event]:
        """All events of a small export at once (for tests and scripts; use `stream` for real sizes)."""
        collected: list[Event] = []
        self.stream(collected.append)
        return collected


def _skip(stream: IO[bytes], count: int, stop: threading.Event | None, hasher: Any = None) -> None:
    """Read past `count` bytes (through `hasher`, if any); a stop is seen every MiB read, however much it expands."""
    while count > 0:
        if stop is not None and stop.is_set():
            raise Cancelled()
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            raise ExportReadError("the export is shorter than the checkpoint says: has it changed?")
        if hasher is not None:
            hasher.update(chunk)
        count -= len(chunk)
