"""ETLContext: the shared, observable state of one import run.

The context knows where the run is (phases, progress, memory, errors,
checkpoint) and tells whoever listens. It never holds the data being imported:
errors waiting to be written are handed to the loader batch by batch.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

from ..records import ErrorRecord
from ..redact import redact_text
from ..values import short_text, utc_now

EVENTS = ("progress", "memory", "error", "phase", "checkpoint")
SEVERITIES = ("warning", "error", "fatal")
Listener = Callable[[Any], None]


@dataclass
class PhaseInfo:
    name: str
    status: str = "pending"  # pending, running, completed, failed, cancelled
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float = 0.0
    items: int = 0
    _t0: float = field(default=0.0, repr=False)
    _accounted: bool = field(default=False, repr=False)  # duration added piecewise, not wall time

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_t0")
        data.pop("_accounted")
        return data


@dataclass
class Progress:
    bytes_read: int = 0
    bytes_total: int = 0
    conversations: int = 0
    messages: int = 0
    messages_skipped: int = 0
    rate: float = 0.0  # messages per second since the run began
    elapsed_s: float = 0.0
    eta_s: float | None = None
    percent: float = 0.0
    media_files: int = 0  # media files stored (or found stored) so far
    media_bytes: int = 0  # their bytes


@dataclass
class MemorySample:
    rss_mb: float
    peak_mb: float
    limit_mb: float
    near_limit: bool


class ETLContext:
    """Phases, progress, memory, errors and checkpoints of one run, with listeners."""

    def __init__(
        self,
        run_id: str | None = None,
        memory_limit_mb: float = 1024,
        memory_warning_ratio: float = 0.85,
        progress_interval_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id or uuid.uuid4().hex
        self.memory_limit_mb = float(memory_limit_mb)
        self.memory_warning_ratio = memory_warning_ratio
        self.progress_interval_s = progress_interval_s
        self._clock = clock
        self._lock = threading.RLock()
        self._listeners: dict[str, list[Listener]] = {name: [] for name in EVENTS}
        self.phases: dict[str, PhaseInfo] = {}
        self.progress = Progress()
        self._t0 = clock()
        self._last_progress_emit = float("-inf")
        self._process = psutil.Process()
        self._watched: dict[int, psutil.Process] = {}
        self.memory_peak_mb = 0.0
        self.memory_warned = False
        self.error_counts: dict[str, int] = {name: 0 for name in SEVERITIES}
        self.error_types: dict[str, int] = {}
        self._pending_errors: list[ErrorRecord] = []
        self.checkpoint: dict[str, Any] | None = None

    # --- listeners -------------------------------------------------------------
    def subscribe(self, event: str, callback: Listener) -> Callable[[], None]:
        """Call `callback(payload)` on each `event`; returns a function that unsubscribes."""
        if event not in self._listeners:
            raise ValueError(f"unknown event {event!r}; expected one of {', '.join(EVENTS)}")
        with self._lock:
            self._listeners[event].append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners[event]:
                    self._listeners[event].remove(callback)

        return unsubscribe

    def _emit(self, event: str, payload: Any) -> None:
        with self._lock:
            listeners = list(self._listeners[event])
        for callback in listeners:
            callback(payload)

    # --- phases ------------------------------------------------------------------
    def start_phase(self, name: str) -> PhaseInfo:
        with self._lock:
            phase = self.phases.get(name) or PhaseInfo(name)
            phase.status = "running"
            phase.started_at = phase.started_at or utc_now()
            phase._t0 = self._clock()
            self.phases[name] = phase
        self._emit("phase", phase.as_dict())
        return phase

    def add_phase_items(self, name: str, count: int, seconds: float = 0.0) -> None:
        """Account work done in a phase that interleaves with others (extract, transform, load run batch by batch)."""
        phase = self.phases.get(name)
        if phase is not None:
            phase.items += count
            phase.duration_s += seconds
            phase._accounted = True

    def end_phase(self, name: str, status: str = "completed") -> PhaseInfo:
        with self._lock:
            phase = self.phases.get(name) or PhaseInfo(name, started_at=utc_now(), _t0=self._clock())
            if not phase._accounted:
                phase.duration_s = self._clock() - phase._t0
            phase.status = status
            phase.ended_at = utc_now()
            self.phases[name] = phase
        self._emit("phase", phase.as_dict())
        return phase

    # --- progress ------------------------------------------------------------------
    def update_progress(
        self,
        *,
        bytes_read: int | None = None,
        bytes_total: int | None = None,
        conversations: int | None = None,
        messages: int | None = None,
        messages_skipped: int | None = None,
        media_files: int | None = None,
        media_bytes: int | None = None,
        force: bool = False,
    ) -> Progress:
        """Record where the run is; listeners hear of it at most every `progress_interval_s`."""
        p = self.progress
        if bytes_read is not None:
            p.bytes_read = bytes_read
        if bytes_total is not None:
            p.bytes_total = bytes_total
        if conversations is not None:
            p.conversations = conversations
        if messages is not None:
            p.messages = messages
        if messages_skipped is not None:
            p.messages_skipped = messages_skipped
        if media_files is not None:
            p.media_files = media_files
        if media_bytes is not None:
            p.media_bytes = media_bytes
        now = self._clock()
        p.elapsed_s = now - self._t0
        if p.elapsed_s > 0:
            p.rate = p.messages / p.elapsed_s
        if p.bytes_total:
            fraction = min(p.bytes_read / p.bytes_total, 1.0)
            p.percent = fraction * 100.0
            p.eta_s = p.elapsed_s * (1 - fraction) / fraction if fraction > 0 else None
        if force or now - self._last_progress_emit >= self.progress_interval_s:
            self._last_progress_emit = now
            self._emit("progress", Progress(**asdict(p)))
        return p

    # --- memory --------------------------------------------------------------------
    def watch_process(self, pid: int) -> None:
        """Count a worker process's memory with this one's."""
        try:
            self._watched[pid] = psutil.Process(pid)
        except psutil.Error:
            pass

    def unwatch_process(self, pid: int) -> None:
        self._watched.pop(pid, None)

    def _rss_bytes(self) -> int:
        total = self._process.memory_info().rss
        for pid, process in list(self._watched.items()):
            try:
                total += process.memory_info().rss
            except psutil.Error:
                self._watched.pop(pid, None)
        return total

    def rss_mb(self) -> float:
        """Resident memory of the run now, this process and its workers together (no event, no peak)."""
        return self._rss_bytes() / (1024 * 1024)

    def check_memory(self) -> MemorySample:
        """Resident memory of the run (this process and its workers) against the limit."""
        rss_mb = self._rss_bytes() / (1024 * 1024)
        self.memory_peak_mb = max(self.memory_peak_mb, rss_mb)
        near = rss_mb >= self.memory_limit_mb * self.memory_warning_ratio
        sample = MemorySample(round(rss_mb, 1), round(self.memory_peak_mb, 1), self.memory_limit_mb, near)
        self._emit("memory", sample)
        if near and not self.memory_warned:
            self.memory_warned = True
            self.record_error(
                "load",
                "warning",
                "MemoryNearLimit",
                f"memory use {rss_mb:.0f} MB is near the limit of {self.memory_limit_mb:.0f} MB; "
                "batches are made smaller",
            )
        return sample

    # --- errors --------------------------------------------------------------------
    def record_error(
        self,
        phase: str,
        severity: str,
        error_type: str,
        message: str,
        conversation_id: str | None = None,
        message_id: str | None = None,
        raw: Any = None,
    ) -> ErrorRecord:
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
        snippet = None if raw is None else short_text(raw)  # the person's data, as it is
        record = ErrorRecord(
            phase=phase,
            severity=severity,
            error_type=error_type,
            message=redact_text(message),  # may quote a database URL
            conversation_id=None if conversation_id is None else str(conversation_id),
            message_id=None if message_id is None else str(message_id),
            raw_snippet=snippet,
        )
        self.add_errors([record])
        return record

    def add_errors(self, records: list[ErrorRecord]) -> None:
        """Take up errors recorded elsewhere (by a worker process's context)."""
        for record in records:
            with self._lock:
                self.error_counts[record.severity] += 1
                self.error_types[record.error_type] = self.error_types.get(record.error_type, 0) + 1
                self._pending_errors.append(record)
            self._emit("error", record)

    def drain_errors(self) -> list[ErrorRecord]:
        """Errors recorded since the last drain, for the loader to store."""
        with self._lock:
            pending, self._pending_errors = self._pending_errors, []
        return pending

    @property
    def error_count(self) -> int:
        return sum(self.error_counts.values())

    # --- checkpoints ---------------------------------------------------------------
    def create_checkpoint(self, **position: Any) -> dict[str, Any]:
        """The position a committed batch reached; stored in the same transaction as the batch."""
        checkpoint = {
            "run_id": self.run_id,
            "created_at": utc_now(),
            "messages": self.progress.messages,
            "conversations": self.progress.conversations,
            **position,
        }
        self.checkpoint = checkpoint
        self._emit("checkpoint", dict(checkpoint))
        return checkpoint

    def restore_checkpoint(self, checkpoint: dict[str, Any]) -> dict[str, Any]:
        """Take up a stored checkpoint: the counters continue from it."""
        self.checkpoint = dict(checkpoint)
        self.progress.messages = int(checkpoint.get("messages", 0))
        self.progress.conversations = int(checkpoint.get("conversations", 0))
        self._emit("checkpoint", {**checkpoint, "restored": True})
        return self.checkpoint

    # --- summary -------------------------------------------------------------------
    def get_summary(self) -> dict[str, Any]:
        p = self.progress
        return {
            "run_id": self.run_id,
            "conversations": p.conversations,
            "messages": p.messages,
            "messages_skipped": p.messages_skipped,
            "errors": self.error_count,
            "errors_by_severity": dict(self.error_counts),
            "errors_by_type": dict(self.error_types),
            "duration_s": round(self._clock() - self._t0, 3),
            "rate_messages_per_s": round(p.rate, 1),
            "memory_peak_mb": round(self.memory_peak_mb, 1),
            "memory_limit_mb": self.memory_limit_mb,
            "phases": {name: phase.as_dict() for name, phase in self.phases.items()},
            "checkpoint": self.checkpoint,
        }
