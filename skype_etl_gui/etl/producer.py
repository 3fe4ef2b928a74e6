"""Extract and transform: the half of the pipeline that reads the export and makes rows.

It runs either in the importing process or in a worker process of its own
(spawned, so it is safe beside Qt's threads); then parsing and transforming
use one core and the database the other. It only reads the export: it has no
database connection, and it hands finished batches on through `emit`.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .context import ErrorRecord, ETLContext
from .extractor import ConversationEnd, ConversationStart, Event, ExportError, ExportReadError, Extractor
from .transformer import Transformer


@dataclass
class ProducedBatch:
    """Rows of one batch plus where the export stands after it."""

    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    participants: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    attachments: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)
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
    """The batch size, shared with a worker process when there is one, so the parent can shrink it."""

    def __init__(self, value: int, shared: Any = None) -> None:
        self._shared = shared
        self._value = value

    @property
    def value(self) -> int:
        return int(self._shared.value) if self._shared is not None else self._value

    @value.setter
    def value(self, new: int) -> None:
        if self._shared is not None:
            self._shared.value = new
        else:
            self._value = new


class Producer:
    def __init__(
        self,
        export_path: str,
        run_id: str,
        batch_size: BatchSize,
        emit: Callable[[ProducedBatch], None],
        chunk_size: int | None = None,
    ) -> None:
        self.context = ETLContext(run_id=run_id)
        self.extractor = Extractor(export_path, **({"chunk_size": chunk_size} if chunk_size else {}))
        self.transformer = Transformer(self.context, run_id)
        self.batch_size = batch_size
        self.emit = emit
        self.batch = ProducedBatch()
        self.conversations = 0
        self.messages = 0
        self.position = {"conversation_index": 0, "entries_done": 0}
        self.transform_s = 0.0
        self.emit_s = 0.0  # time handing batches on (in-process: the load itself)
        self.t0 = time.perf_counter()

    def run(self) -> None:
        self.extractor.stream(self.handle)
        self.flush(final=True)

    def handle(self, event: Event) -> None:
        t = time.perf_counter()
        self._handle(event)
        self.transform_s += time.perf_counter() - t
        if len(self.batch.messages) >= self.batch_size.value:
            self.flush()

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
            self.position = {"conversation_index": event.index + 1, "entries_done": 0}
        else:
            if event.conversation_id is not None:
                rows = self.transformer.messages(event.conversation_id, event.entries, event.offset)
                batch.messages += rows.messages
                batch.attachments += rows.attachments
                batch.participants += rows.participants
                self.messages += len(rows.messages)
            self.position = {"conversation_index": event.index, "entries_done": event.offset + len(event.entries)}

    def _conversation(self, header: dict[str, Any]) -> None:
        row, members = self.transformer.conversation(header)
        if row is not None:
            self.batch.conversations.append(row)
            self.batch.participants += members

    def flush(self, final: bool = False) -> None:
        batch, self.batch = self.batch, ProducedBatch()
        batch.errors = self.context.drain_errors()
        batch.position = dict(self.position)
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


def run_in_worker(
    export_path: str, run_id: str, shared_batch_size: Any, out: Any, chunk_size: int | None, parent_pid: int
) -> None:
    """Entry point of the worker process: every outcome ends up in `out`."""
    # Ctrl+C reaches the whole process group; the parent decides how to stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def put(item: Any) -> None:
        while True:
            try:
                out.put(item, timeout=1.0)
                return
            except queue.Full:
                if os.getppid() != parent_pid:  # the importing process is gone: so is the point
                    os._exit(0)

    try:
        producer = Producer(export_path, run_id, BatchSize(0, shared_batch_size), put, chunk_size)
        producer.run()
    except ExportError as exc:
        put(ProducerFailure("export", str(exc)))
    except ExportReadError as exc:
        put(ProducerFailure("read", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which records the failure
        put(ProducerFailure("crash", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        out.close()
        out.join_thread()


def worker_context() -> Any:
    """Spawned workers: forking beside Qt's or the writer's threads is unsafe."""
    return multiprocessing.get_context("spawn")


def worth_a_worker(export_path: str | os.PathLike[str], threshold_bytes: int) -> bool:
    """A worker process pays for itself only on exports of some size, and with a second core."""
    try:
        size = os.path.getsize(export_path)
    except OSError:
        return False
    return (os.cpu_count() or 1) >= 2 and size >= threshold_bytes
