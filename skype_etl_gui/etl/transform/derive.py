"""What the archive derives from a message as the export wrote it: one pure function, for import and reprocess alike.

`derive` takes the values a message row keeps verbatim (`sender_raw`,
`sender_name`, `message_type`, `content_raw`, `version`, `properties`,
`amsreferences`) and makes everything read from them: the sender, the readable
text, `details`, edit and delete times, and the rows of `attachments`,
`reactions` and `mentions`. The import calls it on each record after repairing
what it must (transformer.py); `skype-etl reprocess` calls it on the stored rows
(reprocess.py), so an archive made by an earlier version becomes what a fresh
import makes today.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import unquote

from . import markup
from .families import MEDIA_HANDLERS, Reading, album, handler_for, json_body, media
from .rows import millis_to_iso

CALL_LOGS = "48:calllogs"
# what a person wrote: kept as written even when it looks like JSON (people paste JSON)
PERSON_TYPES = ("RichText", "Text", "RichText/Html")


class Derived(NamedTuple):
    sender_id: str | None
    sender_name: str | None
    text: str
    details: dict[str, Any] | None
    edited_at: str | None
    deleted_at: str | None
    attachments: Sequence[tuple[Any, ...]]  # (position, file_name, file_size, uri, doc_id, media_type)
    reactions: Sequence[tuple[Any, ...]]  # (emotion, user_id, reacted_at, value)
    mentions: Sequence[tuple[Any, ...]]  # (position, mentioned_id)
    warnings: Sequence[tuple[str, str]]  # (error_type, message)
    sender_is_author: bool  # the sender came from `from` (so its displayName is that person's name)


def is_thread(sender: str) -> bool:
    """`from` names a thread (a group conversation: a system event), not a person."""
    return sender.startswith("19:") or "@thread." in sender


def sender_of(sender_raw: str | None, conv_id: str | None, content: str | None) -> tuple[str | None, bool]:
    """(who sent it, whether that is `from` itself): the thread gives way to the <initiator>, a URL to its id."""
    if not sender_raw:
        return None, False
    if sender_raw.startswith("8:"):
        return sender_raw, True  # a person, as nearly all are
    if sender_raw.startswith(("http://", "https://")):
        tail = unquote(sender_raw.rstrip("/").rsplit("/", 1)[-1])
        return (tail or sender_raw), True
    if is_thread(sender_raw):
        return initiator_of(content), False
    return sender_raw, True


def initiator_of(content: str | None) -> str | None:
    if not content:
        return None
    if "<initiator" in content:
        return markup.inner(content, "initiator") or None
    if content.lstrip().startswith("{"):
        data = _json_or_none(content)
        found = data.get("initiator") if isinstance(data, dict) else None
        return found if isinstance(found, str) and found else None
    return None


def participant_ids(members: Any) -> list[str]:
    """threadProperties.members: a JSON-encoded list of ids or of {MemberMri} objects, or a real list."""
    if isinstance(members, str):
        try:
            members = json.loads(members)
        except ValueError:
            return [m.strip() for m in members.split(",") if m.strip()]
    if not isinstance(members, list):
        return []
    ids: list[str] = []
    for member in members:
        if isinstance(member, str):
            ids.append(member)
        elif isinstance(member, dict):
            mri = member.get("MemberMri") or member.get("mri") or member.get("id")
            if isinstance(mri, str):
                ids.append(mri)
    return ids


def conversation_kind(conv_id: str) -> str:
    if conv_id.endswith("@thread.skype"):
        return "group"
    prefix = conv_id.split(":", 1)[0]
    return {"8": "one_to_one", "28": "bot", "48": "special", "19": "group"}.get(prefix, "other")


def members_of(conv_id: str, thread: Any, owner_id: str | None) -> list[str]:
    """A conversation's members: the thread's list (never the thread itself); in a one-to-one chat, both people."""
    if conversation_kind(conv_id) == "one_to_one":
        found = [owner_id, conv_id] if owner_id else [conv_id]
    else:
        found = participant_ids(thread.get("members")) if isinstance(thread, dict) else []
    people = []
    for member in found:
        if not member or (member == conv_id and conversation_kind(conv_id) != "one_to_one"):
            continue  # the thread is never a member of itself
        person, authored = sender_of(member, None, None)
        if person and authored:
            people.append(person)
    return list(dict.fromkeys(people))


def wants_names(message_type: str | None, conv_id: str | None, content: str | None, text: str) -> bool:
    """Whether a text made without the archive's names may read better with them: an event that shows an id.

    The import derives each message as it comes, before the names of people who write later are known,
    and re-derives these at its end; a reprocess does the same, so both make the same text.
    """
    if ":" not in text or not message_type:
        return False
    if message_type.startswith("ThreadActivity/") or message_type == "Event/Call":
        return True
    return conv_id == CALL_LOGS and (content or "").lstrip().startswith("{")


# the same, in SQL both databases read alike (no LIKE: a "%" means a parameter to psycopg2; no instr or strpos)
NAMES_WANTED_SQL = (
    "((substr(message_type, 1, 15) = 'ThreadActivity/' OR message_type = 'Event/Call' "
    "OR (conversation_id = '48:calllogs' AND substr(ltrim(content_raw), 1, 1) = '{')) "
    "AND replace(content_text, ':', '') <> content_text)"
)


def is_plain(conv_id: str, sender_raw: str | None, mtype: str | None, content: str | None, props: Any) -> bool:
    """Plain text from a person, as most messages are: no markup, no entity, no properties. Its text is its
    content and its sender its `from`; nothing else is derived (the SQL twin is load.base.PLAIN_STORED)."""
    return bool(
        mtype in PERSON_TYPES
        and content
        and "<" not in content
        and "&" not in content
        and not props
        and sender_raw
        and sender_raw.startswith("8:")
        and conv_id != CALL_LOGS
    )


def derive(
    conv_id: str,
    sender_raw: str | None,
    name: str | None,
    mtype: str | None,
    content: str | None,
    props: Any,
    amsreferences: Any = None,
    owner_id: str | None = None,
    names: Mapping[str, str] | None = None,
) -> Derived:
    """Everything read from one message's verbatim values (see the module's text)."""
    if is_plain(conv_id, sender_raw, mtype, content, props):  # what the general path below makes, sooner
        assert content is not None and sender_raw is not None
        return Derived(sender_raw, name or None, content, None, None, None, (), (), (), (), True)
    warnings: list[tuple[str, str]] = []  # filled by _special only
    sender_id, authored = sender_of(sender_raw, conv_id, content)
    if not name:
        name = None
    details: dict[str, Any] | None = None
    attachments: Sequence[tuple[Any, ...]] = ()  # none, as most have: no list made
    mentions: Sequence[tuple[Any, ...]] = ()
    edited_at = deleted_at = None
    text = ""
    if content:
        if mtype is None or mtype in PERSON_TYPES:
            if "<" in content:
                text = markup.to_text(content)
                if "<quote" in content:
                    quote = markup.quote_of(content)
                    if quote is not None:
                        details = {"quote": quote}
                if "<at" in content:
                    mentions = list(enumerate(markup.mentions_of(content)))
                if "<e_m" in content:
                    edited_at, deleted_at = _edit_times(content)
            elif "&" in content:
                text = markup.to_text(content)
            else:
                text = content
            if conv_id == CALL_LOGS and content.lstrip().startswith("{"):
                text, details, _ = json_body(content, _reading(sender_id, owner_id, conv_id, names))
        else:
            text, details, attachments = _special(
                conv_id, sender_id, mtype, content, amsreferences, owner_id, names, warnings
            )
    reactions: Sequence[tuple[Any, ...]] = ()
    if isinstance(props, dict):
        if "edittime" in props:
            edited_at = millis_to_iso(props["edittime"]) or edited_at
        if "deletetime" in props:
            deleted_at = millis_to_iso(props["deletetime"]) or deleted_at
        if "emotions" in props:
            reactions = reactions_of(props["emotions"])
        if "callLog" in props and not content:
            log = props["callLog"]
            data = log if isinstance(log, dict) else _json_or_none(log)
            if isinstance(data, dict):
                text, details, _ = json_body(json.dumps(data), _reading(sender_id, owner_id, conv_id, names))
    return Derived(
        sender_id, name, text, details, edited_at, deleted_at, attachments, reactions, mentions, warnings, authored
    )


def _reading(sender_id: str | None, owner_id: str | None, conv_id: str, names: Mapping[str, str] | None) -> Reading:
    return Reading(sender_id, owner_id, conv_id, names or {})


def _special(
    conv_id: str,
    sender_id: str | None,
    mtype: str,
    content: str,
    amsreferences: Any,
    owner_id: str | None,
    names: Mapping[str, str] | None,
    warnings: list[tuple[str, str]],
) -> tuple[str, dict[str, Any] | None, list[tuple[Any, ...]]]:
    """Content of the typed families: text, structure and attachments."""
    reading = _reading(sender_id, owner_id, conv_id, names)
    try:
        if mtype == "RichText/Media_Album":
            return album(content, reading, amsreferences if isinstance(amsreferences, list) else None)
        handler = handler_for(mtype)
        if handler is None:
            if content.lstrip()[:1] in ("{", "["):
                found = json_body(content, reading)
                if found[1] is not None:
                    return found
            if "<URIObject" in content:  # a future media type
                return media(content, reading, mtype)
            return markup.to_text(content).strip(), None, []
        if mtype in MEDIA_HANDLERS:
            return media(content, reading, mtype)
        return handler(content, reading)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as exc:
        warnings.append(("UnreadableContent", f"{mtype} content could not be read ({exc}); kept as plain text"))
        return markup.to_text(content), None, []


def _edit_times(content: str) -> tuple[str | None, str | None]:
    stamp, deleted = markup.edit_marks(content)
    moment = millis_to_iso(stamp) if stamp else None
    return (None, moment) if deleted else (moment, None)


def _json_or_none(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def reactions_of(emotions: Any) -> list[tuple[Any, ...]]:
    """properties.emotions (a list, or that list as a JSON string): (emotion, user, time, value) per reaction."""
    if isinstance(emotions, str):
        emotions = _json_or_none(emotions)
    if not isinstance(emotions, list):
        return []
    found: dict[tuple[str, str], tuple[Any, ...]] = {}
    for emotion in emotions:
        if not isinstance(emotion, dict) or not isinstance(emotion.get("key"), str):
            continue
        users = emotion.get("users")
        for user in users if isinstance(users, list) else []:
            if not isinstance(user, dict) or not isinstance(user.get("mri"), str) or not user["mri"]:
                continue
            value = user.get("value")
            found[(emotion["key"], user["mri"])] = (
                emotion["key"],
                user["mri"],
                millis_to_iso(user.get("time")),
                None if value is None else str(value),
            )
    return list(found.values())


def properties_dict(value: Any) -> dict[str, Any] | None:
    """Stored `properties` (JSON text or jsonb) as the dict the import saw."""
    if isinstance(value, dict):
        return value
    data = _json_or_none(value)
    return data if isinstance(data, dict) else None


def json_list(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    data = _json_or_none(value)
    return data if isinstance(data, list) else None
