"""One window's reads of the database: a background job with one connection, answering requests in order.

A window asks with `ask(tag, call)`, where `call(loader)` runs in the job's
thread; the answer comes back as `answered(tag, result)`. A request is plain
Python, so the GUI thread never waits on a database, however slow or far it is.
"""

from __future__ import annotations

import itertools
import queue
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from ..etl.errors import DatabaseError
from . import work
from .jobs import Job


class Requests(queue.PriorityQueue):  # type: ignore[type-arg]
    """A reader's requests, each (tag, call): in the order asked, except that one asked `later` (a thumbnail)
    waits for every other (a page, a search) asked before it is taken."""

    def __init__(self) -> None:
        super().__init__()
        self._asked = itertools.count()

    def ask(self, tag: Any, call: Callable[[Any], Any], later: bool = False) -> None:
        self.put((1 if later else 0, next(self._asked), (tag, call)))

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        return super().get(block, timeout)[2]


class DatabaseReader(QObject):
    opened = Signal(bool)  # the database exists (False: nothing was imported into it yet)
    answered = Signal(object, object)  # tag, result
    failed = Signal(str)  # the database cannot be opened or read: one line for a person

    def __init__(
        self, database: str | dict[str, Any], parent: QObject | None = None, serve: Callable[..., None] | None = None
    ) -> None:
        """`serve`: the job's function (work.serve_reads, a loader; work.serve_archive, an Archive)."""
        super().__init__(parent)
        self._requests = Requests()
        self._job = Job(serve or work.serve_reads, database, self._requests, name="reader")
        self._job.yielded.connect(self._on_answer)
        self._job.errored.connect(self._on_failed)
        self.exists: bool | None = None  # known once opened

    def start(self) -> None:
        self._job.start()

    def ask(self, tag: Any, call: Callable[[Any], Any], later: bool = False) -> None:
        """`later`: what may wait for every other request asked (a thumbnail may; a page should not)."""
        self._requests.ask(tag, call, later)

    def close(self) -> None:
        self._job.quit()

    @property
    def job(self) -> Job:
        return self._job

    @Slot(object)
    def _on_answer(self, answer: tuple[Any, Any]) -> None:
        tag, result = answer
        if tag == "opened":
            self.exists = result is not None and result is not False
            self.opened.emit(self.exists)
            if self.exists and result is not True:
                self.answered.emit(tag, result)  # what opening found (the archive's conversations)
        elif isinstance(result, DatabaseError):
            self.failed.emit(str(result))
        else:
            self.answered.emit(tag, result)

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self.failed.emit(str(exc))
