"""Raw export records to database rows: one function per message family.

Every message with an id becomes a row, whatever its type; what cannot be made
sense of is repaired or skipped and reported to the context as an error row.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from . import markup
from .context import ETLContext, short_text
from .extractor import json_default, json_type, record_id

MESSAGE_COLUMNS = (
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
)
ATTACHMENT_COLUMNS = (
    "conversation_id",
    "message_id",
    "position",
    "file_name",
    "file_size",
    "uri",
    "doc_id",
    "media_type",
    "message_version",
)
PARTICIPANT_COLUMNS = ("conversation_id", "participant_id", "display_name", "source")
CONVERSATION_COLUMNS = (
    "id",
    "display_name",
    "kind",
    "version",
    "topic",
    "member_count",
    "properties",
    "thread_properties",
    "run_id",
)

_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z?\Z")
_ISO_MS = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z")
_DURATION = re.compile(r"<duration>\s*([\d.]+)\s*</duration>")
MAX_VERSION = float(2**63)


@dataclass
class Rows:
    """What one chunk of messages becomes."""

    messages: list[tuple[Any, ...]] = field(default_factory=list)
    attachments: list[tuple[Any, ...]] = field(default_factory=list)
    participants: list[tuple[Any, ...]] = field(default_factory=list)


def iso_timestamp(value: Any) -> str | None:
    """Skype's arrival time as ISO-8601 UTC with milliseconds, or None when it is not a timestamp."""
    if not isinstance(value, str):
        return None
    if len(value) == 24 and value[19] == "." and value[23] == "Z" and _ISO_MS.match(value):
        return value  # already the stored form, as most are
    match = _ISO.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    if not ("01" <= month <= "12" and "01" <= day <= "31" and hour <= "23" and minute <= "59" and second <= "60"):
        return None
    millis = ((fraction or "") + "000")[:3]
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}.{millis}Z"


