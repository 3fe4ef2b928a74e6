"""Extract and transform: the half of the pipeline that reads the export and makes rows.

It runs either in the importing process or in a worker process of its own (see
ipc.py); then parsing and transforming use one core and the database the other.
It only reads the export: it has no database connection, imports no database
driver, and hands finished batches on through `emit`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..extract import (
    Boundary,
    ConversationEnd,
    ConversationStart,
    Event,
    ExportSource,
    Extractor,
    MessageChunk,
    Position,
)
from ..extract.depth import LIMIT_IN_MESSAGE
from ..records import Batch
from ..transform import Transformer
from ..transform.encoding import copy_text
from ..transform.rows import keep_winners
from ..values import record_id
from .context import ETLContext


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
        emit: Callable[[Batch], None],
        chunk_size: int | None = None,
        target_kind: str = "sqlite",
        start: dict[str, Any] | None = None,
        source: ExportSource | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """`start`: a checkpoint to continue from (its position and the counts reached).

        `source`: the export as already inspected; `stop`: once set, the next read raises Cancelled.
        """
        self.context = ETLContext(run_id=run_id)
        position = Position.from_dict(start) if start else None
        options: dict[str, Any] = {"chunk_size": chunk_size} if chunk_size else {}
        self.extractor = Extractor(export_path, start=position, source=source, stop=stop, **options)
        self.transformer = Transformer(self.context, run_id)
        self.batch_size = batch_size
        self.emit = emit
        # PostgreSQL takes the messages as COPY text, made here (in the worker, off the loader's core)
        self.copy_rows = target_kind == "postgresql"
        self._last_nul_row: tuple[Any, Any] | None = None
        self.batch = Batch()
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
            if event.repaired_bytes:
                self._too_deep(event.conversation_id, None, event.repaired_bytes)
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
            for position, left_out in event.repairs.items():
                entry = event.entries[position - event.offset]
                self._too_deep(event.conversation_id, entry.get("id") if isinstance(entry, dict) else None, left_out)
            if event.conversation_id is not None:
                rows = self.transformer.messages(event.conversation_id, event.entries, event.offset)
                batch.messages += rows.messages
                batch.attachments += rows.attachments
                batch.participants += rows.participants
                self.messages += len(rows.messages)
            self.position = Position(event.index, event.offset + len(event.entries))

    def _too_deep(self, conv_id: str | None, msg_id: Any, left_out: int) -> None:
        where = "the message" if msg_id is not None else "the conversation's header"
        self.context.record_error(
            "extract",
            "warning",
            "NestedTooDeep",
            f"a value nested deeper than {LIMIT_IN_MESSAGE} levels in {where} was left out ({left_out:,} bytes); "
            "the rest is stored",
            conv_id,
            record_id(msg_id),
        )

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
        batch, self.batch = self.batch, Batch()
        batch.messages = keep_winners(batch.messages)
        if self.copy_rows and batch.messages:
            batch.messages_copy = copy_text(batch.messages, self._nul_removed)
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
