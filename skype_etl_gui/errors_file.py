"""Error log rows written to CSV or JSON files, for the window's Export and the command line."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from .etl.load import ERROR_FIELDS

KINDS = ("csv", "json")
# a spreadsheet runs a cell that starts with one of these as a formula; chat text is untrusted
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_errors(rows: Iterable[dict[str, Any]], stream: TextIO, kind: str) -> int:
    """Write the rows (ERROR_FIELDS, in that order); returns how many."""
    if kind == "csv":
        return _write_csv(rows, stream)
    if kind == "json":
        return _write_json(rows, stream)
    raise ValueError(f"cannot write errors as {kind!r}: choose one of {KINDS}")


def _write_csv(rows: Iterable[dict[str, Any]], stream: TextIO) -> int:
    writer = csv.writer(stream)
    writer.writerow(ERROR_FIELDS)
    count = 0
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in ERROR_FIELDS])
        count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _write_json(rows: Iterable[dict[str, Any]], stream: TextIO) -> int:
    """A JSON array written row by row: a long log is never held as one string."""
    count = 0
    stream.write("[")
    for row in rows:
        stream.write(",\n" if count else "\n")
        stream.write(json.dumps({name: row.get(name) for name in ERROR_FIELDS}, ensure_ascii=False, default=str))
        count += 1
    stream.write("\n]\n" if count else "]\n")
    return count
