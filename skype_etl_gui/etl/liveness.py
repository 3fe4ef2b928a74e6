"""Whether a run recorded as running still has a process running it.

Each run records its process id, its machine and a heartbeat (the time of its
last write). A run whose process is gone (the same machine and no such
process, or no longer the process that started it) or whose heartbeat is older
than HEARTBEAT_LIMIT_S (another machine) is `interrupted`: it can be resumed.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timezone
from typing import Any

import psutil

from .values import utc_now

HEARTBEAT_LIMIT_S = 15 * 60  # a run on another machine that wrote nothing for this long is taken for gone
HEARTBEAT_EVERY_S = 30.0  # how often a paused run says it is still there
HOST = socket.gethostname()
_live: set[str] = set()  # this process's runs in progress
_lock = threading.Lock()


def liveness() -> dict[str, Any]:
    """What a run records about who runs it."""
    return {"pid": os.getpid(), "host": HOST, "heartbeat_at": utc_now()}


def running(run_id: str) -> None:
    with _lock:
        _live.add(run_id)


def stopped(run_id: str) -> None:
    with _lock:
        _live.discard(run_id)


def is_gone(run: dict[str, Any], now: datetime | None = None) -> bool:
    """Whether a run recorded as running has lost its process."""
    pid, host = run.get("pid"), run.get("host")
    if pid is None or not host:
        return True  # recorded by an earlier version, which did not say: only a killed import leaves one so
    if host == HOST:
        if pid == os.getpid():
            with _lock:
                return run.get("id") not in _live
        return not _same_process(int(pid), _moment(run.get("started_at")))
    beat = _moment(run.get("heartbeat_at")) or _moment(run.get("started_at"))
    if beat is None:
        return True
    return ((now or datetime.now(timezone.utc)) - beat).total_seconds() > HEARTBEAT_LIMIT_S


def _same_process(pid: int, started: datetime | None) -> bool:
    """Whether `pid` is a process that was there when the run started (not a new one that got the number)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return psutil.pid_exists(pid) if pid > 0 else False
    return started is None or created <= started.timestamp() + 1.0


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def who(run: dict[str, Any]) -> str:
    """The process of a run, for a person: "process 4242 on laptop"."""
    return f"process {run.get('pid')} on {run.get('host')}"
