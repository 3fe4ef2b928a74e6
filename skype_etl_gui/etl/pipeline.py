"""ETLPipeline: extractor -> transformer -> loader in batches, with the context beside them.

Pause and cancel are flags read at batch boundaries, so they are safe from any
thread and take effect within one batch. Each batch, its errors and the
checkpoint it reaches are committed in one transaction.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

from .context import ETLContext, utc_now
from .extractor import ConversationEnd, ConversationStart, Event, ExportError, ExportReadError, Extractor, fingerprint
from .loader import Batch, DatabaseError, Loader, open_loader
from .transformer import Transformer
from .urls import DatabaseTarget, parse_database_url

DEFAULT_BATCH_SIZE = 5000
MIN_BATCH_SIZE = 200


class Cancelled(Exception):
    """Raised inside the parse to stop it at a batch boundary."""


class ETLPipeline:
    """Imports Skype exports into one database."""

    def __init__(
        self,
        database: str | dict[str, Any] | DatabaseTarget,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        memory_limit_mb: float = 1024,
        progress_interval_s: float = 0.25,
    ) -> None:
        self.target = database if isinstance(database, DatabaseTarget) else parse_database_url(database)
        self.batch_size = max(int(batch_size), 1)
        self.memory_limit_mb = memory_limit_mb
        self.progress_interval_s = progress_interval_s
        self.context: ETLContext | None = None
        self._running = threading.Event()
        self._running.set()
        self._cancel = threading.Event()

    # --- control, safe from any thread ---------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def new_context(self) -> ETLContext:
        return ETLContext(memory_limit_mb=self.memory_limit_mb, progress_interval_s=self.progress_interval_s)

    # --- running ---------------------------------------------------------------------
    def run(self, export_path: str | os.PathLike[str], resume: bool = False, context: ETLContext | None = None) -> dict[str, Any]:
        """Import one export; returns the run's summary.

        Raises ExportError or DatabaseError when the input or the database is
        unusable; nothing is written then. Any later failure ends the run as
        "failed" in the summary, with what was committed kept.
        """
        self._cancel.clear()
        context = context or self.new_context()
        self.context = context
        context.redactor.add_secret(_password_of(self.target))
        extractor = Extractor(export_path)
        loader = open_loader(self.target)
        loader.connect()
        try:
            loader.ensure_schema()
            run = _Run(self, context, extractor, loader, Path(export_path))
            return run.execute()
        finally:
            loader.close()

    async def run_async(self, export_path: str | os.PathLike[str], resume: bool = False, context: ETLContext | None = None) -> dict[str, Any]:
        """`run` in a worker thread; cancelling the awaiting task cancels the import at a batch boundary."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, lambda: self.run(export_path, resume=resume, context=context))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            self.cancel()
            await asyncio.wait([future])
            raise


