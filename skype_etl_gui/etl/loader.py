"""The loader interface: what the pipeline needs from a database, whichever it is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .context import ErrorRecord
from .urls import DatabaseTarget, parse_database_url

RUN_FIELDS = (
    "id",
    "export_path",
    "export_fingerprint",
    "export_size",
    "export_user_id",
    "export_date",
    "database_url",
    "status",
    "started_at",
    "finished_at",
    "duration_s",
    "conversations",
    "messages",
    "messages_skipped",
    "errors",
    "resumed_from",
    "checkpoint",
    "telemetry",
    "error_message",
)
RESUMABLE = ("running", "failed", "cancelled")
ERROR_FIELDS = (
    "id",
    "run_id",
    "created_at",
    "phase",
    "severity",
    "conversation_id",
    "message_id",
    "error_type",
    "message",
    "raw_snippet",
)


class DatabaseError(Exception):
    """The database cannot be used: unreachable, refused, unwritable (exit 2 before a run begins)."""


@dataclass
class Batch:
    """Everything one transaction writes: rows, the errors met, and the checkpoint they reach."""

    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    participants: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    messages_copy: str | None = None  # the messages already as COPY text (PostgreSQL, made by the producer)
    attachments: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    run_update: dict[str, Any] = field(default_factory=dict)

    def run_fields(self) -> dict[str, Any]:
        """What this batch changes in its run's row: counters and the checkpoint."""
        fields = dict(self.run_update)
        if self.checkpoint is not None:
            fields["checkpoint"] = self.checkpoint
        return fields

    def is_empty(self) -> bool:
        return not (
            self.conversations
            or self.participants
            or self.messages
            or self.messages_copy
            or self.attachments
            or self.errors
        )


class Loader(ABC):
    """One database target. Every write_batch is one transaction."""

    def __init__(self, target: DatabaseTarget) -> None:
        self.target = target
        # told when a lost connection is being retried (the pipeline records it as a warning)
        self.on_retry: Callable[[str], None] | None = None

    @property
    def display_url(self) -> str:
        return self.target.display

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def ensure_schema(self) -> int:
        """Create or migrate the tables; returns the schema version."""

    @abstractmethod
    def start_run(self, run: dict[str, Any], supersedes: str | None = None) -> None:
        """Record a new run; `supersedes` (a resumed run) is marked "resumed" in the same transaction."""

    @abstractmethod
    def write_batch(self, run_id: str, batch: Batch) -> None:
        """Rows, errors, checkpoint and run counters, all in one transaction."""

    @abstractmethod
    def finish_run(self, run_id: str, fields: dict[str, Any]) -> None: ...

    @abstractmethod
    def runs(self, limit: int = 50) -> list[dict[str, Any]]: ...

    def unfinished_runs(self) -> list[dict[str, Any]]:
        """Runs that stopped before completing (cancelled, failed, or killed while running), newest first."""
        return [run for run in self.runs(limit=1000) if run["status"] in RESUMABLE]

    @abstractmethod
    def errors(self, run_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]: ...

    @abstractmethod
    def table_counts(self) -> dict[str, int]: ...

    def __enter__(self) -> Loader:
        self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_loader(database: str | dict[str, Any] | DatabaseTarget) -> Loader:
    """A loader for a URL, a legacy db_config dict or a parsed target (not yet connected)."""
    target = database if isinstance(database, DatabaseTarget) else parse_database_url(database)
    if target.kind == "sqlite":
        from .sqlite import SQLiteLoader

        return SQLiteLoader(target)
    from .postgres import PostgresLoader

    return PostgresLoader(target)
