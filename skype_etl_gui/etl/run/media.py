"""The import's media phase: the export's files into the archive, each once per content, in chunks.

Each file is hashed as it streams into `media_chunks` under a new file id (a
few chunks a transaction, so memory and transactions stay small at any size);
when it is whole, `media_files` names it by its SHA-256, or, when that content
is stored already, its chunks go. Until then it is only an upload: a run that
stops part way leaves chunks no file names, and the next run removes them and
stores that file again. A file whose document id is stored already is not read
again (a re-import or a resume). At the end each attachment is linked to its
file by document id, and files no message names (orphans) and attachments
whose file the export lacks (expired) get a warning each.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from ..errors import Cancelled, DatabaseError
from ..extract.media import CHUNK, MediaEntry, media_entries
from ..extract.sniff import ExportSource
from ..load.base import Loader, MediaFile
from .context import ETLContext

CHUNKS_A_TRANSACTION = 16  # 16 MiB
T = TypeVar("T")
FILES_A_TRANSACTION = 500  # files and sidecars at most a transaction (many tiny ones)


@dataclass
class MediaCounts:
    files: int = 0  # media files in the export
    stored: int = 0  # of them, stored new by this run
    duplicates: int = 0  # of them, the same bytes as a file stored before (kept once)
    already: int = 0  # of them, stored by an earlier run (not read again)
    bytes: int = 0  # bytes of the files this run stored new (a duplicate's are stored once, before)
    skipped: int = 0  # members that are not media files (links, paths outside media/, bad sidecars)
    missing: int = 0  # attachments whose file the export lacks
    orphans: int = 0  # files no attachment names
    linked: int = 0  # attachments linked to their file by this run

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Messages:
    """What a one-pass import (`OnePass`) does with messages.json when it comes by: `pump(entry)` hands its bytes
    on, from the thread that reads the export, while `parse(entry)` parses them in this one; `halted()` is
    called when the reading stops early (the bytes' reader must let go, so that the pump does too)."""

    pump: Callable[[MediaEntry], None]
    parse: Callable[[MediaEntry], None]
    halted: Callable[[], None]


@dataclass
class Hold:
    """A pause asked of the run (`asked()`), and how the media step waits it out (`wait()`: returns on resume,
    raises Cancelled on cancel); what was stored before is committed first."""

    asked: Callable[[], bool]
    wait: Callable[[], None]


def import_media(
    loader: Loader,
    source: ExportSource,
    run_id: str,
    context: ETLContext,
    stop: threading.Event,
    on_progress: Callable[[MediaCounts, int], None] | None = None,
    entries: Iterable[MediaEntry] | None = None,
    messages: Messages | None = None,
    begin: Callable[[], None] | None = None,
    hold: Hold | None = None,
) -> MediaCounts:
    """`on_progress(counts, bytes)`: after each file and each large file's transaction, with the bytes of the
    export's media done so far (stored now, or found stored).

    `entries`: the export's members as they come (default: its media/ as `media_entries` lists them), with
    messages.json among them for a one-pass import, which `messages` parses when it comes by; `begin()`: called
    before the first file or sidecar is written (a one-pass import's run is recorded then, if not before);
    `hold`: a pause holds between files, and between a large file's transactions."""
    counts = MediaCounts()
    done = [0]

    def moved(size: int) -> None:
        done[0] += size
        if on_progress is not None:
            on_progress(counts, done[0])

    live = [run["id"] for run in loader.live_runs()]
    loader.media_forget_uploads([*live, run_id])
    stored = loader.media_stored_docs()
    seen: list[str] = []
    any_media = False
    waiting = _Waiting()

    def saying_space(write: Callable[[], T]) -> T:
        """A write (a large file's upload, or the files waiting); a full disk says how much more room is needed."""
        try:
            return write()
        except DatabaseError as exc:
            raise _with_space_needed(exc, source, stored) from exc

    def write() -> None:
        """The files and sidecars waiting, in one transaction."""
        if not waiting.files and not waiting.sidecars:
            return
        news = saying_space(lambda: loader.media_finish([file for file, _ in waiting.files], run_id, waiting.sidecars))
        for (file, told), new in zip(waiting.files, news, strict=True):
            stored.add(file.doc_id or "")
            if new:
                counts.stored += 1
                counts.bytes += file.size
            else:
                counts.duplicates += 1
            moved(file.size - told)  # what its upload's transactions did not tell yet
        waiting.clear()

    if entries is None:
        entries = media_entries(source, stop)
    pump, halted = (messages.pump, messages.halted) if messages is not None else (None, None)
    for entry, chunks in _read_ahead(entries, stored, stop, pump, halted):
        if stop.is_set():
            raise Cancelled()
        if entry.kind == "messages":
            assert messages is not None
            write()  # the files before it are stored before its messages
            messages.parse(entry)
            continue
        any_media = True
        if begin is not None and entry.kind != "skipped":
            begin()
        if entry.kind == "skipped":
            counts.skipped += 1
            context.record_error("extract", "warning", "MediaSkipped", f"{entry.name}: {entry.problem}; skipped")
            continue
        assert entry.doc_id is not None
        if entry.kind == "sidecar":
            sidecar = entry.sidecar or {}
            waiting.sidecars.append((entry.doc_id, sidecar.get("file_name"), sidecar.get("content_type")))
            continue
        counts.files += 1
        seen.append(entry.doc_id)
        if chunks is None:
            counts.already += 1
            moved(entry.size)
        else:
            before = done[0]
            file = saying_space(lambda: _store(loader, entry, chunks, run_id, stop, moved, hold))  # noqa: B023
            waiting.add(file, done[0] - before)
        if waiting.full():
            write()
        if hold is not None and hold.asked():
            write()
            hold.wait()
    write()
    counts.linked = loader.link_media()
    _warn_missing(loader, loader.run_chain(run_id), context, counts, any_media)
    for doc_id in loader.media_orphans(sorted(set(seen))):
        counts.orphans += 1
        context.record_error(
            "extract",
            "warning",
            "MediaOrphan",
            f"media/{doc_id}: no message of the archive names this file; it is stored all the same",
        )
    return counts


def _store(
    loader: Loader,
    entry: MediaEntry,
    chunks: Iterator[bytes | str],
    run_id: str,
    stop: threading.Event,
    moved: Callable[[int], None],
    hold: Hold | None = None,
) -> MediaFile:
    """One file made whole but for its last chunks (all of a small one), which the caller writes with other
    files': a large one is stored as an upload first, a few chunks a transaction. `chunks` are its bytes, then
    its SHA-256 (hex)."""
    file_id = secrets.randbits(62)
    seq, size, pending, uploading = 0, 0, [], False
    sha256 = ""
    for chunk in chunks:
        if isinstance(chunk, str):
            sha256 = chunk
            break
        size += len(chunk)
        pending.append(chunk)
        if len(pending) >= CHUNKS_A_TRANSACTION:
            if not uploading:
                loader.media_begin(file_id, run_id)
                uploading = True
            seq += loader.media_chunks(file_id, seq, pending)
            moved(sum(map(len, pending)))
            pending = []
            if hold is not None and hold.asked():
                hold.wait()
    if stop.is_set() or not sha256:
        raise Cancelled()  # an upload's chunks are removed by the next run
    return MediaFile(file_id, sha256, size, entry.doc_id, first_seq=seq, chunks=pending)


@dataclass
class _Waiting:
    """Files made whole (each with the bytes its upload told already) and sidecars, written together once
    they hold a transaction's worth of bytes: a commit per photo cost a third of the time."""

    files: list[tuple[MediaFile, int]] = field(default_factory=list)
    sidecars: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    bytes: int = 0

    def add(self, file: MediaFile, told: int) -> None:
        self.files.append((file, told))
        self.bytes += sum(map(len, file.chunks))

    def full(self) -> bool:
        return self.bytes >= CHUNKS_A_TRANSACTION * CHUNK or len(self.files) + len(self.sidecars) >= FILES_A_TRANSACTION

    def clear(self) -> None:
        self.files, self.sidecars, self.bytes = [], [], 0


_END = object()


def _read_ahead(
    entries: Iterable[MediaEntry],
    stored: set[str],
    stop: threading.Event,
    pump: Callable[[MediaEntry], None] | None = None,
    halted: Callable[[], None] | None = None,
) -> Iterator[tuple[MediaEntry, Iterator[bytes | str] | None]]:
    """The entries, with each file's bytes read and hashed by a thread of their own while the database writes
    the chunks before them (hashing and reading release the GIL; so do the database's writes): each entry with
    its bytes then its SHA-256 (hex), or None for a file stored already (not read again). A sidecar is read;
    one that is not valid comes as a skipped entry. At most READ_AHEAD chunks wait, so memory stays flat.

    messages.json (a one-pass import's) comes as itself, then that thread hands its bytes to `pump`; when the
    consumer stops early, `halted()` lets the pump's reader go before the thread is waited for."""
    waiting: queue.Queue[Any] = queue.Queue(READ_AHEAD)
    halt = threading.Event()  # the consumer stopped (an error, a cancel): the reader stops too

    def put(item: Any) -> None:
        while not halt.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Halted()

    def read() -> None:
        try:
            for entry in entries:
                if entry.kind == "messages" and pump is not None:
                    put((entry, None))
                    pump(entry)
                    continue
                if entry.kind == "sidecar":
                    entry = entry.read_sidecar()
                if entry.kind != "file" or entry.doc_id in stored:
                    put((entry, None))
                    continue
                put((entry, _END))
                digest = hashlib.sha256()
                for chunk in entry.chunks(stop):
                    digest.update(chunk)
                    put(chunk)
                put(digest.hexdigest() if not stop.is_set() else "")
            put(_END)
        except _Halted:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            with contextlib.suppress(_Halted):
                put(_Failed(exc))

    def take() -> Any:
        item = waiting.get()
        if isinstance(item, _Failed):
            raise item.exc
        return item

    def file_chunks() -> Iterator[bytes | str]:
        while True:
            item = take()
            yield item
            if isinstance(item, str):
                return

    reader = threading.Thread(target=read, name="media-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := take()) is not _END:
            entry, marker = item
            yield entry, (file_chunks() if marker is _END else None)
    finally:
        halt.set()
        if halted is not None:
            halted()
        reader.join()


READ_AHEAD = 16  # chunks (1 MiB each) read and hashed ahead of the database's writes


class _Halted(Exception):
    pass


@dataclass
class _Failed:
    exc: BaseException


def _with_space_needed(exc: DatabaseError, source: ExportSource, stored: set[str]) -> DatabaseError:
    """A full disk says how much more room the files not yet stored need (the run stays resumable)."""
    text = str(exc)
    if "full" not in text.lower() and "no space" not in text.lower():
        return exc
    left = sum(e.size for e in media_entries(source) if e.kind == "file" and e.doc_id not in stored)
    return DatabaseError(
        f"{text}; the media files not yet stored need about {left / 1e6:,.0f} MB more (and the database's own "
        "overhead): free that much space, then resume"
    )


def _warn_missing(
    loader: Loader, run_chain: list[str], context: ETLContext, counts: MediaCounts, any_media: bool
) -> None:
    missing = loader.media_missing(run_chain)
    counts.missing = len(missing)
    if not missing:
        return
    if not any_media:
        return  # exported without files, as most are asked: nothing expired, the summary's counts say it
    for conv_id, msg_id, doc_id, name in missing:
        context.record_error(
            "extract",
            "warning",
            "MediaMissing",
            f"{name or doc_id}: the export lacks this file (it expired before the export); the attachment is kept "
            "without it",
            conv_id,
            msg_id,
        )


# --- getting files back ------------------------------------------------------------------------------
@dataclass
class ExportedMedia:
    written: int = 0
    bytes: int = 0
    already: int = 0  # the same bytes were in the folder under that name: left as they are
    folders: int = 0


def export_media(
    loader: Loader,
    folder: Path,
    conversation_id: str | None = None,
    stop: threading.Event | None = None,
    on_file: Callable[[ExportedMedia], None] | None = None,
) -> ExportedMedia:
    """Every stored file of an attachment into `folder`, one folder a conversation, under its original name.

    Nothing is overwritten: a name taken by other bytes gets a number ("beach (2).png"); the same bytes under
    that name are left as they are, so exporting again adds only what is new. Each file's time is when it was
    sent."""
    done = ExportedMedia()
    folders: dict[tuple[str, str], Path] = {}
    for owner, conv_id, name, _msg_id, sent_at, sha256, file_name in loader.media_of_attachments(conversation_id):
        if stop is not None and stop.is_set():
            raise Cancelled()
        where = folders.get((owner, conv_id))
        if where is None:
            where = _free(folder / _safe(name or conv_id), set(folders.values()))
            where.mkdir(parents=True, exist_ok=True)
            folders[(owner, conv_id)] = where
            done.folders += 1
        target = _target(where, _safe(file_name or sha256), sha256)
        if target is None:
            done.already += 1
            continue
        done.bytes += save_media(loader, sha256, target, sent_at)
        done.written += 1
        if on_file is not None:
            on_file(done)
    return done


def save_media(loader: Loader, sha256: str, target: Path, sent_at: Any = None) -> int:
    """A stored file's bytes into `target` (replaced, never seen half written), its time `sent_at` when given;
    the bytes written."""
    written = 0
    partial = target.with_name(target.name + ".part")
    try:
        with open(partial, "wb") as out:  # our own, until it is whole
            for chunk in loader.open_media(sha256):
                out.write(chunk)
                written += len(chunk)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    moment = _moment(sent_at)
    if moment is not None:
        os.utime(target, (moment, moment))
    return written


def _safe(name: str) -> str:
    """A name a file system takes: no folders, no control characters, not empty, not a dot name."""
    cleaned = re.sub(r'[\x00-\x1f/\\:*?"<>|]+', "_", name).strip().strip(".")
    return cleaned[:150] or "file"


def _free(path: Path, taken: set[Path]) -> Path:
    """`path`, or `path (2)`, `path (3)`... : one not given to another conversation of this export."""
    candidate, number = path, 1
    while candidate in taken:
        number += 1
        candidate = path.with_name(f"{path.name} ({number})")
    return candidate


def _target(folder: Path, name: str, sha256: str) -> Path | None:
    """Where the file goes: its name, or a numbered one when other bytes have it; None when it is there."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    number = 1
    while True:
        candidate = folder / (name if number == 1 else f"{stem} ({number}){'.' + ext if ext else ''}")
        if not candidate.exists():
            return candidate
        if _sha256_of(candidate) == sha256:
            return None
        number += 1


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _moment(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
