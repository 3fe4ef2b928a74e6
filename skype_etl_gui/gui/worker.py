"""The import in a QThread, and the bridge from ETLContext events to Qt signals.

The worker object lives in its own thread; the window talks to it through
signals carrying plain data (Signal(object)), and to the pipeline only through
its thread-safe pause/resume/cancel. Context events arrive on the worker's
thread and are throttled here, so a run with a million repaired records does not
flood the window with a million signals.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from ..etl import ETLPipeline
from ..etl.context import ErrorRecord, ETLContext, MemorySample, Progress
from ..etl.pipeline import REJECTED

SIGNAL_INTERVAL_S = 0.25  # a few updates a second are all a person can read


class ImportWorker(QObject):
    """Runs one ETLPipeline.run; moved to a QThread by ImportController."""

    started = Signal()
    progress = Signal(object)  # dict: Progress fields
    memory = Signal(object)  # dict: MemorySample fields
    errors = Signal(object)  # dict: {"count", "latest": ErrorRecord fields}
    phase = Signal(object)  # dict: PhaseInfo fields
    checkpoint = Signal(object)  # dict: the checkpoint committed
    # "holding" once a pause has taken effect, "running" again after; a str, not a bool: PySide6 6.12
    # miscounts references of True/False sent through Signal(object) and aborts at exit after many
    holding = Signal(object)
    finished = Signal(object)  # dict: the run's summary
    failed = Signal(str)  # one clear line

    def __init__(self, pipeline: ETLPipeline, export_path: str, resume: bool) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.export_path = export_path
        self.resume = resume
        self._last_memory = 0.0
        self._last_errors = 0.0
        self._error_count = 0
        self._state = "running"

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:
            hand_back_and_quit(self)

    def _run(self) -> None:
        self.started.emit()
        context = self.pipeline.new_context()
        context.subscribe("progress", self._on_progress)
        context.subscribe("memory", self._on_memory)
        context.subscribe("error", self._on_error)
        context.subscribe("phase", lambda p: self.phase.emit(dict(p)))
        context.subscribe("checkpoint", lambda c: self.checkpoint.emit(dict(c)))
        try:
            summary = self.pipeline.run(self.export_path, resume=self.resume, context=context)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the window as one line
            message = str(exc) if _is_clear(exc) else f"unexpected failure: {type(exc).__name__}: {exc}"
            detail = "" if _is_clear(exc) else traceback.format_exc()
            self.failed.emit(message + (f"\n\n{detail}" if detail else ""))
            return
        self._flush_errors(context)
        self.finished.emit(summary)

    def _on_progress(self, progress: Progress) -> None:
        self.progress.emit(asdict(progress))
        state = "holding" if self.pipeline.is_holding else "running"
        if state != self._state:
            self._state = state
            self.holding.emit(state)

    def _on_memory(self, sample: MemorySample) -> None:
        now = time.monotonic()
        if now - self._last_memory >= SIGNAL_INTERVAL_S:
            self._last_memory = now
            self.memory.emit(asdict(sample))

    def _on_error(self, record: ErrorRecord) -> None:
        self._error_count += 1
        now = time.monotonic()
        if now - self._last_errors >= SIGNAL_INTERVAL_S:
            self._last_errors = now
            self.errors.emit({"count": self._error_count, "latest": asdict(record)})

    def _flush_errors(self, context: ETLContext) -> None:
        self.errors.emit({"count": context.error_count, "latest": None})


def hand_back_and_quit(obj: QObject) -> None:
    """End a worker object's thread from inside it, the object moved back to the GUI thread first.

    Quit from here, not through a queued signal: the window may be blocked in thread.wait().
    The object goes back so that it is destroyed in the GUI thread: a Python-made QObject
    destroyed in an ending thread needs the GIL and shiboken's lock in an order that can
    deadlock with the GUI thread making widgets (seen as a hang of about 1 in 30 runs).
    """
    thread = obj.thread()
    app = QCoreApplication.instance()
    if app is not None:
        obj.moveToThread(app.thread())
    if thread is not None:
        thread.quit()


def _is_clear(exc: Exception) -> bool:
    return isinstance(exc, REJECTED)


class ImportController(QObject):
    """Owns the thread and the worker of one import; keeps both alive until the thread has finished."""

    def __init__(self, pipeline: ETLPipeline, export_path: str, resume: bool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pipeline = pipeline
        self.thread = QThread()
        self.thread.setObjectName("skype-etl-import")
        self.worker = ImportWorker(pipeline, export_path, resume)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)

    def start(self) -> None:
        self.thread.start()

    def pause(self) -> None:
        self.pipeline.pause()

    def resume(self) -> None:
        self.pipeline.resume()

    def cancel(self) -> None:
        self.pipeline.cancel()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def stop_and_wait(self, timeout_ms: int = 60_000) -> bool:
        """Cancel at the next batch boundary and wait for the thread: what is committed stays, resumable."""
        if self.thread.isRunning():
            self.pipeline.cancel()
            return bool(self.thread.wait(timeout_ms))
        return True
