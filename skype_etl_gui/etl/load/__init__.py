"""Load: the loader interface, its SQLite and PostgreSQL implementations, the schema and the merge rules."""

from ..errors import DatabaseError
from ..records import Batch
from .base import ERROR_FIELDS, RESUMABLE, RUN_FIELDS, ErrorFilter, Loader
from .registry import open_existing, open_for_reading, open_loader, register

__all__ = [
    "ERROR_FIELDS",
    "RESUMABLE",
    "RUN_FIELDS",
    "Batch",
    "DatabaseError",
    "ErrorFilter",
    "Loader",
    "open_existing",
    "open_for_reading",
    "open_loader",
    "register",
]
