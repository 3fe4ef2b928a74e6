"""The one lifecycle of every background job in the window: imports, previews, reads, tests, exports.

After superqt's workers (`superqt.utils._qthreading`), with one difference: each
job has a QThread of its own instead of a place in the global thread pool, which
has as many threads as cores (two here), so a long import and a preview would
make the error log's reads wait in line.

- A job is a plain function `work(handle, *args)`, run in the job's thread. It
  hands results on with `handle.emit(value)` (the `yielded` signal), checks
  `handle.check()` between units of work (a quit raises there; a pause holds
  there), and passes `handle.stop` (a threading.Event) into long calls that can
  watch it themselves (reading an export, waiting between database retries).
- Signals, named as events: `started`, `yielded(object)`, `returned(object)`,
  `errored(object)` carrying the exception itself, `paused`, `resumed`,
  `aborted`, and `finished` once the thread has really ended.
- The Job object and its QThread are made in the GUI thread and never moved, so
  both are destroyed there: a Python-made QObject destroyed in an ending thread
  can deadlock with the GUI thread over the interpreter lock (seen in this
  project as a hang of about 1 run in 30). Emitting from the job's thread to
  receivers in the GUI thread queues the call there.
- Running jobs are kept referenced (`Job._alive`) until their thread has ended,
  so no one can drop a job and destroy a running QThread.
- An exception nobody listens to (no `errored` receiver) is logged with its
  traceback, never swallowed.
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QMetaMethod, QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)
SWITCH_INTERVAL_S = 0.001


def share_the_interpreter_lock() -> None:
    """Let the GUI thread wait at most about a millisecond for the interpreter lock, not Python's default 5 ms.

    The window calls into Python many times per repaint (the item models), and
    each call takes the lock; while a job runs Python, each waited up to 5 ms.
    Measured on a 10 ms timer beside a busy thread: the longest gap went from
    16 ms to 12 ms. Called once by the program, before its window opens.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)


class Aborted(Exception):
    """Raised by `JobHandle.check()` once the job was asked to quit."""


class JobHandle:
    """What a job's work function is given: its stop flag, its pause point, and a way to hand results on."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self.stop = job._stop

    @property
    def stopped(self) -> bool:
        return self.stop.is_set()

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call `callback` when the job is asked to quit (at once if it was already): to stop a child process."""
        self._job._add_stop_hook(callback)

    def emit(self, value: Any) -> None:
        """Hand a result on to the GUI thread (the `yielded` signal)."""
        self._job.yielded.emit(value)

    def check(self) -> None:
        """A unit of work is done: quit here if asked to, or hold here while paused."""
        if self.stop.is_set():
            raise Aborted()
        if not self._job._go.is_set():
            self._job.paused.emit()
            while not self._job._go.wait(0.1):
                if self.stop.is_set():
                    raise Aborted()
            self._job.resumed.emit()
            if self.stop.is_set():
                raise Aborted()


class _JobThread(QThread):
    def __init__(self, job: Job) -> None:
        super().__init__()
        # weakly: a cycle job <-> thread could be collected by the garbage collector in any thread
        self._job = weakref.ref(job)

    def run(self) -> None:  # runs in the new thread; the job is alive (in Job._alive) until it has ended
        job = self._job()
        if job is not None:
            job._run()


class Job(QObject):
    started = Signal()
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)  # the exception itself
    paused = Signal()
    resumed = Signal()
    aborted = Signal()
    finished = Signal()  # the thread has ended; emitted in the GUI thread

    _alive: ClassVar[set[Job]] = set()

    def __init__(
        self,
        work: Callable[..., Any],
        *args: Any,
        name: str = "job",
        on_quit: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        """`on_quit`: called by `quit()` too, in the GUI thread: for work with a stop of its own (a pipeline)."""
        super().__init__()
        self.setObjectName(name)
        self._work = work
        self._args = args
        self._kwargs = kwargs
        self._stop_hooks: list[Callable[[], None]] = [on_quit] if on_quit is not None else []
        self._hooks_lock = threading.Lock()
        self._stop = threading.Event()
        self._go = threading.Event()
        self._go.set()
        self._thread = _JobThread(self)
        self._thread.setObjectName(f"skype-etl-{name}")
        self._thread.finished.connect(self._ended)
        self._started = False

    # --- control, from the GUI thread ------------------------------------------------------------
    def start(self) -> Job:
        if self._started:
            raise RuntimeError(f"the job {self.objectName()} was started already")
        self._started = True
        Job._alive.add(self)
        self._thread.start()
        return self

    def quit(self) -> None:
        """Ask the job to stop at its next check (and its own stop, if it has one); `aborted` tells when it did."""
        with self._hooks_lock:
            self._stop.set()
            hooks = list(self._stop_hooks)
        self._go.set()
        for hook in hooks:
            hook()

    def pause(self) -> None:
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    def _add_stop_hook(self, callback: Callable[[], None]) -> None:
        with self._hooks_lock:
            stopped = self._stop.is_set()
            if not stopped:
                self._stop_hooks.append(callback)
        if stopped:
            callback()

    @property
    def abort_requested(self) -> bool:
        return self._stop.is_set()

    def is_running(self) -> bool:
        """Started and its thread not yet ended (until `finished`)."""
        return self in Job._alive

    # --- in the job's thread --------------------------------------------------------------------
    def _run(self) -> None:
        self.started.emit()
        try:
            result = self._work(JobHandle(self), *self._args, **self._kwargs)
        except Aborted:
            self.aborted.emit()
        except Exception as exc:  # noqa: BLE001 - carried to the GUI thread as the exception itself
            if self.isSignalConnected(QMetaMethod.fromSignal(self.errored)):
                self.errored.emit(exc)
            else:
                log.error("job %s failed and nobody listened", self.objectName(), exc_info=exc)
        else:
            self.returned.emit(result)

    # --- back in the GUI thread ----------------------------------------------------------------
    @Slot()
    def _ended(self) -> None:
        self._thread.wait()  # `finished` comes from the thread just before it ends: let it end
        Job._alive.discard(self)
        self.finished.emit()

    # --- all of them ------------------------------------------------------------------------------
    @classmethod
    def running(cls) -> list[Job]:
        return list(cls._alive)

    @classmethod
    def quit_all(cls) -> None:
        for job in cls.running():
            job.quit()

    @classmethod
    def wait_all(cls, timeout_s: float = 60.0) -> bool:
        """Block until every job's thread has ended (for tests and the last moment of a program).

        The window never calls this: it asks jobs to quit and closes once `finished` says they did.
        """
        deadline = QDeadlineTimer(int(timeout_s * 1000))
        for job in cls.running():
            if not job._thread.wait(deadline):
                return False
        app = QCoreApplication.instance()
        if app is not None:
            app.processEvents()  # deliver the queued `finished`, so the jobs are let go
        return True
