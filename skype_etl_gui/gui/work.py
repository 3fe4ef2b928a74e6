"""What the window's background jobs do: every file, database and keyring call of the window is here.

Each function runs in a Job's thread (see jobs.py) and is given its JobHandle
first: it hands results on with `handle.emit`, stops at `handle.check()` or
passes `handle.stop` into calls that watch it. None of them touches a widget;
they take and return plain data.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from ..errors_file import write_errors
from ..etl.errors import DatabaseError, ExportError, ExportReadError
from ..etl.load import ErrorFilter, open_loader
from ..etl.load.registry import open_for_reading
from ..etl.records import ErrorRecord
from ..etl.run.context import MemorySample, Progress
from ..etl.run.ipc import child_command, stopped_unexpectedly
from ..etl.run.pipeline import ETLPipeline, Prepared
from ..paths import private_file, private_folder
from . import passwords
from .jobs import JobHandle

UPDATE_EVERY_S = 0.25  # a few updates a second are all a person can read


# --- the import ----------------------------------------------------------------------------------------
def check_export(handle: JobHandle, pipeline: ETLPipeline, export: str) -> Prepared:
    """The export inspected once, the database opened and migrated, an unfinished import of it looked up.

    Each step of a migration (an archive of an earlier version) is emitted as ("migrating", (step, n, steps))."""
    told = pipeline.on_migrate
    pipeline.on_migrate = lambda step, number, steps: (
        told(step, number, steps),
        handle.emit(("migrating", (step, number, steps))),
    )
    try:
        return pipeline.prepare(export)
    finally:
        pipeline.on_migrate = told


class _Reporter:
    """Context events to the window: throttled, as plain data (`handle.emit` of (kind, value) pairs)."""

    def __init__(self, handle: JobHandle, pipeline: ETLPipeline) -> None:
        self.handle = handle
        self.pipeline = pipeline
        self.state = "running"
        self.errors = 0
        self.last: dict[str, float] = {}

    def _due(self, kind: str) -> bool:
        now = time.monotonic()
        if now - self.last.get(kind, 0.0) < UPDATE_EVERY_S:
            return False
        self.last[kind] = now
        return True

    def _state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.handle.emit(("state", state))

    def on_progress(self, progress: Progress) -> None:  # already throttled by the context
        self.handle.emit(("progress", asdict(progress)))
        self._state("holding" if self.pipeline.is_holding else "running")

    def on_memory(self, sample: MemorySample) -> None:
        if self._due("memory"):
            self.handle.emit(("memory", asdict(sample)))

    def on_error(self, record: ErrorRecord) -> None:
        self.errors += 1
        if record.error_type == "ConnectionLost":
            self._state("reconnecting")
        if self._due("errors"):
            self.handle.emit(("errors", self.errors))

    def on_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.handle.emit(("run", checkpoint.get("run_id")))
        self._state("holding" if self.pipeline.is_holding else "running")


def run_import(
    handle: JobHandle, pipeline: ETLPipeline, export: str, resume: bool, prepared: Prepared | None
) -> dict[str, Any]:
    """The import itself; its summary is the job's result. Quitting the job cancels the pipeline."""
    reporter = _Reporter(handle, pipeline)
    context = pipeline.new_context()
    context.subscribe("progress", reporter.on_progress)
    context.subscribe("memory", reporter.on_memory)
    context.subscribe("error", reporter.on_error)
    context.subscribe("checkpoint", reporter.on_checkpoint)
    summary = pipeline.run(export, resume=resume, context=context, prepared=prepared)
    handle.emit(("errors", context.error_count))
    return summary


def run_reprocess(handle: JobHandle, database: str | dict[str, Any]) -> dict[str, Any]:
    """Re-derive the whole archive (see etl/run/reprocess.py); its summary is the job's result.

    Emits progress as ("progress", fields with "percent") a few times a second; quitting the job cancels it
    after the current page, which is kept.
    """
    from ..etl.load import open_existing
    from ..etl.run.reprocess import Reprocess, ReprocessProgress

    loader = open_existing(database)
    try:
        last = [0.0]

        def report(progress: ReprocessProgress) -> None:
            now = time.monotonic()
            if now - last[0] >= UPDATE_EVERY_S or progress.percent >= 100:
                last[0] = now
                handle.emit(("progress", {**asdict(progress), "percent": progress.percent}))

        job = Reprocess(loader, on_progress=report)
        handle.on_stop(job.cancel)
        return job.run()
    finally:
        loader.close()


