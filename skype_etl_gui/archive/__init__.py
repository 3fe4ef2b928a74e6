"""Reading the archive: conversations, messages in context and full-text search (Qt-free, read-only)."""

from .archive import Archive, ArchiveError, ArchiveOutdated, open_archive, upgrade
from .query import Query, QueryError, parse

__all__ = ["Archive", "ArchiveError", "ArchiveOutdated", "Query", "QueryError", "open_archive", "parse", "upgrade"]
