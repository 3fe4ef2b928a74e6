"""One function per message family: content -> (content_text, details, attachments).

Each one is tolerant: real content is often not well-formed, so nothing here
uses an XML parser (see markup.py), and what a function cannot read it leaves to
the transformer, which keeps the text and records a warning. The forms each one
reads are written down in docs/FORMAT.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ...units import size_text
from . import markup


@dataclass
class Reading:
    """What a family needs to know beyond the content: who sent it, whose export it is, who is called what."""

    sender_id: str | None = None
    owner_id: str | None = None
    conversation_id: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)

    def name(self, person: str) -> str:
        """A person's display name when the archive knows it, else the id as written."""
        if not person:
            return person
        names = self.names
        found = names.get(person)
        if found is None and ":" not in person:
            found = names.get("8:" + person)  # call parts name people without the "8:"
        return found or person


NO_NAMES = Reading()


def duration_text(seconds: float) -> str:
    """A duration the way people say it: "45 s", "34 min 17 s", "1 h 2 min"."""
    total = max(int(round(seconds)), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


def _file_size_text(size: int | None) -> str:
    return "" if size is None else f" ({size_text(size)})"


# --- one function per family: content -> (content_text, details, attachments) --------
Handled = tuple[str, dict[str, Any] | None, list[tuple[Any, ...]]]


def media_word(media_type: str | None, message_type: str | None = None) -> str:
    """What a person calls a shared object of this URIObject type (or, without one, message type)."""
    kind = (media_type or "").lower()
    mtype = message_type or ""
    if "callrecording" in kind or mtype.endswith("Media_CallRecording"):
        return "Call recording"
    if "flik" in kind:
        return "Flik"
    if kind.startswith("picture") or (not kind and mtype in ("RichText/UriObject", "RichText/Media_Album")):
        return "Photo"
    if kind.startswith("video") or (not kind and mtype == "RichText/Media_Video"):
        return "Video"
    if kind.startswith("audio") or (not kind and mtype == "RichText/Media_AudioMsg"):
        return "Voice message"
    return "File"


_URI_OBJECT = re.compile(r"<URIObject\b([^<>]*)>", re.I)
_URI_OBJECT_END = re.compile(r"</URIObject\s*>|<URIObject\b", re.I)


def _uri_objects(content: str) -> list[tuple[dict[str, str], str]]:
    """Each <URIObject>'s attributes and inner markup, up to its end tag, the next one, or the end (unclosed)."""
    found = []
    for start in _URI_OBJECT.finditer(content):
        end = _URI_OBJECT_END.search(content, start.end())
        found.append((markup.attributes(start.group(1)), content[start.end() : end.start() if end else len(content)]))
    return found


def _value_of(inner: str, tag: str) -> str | None:
    tags = markup.start_tags(inner, tag)
    return markup.attribute(tags[0], "v") if tags else None


def _attachment(position: int, attrs: dict[str, str], inner: str) -> tuple[Any, ...]:
    name = _value_of(inner, "OriginalName")
    if name is None:
        metas = markup.start_tags(inner, "meta")
        name = markup.attribute(metas[0], "originalName") if metas else None
    raw_size = _value_of(inner, "FileSize")
    size = int(raw_size) if raw_size and raw_size.isdigit() else None
    uri = markup.attribute(attrs, "uri")
    doc_id = markup.attribute(attrs, "doc_id") or (uri.rstrip("/").rsplit("/", 1)[-1] if uri else None)
    return (position, name or None, size, uri or None, doc_id or None, markup.attribute(attrs, "type"))


def media(content: str, reading: Reading = NO_NAMES, message_type: str | None = None) -> Handled:
    """<URIObject> shares: photos, files, videos, voice messages, Fliks, call recordings (and polls, albums)."""
    objects = _uri_objects(content)
    if not objects:
        return markup.to_text(content).strip(), None, []
    if (markup.attribute(objects[0][0], "type") or "").lower() == "poll":
        return poll(content, reading)
    attachments = [_attachment(position, attrs, inner) for position, (attrs, inner) in enumerate(objects)]
    parts = []
    for attachment in attachments:
        word = media_word(attachment[5], message_type)
        name, size = attachment[1], attachment[2]
        parts.append(f"{word}: {name}{_file_size_text(size)}" if name else word)
    details = {"media": [{"file_name": a[1], "file_size": a[2], "type": a[5]} for a in attachments]}
    return "; ".join(parts), details, attachments


def album(content: str, reading: Reading = NO_NAMES, amsreferences: list[str] | None = None) -> Handled:
    """RichText/Media_Album: <MediaAlbum albumId=...>, its photos as URIObjects inside or as amsreferences."""
    albums = markup.start_tags(content, "MediaAlbum")
    album_id = markup.attribute(albums[0], "albumId") if albums else None
    objects = _uri_objects(content)
    attachments = [_attachment(position, attrs, inner) for position, (attrs, inner) in enumerate(objects)]
    refs = [ref for ref in amsreferences or [] if isinstance(ref, str) and ref]
    known = {a[4] for a in attachments}
    for ref in refs:
        if ref not in known:
            attachments.append((len(attachments), None, None, None, ref, "Picture.1"))
    count = len(attachments)
    if not count and albums:
        declared = markup.attribute(albums[0], "count") or markup.attribute(albums[0], "itemCount") or ""
        count = int(declared) if declared.isdigit() else 0
    photos = "photo" if count == 1 else "photos"
    text = f"Album: {count} {photos}" if count else "Album"
    details: dict[str, Any] = {"album": {"album_id": album_id, "count": count}}
    if refs:
        details["album"]["amsreferences"] = refs
    return text, details, attachments


def poll(content: str, reading: Reading = NO_NAMES) -> Handled:
    """A poll: <URIObject type="Poll" title optionsEncoded="A|B|C" allowMultipleVotes>, or a JSON body."""
    stripped = content.lstrip()
    if stripped.startswith(("{", "[")):
        return json_body(content, reading)
    tags = markup.start_tags(content, "URIObject")
    attrs = tags[0] if tags else {}
    title = markup.attribute(attrs, "title") or markup.inner(content, "Title") or ""
    encoded = markup.attribute(attrs, "optionsEncoded") or ""
    options = [option.strip() for option in encoded.split("|") if option.strip()]
    if not options:
        options = [text for text in markup.all_inner(content, "option") if text]
    multiple = (markup.attribute(attrs, "allowMultipleVotes") or "").lower() == "true"
    if not tags and not title:
        title = markup.to_text(content).strip()
    text = f"Poll: {title}" if title else "Poll"
    if options:
        text += " — " + " / ".join(options)
    return text, {"poll": {"title": title or None, "options": options, "multiple_votes": multiple}}, []


def card(content: str, reading: Reading = NO_NAMES) -> Handled:
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


def location(content: str, reading: Reading = NO_NAMES) -> Handled:
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


def contacts(content: str, reading: Reading = NO_NAMES) -> Handled:
    people = [(a.get("f") or a.get("s") or "", a.get("s")) for a in markup.start_tags(content, "c")]
    names = ", ".join(f"{name} ({sid})" if sid and sid != name else name for name, sid in people)
    return f"Shared contacts: {names}" if people else "Shared contacts", {"contacts": people}, []


def _seconds(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def call(content: str, reading: Reading = NO_NAMES) -> Handled:
    """Event/Call: <partlist type="started|ended|missed" callId><part identity><name/><duration/></part>...."""
    if content.lstrip().startswith("{"):
        return json_body(content, reading)
    lists = markup.start_tags(content, "partlist")
    attrs = lists[0] if lists else {}
    people: list[dict[str, Any]] = []
    for part_attrs, inner in markup.elements(content, "part"):
        identity = part_attrs.get("identity") or ""
        name = markup.inner(inner, "name") or None
        people.append({"id": identity or None, "name": name, "duration_s": _seconds(markup.inner(inner, "duration"))})
    durations = [p["duration_s"] for p in people if p["duration_s"] is not None]
    kind = attrs.get("type") or ("ended" if durations else "call")
    duration = max(durations) if durations else None
    details: dict[str, Any] = {
        "call": kind,
        "call_id": attrs.get("callId") or attrs.get("callid") or None,
        "participants": people,
        "direction": _direction(reading),
    }
    if kind == "started":
        text = "Call started"
    elif kind == "ended":
        details["duration_s"] = duration
        text = f"Call ended, {duration_text(duration)}" if duration is not None else "Call ended"
    elif kind == "missed":
        caller = _caller_name(people, reading)
        text = f"Missed call from {caller}" if caller else "Missed call"
    else:
        text = "Call" if kind == "call" else f"Call ({kind})"
    return text, details, []


def _direction(reading: Reading) -> str | None:
    if not reading.owner_id or not reading.sender_id:
        return None
    return "outgoing" if reading.sender_id == reading.owner_id else "incoming"


def _caller_name(people: list[dict[str, Any]], reading: Reading) -> str | None:
    """Who called: the first part, as the content names it, else the sender."""
    for person in people:
        if person["name"] or person["id"]:
            return person["name"] or reading.name(person["id"])
    return reading.name(reading.sender_id) if reading.sender_id else None


def member_change(content: str, reading: Reading = NO_NAMES) -> Handled:
    if content.lstrip().startswith("{"):
        return json_body(content, reading)
    deleting = "<deletemember" in content.lower()
    initiator = markup.inner(content, "initiator") or ""
    targets = markup.all_inner(content, "target")
    names = _names_in_details(content, reading)
    who = ", ".join(names.name(t) for t in targets)
    actor = names.name(initiator)
    if deleting:
        text = f"{who} left the conversation" if targets == [initiator] else f"{actor} removed {who}".strip()
    else:
        text = f"{actor} added {who}".strip()
    return text, {"initiator": initiator, "targets": targets, "action": "delete" if deleting else "add"}, []


def _names_in_details(content: str, reading: Reading) -> Reading:
    """Names the event itself gives (<detail><id/><friendlyname/></detail>) before the archive's."""
    if "<detail" not in content.lower():
        return reading
    given = {}
    for _, inner in markup.elements(content, "detail"):
        person = markup.inner(inner, "id")
        name = markup.inner(inner, "friendlyname")
        if person and name:
            given[person] = name
    return Reading(reading.sender_id, reading.owner_id, reading.conversation_id, {**reading.names, **given})


THREAD_UPDATES = {
    "topicupdate": "changed the topic to",
    "pictureupdate": "changed the conversation picture",
    "historydisclosedupdate": "set history visible to new members to",
    "joiningenabledupdate": "set joining by link to",
}


def thread_update(content: str, reading: Reading = NO_NAMES) -> Handled:
    if content.lstrip().startswith("{"):
        return json_body(content, reading)
    match = re.match(r"\s*<(\w+)", content)
    tag = match.group(1).lower() if match else ""
    initiator = markup.inner(content, "initiator") or ""
    value = markup.inner(content, "value")
    verb = THREAD_UPDATES.get(tag, f"updated {tag or 'the conversation'}")
    actor = reading.name(initiator)
    if tag == "topicupdate":
        text = f'{actor} {verb} "{value or ""}"'
    elif tag == "pictureupdate" or value is None:
        text = f"{actor} {verb}"
    else:
        text = f"{actor} {verb} {value}"
    return text.strip(), {"update": tag, "initiator": initiator, "value": value}, []


# --- JSON bodies -----------------------------------------------------------------------------------
HUMAN_KEYS = ("title", "subtitle", "text", "translatedText", "question", "message", "body", "description", "summary")


def json_body(content: str, reading: Reading = NO_NAMES) -> Handled:
    """A JSON content of any type: a readable text, never a leading "{"; the data kept in details."""
    try:
        data = json.loads(content)
    except ValueError:
        return markup.to_text(content).strip(), None, []
    return json_text(data, reading), {"json": data}, []


def json_text(data: Any, reading: Reading = NO_NAMES) -> str:
    """What a person reads of a JSON value: a call log, a member change, a card's title and text, or its words."""
    if isinstance(data, dict):
        if _is_call_log(data):
            return _call_log_text(data, reading)
        if isinstance(data.get("members"), list) and ("initiator" in data or "members" in data):
            return _members_text(data, reading)
    texts: list[str] = []
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            texts += _card_texts(item.get("attachments") or [item])
            texts += [str(item[k]) for k in HUMAN_KEYS[3:] if isinstance(item.get(k), str)]
            options = item.get("options")
            if isinstance(options, list) and options:
                texts.append(" / ".join(str(o) for o in options))
    texts = [t for t in dict.fromkeys(texts) if t.strip()]
    if texts:
        return " — ".join(texts)
    return _flat_text(data)


def _flat_text(data: Any, limit: int = 300) -> str:
    """Scalar values of a JSON value as "key: value" pairs: readable, and never starting with a bracket."""
    pairs: list[str] = []

    def walk(value: Any, key: str) -> None:
        if len(pairs) >= 20:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif value is not None and str(value).strip():
            pairs.append(f"{key}: {value}" if key else str(value))

    walk(data, "")
    text = ", ".join(pairs)[:limit]
    return text or "(empty)"


def _is_call_log(data: dict[str, Any]) -> bool:
    return "callId" in data and any(k in data for k in ("callState", "callDirection", "originator"))


def _iso_seconds(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _call_log_text(data: dict[str, Any], reading: Reading) -> str:
    """A 48:calllogs entry: direction, the other person, what happened, how long."""
    direction = str(data.get("callDirection") or "").lower()
    state = str(data.get("callState") or "").lower()
    other_key = "originator" if direction == "incoming" else "target"
    other = data.get(f"{other_key}Participant")
    other_name = other.get("displayName") if isinstance(other, dict) else None
    other_id = data.get(other_key)
    who = other_name or (reading.name(other_id) if isinstance(other_id, str) else None)
    start, end = _iso_seconds(data.get("connectTime")), _iso_seconds(data.get("endTime"))
    word = {"incoming": "Incoming call", "outgoing": "Outgoing call"}.get(direction, "Call")
    text = word + (f" {'from' if direction == 'incoming' else 'with'} {who}" if who else "")
    if state and state != "accepted":
        text += f", {state}"
    if start is not None and end is not None and end >= start:
        text += f", {duration_text(end - start)}"
    return text


def _members_text(data: dict[str, Any], reading: Reading) -> str:
    """ThreadActivity/MemberJoined and its kin: {"initiator": id, "members": [{"id", "friendlyName"}]}."""
    initiator = data.get("initiator") if isinstance(data.get("initiator"), str) else None
    people = []
    for member in data["members"]:
        if isinstance(member, dict) and isinstance(member.get("id"), str):
            people.append((member["id"], member.get("friendlyName") or member.get("displayName")))
        elif isinstance(member, str):
            people.append((member, None))
    names = ", ".join(str(name) if name else reading.name(pid) for pid, name in people)
    if not names:
        return "Members changed"
    if initiator is None or [pid for pid, _ in people] == [initiator]:
        return f"{names} joined"
    return f"{reading.name(initiator)} added {names}"


def call_log(content: str, reading: Reading = NO_NAMES) -> Handled:
    return json_body(content, reading)


def opaque(content: str, reading: Reading = NO_NAMES) -> Handled:
    return "(encrypted message)", None, []


Handler = Callable[..., Handled]
HANDLERS: dict[str, Handler] = {
    "RichText/UriObject": media,
    "RichText/Media_GenericFile": media,
    "RichText/Media_Video": media,
    "RichText/Media_AudioMsg": media,
    "RichText/Media_FlikMsg": media,
    "RichText/Media_CallRecording": media,
    "RichText/Files": media,
    "RichText/Media_Card": card,
    "RichText/Location": location,
    "RichText/Contacts": contacts,
    "Poll": poll,
    "Event/Call": call,
    "ThreadActivity/AddMember": member_change,
    "ThreadActivity/DeleteMember": member_change,
    "ThreadActivity/MemberJoined": json_body,
    "ThreadActivity/MemberLeft": json_body,
    "Notice": json_body,
    "PopCard": json_body,
    "Translation": json_body,
    "EndToEndEncryption/EncryptedText": opaque,
}
MEDIA_HANDLERS = {name for name, handler in HANDLERS.items() if handler is media}


def handler_for(message_type: str) -> Handler | None:
    found = HANDLERS.get(message_type)
    if found is not None:
        return found
    if message_type.startswith("ThreadActivity/E2EE"):
        return opaque
    if message_type.startswith("ThreadActivity/") and message_type.endswith("Update"):
        return thread_update
    return None