# --- the export's preview and the connection test -------------------------------------------------------
def preview_export(handle: JobHandle, path: str) -> dict[str, Any]:
    """What the export holds (see etl/extract/survey.py), surveyed by a process of its own.

    Parsing in this process would hold the interpreter lock for tens of
    milliseconds at a time and stall the window; the child's answers come back as
    JSON lines, and a quit stops it at once.
    """
    command = child_command("skype_etl_gui.etl.extract.survey", path)
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
        handle.on_stop(child.kill)
        found: dict[str, Any] | None = None
        assert child.stdout is not None
        with child.stdout:
            for line in child.stdout:
                data = json.loads(line)
                if "error" in data:
                    raise (ExportError if data["rejected"] else ExportReadError)(data["error"])
                if data.get("complete"):
                    found = data
                else:
                    handle.emit(data)
        child.wait()
        handle.check()  # stopped: the child was killed
        if found is None:
            raise ExportReadError(f"{path}: {stopped_unexpectedly('the preview', child, stderr)}")
    return found


def try_connection(handle: JobHandle, database: str | dict[str, Any]) -> str:
    loader = open_loader(database)
    loader.connect()
    loader.close()
    return "Connected"


# --- reading runs and errors back ------------------------------------------------------------------------
# a tag to know the answer by, and what to ask the job's reader (a Loader for serve_reads, an Archive for
# serve_archive)
Request = tuple[Any, Callable[[Any], Any]]


def _answer(
    handle: JobHandle, requests: queue.Queue[Request], reader: Any, caught: tuple[type[Exception], ...]
) -> None:
    """Each request in order, until the job is asked to quit: (tag, what the call made of `reader`), or (tag, the
    error) for one of `caught`; (tag, None) when there is no reader."""
    while not handle.stopped:
        try:
            tag, ask = requests.get(timeout=0.1)
        except queue.Empty:
            continue
        try:
            handle.emit((tag, None if reader is None else ask(reader)))
        except caught as exc:
            handle.emit((tag, exc))


def serve_reads(handle: JobHandle, database: str | dict[str, Any], requests: queue.Queue[Request]) -> None:
    """One connection for one window: answers its requests in order until the job is asked to quit.

    Emits ("opened", exists) once, then (tag, result) or (tag, DatabaseError) for each request.
    """
    loader = open_for_reading(database)  # an unusable database fails the job: the window says why
    handle.emit(("opened", loader is not None))
    try:
        _answer(handle, requests, loader, (DatabaseError,))
    finally:
        if loader is not None:
            loader.close()


def export_errors(
    handle: JobHandle,
    database: str | dict[str, Any],
    where: ErrorFilter,
    order: tuple[str, bool],
    path: str,
    kind: str,
) -> int:
    """Every error the filter lets through, in this order, to a CSV or JSON file.

    A stopped or failed export leaves no file behind.
    """
    loader = open_for_reading(database)
    if loader is None:
        return 0
    target = Path(path)
    try:
        ids = loader.error_ids(where, *order)
        with target.open("w", encoding="utf-8", newline="") as stream:
            return write_errors(_checked(handle, loader.iter_errors(ids)), stream, kind)
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    finally:
        loader.close()


def _checked(handle: JobHandle, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for count, row in enumerate(rows):
        if count % 1000 == 0:
            handle.check()
        yield row


# --- settings, the keyring, the log folder ---------------------------------------------------------------
def save_settings(handle: JobHandle, file_name: str, values: dict[str, Any]) -> None:
    """Written here, not in the GUI thread: QSettings writes its file when it syncs."""
    private_folder(Path(file_name).parent)  # owner-only: it names the exports and databases a person uses
    settings = QSettings(file_name, QSettings.Format.IniFormat)
    for key, value in values.items():
        settings.setValue(key, value)
    settings.sync()
    private_file(Path(file_name))


def keyring_state(handle: JobHandle, account: str | None) -> tuple[bool, str | None]:
    """Whether a system keyring is usable, and the password kept there for `account` (a keyring may be slow)."""
    if not passwords.available():
        return False, None
    return True, passwords.load(account) if account else None


def keep_password(handle: JobHandle, account: str, password: str | None, remember: bool) -> bool:
    """Remember (or forget) a PostgreSQL password in the keyring; False when it could not be kept."""
    if remember and password:
        return passwords.save(account, password)
    if not remember:
        passwords.forget(account)
    return True


def make_folder(handle: JobHandle, folder: str) -> str:
    private_folder(Path(folder))
    return folder


def serve_archive(handle: JobHandle, database: str | dict[str, Any], requests: queue.Queue[Request]) -> None:
    """The archive browser's one connection: opens the archive (bringing one of an earlier version up to date
    first, its search index built once: ("migrating", (step, number, steps)) a step), emits ("opened", the
    conversations), then answers its requests in order: (tag, result), or (tag, the error) for a DatabaseError
    or a QueryError."""
    from ..archive import QueryError, open_archive

    archive = open_archive(database, lambda step, number, steps: handle.emit(("migrating", (step, number, steps))))
    try:
        handle.emit(("opened", archive.conversations()))
        _answer(handle, requests, archive, (DatabaseError, QueryError))
    finally:
        archive.close()
