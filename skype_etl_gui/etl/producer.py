"""Extract and transform: the half of the pipeline that reads the export and makes rows.

It runs either in the importing process or in a worker process of its own;
then parsing and transforming use one core and the database the other. It only reads the export: it has no
database connection, and it hands finished batches on through `emit`.
"""

from __future__ import annotations

import json
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .context import ErrorRecord, ETLContext
from .extractor import (
    Boundary,
    ConversationEnd,
    ConversationStart,
    Event,
    ExportError,
    ExportReadError,
    Extractor,
    MessageChunk,
    Position,
)
from .transformer import MESSAGE_COLUMNS, Transformer

VERSION_INDEX = MESSAGE_COLUMNS.index("version")


@dataclass
class ProducedBatch:
    """Rows of one batch plus where the export stands after it."""

    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    participants: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    messages_copy: str | None = None  # for PostgreSQL: the messages as COPY text, made here
    attachments: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    position: dict[str, Any] = field(default_factory=dict)
    conversations_done: int = 0
    messages_done: int = 0
    bytes_read: int = 0
    bytes_total: int = 0
    export_user_id: str | None = None
    export_date: str | None = None
    final: bool = False
    extract_s: float = 0.0  # so far, in the producer: parsing
    transform_s: float = 0.0  # so far: making rows


@dataclass
class ProducerFailure:
    """An exception from the worker, carried back as data."""

    kind: str  # "export" (rejected input), "read" (broke mid-way), "crash"
    message: str
    detail: str = ""


class BatchSize:
    """The batch size; the importing process can shrink it while the producer runs."""

    def __init__(self, value: int) -> None:
        self.value = value


class Producer:
    def __init__(
        self,
        export_path: str,
        run_id: str,
        batch_size: BatchSize,
        emit: Callable[[ProducedBatch], None],
        chunk_size: int | None = None,
        target_kind: str = "sqlite",
        start: dict[str, Any] | None = None,
    ) -> None:
        """`start`: a checkpoint to continue from (its position and the counts reached)."""
        self.context = ETLContext(run_id=run_id)
        position = Position.from_dict(start) if start else None
        self.extractor = Extractor(export_path, start=position, **({"chunk_size": chunk_size} if chunk_size else {}))
        self.transformer = Transformer(self.context, run_id)
        self.batch_size = batch_size
        self.emit = emit
        self.copy_text: Callable[..., str] | None = None
        self._last_nul_row: tuple[Any, Any] | None = None
        if target_kind == "postgresql":
            from .postgres import copy_text

            self.copy_text = copy_text
        self.batch = ProducedBatch()
        self.conversations = int(start.get("conversations", 0)) if start else 0
        self.messages = int(start.get("messages", 0)) if start else 0
        self.position = position or Position()
        self.boundary_requested = False
        self.transform_s = 0.0
        self.emit_s = 0.0  # time handing batches on (in-process: the load itself)
        self.t0 = time.perf_counter()

    def run(self) -> None:
        self.extractor.stream(self.handle)
        self.flush(final=True)

    def handle(self, event: Event) -> None:
        if isinstance(event, Boundary):
            self.flush(position=event.position)
            return
        t = time.perf_counter()
        self._handle(event)
        self.transform_s += time.perf_counter() - t
        if len(self.batch.messages) >= self.batch_size.value and not self.boundary_requested:
            # the batch ends where the next entry begins, so its checkpoint can name the exact byte
            self.boundary_requested = True
            self.extractor.request_boundary()

    def _handle(self, event: Event) -> None:
        batch = self.batch
        if isinstance(event, ConversationStart):
            self._conversation(event.header)
        elif isinstance(event, ConversationEnd):
            self._conversation(event.header)
            if event.conversation_id is None:
                self.context.record_error(
                    "transform",
                    "error",
                    "MissingConversationId",
                    f"conversation #{event.index} has no id; its {event.message_count} messages were skipped",
                    None,
                    None,
                    event.header,
                )
            else:
                self.conversations += 1
                if event.message_list != "a list":
                    self.context.record_error(
                        "extract",
                        "warning",
                        "InvalidMessageList",
                        f"MessageList is {event.message_list}; the conversation is stored without messages",
                        event.conversation_id,
                    )
            self.position = Position(event.index + 1, 0)
        elif isinstance(event, MessageChunk):
            if event.conversation_id is not None:
                rows = self.transformer.messages(event.conversation_id, event.entries, event.offset)
                batch.messages += rows.messages
                batch.attachments += rows.attachments
                batch.participants += rows.participants
                self.messages += len(rows.messages)
            self.position = Position(event.index, event.offset + len(event.entries))

    def _nul_removed(self, row: tuple[Any, ...]) -> None:
        if (row[0], row[1]) == self._last_nul_row:
            return  # one warning a message, however many of its fields had NULs
        self._last_nul_row = (row[0], row[1])
        self.context.record_error(
            "load", "warning", "NulRemoved", "NUL characters removed: PostgreSQL cannot store them", row[0], row[1]
        )

    def _conversation(self, header: dict[str, Any]) -> None:
        row, members = self.transformer.conversation(header)
        if row is not None:
            self.batch.conversations.append(row)
            self.batch.participants += members

    def flush(self, final: bool = False, position: Position | None = None) -> None:
        """Hand on the batch; `position` is where it ends (exactly, when a boundary was found)."""
        self.boundary_requested = False
        batch, self.batch = self.batch, ProducedBatch()
        batch.messages = keep_winners(batch.messages)
        if self.copy_text is not None and batch.messages:
            batch.messages_copy = self.copy_text(batch.messages, self._nul_removed)
            batch.messages = []
        batch.errors = self.context.drain_errors()
        batch.position = (position or self.position).as_dict()
        batch.conversations_done = self.conversations
        batch.messages_done = self.messages
        batch.bytes_read = self.extractor.bytes_read if not final else self.extractor.bytes_total
        batch.bytes_total = self.extractor.bytes_total
        batch.export_user_id = self.extractor.header.user_id
        batch.export_date = self.extractor.header.export_date
        batch.final = final
        batch.transform_s = self.transform_s
        batch.extract_s = max(time.perf_counter() - self.t0 - self.transform_s - self.emit_s, 0.0)
        t = time.perf_counter()
        self.emit(batch)
        self.emit_s += time.perf_counter() - t


