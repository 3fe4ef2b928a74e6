"""The one lifecycle of every background job: results, the exception itself, pause, quit, keep-alive."""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any

import pytest

from skype_etl_gui.gui.jobs import Job, JobHandle


def counting(handle: JobHandle, upto: int, delay: float = 0.0) -> int:
    for n in range(upto):
        handle.check()
        handle.emit(n)
        time.sleep(delay)
    return upto


def test_results_come_back_in_order_then_finished(qtbot: Any) -> None:
    job = Job(counting, 5, name="count")
    seen: list[Any] = []
    job.yielded.connect(seen.append)
    job.returned.connect(lambda value: seen.append(("returned", value)))
    with qtbot.waitSignal(job.finished, timeout=5_000):
        job.start()
    assert seen == [0, 1, 2, 3, 4, ("returned", 5)]
    assert not job.is_running() and job not in Job.running()
    with pytest.raises(RuntimeError):
        job.start()  # a job runs once


def test_errored_carries_the_exception_itself(qtbot: Any) -> None:
    class Broken(Exception):
        pass

    def fail(handle: JobHandle) -> None:
        raise Broken("the disk is on fire")

    job = Job(fail, name="fail")
    with qtbot.waitSignal(job.errored, timeout=5_000) as errored:
        job.start()
    exc = errored.args[0]
    assert isinstance(exc, Broken) and str(exc) == "the disk is on fire" and exc.__traceback__ is not None
    qtbot.waitUntil(lambda: not job.is_running(), timeout=5_000)


def test_an_error_nobody_hears_is_logged(qtbot: Any, caplog: pytest.LogCaptureFixture) -> None:
    def fail(handle: JobHandle) -> None:
        raise ValueError("nobody listens")

    job = Job(fail, name="unheard")
    with caplog.at_level(logging.ERROR), qtbot.waitSignal(job.finished, timeout=5_000):
        job.start()
    record = next(r for r in caplog.records if "unheard" in r.getMessage())
    assert record.exc_info is not None and "nobody listens" in str(record.exc_info[1])


def test_pause_holds_at_a_check_and_resume_goes_on(qtbot: Any) -> None:
    job = Job(counting, 1000, 0.002, name="pausable")
    seen: list[int] = []
    job.yielded.connect(seen.append)
    job.start()
    qtbot.waitUntil(lambda: len(seen) > 3, timeout=5_000)
    with qtbot.waitSignal(job.paused, timeout=5_000):
        job.pause()
    held = len(seen)
    qtbot.wait(150)
    assert len(seen) <= held + 1, "nothing more while paused"
    with qtbot.waitSignal(job.resumed, timeout=5_000):
        job.resume()
    with qtbot.waitSignal(job.finished, timeout=20_000):
        pass
    assert seen == list(range(1000))


def test_quit_stops_at_the_next_check_and_says_aborted(qtbot: Any) -> None:
    job = Job(counting, 10_000, 0.001, name="quittable")
    returned: list[Any] = []
    job.returned.connect(returned.append)
    job.start()
    qtbot.wait(20)
    with qtbot.waitSignals([job.aborted, job.finished], timeout=5_000, order="strict"):
        job.quit()
    assert returned == []


def test_quit_while_paused_ends_the_job(qtbot: Any) -> None:
    job = Job(counting, 10_000, 0.001, name="paused-then-quit")
    job.start()
    with qtbot.waitSignal(job.paused, timeout=5_000):
        job.pause()
    with qtbot.waitSignal(job.aborted, timeout=5_000):
        job.quit()


def test_on_quit_reaches_work_with_a_stop_of_its_own(qtbot: Any) -> None:
    own_stop = threading.Event()

    def wait_for_own_stop(handle: JobHandle) -> str:
        own_stop.wait(10)
        return "stopped by its own flag"

    job = Job(wait_for_own_stop, name="own-stop", on_quit=own_stop.set)
    with qtbot.waitSignal(job.returned, timeout=5_000) as returned:
        job.start()
        qtbot.wait(20)
        job.quit()
    assert returned.args == ["stopped by its own flag"]
    assert job.abort_requested


def test_a_running_job_nobody_holds_is_kept_alive(qtbot: Any) -> None:
    """Dropping the last reference to a running job neither destroys its thread nor loses its results."""
    seen: list[Any] = []

    def start() -> None:
        job = Job(counting, 20, 0.005, name="orphan")
        job.returned.connect(seen.append)
        job.start()

    start()
    gc.collect()
    assert [j.objectName() for j in Job.running()] == ["orphan"]
    qtbot.waitUntil(lambda: seen == [20] and not Job.running(), timeout=5_000)


def test_wait_all_waits_for_every_job(qtbot: Any) -> None:
    for n in range(3):
        Job(counting, 30, 0.002, name=f"many-{n}").start()
    assert len(Job.running()) == 3
    assert Job.wait_all(10)
    assert Job.running() == []
