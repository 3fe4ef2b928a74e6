"""The versioned schema: tables declared as data (tables.py), and the steps from each version to the next.

A new database is made at the newest version directly from the table specs; an
older one takes the steps it has not seen yet, in order. Each step is a
function of the dialect, so one declaration serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

from ...transform.rows import ATTACHMENT_FIELDS, CONVERSATION_FIELDS, MESSAGE_FIELDS, PARTICIPANT_FIELDS
from .tables import ATTACHMENTS, CONVERSATIONS, ETL_ERRORS, ETL_RUNS, MESSAGES, PARTICIPANTS, TABLES, Table

SCHEMA_VERSION = 1
# version reached -> its statements in a dialect (none yet: version 1 is the first)
MIGRATIONS: dict[int, Callable[[str], list[str]]] = {}

RUN_FIELDS = ETL_RUNS.column_names
ERROR_FIELDS = ETL_ERRORS.column_names
COUNTED_TABLES = tuple(t.name for t in TABLES)


def create_statements(dialect: str) -> list[str]:
    """Every table and index of the newest version."""
    return [statement for table in TABLES for statement in table.create(dialect)]


def upgrade_steps(dialect: str, current: int) -> list[tuple[int, list[str]]]:
    """(version reached, its statements) from `current` to SCHEMA_VERSION; a new database in one step."""
    if current == 0:
        return [(SCHEMA_VERSION, create_statements(dialect))]
    return [(version, MIGRATIONS[version](dialect)) for version in range(current + 1, SCHEMA_VERSION + 1)]


def _check_rows_fit(table: Table, fields: tuple[str, ...]) -> None:
    missing = [f for f in fields if f not in table.column_names]
    if missing:
        raise AssertionError(f"the transform makes {table.name} fields the schema lacks: {missing}")


for _table, _fields in (
    (MESSAGES, MESSAGE_FIELDS),
    (ATTACHMENTS, ATTACHMENT_FIELDS),
    (PARTICIPANTS, PARTICIPANT_FIELDS),
    (CONVERSATIONS, CONVERSATION_FIELDS),
):
    _check_rows_fit(_table, _fields)