def millis_to_iso(value: Any) -> str | None:
    """A millisecond epoch (number or digit string, as in edittime/deletetime) as ISO-8601 UTC."""
    try:
        ms = int(value)
        moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _duration_text(seconds: float) -> str:
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _file_size_text(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f" ({size:.0f} {unit})" if unit == "B" else f" ({size:.1f} {unit})"
        size /= 1024  # type: ignore[assignment]
    return ""


# --- one function per family: content -> (content_text, details, attachments) --------
Handled = tuple[str, dict[str, Any] | None, list[tuple[Any, ...]]]

MEDIA_WORDS = {
    "Picture.1": "Photo",
    "File.1": "File",
    "Video.1/Message.1": "Video",
    "Audio.1/Message.1": "Voice message",
    "Video.1/Flik.1": "Flik",
}


_URI_OBJECT = re.compile(r"<URIObject\b([^<>]*)>")
_URI_ATTR = re.compile(r'\b(uri|type|doc_id)="([^"]*)"')
_ORIGINAL_NAME = re.compile(r"<OriginalName\s+v=\"([^\"]*)\"")
_META_NAME = re.compile(r"<meta\b[^<>]*?\boriginalName=\"([^\"]*)\"")
_FILE_SIZE = re.compile(r"<FileSize\s+v=\"([^\"]*)\"")


def media(content: str) -> Handled:
    """<URIObject> shares: photos, files, videos, voice messages, Fliks, albums."""
    objects = _URI_OBJECT.findall(content)
    if not objects:
        return markup.to_text(content).strip(), None, []
    names = _ORIGINAL_NAME.findall(content) or _META_NAME.findall(content)
    sizes = _FILE_SIZE.findall(content)
    attachments: list[tuple[Any, ...]] = []
    parts: list[str] = []
    for position, tag in enumerate(objects):
        attrs = dict(_URI_ATTR.findall(tag))
        name = html.unescape(names[position]) if position < len(names) else None
        raw_size = sizes[position] if position < len(sizes) else None
        size = int(raw_size) if raw_size and raw_size.isdigit() else None
        media_type = attrs.get("type")
        uri = html.unescape(attrs["uri"]) if "uri" in attrs else None
        doc_id = attrs.get("doc_id") or (uri.rsplit("/", 1)[-1] if uri else None)
        attachments.append((position, name, size, uri, doc_id, media_type))
        word = MEDIA_WORDS.get(media_type or "", "File")
        parts.append(f"{word}: {name}{_file_size_text(size)}" if name else word)
    details = {"media": [{"file_name": a[1], "file_size": a[2], "type": a[5]} for a in attachments]}
    return "; ".join(parts), details, attachments


def card(content: str) -> Handled:
    """Media_Card: a base64 JSON card inside <Swift b64=...>."""
    swift = markup.start_tags(content, "Swift")
    encoded = swift[0].get("b64") if swift else None
    if encoded:
        try:
            data = json.loads(base64.b64decode(encoded))
        except (ValueError, binascii.Error):
            data = None
        if isinstance(data, dict):
            texts = _card_texts(data.get("attachments") or [data])
            if texts:
                return "Card: " + " — ".join(texts), {"card": data}, []
    return markup.to_text(content).strip() or "Card", None, []


def _card_texts(items: Any) -> list[str]:
    texts: list[str] = []
    for item in items if isinstance(items, list) else [items]:
        body = item.get("content", item) if isinstance(item, dict) else None
        if isinstance(body, dict):
            texts += [str(body[k]) for k in ("title", "subtitle", "text") if isinstance(body.get(k), (str, int, float))]
    return texts


def location(content: str) -> Handled:
    tags = markup.start_tags(content, "location")
    attrs = tags[0] if tags else {}
    address = attrs.get("address") or markup.to_text(content).strip()
    details: dict[str, Any] = {"address": address}
    text = f"Location: {address}"
    try:
        lat, lon = int(attrs["latitude"]) / 1e6, int(attrs["longitude"]) / 1e6
        details.update(latitude=lat, longitude=lon)
        text += f" ({lat:.6f}, {lon:.6f})"
    except (KeyError, ValueError):
        pass
    return text, details, []


def contacts(content: str) -> Handled:
    people = [(a.get("f") or a.get("s") or "", a.get("s")) for a in markup.start_tags(content, "c")]
    names = ", ".join(f"{name} ({sid})" if sid and sid != name else name for name, sid in people)
    return f"Shared contacts: {names}" if people else "Shared contacts", {"contacts": people}, []


def call(content: str) -> Handled:
    lists = markup.start_tags(content, "partlist")
    kind = (lists[0].get("type") if lists else None) or "call"
    names = markup.all_inner(content, "name")
    durations = [float(d) for d in _DURATION.findall(content)]
    details: dict[str, Any] = {"call": kind, "participants": names}
    if kind == "started":
        text = "Call started"
    elif kind == "ended":
        duration = max(durations) if durations else None
        details["duration_s"] = duration
        text = f"Call ended, duration {_duration_text(duration)}" if duration is not None else "Call ended"
    elif kind == "missed":
        text = f"Missed call from {names[0]}" if names else "Missed call"
    else:
        text = f"Call ({kind})"
    return text, details, []


def member_change(content: str) -> Handled:
    deleting = "<deletemember" in content
    initiator = markup.inner(content, "initiator") or ""
    targets = markup.all_inner(content, "target")
    who = ", ".join(targets)
    if deleting:
        text = f"{who} left the conversation" if targets == [initiator] else f"{initiator} removed {who}".strip()
    else:
        text = f"{initiator} added {who}".strip()
    return text, {"initiator": initiator, "targets": targets, "action": "delete" if deleting else "add"}, []


THREAD_UPDATES = {
    "topicupdate": "changed the topic to",
    "pictureupdate": "changed the conversation picture",
    "historydisclosedupdate": "set history visible to new members to",
    "joiningenabledupdate": "set joining by link to",
}


def thread_update(content: str) -> Handled:
    match = re.match(r"\s*<(\w+)", content)
    tag = match.group(1).lower() if match else ""
    initiator = markup.inner(content, "initiator") or ""
    value = markup.inner(content, "value")
    verb = THREAD_UPDATES.get(tag, f"updated {tag or 'the conversation'}")
    if tag == "topicupdate":
        text = f'{initiator} {verb} "{value or ""}"'
    elif tag == "pictureupdate" or value is None:
        text = f"{initiator} {verb}"
    else:
        text = f"{initiator} {verb} {value}"
    return text.strip(), {"update": tag, "initiator": initiator, "value": value}, []


def json_card(content: str) -> Handled:
    """Notice, PopCard, Translation and other JSON bodies: title and text."""
    try:
        data = json.loads(content)
    except ValueError:
        return markup.to_text(content).strip(), None, []
    texts: list[str] = []
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            texts += _card_texts(item.get("attachments") or [item])
            texts += [str(item[k]) for k in ("translatedText", "text", "question") if isinstance(item.get(k), str)]
    return " — ".join(dict.fromkeys(texts)), {"json": data}, []


def opaque(content: str) -> Handled:
    return "(encrypted message)", None, []


HANDLERS: dict[str, Callable[[str], Handled]] = {
    "RichText/UriObject": media,
    "RichText/Media_GenericFile": media,
    "RichText/Media_Video": media,
    "RichText/Media_AudioMsg": media,
    "RichText/Media_FlikMsg": media,
    "RichText/Media_Album": media,
    "RichText/Media_CallRecording": media,
    "RichText/Files": media,
    "RichText/Media_Card": card,
    "RichText/Location": location,
    "RichText/Contacts": contacts,
    "Event/Call": call,
    "ThreadActivity/AddMember": member_change,
    "ThreadActivity/DeleteMember": member_change,
    "Notice": json_card,
    "PopCard": json_card,
    "Translation": json_card,
    "EndToEndEncryption/EncryptedText": opaque,
}


def handler_for(message_type: str) -> Callable[[str], Handled] | None:
    found = HANDLERS.get(message_type)
    if found is not None:
        return found
    if message_type.startswith("ThreadActivity/E2EE"):
        return opaque
    if message_type.startswith("ThreadActivity/") and message_type.endswith("Update"):
        return thread_update
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


def _json_or_none(value: Any) -> str | None:
    return None if value is None else _dumps_or_repr(value)


class Transformer:
    """Turns conversations and message chunks into rows; problems go to the context."""

    def __init__(self, context: ETLContext, run_id: str | None = None) -> None:
        self.context = context
        self.run_id = run_id or context.run_id
        self._senders: dict[str, dict[str, bool]] = {}  # sender -> has a name been stored

    # --- conversations ---------------------------------------------------------------
    def conversation(self, header: dict[str, Any]) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
        """The conversation row and its member rows; None (and an error row) without an id."""
        conv_id = record_id(header.get("id")) if isinstance(header, dict) else None
        if conv_id is None:
            return None, []
        thread = header.get("threadProperties")
        if thread is not None and not isinstance(thread, dict):
            thread = None
        topic = thread.get("topic") if thread else None
        members = participant_ids(thread.get("members")) if thread else []
        count = thread.get("membercount") if thread else None
        version = header.get("version")
        row = (
            conv_id,
            header.get("displayName") if isinstance(header.get("displayName"), str) else None,
            conversation_kind(conv_id),
            _version(version),
            topic if isinstance(topic, str) else None,
            count if isinstance(count, int) and not isinstance(count, bool) else len(members) or None,
            _json_or_none(header.get("properties")),
            _json_or_none(thread),
            self.run_id,
        )
        participants = [(conv_id, member, None, "member") for member in dict.fromkeys(members)]
        return row, participants

    # --- messages --------------------------------------------------------------------
    def messages(self, conv_id: str, entries: list[Any], offset: int = 0) -> Rows:
        """Rows for consecutive MessageList entries; `offset` is the first entry's position."""
        rows = Rows()
        add_message = rows.messages.append
        senders = self._senders.setdefault(conv_id, {})
        run_id = self.run_id
        stored_form = _ISO_MS.match
        to_text = markup.to_text
        encode = _JSON
        for position, msg in enumerate(entries, offset):
            if not isinstance(msg, dict):
                self._skip(conv_id, position, msg, "InvalidMessage", f"is {json_type(msg)}, not an object")
                continue
            get = msg.get
            msg_id = get("id")
            mtype = get("messagetype")
            content = get("content")
            sender = get("from")
            name = get("displayName")
            arrival = get("originalarrivaltime")
            version = get("version")
            if type(msg_id) is not str or not msg_id:
                msg_id = self._repair_id(conv_id, position, msg, msg_id)
                if msg_id is None:
                    continue
            if type(mtype) is not str:
                self._warn(
                    conv_id, msg_id, "MissingMessageType", "messagetype is missing or not text; stored without a type"
                )
                mtype = None
            if content is not None and type(content) is not str:
                content = self._repair_content(conv_id, msg_id, content)
            if type(sender) is not str or not sender:
                sender = self._repair_sender(conv_id, msg_id, sender)
            if name is not None and type(name) is not str:
                name = None
            sent_at: str | None
            if type(arrival) is str and len(arrival) == 24 and stored_form(arrival):
                sent_at = arrival  # already the stored form, as most are
            else:
                sent_at = iso_timestamp(arrival)
                if sent_at is None and arrival is not None:
                    self._warn(
                        conv_id,
                        msg_id,
                        "InvalidTimestamp",
                        f"originalarrivaltime {str(arrival)[:60]!r} is not a timestamp; sent_at left empty",
                    )
            if type(version) is int or type(version) is float:
                if not -MAX_VERSION < version < MAX_VERSION:
                    version = None
            else:
                version = _version(version)
            details = None
            text = ""
            if content:
                if mtype == "RichText" or mtype == "Text" or mtype is None:
                    text = to_text(content) if ("<" in content or "&" in content) else content
                else:
                    text, details = self._special(conv_id, msg_id, mtype, content, version, rows)
            edited_at = deleted_at = props_json = None
            props = get("properties")
            if props is not None:
                edited_at, deleted_at, props_json = self._properties(conv_id, msg_id, props)
            if sender and (sender not in senders or (name and not senders[sender])):
                senders[sender] = bool(name)
                rows.participants.append((conv_id, sender, name, "sender"))
            add_message(
                (
                    conv_id,
                    msg_id,
                    sender,
                    name,
                    sent_at,
                    mtype,
                    content,
                    text,
                    version,
                    edited_at,
                    deleted_at,
                    props_json,
                    None if details is None else encode(details),
                    run_id,
                )
            )
        return rows

    # --- the rarer paths, out of the loop -----------------------------------------------
    def _warn(self, conv_id: str, msg_id: str | None, error_type: str, message: str, raw: Any = None) -> None:
        self.context.record_error("transform", "warning", error_type, message, conv_id, msg_id, raw)

    def _skip(self, conv_id: str, position: int, msg: Any, error_type: str, why: str) -> None:
        self.context.record_error(
            "transform", "error", error_type, f"message #{position} {why}; skipped", conv_id, None, msg
        )

    def _repair_id(self, conv_id: str, position: int, msg: Any, raw_id: Any) -> str | None:
        msg_id = record_id(raw_id)
        if msg_id is None:
            self._skip(conv_id, position, msg, "MissingMessageId", "has no id")
        else:
            self._warn(conv_id, msg_id, "NonStringId", f"message id is {json_type(raw_id)}; stored as text")
        return msg_id

    def _repair_sender(self, conv_id: str, msg_id: str, sender: Any) -> str | None:
        repaired = record_id(sender)
        if repaired is None:
            self._warn(conv_id, msg_id, "MissingSender", f"from is {json_type(sender)}; stored without a sender")
        else:
            self._warn(conv_id, msg_id, "NonStringSender", f"from is {json_type(sender)}; stored as text")
        return repaired

    def _repair_content(self, conv_id: str, msg_id: str, content: Any) -> str:
        self._warn(conv_id, msg_id, "NonStringContent", f"content is {json_type(content)}; stored as text", content)
        return _dumps_or_repr(content)

    def _special(
        self, conv_id: str, msg_id: str, mtype: str, content: str, version: Any, rows: Rows
    ) -> tuple[str, dict[str, Any] | None]:
        """Content of the typed families: text, structure and attachments."""
        handler = handler_for(mtype)
        try:
            if handler is None:
                return markup.to_text(content).strip(), None
            text, details, found = handler(content)
        except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
            self._warn(
                conv_id,
                msg_id,
                "UnreadableContent",
                f"{mtype} content could not be read ({exc}); kept as plain text",
                content,
            )
            return markup.to_text(content), None
        for attachment in found:
            rows.attachments.append((conv_id, msg_id, *attachment, version))
        return text, details

    def _properties(self, conv_id: str, msg_id: str, props: Any) -> tuple[str | None, str | None, str | None]:
        """edited_at, deleted_at and the properties as JSON text."""
        if not isinstance(props, dict):
            self._warn(
                conv_id, msg_id, "InvalidProperties", f"properties is {json_type(props)}, not an object; kept as text"
            )
            return None, None, _dumps_or_repr({"value": props})
        edited_at = millis_to_iso(props["edittime"]) if "edittime" in props else None
        deleted_at = millis_to_iso(props["deletetime"]) if "deletetime" in props else None
        try:
            return edited_at, deleted_at, _JSON(props)
        except (ValueError, RecursionError):
            self._warn(conv_id, msg_id, "UnreadableProperties", "properties nest too deep to store; dropped")
            return edited_at, deleted_at, None


_ENCODE = json.JSONEncoder(ensure_ascii=False, default=json_default).encode
# an escaped NUL, not an escaped backslash followed by "u0000"
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _JSON(value: Any) -> str:
    """JSON text any database can store: NUL characters, which PostgreSQL's jsonb refuses, are left out."""
    text = _ENCODE(value)
    return _JSON_NUL.sub(r"\1", text) if "\\u0000" in text else text


def _dumps_or_repr(value: Any) -> str:
    try:
        return _JSON(value)
    except (ValueError, RecursionError):
        return short_text(value, 10000)


def _version(value: Any) -> float | None:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = float(value)
        return number if -MAX_VERSION < number < MAX_VERSION else None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
