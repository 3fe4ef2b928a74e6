"""The export's media/: each file and sidecar as it comes, read in chunks, never written anywhere but the database.

A Skype export asked with files holds `media/<docid>.1.<ext>` for each file and
`media/<docid>.json` beside it (the original `filename`, `contents.1.type`, an
`expiry_date`). They come inside the tar, before or after messages.json, or in a
`media/` folder beside a bare messages.json (an extracted export).

- a plain tar: each member's bytes are read where they lie (its headers give the
  offsets; messages.json's bytes are never read here)
- a .tar.gz: one streaming pass (gzip cannot be read at random); an import reads
  it once (`OnePass`), its media/ and its messages.json as they come
- a folder beside messages.json: its files

A member that is a link or a device, or a name reaching outside media/, is a
`MediaEntry` with a `problem`: it is skipped, and the caller records why; so is
a sidecar that is not JSON, once the caller reads it (`read_sidecar`). Listing
reads nothing but the tar's headers (or the folder). Nothing is extracted or
written to disk.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tarfile
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import ExportReadError
from .sniff import ExportSource, StoppableReader, is_messages_member, member_name

CHUNK = 1 << 20  # bytes a chunk: what is held at once, whatever the file's size
SIDECAR_LIMIT = 1 << 20  # a sidecar is a few hundred bytes; a bigger one is not one
# what reading a damaged or cut .tar.gz raises, from tarfile, gzip or zlib itself
STREAM_DAMAGE = (tarfile.TarError, OSError, EOFError, zlib.error)
_SIDECAR = re.compile(r"(?P<doc>[^/.]+)\.json\Z")
_FILE = re.compile(r"(?P<doc>[^/.]+)(?:\.[^/]*)?\Z")


@dataclass
class MediaEntry:
    """One member of media/: a file, a sidecar, or one that is skipped (`problem` says why)."""

    name: str  # as the export names it (media/...)
    kind: str  # "file", "sidecar" or "skipped"; "messages" for messages.json, from `OnePass` only
    doc_id: str | None = None
    size: int = 0
    problem: str | None = None
    sidecar: dict[str, Any] | None = None  # a sidecar's file name and content type, once read
    open: Callable[[], IO[bytes]] | None = None  # its bytes, while this entry is the current one

    def read_sidecar(self) -> MediaEntry:
        """This sidecar with its file name and content type, or a skipped entry saying why it is not one."""
        if self.size > SIDECAR_LIMIT:
            return MediaEntry(self.name, "skipped", problem=f"a sidecar of {self.size:,} bytes is not one")
        assert self.open is not None
        with contextlib.closing(self.open()) as stream:
            raw = stream.read(self.size)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            return MediaEntry(self.name, "skipped", problem=f"a sidecar that is not valid JSON ({exc})")
        if not isinstance(data, dict):
            return MediaEntry(self.name, "skipped", problem="a sidecar that is not a JSON object")
        contents = data.get("contents")
        first = contents.get("1") if isinstance(contents, dict) else None
        kind = first.get("type") if isinstance(first, dict) else None
        name = data.get("filename")
        self.sidecar = {
            "file_name": name if isinstance(name, str) and name else None,
            "content_type": kind if isinstance(kind, str) and kind else None,
        }
        return self

    def chunks(self, stop: threading.Event | None = None) -> Iterator[bytes]:
        """The file's bytes, CHUNK at a time; ExportReadError when there are fewer than its header says."""
        assert self.open is not None
        left = self.size
        with contextlib.closing(self.open()) as stream:
            while left > 0:
                if stop is not None and stop.is_set():
                    return
                data = stream.read(min(CHUNK, left))
                if not data:
                    raise ExportReadError(
                        f"{self.name}: the export ends {left:,} bytes before this file does (a truncated tar)"
                    )
                left -= len(data)
                yield data


def media_entries(source: ExportSource, stop: threading.Event | None = None) -> Iterator[MediaEntry]:
    """Every member of the export's media/, in the order the export holds them."""
    if source.kind == "tar":
        yield from _plain_tar(source, stop)
    elif source.kind == "tar.gz":
        yield from OnePass(source, stop, messages=False)
    else:
        yield from _folder(source.path.parent / "media")


def _classify(name: str, is_file: bool, size: int) -> MediaEntry | None:
    """What a member named `name` is: None when it is not under media/ at all."""
    name = member_name(name)
    if not name.startswith("media/"):
        return None
    rest = name[len("media/") :]
    if not rest:
        return None  # the folder itself
    if "/" in rest or rest in (".", "..") or rest.startswith(".."):
        return MediaEntry(name, "skipped", problem="its name reaches outside media/")
    if not is_file:
        return MediaEntry(name, "skipped", problem="not a file (a link, a device or a folder)")
    sidecar = _SIDECAR.match(rest)
    if sidecar is not None:
        return MediaEntry(name, "sidecar", doc_id=sidecar["doc"], size=size)
    found = _FILE.match(rest)
    doc_id = found["doc"] if found is not None else rest
    return MediaEntry(name, "file", doc_id=doc_id, size=size)


def _plain_tar(source: ExportSource, stop: threading.Event | None) -> Iterator[MediaEntry]:
    with open(source.path, "rb") as raw:
        reader = StoppableReader(raw, stop)
        members: list[tuple[tarfile.TarInfo, MediaEntry | None]] = []
        damage = None
        try:
            with tarfile.open(fileobj=reader, mode="r:") as tar:  # type: ignore[call-overload]
                for info in tar:
                    members.append((info, _classify(info.name, info.isfile(), info.size)))
        except (tarfile.TarError, OSError, EOFError) as exc:
            damage = exc  # what was listed before it is read; the rest cannot be found
        for info, entry in members:
            if entry is None:
                continue
            if entry.kind != "skipped":
                entry.open = _region(source.path, info.offset_data, stop)
            yield entry
        if damage is not None:
            last = members[-1][0].name if members else None
            yield MediaEntry(
                f"(after {last})" if last else "(the whole tar)",
                "skipped",
                problem=f"the tar is damaged here ({damage}): any media after this point cannot be found",
            )


