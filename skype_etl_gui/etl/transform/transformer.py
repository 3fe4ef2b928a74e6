"""Raw export records to database rows.

Every message with an id becomes a row, whatever its type; what cannot be made
sense of is repaired or skipped and reported to the error sink (the run's
context) as an error row. The families of typed content are read in families.py.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from ..values import json_type, record_id
from . import markup
from .encoding import json_or_text, to_json
from .families import handler_for
from .rows import MAX_VERSION, STORED_TIME, Rows, iso_timestamp, millis_to_iso, version_number


class ErrorSink(Protocol):
    """Where the transform reports what it repaired or skipped: the run's ETLContext."""

    run_id: str

    def record_error(
        self,
        phase: str,
        severity: str,
        error_type: str,
        message: str,
        conversation_id: str | None = None,
        message_id: str | None = None,
        raw: Any = None,
    ) -> Any: ...


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
    return None if value is None else json_or_text(value)


class Transformer:
    """Turns conversations and message chunks into rows; problems go to the context."""

    def __init__(self, context: ErrorSink, run_id: str | None = None) -> None:
        self.context = context
        self.run_id = run_id or context.run_id
        self._senders: dict[str, dict[str, bool]] = {}  # sender -> has a name been stored

    def conversation_done(self, conv_id: str | None) -> None:
        """Its messages are all seen: what was kept about its senders can go (a million conversations add up)."""
        self._senders.pop(conv_id or "", None)

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
            version_number(version),
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
        stored_form = STORED_TIME.match
        to_text = markup.to_text
        encode = to_json
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
                version = version_number(version)
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
        return json_or_text(content)

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
            return None, None, json_or_text({"value": props})
        edited_at = millis_to_iso(props["edittime"]) if "edittime" in props else None
        deleted_at = millis_to_iso(props["deletetime"]) if "deletetime" in props else None
        try:
            return edited_at, deleted_at, to_json(props)
        except (ValueError, RecursionError):
            self._warn(conv_id, msg_id, "UnreadableProperties", "properties nest too deep to store; dropped")
            return edited_at, deleted_at, None
