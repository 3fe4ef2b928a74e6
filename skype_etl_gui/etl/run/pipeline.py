"""ETLPipeline: extractor -> transformer -> loader in batches, with the context beside them.

The producer (extract + transform) runs in a worker process for exports of
some size, so that parsing uses one core and the database the other; small
exports run in this process. Pause and cancel are flags, safe from any thread:
pause holds at the next batch boundary; cancel stops at the next read of the
export, the next batch boundary or the next wait between database retries,
whichever comes first, and a worker process is stopped at once. Each batch,
its errors and the checkpoint it reaches are committed in one transaction, so
a stop of any kind loses nothing that was committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import subprocess
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AlreadyImporting, Cancelled, DatabaseError, ExportError, ExportReadError, StageFailure
from ..extract import ExportSource, fingerprint, inspect_export
from ..extract.media import MediaEntry, MessagesPipe, OnePass, media_summary
from ..extract.sniff import no_messages_json
from ..liveness import HEARTBEAT_EVERY_S, liveness, running, stopped, who
from ..load import Batch, Loader, open_loader
from ..load.base import RETRY_FOR_S
from ..load.schema import SCHEMA_VERSION
from ..redact import redact_text
from ..transform import Transformer
from ..transform.rows import Rows
from ..urls import DatabaseTarget, parse_database_url
from ..values import utc_now
from .context import ETLContext
from .ipc import (
    WORKER_COMMAND,
    ProducerFailure,
    failure_exception,
    read_frame,
    stopped_unexpectedly,
    worker_settings,
    worth_a_worker,
)
from .media import Hold, MediaCounts, Messages, import_media
from .producer import BatchSize, Producer, Whereabouts
from .reprocess import finish_import

log = logging.getLogger(__name__)
DEFAULT_BATCH_SIZE = 5000
MAX_NOTED_KEYS = 200_000  # messages noted for the import's end (names, quotes): about 30 MB at most
MIN_BATCH_SIZE = 200
WORKER_THRESHOLD_BYTES = 16 * 1024 * 1024


class WorkerFailed(StageFailure):
    """The worker process died or sent something unreadable (it reads the export: an extract failure)."""

    def __init__(self, message: str) -> None:
        super().__init__("extract", "WorkerFailed", message)


class MemoryWatch:
    """Samples the run's memory (this process and its worker together) every 50 ms, between batches too.

    A batch is only checked once written; one huge record can pass the limit
    while it is being read. Past the limit, `on_over` stops the run before the
    operating system would kill it.
    """

    def __init__(self, context: ETLContext, on_over: Callable[[float], None], interval_s: float = 0.05) -> None:
        self.context = context
        self.on_over = on_over
        self.interval_s = interval_s
        self._polled = 0.0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="skype-etl-memory", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self._check():
                return

    def poll(self) -> None:
        """A check from the parsing thread itself: while ijson parses in C, the watching thread may not get to run."""
        now = time.monotonic()
        if now - self._polled >= self.interval_s:
            self._polled = now
            self._check()

    def _check(self) -> bool:
        rss = self.context.rss_mb()
        if rss > self.context.memory_limit_mb:
            self.on_over(rss)
            return True
        return False

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


@dataclass(frozen=True)
class Prepared:
    """An export checked against a database before a run: what it is, and what of it is unfinished there.

    Made by `ETLPipeline.prepare`, which reads the export's headers and the
    database but writes nothing; hand it to `run` so the export is not inspected again.
    """

    path: Path
    source: ExportSource
    fingerprint: str
    database: str  # the URL without its password
    unfinished: dict[str, Any] | None = None  # the newest unfinished run of this very export
    changed: dict[str, Any] | None = None  # an unfinished run of this path whose file has changed since

    @property
    def messages_done(self) -> int:
        """Messages the unfinished run had committed: what a resume skips."""
        return int(((self.unfinished or {}).get("checkpoint") or {}).get("messages", 0))


class ETLPipeline:
    """Imports Skype exports into one database."""

    def __init__(
        self,
        database: str | dict[str, Any] | DatabaseTarget,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        memory_limit_mb: float = 1024,
        progress_interval_s: float = 0.25,
        parallel: bool | None = None,
        retry_for_s: float = RETRY_FOR_S,
    ) -> None:
        """`parallel`: True always uses a worker process, False never, None when the export is large enough.

        The worker is a separate Python process (`python -m skype_etl_gui.etl.run.worker`)
        started with this interpreter; it reads the export and makes rows, this process
        writes them. `retry_for_s`: how long a database that went away is tried again
        (with backoff, reconnecting) before the run fails, resumable.
        """
        self.target = database if isinstance(database, DatabaseTarget) else parse_database_url(database)
        self.batch_size = max(int(batch_size), 1)
        self.memory_limit_mb = memory_limit_mb
        self.progress_interval_s = progress_interval_s
        self.parallel = parallel
        self.retry_for_s = retry_for_s
        self._running = threading.Event()
        self._running.set()
        self._cancel = threading.Event()
        self._holding = threading.Event()
        self._lock = threading.Lock()
        self._on_cancel: list[Callable[[], None]] = []
        # told of each step while an archive of an earlier version is migrated: (what, step, steps)
        self.on_migrate: Callable[[str, int, int], None] = _log_migration

    # --- control, safe from any thread ---------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        """Stop the run in progress, or the next one if none has begun; what is committed stays."""
        self._cancel.set()
        self._running.set()
        with self._lock:
            hooks = list(self._on_cancel)
        for hook in hooks:
            hook()

    @property
    def paused(self) -> bool:
        """Pause was asked for (it takes effect at the next batch boundary)."""
        return not self._running.is_set()

    @property
    def is_holding(self) -> bool:
        """A pause has taken effect: the batch in flight is committed and nothing more is written."""
        return self._holding.is_set()

    def wait_until_holding(self, timeout: float | None = None) -> bool:
        """Block until a requested pause has taken effect: the batch in flight is committed, nothing more is written."""
        return self._holding.wait(timeout)

    def _while_running(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook` on cancel until the returned function is called (a worker process to stop)."""
        with self._lock:
            self._on_cancel.append(hook)

        def remove() -> None:
            with self._lock:
                self._on_cancel.remove(hook)

        return remove

    def _reset_controls(self) -> None:
        """Each run ends with the controls as new, so a pause or a cancel never reaches the next run."""
        self._running.set()
        self._holding.clear()
        self._cancel.clear()

    def new_context(self) -> ETLContext:
        return ETLContext(memory_limit_mb=self.memory_limit_mb, progress_interval_s=self.progress_interval_s)

    # --- before a run ------------------------------------------------------------------
    def prepare(self, export_path: str | os.PathLike[str]) -> Prepared:
        """Check the export and the database, and find an unfinished import of this export; writes nothing.

        Raises ExportError or DatabaseError (with one line for a person) when
        either is unusable, and Cancelled when `cancel()` comes first.
        """
        path, source, export_fingerprint = self._inspect(export_path)
        loader = open_loader(self.target)
        loader.on_migrate = self.on_migrate
        loader.connect()
        try:
            loader.ensure_schema()
            return self._unfinished(loader, path, source, export_fingerprint)
        finally:
            loader.close()

    def _inspect(self, export_path: str | os.PathLike[str]) -> tuple[Path, ExportSource, str]:
        path = Path(export_path)
        source = inspect_export(path, self._cancel)  # the input first: a bad one leaves no database behind
        try:
            return path, source, fingerprint(path)
        except OSError as exc:
            raise ExportError(f"{path}: cannot be read ({exc.strerror or exc})") from exc

    def _unfinished(self, loader: Loader, path: Path, source: ExportSource, export_fingerprint: str) -> Prepared:
        """The unfinished import of this export to offer for resuming; ExportError when a live process is
        importing this very export into this database (nothing is written then)."""
        live = next((r for r in loader.live_runs() if r["export_fingerprint"] == export_fingerprint), None)
        if live is not None:
            raise AlreadyImporting(
                f"{path}: {who(live)} is importing this export into {loader.display_url} now (run {live['id']}, "
                f"started {live['started_at']}); wait for it to finish, or stop it and resume"
            )
        runs = loader.unfinished_runs()
        same = next((r for r in runs if r["export_fingerprint"] == export_fingerprint), None)
        resolved = str(path.resolve())
        changed = None if same else next((r for r in runs if r["export_path"] == resolved), None)
        return Prepared(path, source, export_fingerprint, loader.display_url, same, changed)

    # --- running ---------------------------------------------------------------------
    def run(
        self,
        export_path: str | os.PathLike[str],
        resume: bool = False,
        context: ETLContext | None = None,
        prepared: Prepared | None = None,
    ) -> dict[str, Any]:
        """Import one export; returns the run's summary.

        Raises ExportError or DatabaseError when the input or the database is
        unusable; nothing is written then. Any later failure ends the run as
        "failed" in the summary, with what was committed kept. `prepared`: the
        result of `prepare` for this export, so it is not inspected again.
        """
        context = context or self.new_context()
        try:
            return self._run(export_path, resume, context, prepared)
        except Cancelled:
            return _cancelled_before_start(context, self.target)
        finally:
            self._reset_controls()

    def _run(
        self, export_path: str | os.PathLike[str], resume: bool, context: ETLContext, prepared: Prepared | None
    ) -> dict[str, Any]:
        if self._cancel.is_set():
            raise Cancelled()  # cancelled before it began: nothing is read or written
        if prepared is not None and prepared.path == Path(export_path):
            path, source, export_fingerprint = prepared.path, prepared.source, prepared.fingerprint
        else:
            path, source, export_fingerprint = self._inspect(export_path)
        loader = open_loader(self.target)

        def connection_lost(message: str) -> None:
            context.record_error("load", "warning", "ConnectionLost", message)

        loader.on_retry = connection_lost
        loader.on_migrate = self.on_migrate
        loader.stop = self._cancel
        loader.retry_for_s = self.retry_for_s
        loader.connect()
        try:
            loader.ensure_schema()
            found = self._unfinished(loader, path, source, export_fingerprint)
            previous, note = _resumable(found) if resume else (None, None)
            parallel = self.parallel
            if parallel is None:
                # what is left to read decides: a resume near the end is quicker without a worker to start
                done = ((previous or {}).get("checkpoint") or {}).get("byte_offset") or 0
                parallel = worth_a_worker(path, WORKER_THRESHOLD_BYTES + done)
            log.info(
                "run %s: importing %s (%s, %s bytes) into %s%s%s",
                context.run_id,
                path,
                source.kind,
                source.size,
                loader.display_url,
                f", resuming {previous['id']}" if previous else "",
                " with a worker process" if parallel else "",
            )
            run = _Run(self, context, source, loader, parallel, export_fingerprint, previous)
            summary = run.execute()
            summary["resume_note"] = note
            _log_summary(summary, context)
            return summary
        finally:
            loader.close()

    async def run_async(
        self, export_path: str | os.PathLike[str], resume: bool = False, context: ETLContext | None = None
    ) -> dict[str, Any]:
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
    """One run: takes produced batches and commits them with their checkpoint."""

    def __init__(
        self,
        pipeline: ETLPipeline,
        context: ETLContext,
        source: ExportSource,
        loader: Loader,
        parallel: bool,
        export_fingerprint: str,
        previous: dict[str, Any] | None = None,
    ) -> None:
        """`previous`: the interrupted run this one continues from its checkpoint."""
        self.pipeline = pipeline
        self.context = context
        self.source = source
        self.path = source.path
        self.loader = loader
        self.parallel = parallel
        self.batch_size = BatchSize(pipeline.batch_size)
        self._worker_stdin: Any = None
        self.run_started = False
        self.previous = previous
        self.start: dict[str, Any] | None = (previous or {}).get("checkpoint") or None
        if self.start is not None:
            context.restore_checkpoint(self.start)
            # a resumed parse starts after the export's header: its owner is what the interrupted run recorded
            self.start = {**self.start, "owner_id": _owner_of(previous or {})}
        self.messages_skipped = int(self.start.get("messages", 0)) if self.start else 0
        self.messages = self.messages_skipped
        self.conversations = int(self.start.get("conversations", 0)) if self.start else 0
        self.load_s = 0.0
        self.extract_s = self.transform_s = 0.0
        self.wanting_names: list[tuple[str, str, str]] | None = []  # (see Batch); None: too many to keep
        self.quoting: list[tuple[str, str, str, str]] | None = []  # (see Batch); None: too many to keep
        self.message_rows = 0  # message entries this run read (see Batch.message_rows)
        self.archive_was_empty = False  # no message was stored when this run began
        self.finisher: Transformer | None = None  # reads what the worker deferred (see Batch.deferred)
        self.completing_s = 0.0
        self.header: tuple[str | None, str | None] = (
            (previous.get("export_user_id"), previous.get("export_date")) if previous else (None, None)
        )
        self.fingerprint = export_fingerprint
        self.owner = _owner_of(previous or {})  # whose the export's conversations are (see Producer._owner)
        self.media = MediaCounts()  # what the media phase stored
        self.media_total = 0  # the export's media bytes, where the tar's headers (or the folder) tell them
        self.one_pass: OnePass | None = None  # a .tar.gz's one reading (see _one_pass)
        self.run_header: tuple[Any, ...] | None = None  # the export's user, date and owner, as the run's row has them
        self.beaten = time.monotonic()  # when the run's heartbeat was last written by the media step
        self.messages_bytes = 0  # messages.json's, as the producer counts them
        self.over_memory: float | None = None  # the memory use that stopped the run
        self.over_where: dict[str, Any] = {}  # where the producer was reading then
        self.watch: MemoryWatch | None = None
        self.whereabouts = Whereabouts()  # where the producer reads now (a file shared with a worker process)
        self.started_at = utc_now()
        self.t0 = time.perf_counter()

    # --- the two ways of producing ------------------------------------------------------
    def _produce(self, source: ExportSource) -> None:
        """Parse and transform messages.json (of `source`: the export, or what a one-pass import hands on)."""
        if self.parallel:
            self._produce_in_worker(source)
        else:
            self._produce_inline(source)

    def _produce_inline(self, source: ExportSource) -> None:
        Producer(
            str(self.path),
            self.context.run_id,
            self.batch_size,
            self.consume,
            target_kind=self.loader.target.kind,
            search_column=self.loader.search_column,
            start=self.start,
            source=source,
            stop=self.pipeline._cancel,
            whereabouts=self.whereabouts,
            on_read=self.watch.poll if self.watch is not None else None,
        ).run()

    def _produce_in_worker(self, source: ExportSource) -> None:
        with tempfile.TemporaryDirectory(prefix="skype-etl-") as folder:
            self.whereabouts = Whereabouts(os.path.join(folder, "whereabouts"))
            try:
                self._run_worker(source)
            finally:
                self.whereabouts.close()

    def _run_worker(self, source: ExportSource) -> None:
        settings = worker_settings(
            source,
            self.context.run_id,
            self.batch_size.value,
            self.loader.target.kind,
            self.start,
            self.whereabouts.path,
            self.loader.search_column,
        )
        with tempfile.TemporaryFile() as stderr:
            worker = subprocess.Popen(
                WORKER_COMMAND,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                pass_fds=() if source.fd is None else (source.fd,),
            )
            assert worker.stdout is not None and worker.stdin is not None
            worker.stdin.write(settings)
            worker.stdin.flush()
            self.context.watch_process(worker.pid)
            self._worker_stdin = worker.stdin
            # a cancel stops the worker at once: it only reads, and what it had not handed on is read again on resume
            forget_worker = self.pipeline._while_running(worker.kill)
            try:
                # read in this thread: a reader thread would fight the database's thread for the interpreter
                # lock; a cancel is seen after the batch being produced, as pause and cancel are anyway
                while True:
                    try:
                        item = read_frame(worker.stdout)
                    except (EOFError, pickle.UnpicklingError) as exc:
                        if self.pipeline._cancel.is_set():
                            raise Cancelled() from exc
                        raise WorkerFailed(f"the reading process sent a damaged batch ({exc})") from exc
                    if item is None and self.pipeline._cancel.is_set():
                        raise Cancelled()
                    if item is None:
                        raise WorkerFailed(stopped_unexpectedly("the reading process", worker, stderr))
                    if isinstance(item, ProducerFailure):
                        raise failure_exception(item)
                    self.consume(item)
                    if item.final:
                        break
            finally:
                forget_worker()
                self._worker_stdin = None
                self.context.unwatch_process(worker.pid)
                if worker.poll() is None:
                    worker.kill()
                worker.wait()
                for pipe in (worker.stdin, worker.stdout):
                    if pipe is not None:
                        pipe.close()

    # --- batches ---------------------------------------------------------------------------
    def _complete(self, batch: Batch) -> None:
        """Read the messages the worker left to this process (it waits for the worker a third of the time)."""
        finisher = self.finisher
        if finisher is None:
            finisher = self.finisher = Transformer(self.context, self.context.run_id)
        finisher.owner_id = batch.owner_id or self.owner
        rows = Rows()
        t = time.perf_counter()
        batch.messages = finisher.complete(batch.messages, rows)
        batch.add_rows(rows)
        batch.wanting_names += finisher.wanting_names
        batch.quoting += finisher.quoting
        finisher.wanting_names, finisher.quoting = [], []
        self.completing_s += time.perf_counter() - t

    def consume(self, batch: Batch) -> None:
        """Commit one produced batch with its errors and checkpoint, then honour pause and cancel."""
        context = self.context
        context.add_errors(batch.errors)
        if batch.deferred:
            self._complete(batch)
        self.conversations = batch.conversations_done
        self.messages = batch.messages_done
        # a resumed parse starts after the export's header: keep what the interrupted run recorded
        self.header = (batch.export_user_id or self.header[0], batch.export_date or self.header[1])
        self.owner = batch.owner_id or self.owner
        self.extract_s, self.transform_s = batch.extract_s, batch.transform_s
        # kept while they stay few; past that, the import's end looks at every message instead
        if self.wanting_names is not None:
            self.wanting_names += batch.wanting_names
            if len(self.wanting_names) > MAX_NOTED_KEYS:
                self.wanting_names = None
        if self.quoting is not None:
            self.quoting += batch.quoting
            if len(self.quoting) > MAX_NOTED_KEYS:
                self.quoting = None
        self.message_rows += batch.message_rows
        batch.errors = context.drain_errors()  # the producer's and this run's own
        self.messages_bytes = batch.bytes_total
        read, total = self._progress_bytes(batch.bytes_read, 0)
        context.update_progress(  # of the whole export: messages.json, then the media files
            bytes_read=read,
            bytes_total=total,
            conversations=self.conversations,
            messages=self.messages,
        )
        if not batch.is_empty() or batch.final:
            self._ensure_run_row()
            batch.checkpoint = context.create_checkpoint(**batch.position)
            batch.run_update = {
                "conversations": self.conversations,
                "messages": self.messages,
                "errors": context.error_count,
                "heartbeat_at": utc_now(),
            }
            if self.run_header != (*self.header, self.owner):  # recorded before messages.json was read (its media)
                self.run_header = (*self.header, self.owner)
                batch.run_update.update(export_user_id=self.header[0], export_date=self.header[1], owner_id=self.owner)
            t = time.perf_counter()
            try:
                self.loader.write_batch(context.run_id, batch)
            except (DatabaseError, Cancelled):
                raise
            except Exception as exc:  # noqa: BLE001 - a bug or a surprise while writing: kept with its traceback
                raise StageFailure.of("load", exc) from exc
            self.load_s += time.perf_counter() - t
        self._memory()
        if not batch.final:
            self._between_batches()

    def _ensure_run_row(self) -> None:
        """The run is recorded with its first batch, so an input rejected early leaves no trace."""
        if self.run_started:
            return
        run = {
            "id": self.context.run_id,
            "export_path": str(self.path.resolve()),
            "export_fingerprint": self.fingerprint,
            "export_size": self.source.size,
            "export_user_id": self.header[0],
            "owner_id": self.owner,
            **liveness(),
            "export_date": self.header[1],
            "database_url": self.loader.display_url,
            "status": "running",
            "started_at": self.started_at,
            "messages_skipped": self.messages_skipped,
        }
        if self.previous is not None:
            # the new run takes over the old one's checkpoint, in the same transaction that retires it
            run.update(resumed_from=self.previous["id"], checkpoint=self.start)
        running(self.context.run_id)
        self.loader.start_run(run, supersedes=self.previous["id"] if self.previous else None)
        self.run_started = True
        self.run_header = (*self.header, self.owner)

    def _memory(self) -> None:
        sample = self.context.check_memory()
        if sample.near_limit and self.batch_size.value > MIN_BATCH_SIZE:
            self.batch_size.value = max(MIN_BATCH_SIZE, self.batch_size.value // 2)
            if self._worker_stdin is not None:
                try:
                    self._worker_stdin.write(f"{self.batch_size.value}\n".encode())
                    self._worker_stdin.flush()
                except OSError:
                    pass  # the worker has finished

    def _between_batches(self) -> None:
        pipeline = self.pipeline
        if not pipeline._running.is_set():
            pipeline._holding.set()
            self.context.update_progress(force=True)
            while not pipeline._running.wait(HEARTBEAT_EVERY_S):
                if self.run_started and not pipeline._cancel.is_set():
                    try:
                        self.loader.beat(self.context.run_id)  # paused, not gone
                    except (DatabaseError, Cancelled):
                        log.info("run %s: could not write its heartbeat while paused", self.context.run_id)
            pipeline._holding.clear()
        if pipeline._cancel.is_set():
            raise Cancelled()

    # --- the whole run ---------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        context = self.context
        for phase in ("extract", "transform", "load"):
            context.start_phase(phase)
        status, error_message = "completed", None
        watch = self.watch = MemoryWatch(context, self._over_memory)
        try:
            self.archive_was_empty = self.previous is None and self.loader.is_empty("messages")
            if self.source.kind == "tar.gz":
                self._one_pass()
            else:
                self.media_total = media_summary(self.source)[1]
                self._produce(self.source)
                if self.run_started:
                    self.media = import_media(
                        self.loader,
                        self.source,
                        context.run_id,
                        context,
                        self.pipeline._cancel,
                        self._media_progress,
                        hold=self._hold(),
                    )
            if self.run_started:
                # event texts with every name now known, replies linked: what a reprocess would make
                # after a resume, the interrupted run's messages may want names too: all are looked at
                wanting = None if self.previous is not None else self.wanting_names
                # into an empty archive that no other import wrote to meanwhile, only this run's quotes can name a
                # stored message; and with no message stored twice, no child row is stale
                alone = self.archive_was_empty and self.quoting is not None and not self._others_meanwhile()
                once = alone and self.loader.count_rows("messages") == self.message_rows
                quoting = self.quoting if alone else None
                finish_import(self.loader, context.run_id, self.pipeline._cancel, wanting, quoting, prune=not once)
                self._reconcile()
        except Cancelled:
            status = "cancelled"
            if self.over_memory is not None:
                status, error_message = "failed", self._memory_message(self.over_memory)
                context.record_error("extract", "fatal", "MemoryLimit", error_message)
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
        except StageFailure as exc:
            log.error("run %s: unexpected failure in %s\n%s", context.run_id, exc.phase, exc.detail)
            status, error_message = "failed", exc.message
            context.record_error(exc.phase, "fatal", exc.error_type, exc.message, raw=exc.detail)
        except Exception as exc:  # noqa: BLE001 - the run is recorded as failed, the caller gets the summary
            log.exception("run %s: unexpected failure", context.run_id)
            status, error_message = "failed", f"{type(exc).__name__}: {exc}"
            context.record_error("load", "fatal", type(exc).__name__, str(exc), raw=traceback.format_exc())
        finally:
            watch.stop()
        try:
            return self._finish(status, error_message)
        finally:
            stopped(context.run_id)

    def _others_meanwhile(self) -> bool:
        """Whether another import wrote to the archive while this one ran (side by side)."""
        return any(
            run["id"] != self.context.run_id
            and (run["status"] == "running" or (run["finished_at"] or "") > self.started_at)
            for run in self.loader.runs(limit=100)
        )

    def _one_pass(self) -> None:
        """A .tar.gz, read once: each media file stored as it streams by, messages.json handed to the parser
        through a pipe when it comes (see media.OnePass); progress is of the compressed file."""
        self.one_pass = OnePass(self.source, self.pipeline._cancel)
        with MessagesPipe(self.source.path) as pipe:

            def parse(entry: MediaEntry) -> None:
                try:
                    self._produce(pipe.source(entry.size))
                except ExportReadError as exc:
                    if pipe.failure is not None:
                        raise pipe.failure from exc  # the JSON ended early because the tar did: say so
                    raise
                finally:
                    pipe.close_read()  # the rest of the member (what follows the JSON) is skipped

            messages = Messages(pump=pipe.pump, parse=parse, halted=pipe.close_read)
            self.media = import_media(
                self.loader,
                self.source,
                self.context.run_id,
                self.context,
                self.pipeline._cancel,
                self._media_progress,
                entries=self.one_pass,
                messages=messages,
                begin=self._ensure_run_row,
                hold=self._hold(),
            )
        if not self.one_pass.messages_found:
            raise no_messages_json(self.path)

    def _hold(self) -> Hold:
        """Pause in the media step: held as between batches (the heartbeat goes on, cancel stops it)."""
        return Hold(asked=lambda: self.pipeline.paused, wait=self._between_batches)

    def _progress_bytes(self, messages_read: int, media_done: int) -> tuple[int, int]:
        """(read, total) of the whole export: messages.json then the media files, or a one-pass import's file."""
        if self.one_pass is not None:
            return self.one_pass.bytes_read, self.source.size
        return messages_read + media_done, self.messages_bytes + max(self.media_total, media_done)

    def _media_progress(self, counts: MediaCounts, done_bytes: int) -> None:
        read, total = self._progress_bytes(self.messages_bytes, done_bytes)
        self.context.update_progress(
            bytes_read=read,
            bytes_total=total,
            media_files=counts.stored + counts.duplicates + counts.already,
            media_bytes=counts.bytes,
        )
        # no batch tells the run is alive while files are stored (a long media/ can take minutes)
        if self.run_started and time.monotonic() - self.beaten >= HEARTBEAT_EVERY_S:
            self.beaten = time.monotonic()
            self.loader.beat(self.context.run_id)

    def _reconcile(self) -> None:
        """Every conversation's records add up: read = stored + skipped, each skip with its error row; a
        conversation that does not is an error of its own (nothing may be lost silently)."""
        for row in self.loader.reconciliation(self.context.run_id):
            if not row["adds_up"]:
                where = row["id"] or "the conversations without an id"
                self.context.record_error(
                    "load",
                    "error",
                    "Reconciliation",
                    f"{where}: {row['in_export']:,} message records in the export, {row['stored']:,} stored and "
                    f"{row['skipped']:,} skipped ({row['skip_rows']:,} with their error row) do not add up",
                    row["id"] or None,
                )

    def _over_memory(self, rss_mb: float) -> None:
        """The watch saw the run past its memory limit: stop it now, as failed and resumable."""
        if self.over_memory is None:
            self.over_where = self.whereabouts.read()  # now: the producer may be gone by the time it is told
            self.over_memory = rss_mb
            self.pipeline.cancel()

    def _memory_message(self, rss_mb: float) -> str:
        reading = self.over_where
        number = f"#{int(reading.get('index', 0)) + 1}"
        conv_id = reading.get("conversation")
        conversation = f"conversation {conv_id} ({number})" if conv_id else f"conversation {number}"
        done = int(reading.get("entries", 0))
        where = f"{conversation}, after its message #{done}" if done else conversation
        return (
            f"memory use reached {rss_mb:,.0f} MB, over the limit of {self.context.memory_limit_mb:,.0f} MB, "
            f"while reading {where}; a higher limit (--memory-limit) lets it through"
        )

    def _finish(self, status: str, error_message: str | None) -> dict[str, Any]:
        context = self.context
        total = time.perf_counter() - self.t0
        # the phases interleave batch by batch (and overlap with a worker): each one's own time
        context.add_phase_items("extract", self.messages, self.extract_s)
        context.add_phase_items("transform", self.messages, self.transform_s + self.completing_s)
        context.add_phase_items("load", self.messages, self.load_s)
        phase_status = {"completed": "completed", "cancelled": "cancelled"}.get(status, "failed")
        for phase in ("extract", "transform", "load"):
            context.end_phase(phase, phase_status)
        context.update_progress(conversations=self.conversations, messages=self.messages, force=True)
        context.check_memory()
        summary = context.get_summary()
        telemetry = {
            "phases": summary["phases"],
            "parallel": self.parallel,
            "rate_messages_per_s": round(self.messages / total, 1) if total > 0 else 0.0,
            "memory_peak_mb": summary["memory_peak_mb"],
            "memory_limit_mb": summary["memory_limit_mb"],
            "batch_size_final": self.batch_size.value,
            "media": self.media.as_dict(),
        }
        finished = {
            "status": status,
            "finished_at": utc_now(),
            "duration_s": round(total, 3),
            "conversations": self.conversations,
            "messages": self.messages,
            "errors": context.error_count,
            "error_message": error_message,
            "telemetry": telemetry,
        }
        try:
            if self.run_started or context.error_count:
                self._ensure_run_row()
                self.loader.finish_run(context.run_id, finished, errors=context.drain_errors())
        except Cancelled:
            # stopped while waiting for the database to come back: the run stays resumable, its end unrecorded
            error_message = error_message or "stopped before the end of the run could be recorded"
        except Exception as exc:  # noqa: BLE001 - the database itself failed; report it with the run's status
            error_message = error_message or f"could not record the end of the run: {exc}"
            status = "failed"
        return {
            "run_id": context.run_id,
            "status": status,
            "conversations": self.conversations,
            "messages": self.messages,
            "errors": context.error_count,
            "duration_s": round(total, 3),
            "resumed": self.previous is not None,
            "messages_skipped": self.messages_skipped,
            "database": self.loader.display_url,
            "error": error_message,
            "telemetry": telemetry,
            "media": self.media.as_dict(),
        }


def _log_summary(summary: dict[str, Any], context: ETLContext) -> None:
    by_type = ", ".join(f"{k} {v}" for k, v in sorted(context.error_types.items())) or "none"
    log.log(
        logging.INFO if summary["status"] != "failed" else logging.ERROR,
        "run %s %s: %s conversations, %s messages (%s already there) in %.1f s; errors: %s%s",
        summary["run_id"],
        summary["status"],
        summary["conversations"],
        summary["messages"],
        summary["messages_skipped"],
        summary["duration_s"],
        by_type,
        f"; {redact_text(summary['error'])}" if summary.get("error") else "",
    )


def _resumable(found: Prepared) -> tuple[dict[str, Any] | None, str]:
    """The newest unfinished run of this very export, and what to tell the user."""
    if found.unfinished is not None:
        run = found.unfinished
        return run, (
            f"resuming the interrupted import {run['id']}: "
            f"{found.messages_done:,} messages already imported are skipped"
        )
    if found.changed is not None:
        raise ExportError(
            f"{found.path}: the file changed since the interrupted import {found.changed['id']} read it, so that "
            "import cannot be resumed; import it again without --resume (nothing already stored is duplicated)"
        )
    return None, "nothing to resume for this export: importing it in full"


def _cancelled_before_start(context: ETLContext, target: DatabaseTarget) -> dict[str, Any]:
    """The summary of a run stopped before it wrote anything (while the export was being looked at)."""
    summary = context.get_summary()
    return {
        "run_id": context.run_id,
        "status": "cancelled",
        "conversations": 0,
        "messages": 0,
        "errors": 0,
        "duration_s": summary["duration_s"],
        "resumed": False,
        "messages_skipped": 0,
        "database": target.display,
        "error": None,
        "telemetry": {},
        "resume_note": None,
    }


def _log_migration(step: str, number: int, steps: int) -> None:
    log.info("migrating the archive to schema %s: %s (%s of %s)", SCHEMA_VERSION, step, number, steps)


def _owner_of(run: dict[str, Any]) -> str:
    """The owner an import stored its export's conversations under (a run of schema 2 recorded only the userId)."""
    return run.get("owner_id") or run.get("export_user_id") or ""
