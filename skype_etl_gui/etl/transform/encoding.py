"""Values as the databases take them: JSON text, and PostgreSQL's COPY text.

COPY text is made here, in the producer, so that it costs the worker's core, not the loader's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..fold import tsvector
from ..values import json_default, short_text

_ENCODE = json.JSONEncoder(ensure_ascii=False, default=json_default).encode
# an escaped NUL, not an escaped backslash followed by "u0000"
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
_SPECIAL = re.compile(r"[\\\t\n\r\x00]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})


def to_json(value: Any) -> str:
    """JSON text any database can store: NUL characters, which PostgreSQL's jsonb refuses, are left out."""
    text = _ENCODE(value)
    return _JSON_NUL.sub(r"\1", text) if "\\u0000" in text else text


def json_or_text(value: Any) -> str:
    """JSON text, or the value shortened as text when it cannot be JSON (too deep)."""
    try:
        return to_json(value)
    except (ValueError, RecursionError):
        return short_text(value, 10000)


def copy_text(
    rows: list[tuple[Any, ...]],
    on_nul: Callable[[tuple[Any, ...]], None] | None = None,
    words_of: int | None = None,
) -> str:
    """Rows as COPY text: tab-separated, \\N for NULL, backslash escapes; NUL characters dropped.

    `on_nul(row)` hears of each row that lost a NUL character (PostgreSQL cannot store them). `words_of`: a
    column whose text's words (fold.tsvector) are added as one more column, the row's search index.
    """
    search = _SPECIAL.search

    def escape(value: str, row: tuple[Any, ...]) -> str:
        if "\x00" in value and on_nul is not None:
            on_nul(row)
        return value.translate(_ESCAPES)

    lines = [
        "\t".join(
            ["\\N" if v is None else (escape(v, row) if search(v) else v) if type(v) is str else repr(v) for v in row]
        )
        for row in rows
    ]
    if words_of is not None:  # nothing in a tsvector literal needs escaping (fold.tsvector)
        lines = [f"{line}\t{tsvector(row[words_of])}" for line, row in zip(lines, rows, strict=True)]
    lines.append("")
    return "\n".join(lines)
