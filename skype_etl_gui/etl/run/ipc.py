"""The worker process: the producer in a process of its own, batches sent back over a pipe.

A plain subprocess (`python -m skype_etl_gui.etl.run.worker`), not multiprocessing:
that would re-import the caller's main module in the child, which breaks scripts
without a `__main__` guard, and forking beside Qt's threads is unsafe. Batches
travel as length-prefixed pickles over stdout; the pipe's buffer is the queue, so
a worker runs at most a batch or two ahead of a paused or slow database.

What is pickled is defined in modules of their own (records.py, here), never in
`__main__`, so both sides name the same classes.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import ExportError, ExportReadError, StageFailure
from ..extract import ExportSource
from .producer import BatchSize, Producer, Whereabouts


@dataclass
class ProducerFailure:
    """An exception from the worker, carried back as data."""

    kind: str  # "export" (rejected input), "read" (broke mid-way), "crash"
    message: str
    detail: str = ""  # a crash's traceback
    phase: str = "extract"  # where a crash happened
    error_type: str = ""


FRAME_HEADER = 8
# rows unpickled in one call: unpickling holds the interpreter lock throughout, and a batch's 5,000
# messages at once held it for 17 ms, which the window's GUI thread waited out; a slice of 500 takes ~2 ms
SLICE_ROWS = 500


@dataclass
class _Slices:
    """A long list of an item's, pickled a slice at a time (see SLICE_ROWS)."""

    pickles: list[bytes]

    def rows(self) -> list[Any]:
        rows: list[Any] = []
        for piece in self.pickles:
            rows += pickle.loads(piece)  # noqa: S301 - our own child process, over a private pipe
        return rows


def frame(item: Any) -> bytes:
    if is_dataclass(item) and not isinstance(item, type):
        long = {
            f.name: value
            for f in fields(item)
            if isinstance(value := getattr(item, f.name), list) and len(value) > SLICE_ROWS
        }
        if long:
            item = copy.copy(item)
            for name, rows in long.items():
                pieces = [rows[at : at + SLICE_ROWS] for at in range(0, len(rows), SLICE_ROWS)]
                setattr(item, name, _Slices([pickle.dumps(piece, pickle.HIGHEST_PROTOCOL) for piece in pieces]))
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
    item = pickle.loads(data)  # noqa: S301 - our own child process, over a private pipe
    if is_dataclass(item) and not isinstance(item, type):
        for f in fields(item):
            if isinstance(value := getattr(item, f.name), _Slices):
                setattr(item, f.name, value.rows())
    return item


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


PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])  # the folder holding skype_etl_gui
# Runs a module of this package as a process of its own. Where the package is not installed (a source checkout), its
# folder is added at the end of the path, never before the standard library (PYTHONPATH would put it first).
_BOOTSTRAP = (
    "import runpy, sys\n"
    "try:\n"
    "    import skype_etl_gui\n"
    "except ImportError:\n"
    "    sys.path.append({root!r})\n"
    "module = sys.argv.pop(1)\n"
    "runpy.run_module(module, run_name='__main__', alter_sys=True)\n"
)


def child_command(module: str, *args: str) -> list[str]:
    """`python -m module args` for a module of this package, found whether the package is installed or not."""
    return [sys.executable, "-c", _BOOTSTRAP.format(root=PACKAGE_ROOT), module, *args]


WORKER_COMMAND = child_command("skype_etl_gui.etl.run.worker")


def worker_settings(
    source: ExportSource,
    run_id: str,
    batch_size: int,
    target_kind: str,
    start: dict[str, Any] | None,
    whereabouts: str | None = None,
    search_column: bool = False,
) -> bytes:
    """The worker's first line on stdin (a checkpoint can be larger than a command line may be)."""
    settings = {
        "export": str(source.path),
        "source": {f.name: getattr(source, f.name) for f in fields(source) if f.name != "path"},
        "run_id": run_id,
        "batch_size": batch_size,
        "target_kind": target_kind,
        "start": start,
        "whereabouts": whereabouts,
        "search_column": search_column,
    }
    return json.dumps(settings).encode() + b"\n"


def worker_main(argv: list[str]) -> int:
    """The worker: settings as the first line on stdin, batches to stdout; later lines are new batch sizes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group; the parent decides
    settings = json.loads(sys.stdin.readline())
    batch_size = BatchSize(int(settings["batch_size"]))

    def listen() -> None:
        for line in sys.stdin:
            if line.strip().isdigit():
                batch_size.value = int(line)

    threading.Thread(target=listen, daemon=True).start()

    def produce(writer: FrameWriter) -> None:
        Producer(
            settings["export"],
            settings["run_id"],
            batch_size,
            writer.put,
            target_kind=settings["target_kind"],
            search_column=bool(settings.get("search_column")),
            start=settings.get("start"),
            source=ExportSource(Path(settings["export"]), **settings["source"]),
            whereabouts=Whereabouts(settings.get("whereabouts")),
            # SQLite's loading process waits for this one about a third of the time: it reads those
            defer_derive=settings["target_kind"] == "sqlite",
        ).run()

    return serve(sys.stdout.buffer, "extract", produce)


def serve(out: IO[bytes], phase: str, work: Callable[[FrameWriter], None]) -> int:
    """A child process's body (the import's worker, a reprocess's deriving process): `work` puts its frames on
    `out`; what it raises goes to the parent as a ProducerFailure (of `phase`, unless it says its own); a parent
    that stopped reading (it cancelled, or is gone) ends it quietly. The exit code."""
    writer = FrameWriter(out)
    try:
        try:
            work(writer)
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which records the failure
            writer.put(_failure_of(phase, exc))
        writer.close()
    except BrokenPipeError:
        return 0
    return 0


def failure_exception(failure: ProducerFailure) -> Exception:
    """A child's failure as the parent raises it (see _failure_of)."""
    if failure.kind == "export":
        return ExportError(failure.message)
    if failure.kind == "read":
        return ExportReadError(failure.message)
    return StageFailure(failure.phase, failure.error_type or "WorkerFailed", failure.message, failure.detail)


def stopped_unexpectedly(what: str, child: subprocess.Popen[bytes], stderr: IO[bytes]) -> str:
    """ "`what` stopped unexpectedly (exit code N): the last line it wrote", for a child that ended without a
    word; `stderr` is the file its standard error went to."""
    code = child.wait()
    stderr.seek(0)
    detail = stderr.read()[-2000:].decode(errors="replace").strip().splitlines()
    return f"{what} stopped unexpectedly (exit code {code})" + (f": {detail[-1]}" if detail else "")


def _failure_of(phase: str, exc: Exception) -> ProducerFailure:
    if isinstance(exc, ExportError):
        return ProducerFailure("export", str(exc))
    if isinstance(exc, ExportReadError):
        return ProducerFailure("read", str(exc))
    failure = exc if isinstance(exc, StageFailure) else StageFailure.of(phase, exc)
    return ProducerFailure("crash", failure.message, failure.detail, failure.phase, failure.error_type)


def worth_a_worker(export_path: str | os.PathLike[str], threshold_bytes: int) -> bool:
    """A worker process pays for itself only on exports of some size, and with a second core."""
    try:
        size = os.path.getsize(export_path)
    except OSError:
        return False
    return (os.cpu_count() or 1) >= 2 and size >= threshold_bytes
