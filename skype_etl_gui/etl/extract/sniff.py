"""Recognising an export by its content: a .tar, a .tar.gz, a bare messages.json (maybe gzipped).

Inspection reads as little as it can: the first bytes, and for a plain tar only
the member headers (tarfile seeks over their data). Its result, an ExportSource,
is handed on to the extractor, so an import does not look for messages.json again.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import Cancelled, ExportError

GZIP_MAGIC = b"\x1f\x8b"
_SNIFF = 4096


@dataclass(frozen=True)
class ExportSource:
    """What an export is, found by looking at its content."""

    path: Path
    kind: str  # "json", "tar", "tar.gz", "json.gz"
    size: int  # of the file on disk
    member: str | None = None  # messages.json's name inside a tar
    member_offset: int | None = None  # where its bytes start in a plain tar, to read it without scanning again
    member_size: int | None = None
    # messages.json's bytes come through this pipe, not from `path`: a .tar.gz the importing process reads once
    # (see media.OnePass) and hands on; its kind is then "json", its size messages.json's
    fd: int | None = None


class StoppableReader(io.RawIOBase):
    """A file as read from disk: counts the bytes for progress, and stops when asked.

    Every read of the export goes through one of these, so a stop reaches the long
    loops inside tarfile and gzip too (a .tar.gz fast-forward, a scan for a member).
    """

    def __init__(self, raw: IO[bytes], stop: threading.Event | None = None) -> None:
        self.raw = raw
        self.stop = stop
        self.count = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.raw.seekable()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def readinto(self, buffer: Any) -> int:
        if self.stop is not None and self.stop.is_set():
            raise Cancelled()
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        return n or 0


def inspect_export(path: str | os.PathLike[str], stop: threading.Event | None = None) -> ExportSource:
    """Recognise the export by content; raise ExportError with a clear reason if it is not one."""
    path = Path(path)
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
        if looks_like_tar(inner):
            return _inspect_tar(path, size, "tar.gz", stop)
        if _looks_like_json_object(inner, path):
            return ExportSource(path, "json.gz", size)
        raise ExportError(f"{path}: a gzip file that holds neither a Skype export tar nor messages.json")
    if looks_like_tar(head):
        return _inspect_tar(path, size, "tar", stop)
    if _looks_like_json_object(head, path):
        return ExportSource(path, "json", size)
    raise ExportError(f"{path}: not a Skype export (expected a .tar from Skype's export page or its messages.json)")


def _inspect_tar(path: Path, size: int, kind: str, stop: threading.Event | None) -> ExportSource:
    try:
        with open(path, "rb") as raw:
            reader = StoppableReader(raw, stop)
            # a plain tar is read at random (headers only); a compressed one can only be read through
            mode = "r:" if kind == "tar" else "r|gz"
            source = io.BufferedReader(reader) if kind != "tar" else reader
            with tarfile.open(fileobj=source, mode=mode) as tar:  # type: ignore[call-overload]
                for info in tar:
                    if is_messages_member(info):
                        return ExportSource(path, kind, size, info.name, info.offset_data, info.size)
                    if kind == "tar.gz" and _in_media(info.name):
                        # an export's media/ before its messages.json: reading on to find it would read the whole
                        # media once more before the import reads it once (a missing messages.json fails that run)
                        return ExportSource(path, kind, size)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ExportError(f"{path}: a damaged tar archive ({exc})") from exc
    raise no_messages_json(path)


def no_messages_json(path: Path) -> ExportError:
    """What is said of an archive without messages.json (found by the check, or by a .tar.gz's one reading)."""
    return ExportError(f"{path}: the archive holds no messages.json; is this a Skype chat export?")


def member_name(name: str) -> str:
    """A tar member's name as a path from the export's top: "/" between folders, no leading "./"."""
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def is_messages_member(info: tarfile.TarInfo) -> bool:
    return info.isfile() and member_name(info.name) == "messages.json"


def _in_media(name: str) -> bool:
    return member_name(name).startswith("media/")


def looks_like_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _looks_like_json_object(head: bytes, path: Path) -> bool:
    """A JSON object's start: "{", then a key (or "}"), in UTF-8 as far as the head goes (any file that happens to
    start with "{" is not taken for one: 1 in 256 of random files does)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        raise ExportError(f'{path}: the JSON is a list, not a Skype export (expected an object with "conversations")')
    if not text.startswith(b"{"):
        return False
    after = text[1:].lstrip(b" \t\r\n")
    if after[:1] not in (b"", b'"', b"}"):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(text, final=False)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return False
    return True
