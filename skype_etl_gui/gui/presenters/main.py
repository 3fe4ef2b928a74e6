"""The main window's presenter: the run's state machine, the resume decision and the notices. No widgets.

The view (views/main_window.py) tells it what the person did and shows what
its signals say. Every file and database call happens in a Job (see jobs.py
and work.py), so nothing here can stall the GUI thread.

A reprocess of the archive (the File menu) is a state of its own: idle ->
reprocessing -> stopping (cancel) -> finished.

States: idle -> checking (the export and the database are looked at; a resume
may be offered) -> running <-> holding (paused) / reconnecting (the database
went away and is being reached again) -> stopping (cancel or close) ->
finished. A notice (a failure, or the offer of the error log) is shown only once
the job's thread has ended, one at a time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ...etl.errors import REJECTED, Cancelled, DatabaseUrlError, ExportReadError
from ...etl.load.registry import preload as preload_loaders
from ...etl.run.pipeline import DEFAULT_BATCH_SIZE, ETLPipeline, Prepared
from ...etl.urls import database_text
from ...units import duration_text, size_text
from .. import work
from ..jobs import Job

log = logging.getLogger(__name__)

IDLE, CHECKING, RUNNING, HOLDING, RECONNECTING, STOPPING, FINISHED, REPROCESSING = (
    "idle",
    "checking",
    "running",
    "holding",
    "reconnecting",
    "stopping",
    "finished",
    "reprocessing",
)
IMPORTING = (RUNNING, HOLDING, RECONNECTING)
READY_TEXT = "Choose an export and press Start."


@dataclass(frozen=True)
class Notice:
    """A box for the view to show: a failure ("problem") or the offer of the error log ("errors")."""

    kind: str
    text: str
    more: str = ""
    count: int = 0
    completed: bool = True


def failure_text(exc: BaseException) -> str:
    """One clear line for a failure a person can act on; a bug gets its traceback after a blank line."""
    if isinstance(exc, (*REJECTED, ExportReadError)):
        return str(exc)
    import traceback

    detail = "".join(traceback.format_exception(exc))
    return f"unexpected failure: {type(exc).__name__}: {exc}\n\n{detail}"


class MainPresenter(QObject):
    state_changed = Signal(str)
    status = Signal(str)  # the line under the progress bar
    progress = Signal(object)  # Progress fields
    memory = Signal(object)  # MemorySample fields
    errors = Signal(int)  # records skipped or repaired so far
    summary = Signal(str)  # what the last run did
    preview = Signal(str)  # what the chosen export holds
    connection = Signal(str)  # the connection test's answer
    resume_offered = Signal(int)  # messages already imported: answer with answer_resume()
    notice = Signal(object)  # a Notice to show now
    import_finished = Signal(object)  # the summary, or {"status": "failed", "error"} when it could not run
    reprocess_finished = Signal(object)  # the same, for a reprocess
    closable = Signal()  # every job has ended after request_close()

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE, parent: QObject | None = None) -> None:
        super().__init__(parent)
        preload_loaders()  # here, in the window's thread, not in the import's as Start is pressed
        self.batch_size = batch_size
        self.state = IDLE
        self.pipeline: ETLPipeline | None = None
        self.run_id: str | None = None
        self.error_count = 0
        self.memory_limit_mb = 1024.0
        self.closing = False
        self._export = ""
        self._resume: bool | None = None
        self._prepared: Prepared | None = None
        self._check: Job | None = None
        self._import: Job | None = None
        self._preview: Job | None = None
        self._test: Job | None = None
        self._reprocess: Job | None = None
        self._pending: Notice | None = None
        self._progress_text = "reading…"
        self._started_at = 0.0
        self.preview_timer = QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.setInterval(300)  # a moment after the path stops changing
        self.preview_timer.timeout.connect(self._start_preview)
        self.elapsed_timer = QTimer(self)
        self.elapsed_timer.setInterval(500)
        self.elapsed_timer.timeout.connect(self._tick)

    # --- what the view asks -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A check or an import is under way (until its thread has ended)."""
        return any(job is not None and job.is_running() for job in (self._check, self._import, self._reprocess))

    @property
    def importing(self) -> bool:
        return self.state in IMPORTING

    @property
    def paused(self) -> bool:
        return self.pipeline is not None and self.pipeline.paused and self.importing

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    def _own(self, job: Job) -> Job:
        """Every job of this window ends through here: notices after an import, the close after the last."""
        job.finished.connect(self._job_ended)
        return job.start()

    # --- the export and its preview -----------------------------------------------------------------------
    def export_changed(self, path: str) -> None:
        self._export = path.strip()
        self.preview_timer.start()

    @Slot()
    def _start_preview(self) -> None:
        self._stop_preview()
        if not self._export or self.busy:
            self.preview.emit("")
            return
        self.preview.emit("Reading the export…")
        job = Job(work.preview_export, self._export, name="preview")
        job.yielded.connect(self._on_preview)
        job.returned.connect(self._on_preview)
        job.errored.connect(self._on_preview_failed)
        self._preview = self._own(job)

    def _stop_preview(self) -> None:
        self.preview_timer.stop()
        if self._preview is not None:
            self._preview.quit()
            self._preview = None

    @Slot(object)
    def _on_preview(self, found: dict[str, Any]) -> None:
        if self.sender() is not self._preview:
            return  # a stale preview never overwrites a newer one
        self.preview.emit(preview_text(found))

    @Slot(object)
    def _on_preview_failed(self, exc: BaseException) -> None:
        if self.sender() is self._preview:
            self.preview.emit(f"✗ {failure_text(exc).partition(chr(10))[0]}")

    # --- the connection test ----------------------------------------------------------------------------------
    def test_connection(self, database: str | dict[str, Any]) -> None:
        if self._test is not None and self._test.is_running():
            return
        self.connection.emit("Connecting…")
        job = Job(work.try_connection, database, name="connection-test")
        job.returned.connect(self._on_connection)
        job.errored.connect(self._on_connection_failed)
        self._test = self._own(job)

    @Slot(object)
    def _on_connection(self, message: str) -> None:
        self.connection.emit(f"✓ {message}")

    @Slot(object)
    def _on_connection_failed(self, exc: BaseException) -> None:
        self.connection.emit(f"✗ {failure_text(exc).partition(chr(10))[0]}")

    @property
    def testing_connection(self) -> bool:
        return self._test is not None and self._test.is_running()

    # --- starting: check, maybe offer to resume, import -------------------------------------------------------
    def start(self, export: str, database: str | dict[str, Any], resume: bool | None = None) -> bool:
        """Import `export`; `resume` None offers to resume an unfinished import of it. False when it cannot start."""
        if self.busy or self.closing:
            return False
        self._stop_preview()  # the import reads the file now
        try:
            # always a worker process: parsing in this process holds the interpreter lock for tens of
            # milliseconds at a time, which the window would feel, however small the export
            pipeline = ETLPipeline(database, batch_size=self.batch_size, parallel=True)
        except DatabaseUrlError as exc:
            self._problem_now(str(exc))
            return False
        self.pipeline, self._export, self._resume, self._prepared = pipeline, export.strip(), resume, None
        self.run_id, self.error_count, self._pending = None, 0, None
        self.memory_limit_mb = float(pipeline.memory_limit_mb)
        self._set_state(CHECKING)
        self.status.emit("Checking the export and the database…")
        self.summary.emit("")
        self.errors.emit(0)
        job = Job(work.check_export, pipeline, self._export, name="check", on_quit=pipeline.cancel)
        job.yielded.connect(self._on_check_event)
        job.returned.connect(self._on_checked)
        job.errored.connect(self._on_check_failed)
        job.aborted.connect(self._on_check_failed)
        self._check = self._own(job)
        return True

    @Slot(object)
    def _on_check_event(self, event: tuple[str, Any]) -> None:
        kind, value = event
        if kind == "migrating" and self.state == CHECKING:
            step, number, steps = value
            self.status.emit(f"Updating the archive made by an earlier version: {step} ({number} of {steps})…")

    @Slot(object)
    def _on_checked(self, prepared: Prepared) -> None:
        if self.state != CHECKING:
            return
        self._prepared = prepared
        if self._resume is None and prepared.unfinished is not None:
            self.resume_offered.emit(prepared.messages_done)  # the view answers with answer_resume()
            return
        self._begin_import(bool(self._resume))

    @Slot(object)
    def _on_check_failed(self, exc: BaseException | None = None) -> None:
        self._set_state(IDLE)
        if exc is None or isinstance(exc, Cancelled) or self.closing:
            self.status.emit(READY_TEXT)
            return
        self.status.emit("Could not import.")
        self._pending = Notice("problem", failure_text(exc))  # once the check's thread has ended

    def answer_resume(self, choice: str) -> None:
        """The person's answer to resume_offered: "resume", "anew" or "cancel"."""
        if self.state != CHECKING or self._prepared is None:
            return
        if choice in ("resume", "anew"):
            self._begin_import(choice == "resume")
        else:
            self._set_state(IDLE)
            self.status.emit(READY_TEXT)

    def _begin_import(self, resume: bool) -> None:
        assert self.pipeline is not None
        self._progress_text = "reading…"
        self._started_at = time.monotonic()
        self.elapsed_timer.start()
        self._set_state(RUNNING)
        self.status.emit("Starting…")
        job = Job(
            work.run_import,
            self.pipeline,
            self._export,
            resume,
            self._prepared,
            name="import",
            on_quit=self.pipeline.cancel,
        )
        job.yielded.connect(self._on_import_event)
        job.returned.connect(self._on_finished)
        job.errored.connect(self._on_failed)
        self._import = self._own(job)

    # --- reprocessing the archive ------------------------------------------------------------------------------
    def reprocess(self, database: str | dict[str, Any]) -> bool:
        """Re-read every stored message with this version's rules; False when something else runs."""
        if self.busy or self.closing:
            return False
        self._stop_preview()
        self.run_id, self.error_count, self._pending = None, 0, None
        self._started_at = time.monotonic()
        job = Job(work.run_reprocess, database, name="reprocess")
        job.yielded.connect(self._on_reprocess_event)
        job.returned.connect(self._on_reprocessed)
        job.errored.connect(self._on_reprocess_failed)
        self._reprocess = self._own(job)
        self._set_state(REPROCESSING)  # after the job is under way: the view asks `busy` for its buttons
        self.status.emit("Reprocessing the archive…")
        self.summary.emit("")
        self.errors.emit(0)
        return True

    @Slot(object)
    def _on_reprocess_event(self, event: tuple[str, Any]) -> None:
        _, value = event
        self.progress.emit(value)
        if self.state == REPROCESSING:
            elapsed = duration_text(time.monotonic() - self._started_at)
            self.status.emit(
                f"Reprocessing ({elapsed}) · {value['stage']}: {value['done']:,} of {value['total']:,} · "
                f"{value['changed']:,} rows changed"
            )

    @Slot(object)
    def _on_reprocessed(self, summary: dict[str, Any]) -> None:
        status = self._counted(summary)
        if status == "completed":
            text = (
                f"Reprocessed {summary['messages']:,} messages in {summary['duration_s']:.1f} s: "
                f"{summary['changed']:,} rows changed."
            )
            if summary["errors"]:
                text += f" {summary['errors']:,} warnings: see Errors."
        elif status == "cancelled":
            text = f"Reprocess stopped after {summary['messages']:,} messages. Reprocess again to continue."
        else:
            text = f"Reprocess failed: {summary.get('error')}. The archive is consistent; reprocess again to continue."
        self._said(status, text)
        self.reprocess_finished.emit(summary)

    @Slot(object)
    def _on_reprocess_failed(self, exc: BaseException) -> None:
        message = failure_text(exc)
        self._set_state(FINISHED)
        self.status.emit("Could not reprocess.")
        self._pending = Notice("problem", message)
        self.reprocess_finished.emit({"status": "failed", "error": message})

    # --- while it runs ---------------------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        if not self.importing or self.pipeline is None:
            return
        if self.pipeline.paused:
            self.pipeline.resume()
            self._set_state(RUNNING)
            self.status.emit("Resuming…")
        else:
            self.pipeline.pause()
            self.state_changed.emit(self.state)  # the view shows Resume
            self.status.emit("Pausing after the current batch…")

    def cancel(self) -> None:
        """Stop the check or the import (the view has asked the person first); what is committed stays."""
        if self.state == CHECKING and self._check is not None:
            self._check.quit()
            return
        if self.state == REPROCESSING and self._reprocess is not None:
            self._reprocess.quit()
            self._set_state(STOPPING)
            self.status.emit("Stopping after the current page…")
            return
        if self.importing and self._import is not None:
            self._import.quit()
            self._set_state(STOPPING)
            self.status.emit("Stopping after the current batch…")

    @Slot(object)
    def _on_import_event(self, event: tuple[str, Any]) -> None:
        kind, value = event
        if kind == "progress":
            eta = duration_text(value["eta_s"]) if value.get("eta_s") is not None else "–"
            self._progress_text = (
                f"{value['messages']:,} messages, {value['conversations']:,} conversations · "
                f"{value['rate']:,.0f} messages/s · ETA {eta}"
            )
            if value.get("media_files"):
                self._progress_text += (
                    f" · {value['media_files']:,} media files ({size_text(value['media_bytes'])} stored)"
                )
            self.progress.emit(value)
            self._tick()
        elif kind == "memory":
            self.memory.emit(value)
        elif kind == "errors":
            self.error_count = int(value)
            self.errors.emit(self.error_count)
        elif kind == "run":
            self.run_id = value
        elif kind == "state" and self.state != STOPPING:
            self._set_state({"holding": HOLDING, "reconnecting": RECONNECTING}.get(value, RUNNING))
            if value == "holding":
                self.status.emit("Paused: nothing is being written. Press Resume to go on.")
            elif value == "reconnecting":
                self.status.emit("Reconnecting to the database…")

    @Slot()
    def _tick(self) -> None:
        if self.state in (RUNNING, RECONNECTING) and not self.paused:
            elapsed = duration_text(time.monotonic() - self._started_at)
            if self.state == RUNNING:
                self.status.emit(f"Importing ({elapsed}) · {self._progress_text}")

    # --- the end ---------------------------------------------------------------------------------------------
    @Slot(object)
    def _on_finished(self, summary: dict[str, Any]) -> None:
        self.elapsed_timer.stop()
        status = self._counted(summary)
        if status == "completed":
            text = (
                f"Done: {summary['messages']:,} messages in {summary['conversations']:,} conversations "
                f"in {summary['duration_s']:.1f} s into {database_text(summary['database'])}."
            )
            if summary["resumed"]:
                text += f" Resumed: {summary['messages_skipped']:,} messages were already there."
            media = summary.get("media") or {}
            if media.get("files") or media.get("missing"):
                text += (
                    f" Media: {media['files']:,} files ({size_text(media['bytes'])} stored now), "
                    f"{media['missing']:,} expired, {media['orphans']:,} without a message."
                )
            if summary["errors"]:
                text += f" {summary['errors']:,} records were skipped or repaired: see Errors."
        elif status == "cancelled":
            text = f"Stopped after {summary['messages']:,} messages. Press Start to resume."
        else:
            text = f"Failed: {summary.get('error')}. What was imported is kept; press Start to resume."
        self._said(status, text)
        if status != "failed" and summary["errors"] and not self.closing:
            self._pending = Notice("errors", "", count=summary["errors"], completed=status == "completed")
        self.import_finished.emit(summary)

    def _counted(self, summary: dict[str, Any]) -> str:
        """A finished run's (import or reprocess) counts, shown; its status."""
        self.run_id = summary["run_id"]
        self.error_count = summary["errors"]
        self.errors.emit(self.error_count)
        if summary["status"] == "completed":
            self.progress.emit({"percent": 100.0})
        return str(summary["status"])

    def _said(self, status: str, text: str) -> None:
        """The end of a run, told: finished, its line, and a failure's box (once the job's thread has ended)."""
        self._set_state(FINISHED)
        self.status.emit("Finished." if status == "completed" else text)
        self.summary.emit(text)
        if status == "failed":
            self._pending = Notice("problem", text, "The error log (the Errors button) shows what happened.")

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self.elapsed_timer.stop()
        message = failure_text(exc)
        self._set_state(FINISHED)
        self.status.emit("Could not import.")
        self._pending = Notice("problem", message)
        self.import_finished.emit({"status": "failed", "error": message})

    @Slot()
    def _job_ended(self) -> None:
        """A job's thread has ended: the buttons may change, a notice may be shown, the window may close."""
        self.state_changed.emit(self.state)
        if not self.busy:
            notice, self._pending = self._pending, None
            if notice is not None and not self.closing:
                if notice.kind == "problem":
                    log.warning("shown to the user: %s", notice.text)
                self.notice.emit(notice)
        if self.closing and not Job.running():
            self.closable.emit()

    def _problem_now(self, text: str) -> None:
        log.warning("shown to the user: %s", text)
        self.notice.emit(Notice("problem", text))

    # --- closing ---------------------------------------------------------------------------------------------
    def request_close(self) -> bool:
        """True when the window may close now; else every job is asked to stop and `closable` follows."""
        self._stop_preview()
        if not Job.running():
            return True
        if not self.closing:
            self.closing = True
            for job in Job.running():  # this window's and its other windows' (the view's own too)
                job.finished.connect(self._job_ended)
            Job.quit_all()
            if self.importing:
                self._set_state(STOPPING)
            self.status.emit("Stopping…")
        return False


def preview_text(found: dict[str, Any]) -> str:
    span = f", {found['first'][:10]} to {found['last'][:10]}" if found.get("first") and found.get("last") else ""
    text = (
        f"{found['conversations']:,} conversations, {found['messages']:,} messages{span}; "
        f"{size_text(found['size'])} ({found['kind']})"
    )
    if found.get("media_files"):
        text += f"; {found['media_files']:,} media files ({size_text(found['media_bytes'])})"
    if not found.get("complete"):
        text = f"Reading… {found.get('percent', 0):.0f}%: so far " + text
    return text
