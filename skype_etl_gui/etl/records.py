"""What travels from the producer to a loader: one Batch per transaction, with the errors met on the way.

Both stages import this module and neither imports the other, so the producer
(and the worker process it may run in) never loads a database driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .values import utc_now


@dataclass
class ErrorRecord:
    phase: str
    severity: str
    error_type: str
    message: str
    conversation_id: str | None = None
    message_id: str | None = None
    raw_snippet: str | None = None
    created_at: str = field(default_factory=utc_now)

    def row(self, run_id: str) -> tuple[Any, ...]:
        """The etl_errors row, in the loaders' column order."""
        return (
            run_id,
            self.created_at,
            self.phase,
            self.severity,
            self.conversation_id,
            self.message_id,
            self.error_type,
            self.message,
            self.raw_snippet,
        )


class _OneTransaction:
    """What an import's batch and a reprocess's changes share: rows that hang off messages, and the run's row."""

    participants: list[tuple[Any, ...]]
    attachments: list[tuple[Any, ...]]
    reactions: list[tuple[Any, ...]]
    mentions: list[tuple[Any, ...]]
    checkpoint: dict[str, Any] | None
    run_update: dict[str, Any]

    def add_rows(self, rows: Any) -> None:
        """A transformer's Rows (besides its messages): the rows that hang off them, and the senders."""
        self.attachments += rows.attachments
        self.reactions += rows.reactions
        self.mentions += rows.mentions
        self.participants += rows.participants

    def children(self) -> dict[str, list[tuple[Any, ...]]]:
        """The rows that hang off messages, by table."""
        return {"attachments": self.attachments, "reactions": self.reactions, "mentions": self.mentions}

    def run_fields(self) -> dict[str, Any]:
        """What this transaction changes in its run's row: counters and the checkpoint."""
        fields = dict(self.run_update)
        if self.checkpoint is not None:
            fields["checkpoint"] = self.checkpoint
        return fields


@dataclass
class Batch(_OneTransaction):
    """Everything one transaction writes, and where the export stands once it is written.

    The producer fills the rows and the position; the pipeline adds the errors it
    recorded itself, the checkpoint and the run's counters; a loader writes it all
    in one transaction.
    """

    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    participants: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    messages_copy: str | None = None  # the messages already as COPY text (PostgreSQL, made by the producer)
    attachments: list[tuple[Any, ...]] = field(default_factory=list)
    reactions: list[tuple[Any, ...]] = field(default_factory=list)
    mentions: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    # where the producer stood after this batch
    position: dict[str, Any] = field(default_factory=dict)
    conversations_done: int = 0
    messages_done: int = 0
    bytes_read: int = 0
    bytes_total: int = 0
    export_user_id: str | None = None
    owner_id: str = ""  # whose the export's conversations are (its userId, or fallback_owner without one)
    export_date: str | None = None
    final: bool = False
    extract_s: float = 0.0  # so far, in the producer: parsing
    transform_s: float = 0.0  # so far: making rows
    deferred: int = 0  # message rows the importing process reads (Transformer.complete)
    message_rows: int = 0  # message entries read (one read twice counts twice: then the archive has fewer)
    # (owner_id, conversation_id, id, quoted id)
    quoting: list[tuple[str, str, str, str]] = field(default_factory=list)
    # this batch's messages whose event text shows an id a name may replace at the import's end (their keys)
    wanting_names: list[tuple[str, str, str]] = field(default_factory=list)
    # the reconciliation: (owner_id, conversation_id) -> [message records read, stored, skipped] in this batch
    tally: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    # added by the pipeline before it is written
    checkpoint: dict[str, Any] | None = None
    run_update: dict[str, Any] = field(default_factory=dict)

    def tally_rows(self, run_id: str) -> list[tuple[Any, ...]]:
        """run_conversations rows of this batch's counts (added to what the run counted before)."""
        return [(run_id, owner, conv, *counts) for (owner, conv), counts in self.tally.items()]

    def is_empty(self) -> bool:
        return not (
            self.tally
            or self.conversations
            or self.participants
            or self.messages
            or self.messages_copy
            or self.attachments
            or self.reactions
            or self.mentions
            or self.errors
        )


# the message columns a reprocess rewrites, in the order of a Changes.messages row (then the key)
REDERIVED_COLUMNS = ("sender_id", "sender_name", "content_text", "details", "edited_at", "deleted_at")


@dataclass
class Changes(_OneTransaction):
    """What a reprocess (or the end of an import) rewrites in rows already stored: one transaction.

    Only what differs from the stored rows is here, so a second reprocess writes nothing.
    """

    # REDERIVED_COLUMNS..., owner_id, conversation_id, id
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    messages_copy: str | None = None  # the messages already as COPY text (PostgreSQL, made by Loader.prepare)
    # (owner_id, conversation_id, id) of messages whose children are made anew
    replaced: list[tuple[str, str, str]] = field(default_factory=list)
    attachments: list[tuple[Any, ...]] = field(default_factory=list)
    reactions: list[tuple[Any, ...]] = field(default_factory=list)
    mentions: list[tuple[Any, ...]] = field(default_factory=list)
    # (owner_id, conversation_id, participant_id)
    participants_gone: list[tuple[str, str, str]] = field(default_factory=list)
    participants: list[tuple[Any, ...]] = field(default_factory=list)  # new rows
    # (name, source, owner_id, conversation_id, participant_id)
    participant_names: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    run_update: dict[str, Any] = field(default_factory=dict)

    def changed_rows(self) -> int:
        return (
            len(self.messages)
            + len(self.replaced)
            + len(self.participants_gone)
            + len(self.participants)
            + len(self.participant_names)
        )