class _Run:
    """The state of one run while it streams."""

    def __init__(self, pipeline: ETLPipeline, context: ETLContext, extractor: Extractor, loader: Loader, path: Path) -> None:
        self.pipeline = pipeline
        self.context = context
        self.extractor = extractor
        self.loader = loader
        self.path = path
        self.transformer = Transformer(context)
        self.batch = Batch()
        self.batch_size = pipeline.batch_size
        self.run_started = False
        self.messages = 0
        self.conversations = 0
        self.position: dict[str, Any] = {"conversation_index": 0, "entries_done": 0}
        self.transform_s = 0.0
        self.load_s = 0.0
        self.fingerprint = fingerprint(path)
        self.started_at = utc_now()
        self.t0 = time.perf_counter()

    # --- events from the extractor -----------------------------------------------------
    def handle(self, event: Event) -> None:
        t = time.perf_counter()
        if isinstance(event, ConversationStart):
            self._conversation(event.index, event.header)
        elif isinstance(event, ConversationEnd):
            self._conversation(event.index, event.header)
            if event.conversation_id is None:
                self.context.record_error(
                    "transform", "error", "MissingConversationId",
                    f"conversation #{event.index} has no id; its {event.message_count} messages were skipped",
                    None, None, event.header,
                )
            else:
                self.conversations += 1
            self.position = {"conversation_index": event.index + 1, "entries_done": 0}
        else:
            if event.conversation_id is not None:
                rows = self.transformer.messages(event.conversation_id, event.entries, event.offset)
                self.batch.messages += rows.messages
                self.batch.attachments += rows.attachments
                self.batch.participants += rows.participants
                self.messages += len(rows.messages)
            self.position = {"conversation_index": event.index, "entries_done": event.offset + len(event.entries)}
        self.transform_s += time.perf_counter() - t
        if len(self.batch) >= self.batch_size:
            self.flush()
        else:
            self._progress()

    def _conversation(self, index: int, header: dict[str, Any]) -> None:
        row, members = self.transformer.conversation(index, header)
        if row is not None:
            self.batch.conversations.append(row)
            self.batch.participants += members

    # --- batches ---------------------------------------------------------------------------
    def flush(self) -> None:
        context = self.context
        self.batch.errors = context.drain_errors()
        if self.batch.is_empty() and self.run_started:
            return
        self._ensure_run_row()
        t = time.perf_counter()
        context.update_progress(conversations=self.conversations, messages=self.messages)
        self.batch.checkpoint = context.create_checkpoint(**self.position)
        self.batch.run_update = {"conversations": self.conversations, "messages": self.messages, "errors": context.error_count}
        self.loader.write_batch(context.run_id, self.batch)
        self.load_s += time.perf_counter() - t
        self.batch = Batch()
        self._progress(force=False)
        self._memory()
        self._between_batches()

    def _ensure_run_row(self) -> None:
        """The run is recorded with its first batch, so an input rejected early leaves no trace."""
        if self.run_started:
            return
        header = self.extractor.header
        self.loader.start_run(
            {
                "id": self.context.run_id,
                "export_path": str(self.path.resolve()),
                "export_fingerprint": self.fingerprint,
                "export_size": self.extractor.source.size,
                "export_user_id": header.user_id,
                "export_date": header.export_date,
                "database_url": self.loader.display_url,
                "status": "running",
                "started_at": self.started_at,
            }
        )
        self.run_started = True

    def _memory(self) -> None:
        sample = self.context.check_memory()
        if sample.near_limit and self.batch_size > MIN_BATCH_SIZE:
            self.batch_size = max(MIN_BATCH_SIZE, self.batch_size // 2)

    def _between_batches(self) -> None:
        pipeline = self.pipeline
        if not pipeline._running.is_set():
            self._progress(force=True)
            pipeline._running.wait()
        if pipeline._cancel.is_set():
            raise Cancelled()

    def _progress(self, force: bool = False) -> None:
        self.context.update_progress(
            bytes_read=self.extractor.bytes_read,
            bytes_total=self.extractor.bytes_total,
            conversations=self.conversations,
            messages=self.messages,
            force=force,
        )

    # --- the whole run ---------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        context = self.context
        for phase in ("extract", "transform", "load"):
            context.start_phase(phase)
        status, error_message = "completed", None
        try:
            self.extractor.stream(self.handle)
            self.flush()
        except Cancelled:
            status = "cancelled"
        except ExportError as exc:
            if not self.run_started:
                raise  # nothing was written: the input is rejected
            status, error_message = "failed", str(exc)
            context.record_error("extract", "fatal", "ExportError", str(exc))
        except ExportReadError as exc:
            status, error_message = "failed", str(exc)
            context.record_error("extract", "fatal", "ExportReadError", str(exc))
        except DatabaseError as exc:
            status, error_message = "failed", str(exc)
            context.record_error("load", "fatal", "DatabaseError", str(exc))
        except Exception as exc:  # noqa: BLE001 - the run is recorded as failed, the caller gets the summary
            status, error_message = "failed", f"{type(exc).__name__}: {exc}"
            context.record_error("load", "fatal", type(exc).__name__, str(exc))
        return self._finish(status, error_message)

    def _finish(self, status: str, error_message: str | None) -> dict[str, Any]:
        context = self.context
        total = time.perf_counter() - self.t0
        extract_s = max(total - self.transform_s - self.load_s, 0.0)
        context.add_phase_items("extract", self.messages, extract_s)
        context.add_phase_items("transform", self.messages, self.transform_s)
        context.add_phase_items("load", self.messages, self.load_s)
        phase_status = {"completed": "completed", "cancelled": "cancelled"}.get(status, "failed")
        for phase in ("extract", "transform", "load"):
            context.end_phase(phase, phase_status)
        if status == "completed":
            context.update_progress(bytes_read=self.extractor.bytes_total, bytes_total=self.extractor.bytes_total)
        context.update_progress(conversations=self.conversations, messages=self.messages, force=True)
        context.check_memory()
        summary = context.get_summary()
        finished = {
            "status": status,
            "finished_at": utc_now(),
            "duration_s": round(total, 3),
            "conversations": self.conversations,
            "messages": self.messages,
            "errors": context.error_count,
            "error_message": error_message,
            "telemetry": {
                "phases": summary["phases"],
                "rate_messages_per_s": round(self.messages / total, 1) if total > 0 else 0.0,
                "memory_peak_mb": summary["memory_peak_mb"],
                "memory_limit_mb": summary["memory_limit_mb"],
                "batch_size_final": self.batch_size,
            },
        }
        try:
            if self.run_started or context.error_count:
                self._ensure_run_row()
                leftover = context.drain_errors()
                if leftover:
                    self.loader.write_batch(context.run_id, Batch(errors=leftover))
                self.loader.finish_run(context.run_id, finished)
        except Exception as exc:  # noqa: BLE001 - the database itself failed; report, do not mask the run's status
            error_message = error_message or f"could not record the run's end: {exc}"
            status = "failed"
        return {
            "run_id": context.run_id,
            "status": status,
            "conversations": self.conversations,
            "messages": self.messages,
            "errors": context.error_count,
            "duration_s": round(total, 3),
            "resumed": False,
            "messages_skipped": 0,
            "database": self.loader.display_url,
            "error": error_message,
            "telemetry": finished["telemetry"],
        }


def _password_of(target: DatabaseTarget) -> str | None:
    if target.kind != "postgresql" or not target.dsn:
        return None
    from urllib.parse import unquote, urlsplit

    if "://" in target.dsn:
        return unquote(urlsplit(target.dsn).password or "") or None
    for part in target.dsn.split():
        if part.lower().startswith("password="):
            return part.split("=", 1)[1].strip("'") or None
    return None
