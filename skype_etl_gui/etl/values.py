"""JSON values as the export has them: their kinds, ids, and text a person can read."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any


def json_default(value: Any) -> Any:
    """JSON for what ijson makes that json cannot write: Decimal numbers (as numbers where finite)."""
    if isinstance(value, Decimal):
        if value.is_finite():
            return int(value) if value == value.to_integral_value() else float(value)
        return str(value)
    return str(value)


def json_type(value: Any) -> str:
    """What a JSON value is, in the words of JSON."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    return "null" if value is None else type(value).__name__


def record_id(value: Any) -> str | None:
    """An id as stored: text as it is, a number as text; anything else (empty, true/false, null, a list) is none."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    if isinstance(value, (float, Decimal)) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value)


def short_text(value: Any, limit: int = 500) -> str:
    """A record as text for a person to read (JSON, as in the export), cut to `limit` characters.

    Never fails, however deep it nests."""
    if isinstance(value, str):
        return value[:limit]
    try:
        return json.dumps(value, ensure_ascii=False, default=json_default)[:limit]
    except (RecursionError, ValueError, TypeError):
        pass
    try:
        return repr(value)[:limit]
    except RecursionError:
        return f"<{type(value).__name__} nested too deep to show>"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