def keep_winners(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One row per (conversation, id) in a batch: the highest version, on a tie the later entry."""
    if len({(row[0], row[1]) for row in rows}) == len(rows):
        return rows
    best: dict[tuple[Any, Any], int] = {}
    for index, row in enumerate(rows):
        key = (row[0], row[1])
        kept = best.get(key)
        if kept is None or _version_key(row) >= _version_key(rows[kept]):
            best[key] = index
    return [rows[i] for i in sorted(best.values())]


def _version_key(row: tuple[Any, ...]) -> float:
    version = row[VERSION_INDEX]
    return -1.0 if version is None else float(version)


# --- the worker process ------------------------------------------------------------------
# A plain subprocess (`python -m skype_etl_gui.etl.worker`), not multiprocessing: that
# would re-import the caller's main module in the child, which breaks scripts without a
# `__main__` guard, and forking beside Qt's threads is unsafe. Batches travel as
# length-prefixed pickles over stdout; the pipe's buffer is the queue, so a worker runs
# at most one batch ahead of a paused or slow database.

FRAME_HEADER = 8


def frame(item: Any) -> bytes:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(FRAME_HEADER, "little") + data


class FrameWriter:
    """Writes frames from a thread of its own: the pipe holds little, this holds a few batches more.

    Writing releases the interpreter lock, so the producer keeps parsing while a
    batch waits for the importing process to take it.
    """

    def __init__(self, out: IO[bytes], depth: int = 2) -> None:
        self.out = out
        self.frames: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self.broken = threading.Event()
        self.thread = threading.Thread(target=self._write, name="skype-etl-frame-writer", daemon=True)
        self.thread.start()

    def _write(self) -> None:
        while True:
            data = self.frames.get()
            if data is None:
                return
            try:
                self.out.write(data)
                self.out.flush()
            except (BrokenPipeError, OSError):
                self.broken.set()
                return

    def put(self, item: Any) -> None:
        data = frame(item)
        while not self.broken.is_set():
            try:
                self.frames.put(data, timeout=0.5)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the importing process stopped reading")

    def close(self) -> None:
        while self.thread.is_alive():
            try:
                self.frames.put(None, timeout=0.5)
                break
            except queue.Full:
                continue
        self.thread.join()


def read_frame(source: IO[bytes]) -> Any:
    """The next item, or None at the end of the stream."""
    header = _read_exactly(source, FRAME_HEADER)
    if header is None:
        return None
    data = _read_exactly(source, int.from_bytes(header, "little"))
    if data is None:
        raise EOFError("the worker's output ended in the middle of a batch")
    return pickle.loads(data)  # noqa: S301 - our own child process, over a private pipe


def _read_exactly(source: IO[bytes], size: int) -> bytes | None:
    chunks = []
    remaining = size
    while remaining:
        chunk = source.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


WORKER_COMMAND = [sys.executable, "-m", "skype_etl_gui.etl.worker"]


def worker_settings(
    export_path: str, run_id: str, batch_size: int, target_kind: str, start: dict[str, Any] | None
) -> bytes:
    """The worker's first line on stdin (a checkpoint can be larger than a command line may be)."""
    settings = {
        "export": export_path,
        "run_id": run_id,
        "batch_size": batch_size,
        "target_kind": target_kind,
        "start": start,
    }
    return json.dumps(settings).encode() + b"\n"


def worker_environment() -> dict[str, str]:
    """This process's environment, with the folder holding this package importable in the child."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def worker_main(argv: list[str]) -> int:
    """The worker: settings as the first line on stdin, batches to stdout; later lines are new batch sizes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group; the parent decides
    settings = json.loads(sys.stdin.readline())
    out = sys.stdout.buffer
    batch_size = BatchSize(int(settings["batch_size"]))

    def listen() -> None:
        for line in sys.stdin:
            if line.strip().isdigit():
                batch_size.value = int(line)

    threading.Thread(target=listen, daemon=True).start()
    writer = FrameWriter(out)
    try:
        try:
            producer = Producer(
                settings["export"],
                settings["run_id"],
                batch_size,
                writer.put,
                target_kind=settings["target_kind"],
                start=settings.get("start"),
            )
            producer.run()
        except ExportError as exc:
            writer.put(ProducerFailure("export", str(exc)))
        except ExportReadError as exc:
            writer.put(ProducerFailure("read", str(exc)))
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which records the failure
            writer.put(ProducerFailure("crash", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        writer.close()
    except BrokenPipeError:
        return 0  # the importing process stopped reading: it cancelled or is gone
    return 0


def worth_a_worker(export_path: str | os.PathLike[str], threshold_bytes: int) -> bool:
    """A worker process pays for itself only on exports of some size, and with a second core."""
    try:
        size = os.path.getsize(export_path)
    except OSError:
        return False
    return (os.cpu_count() or 1) >= 2 and size >= threshold_bytes