def _region(path: Path, offset: int, stop: threading.Event | None) -> Callable[[], IO[bytes]]:
    def opened() -> IO[bytes]:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller (MediaEntry.chunks)
        raw.seek(offset)
        return raw

    return opened


class OnePass:
    """A .tar.gz read once from its start, as an import reads it: each media/ member and messages.json (an
    entry of kind "messages", its bytes to read while it is the current one) in the order they come, so that
    the files are stored as they stream by and messages.json is parsed as it does. Iterate it once. Without
    `messages`, media/'s members alone."""

    def __init__(self, source: ExportSource, stop: threading.Event | None = None, messages: bool = True) -> None:
        self.source = source
        self.stop = stop
        self.messages = messages
        self.reader: StoppableReader | None = None
        self.messages_found = False

    @property
    def bytes_read(self) -> int:
        """Of the file on disk (compressed): how far the import is, media and messages alike."""
        return self.reader.count if self.reader is not None else 0

    def __iter__(self) -> Iterator[MediaEntry]:
        with open(self.source.path, "rb") as raw:
            self.reader = StoppableReader(raw, self.stop)
            for entry in _tar_stream(self.source.path, self.reader, self.messages):
                self.messages_found = self.messages_found or entry.kind == "messages"
                yield entry


class MessagesPipe:
    """messages.json's bytes, from the thread reading a .tar.gz once to the parser (in this process, or the
    worker, which inherits `read_fd`). Closing the reading end lets the pumping thread go: what is left of the
    member is skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read_fd, self._write_fd = os.pipe()
        self.failure: ExportReadError | None = None  # why the pump stopped before the member's end
        self._closing = threading.Lock()  # either thread may close an end: never the same descriptor twice

    def _take(self, end: str) -> int:
        """The descriptor of an end (`read_fd` or `_write_fd`), now this caller's to close; -1 once taken."""
        with self._closing:
            fd = getattr(self, end)
            setattr(self, end, -1)
            return int(fd)

    def pump(self, entry: MediaEntry) -> None:
        """In the reading thread: the member's bytes into the pipe, then its end."""
        assert entry.open is not None
        out = self._take("_write_fd")
        if out < 0:
            return  # closed already: the run stopped
        try:
            with contextlib.closing(entry.open()) as stream:
                while chunk := stream.read(CHUNK):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(out, view) :]
        except BrokenPipeError:
            pass  # the parser has read what it wanted, or stopped
        except STREAM_DAMAGE as exc:
            self.failure = ExportReadError(
                f"{self.path}: messages.json cannot be read to its end ({exc}); the file looks truncated or damaged"
            )
            raise self.failure from exc
        finally:
            os.close(out)

    def source(self, size: int) -> ExportSource:
        """messages.json as the parser reads it from the pipe (`size`: its bytes, when known)."""
        return ExportSource(self.path, "json", size, member="messages.json", fd=self.read_fd)

    def close_write(self) -> None:
        """The pipe's end, when no messages.json came by to pump."""
        fd = self._take("_write_fd")
        if fd >= 0:
            os.close(fd)

    def close_read(self) -> None:
        fd = self._take("read_fd")
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> MessagesPipe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_read()
        self.close_write()


def _tar_stream(path: Path, reader: StoppableReader, messages: bool) -> Iterator[MediaEntry]:
    """The members of a compressed tar read through once: media/'s, and with `messages` its (first) messages.json."""
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader), mode="r|gz") as tar:  # type: ignore[call-overload]
            for info in tar:
                if messages and is_messages_member(info):
                    messages = False  # the first: another is not one
                    yield MediaEntry(info.name, "messages", size=info.size, open=_current(tar.extractfile(info)))
                    continue
                entry = _classify(info.name, info.isfile(), info.size)
                if entry is None:
                    continue
                if entry.kind != "skipped":
                    entry.open = _current(tar.extractfile(info))
                yield entry
    except STREAM_DAMAGE as exc:
        raise ExportReadError(f"{path}: a damaged tar archive ({exc})") from exc


def _current(member: IO[bytes] | None) -> Callable[[], IO[bytes]] | None:
    """The member being streamed by, to read once (None: tarfile found no data for it)."""
    if member is None:
        return None
    return lambda: io.BufferedReader(_Unclosed(member))


class _Unclosed(io.RawIOBase):
    """A member of a streamed tar: reading it moves the tar on; closing it must not close the tar."""

    def __init__(self, member: IO[bytes]) -> None:
        self.member = member

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.member.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.member.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _folder(folder: Path) -> Iterator[MediaEntry]:
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        entry = _classify(f"media/{path.name}", path.is_file() and not path.is_symlink(), 0)
        if entry is None:
            continue
        if entry.kind != "skipped":
            entry.size = path.stat().st_size
            entry.open = lambda p=path: open(p, "rb")  # noqa: SIM115 - closed by its reader
        yield entry


def media_summary(
    source: ExportSource,
    stop: threading.Event | None = None,
    report: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """How many media files the export holds and their bytes (sidecars aside), from the tar's headers or the
    folder's listing: nothing else is read. A .tar.gz has no index: its whole stream is read through (at the
    speed of gzip), and `report(files, bytes)` hears of each file counted."""
    files = size = 0
    for entry in media_entries(source, stop):
        if entry.kind == "file":
            files += 1
            size += entry.size
            if report is not None:
                report(files, size)
    return files, size
