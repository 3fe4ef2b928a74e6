"""Reading the archive: conversations, messages in context and full-text search (Qt-free, read-only)."""

from .archive import Archive, ArchiveError, upgrade
from .query import Query, QueryError, parse

__all__ = ["Archive", "ArchiveError", "Query", "QueryError", "parse", "upgrade"]
