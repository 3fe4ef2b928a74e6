"""Extract and transform: the half of the pipeline that reads the export and makes rows.

It runs either in the importing process or in a worker process of its own (see
ipc.py); then parsing and transforming use one core and the database the other.
It only reads the export: it has no database connection, imports no database
driver, and hands finished batches on through `emit`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import Cancelled, DatabaseError, ExportError, ExportReadError, StageFailure
from ..extract import (
    Boundary,
    ConversationEnd,
    ConversationStart,
    Event,
    ExportSource,
    Extractor,
    MessageChunk,
    Position,
    fingerprint,
)
from ..extract.depth import LIMIT_IN_MESSAGE
from ..records import Batch
from ..transform import Transformer
from ..transform.encoding import copy_text
from ..transform.rows import TEXT_AT, fallback_owner, keep_winners, owner_of
from ..values import record_id
from .context import ETLContext

# what passes through the producer as it is: stops, rejected or broken input, the loader's own failures
EXPECTED = (Cancelled, ExportError, ExportReadError, StageFailure, DatabaseError)


class Whereabouts:
    """Where the producer is reading now, for a message that names the record when a run must stop mid-record.

    In the importing process it is plain memory; for a worker process, a small
    file both processes open (written at each conversation and chunk, a write
    of a few bytes, read only when a run is stopped).
    """

    SIZE = 512

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if path else None
        self._text = ""

    def note(self, conversation_id: str | None, index: int, entries: int) -> None:
        text = json.dumps({"conversation": conversation_id, "index": index, "entries": entries})
        if self._fd is None:
            self._text = text
        else:
            os.pwrite(self._fd, text.encode()[: self.SIZE].ljust(self.SIZE), 0)

    def read(self) -> dict[str, Any]:
        text = self._text if self._fd is None else os.pread(self._fd, self.SIZE, 0).decode(errors="replace").strip()
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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
        search_column: bool = False,
        start: dict[str, Any] | None = None,
        source: ExportSource | None = None,
        stop: threading.Event | None = None,
        whereabouts: Whereabouts | None = None,
        on_read: Callable[[], None] | None = None,
        defer_derive: bool = False,
    ) -> None:
        """`start`: a checkpoint to continue from (its position and the counts reached).

        `source`: the export as already inspected; `stop`: once set, the next read raises Cancelled.
        `defer_derive`: leave a person's RichText with markup to the importing process (see Transformer.defer).
        """
        self.context = ETLContext(run_id=run_id)
        position = Position.from_dict(start) if start else None
        options: dict[str, Any] = {"chunk_size": chunk_size} if chunk_size else {}
        self.extractor = Extractor(export_path, start=position, source=source, stop=stop, **options)
        self.extractor.on_read = on_read
        self.transformer = Transformer(self.context, run_id)
        self.transformer.owner_id = (start.get("owner_id") or "") if start else ""
        self.export_path = export_path
        self.transformer.defer = defer_derive
        self.batch_size = batch_size
        self.emit = emit
        # PostgreSQL takes the messages as COPY text, made here (in the worker, off the loader's core), each with
        # its search index's words
        self.copy_rows = target_kind == "postgresql"
        self.words_of = TEXT_AT if search_column else None  # (Loader.search_column)
        self._last_nul_row: tuple[Any, Any] | None = None
        self.batch = Batch()
        # a conversation begun and not yet in a batch: its header, and where its rows in batch.participants begin
        self._started: tuple[dict[str, Any], int] | None = None
        self.conversations = int(start.get("conversations", 0)) if start else 0
        self.messages = int(start.get("messages", 0)) if start else 0
        self.position = position or Position()
        self.boundary_requested = False
        self.transform_s = 0.0
        self.surrogates_told = 0  # lone surrogates the extractor mended that have their warning row
        self.emit_s = 0.0  # time handing batches on (in-process: the load itself)
        self.whereabouts = whereabouts or Whereabouts()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        try:
            self.extractor.stream(self.handle)
            self._surrogates_left()
            self.flush(final=True)
        except EXPECTED:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug or a surprise while reading: kept with its traceback
            raise StageFailure.of("extract", exc) from exc

    def handle(self, event: Event) -> None:
        if isinstance(event, Boundary):
            self.flush(position=event.position)
            return
        t = time.perf_counter()
        try:
            self._handle(event)
        except EXPECTED:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug or a surprise while making rows: kept with its traceback
            raise StageFailure.of("transform", exc) from exc
        self.transform_s += time.perf_counter() - t
        full = max(len(self.batch.messages), len(self.batch.conversations)) >= self.batch_size.value
        if full and not self.boundary_requested:  # many small conversations fill a batch too
            # the batch ends where the next entry begins, so its checkpoint can name the exact byte
            self.boundary_requested = True
            self.extractor.request_boundary()

    def _handle(self, event: Event) -> None:
        batch = self.batch
        if isinstance(event, (ConversationStart, MessageChunk)):
            done = event.offset + len(event.entries) if isinstance(event, MessageChunk) else 0
            self.whereabouts.note(event.conversation_id, event.index, done)
        if isinstance(event, ConversationStart):
            if not self.transformer.owner_id:
                self._owner()
            if event.conversation_id is not None:
                self._tally(event.conversation_id)
            # its row waits for its end (the whole header), unless a batch is handed on before: one write, not two,
            # for a conversation that fits in a batch (a million tiny ones were a million rows written twice); its
            # members go where it began, before its senders, as the first of a person's rows names their part
            self._started = (event.header, len(batch.participants))
        elif isinstance(event, ConversationEnd):
            if event.repaired_bytes:
                self._too_deep(event.conversation_id, None, event.repaired_bytes)
            started, self._started = self._started, None
            self._conversation(event.header, started[1] if started is not None else None)
            self.transformer.conversation_done(event.conversation_id)
            if event.conversation_id is None:
                counts = self._tally("")  # one row for every conversation without an id
                counts[0] += event.message_count
                counts[2] += event.message_count
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
                counts = self._tally(event.conversation_id)
                counts[0] += len(event.entries)
                counts[1] += len(rows.messages)
                counts[2] += rows.skipped
                batch.messages += rows.messages
                batch.add_rows(rows)
                batch.deferred += rows.deferred
                self.messages += len(rows.messages)
                if self.extractor.lone_surrogates > self.surrogates_told:
                    self._lone_surrogates(event.conversation_id, event.entries)
            self.position = Position(event.index, event.offset + len(event.entries))

    def _tally(self, conv_id: str) -> list[int]:
        """This batch's counts of a conversation: [records read, stored, skipped]."""
        owner = owner_of(conv_id, self.transformer.owner_id) if conv_id else self.transformer.owner_id
        return self.batch.tally.setdefault((owner, conv_id), [0, 0, 0])

    def _owner(self) -> None:
        """Whose the export is, fixed before its first conversation: its userId, or (without one) an owner of its
        own made from its content, so that it never merges with another export's conversations."""
        owner = self.extractor.header.user_id
        if not owner:
            owner = fallback_owner(fingerprint(self.export_path))
            self.context.record_error(
                "extract",
                "warning",
                "MissingUserId",
                f"the export names no owner (userId); its conversations are stored as {owner}'s",
            )
        self.transformer.owner_id = owner

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

    def _lone_surrogates(self, conv_id: str, entries: list[Any]) -> None:
        """A warning row for each message where a lone surrogate escape was read as U+FFFD."""
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            fields = [value for value in entry.values() if isinstance(value, str) and "\ufffd" in value]
            if fields and self.extractor.lone_surrogates > self.surrogates_told:
                self.surrogates_told += sum(value.count("\ufffd") for value in fields)
                self.context.record_error(
                    "extract",
                    "warning",
                    "LoneSurrogate",
                    "a \\u escape named half of a character (a lone surrogate); it is stored as U+FFFD (�)",
                    conv_id,
                    record_id(entry.get("id")),
                )

    def _surrogates_left(self) -> None:
        """Lone surrogates outside any message's strings (a name, a property): one row for them all."""
        left = self.extractor.lone_surrogates - self.surrogates_told
        if left > 0:
            self.surrogates_told = self.extractor.lone_surrogates
            self.context.record_error(
                "extract",
                "warning",
                "LoneSurrogate",
                f"{left:,} lone surrogate escape(s) outside message texts were stored as U+FFFD (�)",
            )

    def _nul_removed(self, row: tuple[Any, ...]) -> None:
        if (row[0], row[1]) == self._last_nul_row:
            return  # one warning a message, however many of its fields had NULs
        self._last_nul_row = (row[0], row[1])
        self.context.record_error(
            "load", "warning", "NulRemoved", "NUL characters removed: PostgreSQL cannot store them", row[0], row[1]
        )

    def _conversation(self, header: dict[str, Any], at: int | None = None) -> None:
        """Its row and its members' rows into the batch, the members at `at` of the participants (else last)."""
        row, members = self.transformer.conversation(header)
        if row is not None:
            self.batch.conversations.append(row)
            if at is None:
                self.batch.participants += members
            else:
                self.batch.participants[at:at] = members

    def flush(self, final: bool = False, position: Position | None = None) -> None:
        """Hand on the batch; `position` is where it ends (exactly, when a boundary was found)."""
        self.boundary_requested = False
        if self._started is not None:  # a conversation goes on past this batch: its row (as known so far) with it
            self._conversation(*self._started)
            self._started = None
        batch, self.batch = self.batch, Batch()
        read = len(batch.messages)
        batch.messages = keep_winners(batch.messages)
        # a message read twice: its rows written once, but its losing version's quote was noted (see Batch)
        batch.message_rows = read
        if self.copy_rows and batch.messages:
            batch.messages_copy = copy_text(batch.messages, self._nul_removed, words_of=self.words_of)
            batch.messages = []
        batch.errors = self.context.drain_errors()
        batch.position = (position or self.position).as_dict()
        batch.conversations_done = self.conversations
        batch.messages_done = self.messages
        batch.bytes_read = self.extractor.bytes_read if not final else self.extractor.bytes_total
        batch.bytes_total = self.extractor.bytes_total
        batch.export_user_id = self.extractor.header.user_id
        batch.owner_id = self.transformer.owner_id
        batch.export_date = self.extractor.header.export_date
        batch.final = final
        batch.transform_s = self.transform_s
        batch.wanting_names, self.transformer.wanting_names = self.transformer.wanting_names, []
        batch.quoting, self.transformer.quoting = self.transformer.quoting, []
        batch.extract_s = max(time.perf_counter() - self.t0 - self.transform_s - self.emit_s, 0.0)
        t = time.perf_counter()
        self.emit(batch)
        self.emit_s += time.perf_counter() - t
