"""Short jobs off the GUI thread: the preview of an export, the connection test.

Each job is a QObject moved to a QThread of its own; results come back as
Signal(object) data. The job object and its thread stay referenced by their
Task until the thread has finished, and `cancel_and_wait` stops a job cleanly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..etl import ExportReadError, open_loader
from ..etl.extractor import ConversationEnd, Extractor, MessageChunk
from ..etl.pipeline import REJECTED
from .worker import hand_back_and_quit

UPDATE_EVERY_S = 0.3


class _Stopped(Exception):
    pass


class Job(QObject):
    update = Signal(object)  # partial results, for long jobs
    done = Signal(object)  # the result
    failed = Signal(str)  # one clear line

    def __init__(self, work: Callable[[Job], Any]) -> None:
        super().__init__()
        self.work = work
        self.cancelled = threading.Event()

    @Slot()
    def run(self) -> None:
        try:
            result = self.work(self)
        except _Stopped:
            pass
        except (*REJECTED, ExportReadError) as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown as one line; the job is a convenience
            self.failed.emit(f"unexpected failure: {type(exc).__name__}: {exc}")
        else:
            self.done.emit(result)
        finally:
            hand_back_and_quit(self)

    def check(self) -> None:
        if self.cancelled.is_set():
            raise _Stopped()


class Task(QObject):
    """One job in one thread."""

    def __init__(self, work: Callable[[Job], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.job = Job(work)
        self.job.moveToThread(self.thread)
        self.thread.started.connect(self.job.run)

    def start(self) -> None:
        self.thread.start()

    def cancel_and_wait(self, timeout_ms: int = 30_000) -> None:
        self.job.cancelled.set()
        if self.thread.isRunning():
            self.thread.wait(timeout_ms)


def preview(path: str) -> Callable[[Job], dict[str, Any]]:
    """Streams the export once: conversations, messages, first and last message time, size."""

    def work(job: Job) -> dict[str, Any]:
        extractor = Extractor(path)
        found: dict[str, Any] = {
            "conversations": 0,
            "messages": 0,
            "first": None,
            "last": None,
            "size": extractor.source.size,
            "kind": extractor.source.kind,
            "complete": False,
        }
        last_update = [time.monotonic()]

        def sink(event: Any) -> None:
            job.check()
            if isinstance(event, ConversationEnd):
                found["conversations"] += 1
            elif isinstance(event, MessageChunk):
                found["messages"] += len(event.entries)
                for entry in event.entries:
                    moment = entry.get("originalarrivaltime") if isinstance(entry, dict) else None
                    if isinstance(moment, str) and moment[:1].isdigit():
                        if found["first"] is None or moment < found["first"]:
                            found["first"] = moment
                        if found["last"] is None or moment > found["last"]:
                            found["last"] = moment
            now = time.monotonic()
            if now - last_update[0] >= UPDATE_EVERY_S:
                last_update[0] = now
                job.update.emit(dict(found, percent=100 * extractor.bytes_read / max(extractor.bytes_total, 1)))

        extractor.stream(sink)
        found["complete"] = True
        return found

    return work


def connection_test(database: Any) -> Callable[[Job], str]:
    def work(job: Job) -> str:
        loader = open_loader(database)
        loader.connect()
        loader.close()
        return "Connected"

    return work
