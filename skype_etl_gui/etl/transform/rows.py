"""The rows the transform makes: their fields in order, and the values in them (times, versions).

The field orders here are what the loaders insert; the load stage's table specs
check at import time that each of these fields is a column of its table.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

MESSAGE_FIELDS = (
    "conversation_id",
    "id",
    "sender_id",
    "sender_name",
    "sent_at",
    "message_type",
    "content_raw",
    "content_text",
    "version",
    "edited_at",
    "deleted_at",
    "properties",
    "details",
    "run_id",
    "sender_raw",
    "amsreferences",
    "owner_id",
)
ATTACHMENT_FIELDS = (
    "conversation_id",
    "message_id",
    "position",
    "file_name",
    "file_size",
    "uri",
    "doc_id",
    "media_type",
    "message_version",
    "owner_id",
)
REACTION_FIELDS = (
    "conversation_id",
    "message_id",
    "emotion",
    "user_id",
    "reacted_at",
    "value",
    "message_version",
    "owner_id",
)
MENTION_FIELDS = ("conversation_id", "message_id", "position", "mentioned_id", "message_version", "owner_id")
PARTICIPANT_FIELDS = ("conversation_id", "participant_id", "display_name", "source", "owner_id")
CONVERSATION_FIELDS = (
    "id",
    "display_name",
    "kind",
    "version",
    "topic",
    "member_count",
    "properties",
    "thread_properties",
    "run_id",
    "owner_id",
)
# every row's last field is its owner (see owner_of); a message row's key is (owner, conversation, id)
VERSION_INDEX = MESSAGE_FIELDS.index("version")
TEXT_AT = MESSAGE_FIELDS.index("content_text")  # a message row's readable text: its search index's words
MAX_VERSION = float(2**63)

_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?\Z")
STORED_TIME = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z")


# in a message row's text: to be read by Transformer.complete() in the importing process (from the row's own
# content, properties and amsreferences JSON: ijson's objects do not cross processes). A string, so the row
# stays a tuple of atoms, which the garbage collector stops tracking (an object in it made full collections
# of 30 ms in the window's process). A real text equal to it would only be read again, to the same result.
DEFERRED = "\x00skype-etl: read in the importing process\x00"


@dataclass
class Rows:
    """What one chunk of messages becomes."""

    messages: list[tuple[Any, ...]] = field(default_factory=list)
    attachments: list[tuple[Any, ...]] = field(default_factory=list)
    participants: list[tuple[Any, ...]] = field(default_factory=list)
    reactions: list[tuple[Any, ...]] = field(default_factory=list)
    mentions: list[tuple[Any, ...]] = field(default_factory=list)
    deferred: int = 0  # message rows whose reading is left to Transformer.complete()
    skipped: int = 0  # entries not stored (each with its etl_errors row)


def iso_timestamp(value: Any) -> str | None:
    """Skype's arrival time as ISO-8601 UTC with milliseconds, or None when it is not a timestamp."""
    if not isinstance(value, str):
        return None
    if len(value) == 24 and value[19] == "." and value[23] == "Z" and STORED_TIME.match(value):
        return value  # already the stored form, as most are
    match = _ISO.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if not ("01" <= month <= "12" and "01" <= day <= "31" and hour <= "23" and minute <= "59" and second <= "60"):
        return None
    millis = ((fraction or "") + "000")[:3]
    if zone and zone != "Z" and zone.replace(":", "") not in ("+0000", "-0000"):
        return _in_utc(f"{year}-{month}-{day}T{hour}:{minute}:{min(second, '59')}.{millis}", zone)
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}.{millis}Z"


def _in_utc(local: str, zone: str) -> str | None:
    """A time with a UTC offset (+02:00, -0530) as UTC."""
    try:
        moment = datetime.fromisoformat(local + zone[:3] + ":" + zone[-2:])
    except ValueError:
        return None
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def millis_to_iso(value: Any) -> str | None:
    """A millisecond epoch (number or digit string, as in edittime/deletetime) as ISO-8601 UTC."""
    try:
        ms = int(value)
        moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def version_number(value: Any) -> float | None:
    """A version as stored: a finite number a database can hold, else none."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = float(value)
        return number if -MAX_VERSION < number < MAX_VERSION else None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


_KEY = operator.itemgetter(0, 1)  # a message row's (conversation_id, id): one export has one owner per conversation


def owner_of(conversation_id: str, export_owner: str) -> str:
    """Whose a conversation is: a thread (19:...) is shared by the exports of all its members (''), any other
    conversation belongs to the account that exported it."""
    return "" if conversation_id.startswith("19:") else export_owner


def fallback_owner(export_fingerprint: str) -> str:
    """The owner of an export without a userId: its own, from its content, never another export's."""
    return "export:" + export_fingerprint.rsplit(":", 1)[-1][:16]


def keep_winners(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One message row per (conversation, id): the highest version, on a tie the later entry."""
    if len(set(map(_KEY, rows))) == len(rows):
        return rows
    best: dict[tuple[Any, Any], int] = {}
    for index, row in enumerate(rows):
        key = (row[0], row[1])
        kept = best.get(key)
        if kept is None or _version_key(row) >= _version_key(rows[kept]):
            best[key] = index
    return [rows[i] for i in sorted(best.values())]


def _version_key(row: tuple[Any, ...]) -> float:
    version = row[VERSION_INDEX]
    return -1.0 if version is None else float(version)
