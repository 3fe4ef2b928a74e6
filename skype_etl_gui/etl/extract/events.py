"""What the extractor hands on while it streams an export, and where in the export it stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExportHeader:
    user_id: str | None = None
    export_date: str | None = None


@dataclass
class ConversationStart:
    """A conversation whose messages follow. `header` is what is known so far."""

    index: int
    conversation_id: str | None
    header: dict[str, Any]


@dataclass
class MessageChunk:
    """Consecutive entries of one conversation's MessageList, starting at entry `offset`."""

    index: int
    conversation_id: str | None
    offset: int
    entries: list[Any]
    # entry position -> bytes of values left out of it for nesting too deep (see depth.py)
    repairs: dict[int, int] = field(default_factory=dict)


@dataclass
class ConversationEnd:
    """A conversation is complete; `header` now has every key it had (MessageList excluded)."""

    index: int
    conversation_id: str | None
    header: dict[str, Any]
    message_count: int
    message_list: str = "a list"  # what MessageList was, in JSON's words
    repaired_bytes: int = 0  # of the header's values left out for nesting too deep


@dataclass
class Position:
    """A place in the export: conversation `conversation_index`, its first `entries_done` entries behind.

    `byte_offset` is where the next entry (or, with no `header`, the next
    conversation) starts in messages.json, when it is known exactly; a resume
    then starts there instead of parsing everything before it (after checking
    that those bytes are still the ones `content_hash` was made of). `header`
    holds the conversation's keys that came before its MessageList, to rebuild
    the parse.
    """

    conversation_index: int = 0
    entries_done: int = 0
    byte_offset: int | None = None
    header: dict[str, Any] | None = None
    content_hash: str | None = None  # SHA-256 of messages.json's bytes before byte_offset: a resume checks them

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversation_index": self.conversation_index,
            "entries_done": self.entries_done,
            "byte_offset": self.byte_offset,
            "header": self.header,
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        offset = data.get("byte_offset")
        header = data.get("header")
        content_hash = data.get("content_hash")
        return cls(
            int(data.get("conversation_index", 0)),
            int(data.get("entries_done", 0)),
            int(offset) if isinstance(offset, int) else None,
            header if isinstance(header, dict) else None,
            content_hash if isinstance(content_hash, str) else None,
        )


@dataclass
class Boundary:
    """Asked for with `request_boundary()`: everything before `position` has been handed on."""

    position: Position


Event = ConversationStart | MessageChunk | ConversationEnd | Boundary
