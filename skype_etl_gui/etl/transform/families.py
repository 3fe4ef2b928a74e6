"""One function per message family: content -> (content_text, details, attachments).

Each one is tolerant: real content is often not well-formed, so nothing here
uses an XML parser (see markup.py), and what a function cannot read it leaves to
the transformer, which keeps the text and records a warning.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Callable
from typing import Any

from . import markup

_DURATION = re.compile(r"<duration>\s*([\d.]+)\s*</duration>")


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
