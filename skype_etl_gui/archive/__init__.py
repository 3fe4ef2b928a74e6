"""Reading the archive: conversations, messages in context and full-text search (Qt-free, read-only)."""

from .archive import Archive, ArchiveError, ArchiveOutdated, conversation_label, open_archive, sender_label, upgrade
from .query import Query, QueryError, parse

__all__ = [
    "Archive",
    "ArchiveError",
    "ArchiveOutdated",
    "Query",
    "QueryError",
    "conversation_label",
    "open_archive",
    "parse",
    "sender_label",
    "upgrade",
]
