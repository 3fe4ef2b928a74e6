"""Raw export records to database rows.

Every message with an id becomes a row, whatever its type; what cannot be made
sense of is repaired or skipped and reported to the error sink (the run's
context) as an error row. What each record means (its text, sender, reactions...)
is read by derive.py, which reprocess uses too; the families of typed content
are read in families.py.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..values import json_type, record_id
from .derive import (
    CALL_LOGS,
    PERSON_TYPES,
    conversation_kind,
    derive,
    is_plain,
    json_list,
    members_of,
    participant_ids,
    properties_dict,
    wants_names,
)
from .encoding import json_or_text, to_json
from .rows import DEFERRED, MAX_VERSION, STORED_TIME, Rows, iso_timestamp, owner_of, version_number


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


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json_or_text(value)


class Transformer:
    """Turns conversations and message chunks into rows; problems go to the context."""

    def __init__(self, context: ErrorSink, run_id: str | None = None) -> None:
        self.context = context
        self.run_id = run_id or context.run_id
        self._senders: dict[str, dict[str, bool]] = {}  # sender -> has a name been stored
        self.owner_id: str = ""  # the export's owner: its userId (or fallback_owner), set before its conversations
        # a person's RichText with markup is left for complete() in the importing process (a worker for SQLite)
        self.defer = False
        # (owner_id, conversation_id, id) of event texts showing an id, which the import's end reads again with names
        self.wanting_names: list[tuple[str, str, str]] = []
        self.quoting: list[tuple[str, str, str, str]] = []  # (owner_id, conversation_id, id, the quoted message's id)

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
        owner = owner_of(conv_id, self.owner_id)
        name = header.get("displayName")
        version = header.get("version")
        row = (
            conv_id,
            name if isinstance(name, str) and name else None,
            conversation_kind(conv_id),
            version_number(version),
            topic if isinstance(topic, str) else None,
            count if isinstance(count, int) and not isinstance(count, bool) else len(members) or None,
            _json_or_none(header.get("properties")),
            _json_or_none(thread),
            self.run_id,
            owner,
        )
        members = members_of(conv_id, thread, self.owner_id or None)
        participants = [(conv_id, member, None, "member", owner) for member in members]
        return row, participants

    # --- messages --------------------------------------------------------------------
    def messages(self, conv_id: str, entries: list[Any], offset: int = 0) -> Rows:
        """Rows for consecutive MessageList entries; `offset` is the first entry's position."""
        rows = Rows()
        add_message = rows.messages.append
        senders = self._senders.setdefault(conv_id, {})
        run_id = self.run_id
        owner = owner_of(conv_id, self.owner_id)
        stored_form = STORED_TIME.match
        encode = to_json
        for position, msg in enumerate(entries, offset):
            if not isinstance(msg, dict):
                self._skip(conv_id, position, msg, "InvalidMessage", f"is {json_type(msg)}, not an object")
                rows.skipped += 1
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
                    rows.skipped += 1
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
                sent_at = self._arrival(conv_id, msg_id, arrival)
            if type(version) is int or type(version) is float:
                if not -MAX_VERSION < version < MAX_VERSION:
                    version = None
            else:
                version = version_number(version)
            props = get("properties")
            props_json = None
            if props is not None:
                props_json = self._properties(conv_id, msg_id, props)
            ams = get("amsreferences")
            if is_plain(conv_id, sender, mtype, content, props):
                # derive()'s first branch, without the call: most messages are plain
                sender_id, sender_name, text, known_name = sender, name or None, content, name or None
                details = edited_at = deleted_at = None
            elif self.defer and mtype in PERSON_TYPES and conv_id != CALL_LOGS:
                # read in the importing process (complete(), from this row), which has time while this one parses
                sender_id, sender_name, text, known_name = None, name, DEFERRED, None
                details = edited_at = deleted_at = None
                rows.deferred += 1
            else:
                sender_id, sender_name, text, details, edited_at, deleted_at, known_name = self._derived(
                    rows, owner, conv_id, msg_id, version, sender, name, mtype, content, props, ams
                )
            if sender_id and (sender_id not in senders or (known_name and not senders[sender_id])):
                senders[sender_id] = bool(known_name)
                rows.participants.append((conv_id, sender_id, known_name, "sender", owner))
            add_message(
                (
                    conv_id,
                    msg_id,
                    sender_id,
                    sender_name,
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
                    sender,
                    _json_or_none(ams),
                    owner,
                )
            )
        return rows

    def _derived(
        self,
        rows: Rows,
        owner: str,
        conv_id: str,
        msg_id: str,
        version: Any,
        sender: str | None,
        name: str | None,
        mtype: str | None,
        content: str | None,
        props: Any,
        ams: Any,
    ) -> tuple[Any, ...]:
        """derive() of one message, its rows and warnings noted: (sender_id, sender_name, text, details,
        edited_at, deleted_at, the name known for the sender)."""
        derived = derive(conv_id, sender, name, mtype, content, props, ams, self.owner_id or None)
        if derived.warnings:
            for error_type, why in derived.warnings:
                self._warn(conv_id, msg_id, error_type, why, content)
        if derived.attachments:
            rows.attachments += [(conv_id, msg_id, *a, version, owner) for a in derived.attachments]
        if derived.reactions:
            rows.reactions += [(conv_id, msg_id, *r, version, owner) for r in derived.reactions]
        if derived.mentions:
            rows.mentions += [(conv_id, msg_id, *m, version, owner) for m in derived.mentions]
        text = derived.text
        if wants_names(mtype, conv_id, content, text):
            self.wanting_names.append((owner, conv_id, msg_id))
        quote = derived.details.get("quote") if derived.details else None
        if quote and isinstance(quote.get("message_id"), str):
            self.quoting.append((owner, conv_id, msg_id, quote["message_id"]))
        known_name = derived.sender_name if derived.sender_is_author else None
        return (
            derived.sender_id,
            derived.sender_name,
            text,
            derived.details,
            derived.edited_at,
            derived.deleted_at,
            known_name,
        )

    def complete(self, messages: list[tuple[Any, ...]], rows: Rows) -> list[tuple[Any, ...]]:
        """The message rows with every deferred one read now (see `defer`); their other rows go to `rows`.

        A sender is named once a batch here (the upsert keeps the first name a person was stored with).
        """
        done = []
        named: dict[tuple[str, str, str], str | None] = {}
        for row in messages:
            if row[7] != DEFERRED:
                done.append(row)
                continue
            conv_id, msg_id, version, owner = row[0], row[1], row[8], row[-1]
            sender_id, sender_name, text, details, edited_at, deleted_at, known_name = self._derived(
                rows,
                owner,
                conv_id,
                msg_id,
                version,
                row[14],
                row[3],
                row[5],
                row[6],
                properties_dict(row[11]),
                json_list(row[15]),
            )
            if sender_id and named.get((owner, conv_id, sender_id), None) is None:
                named[(owner, conv_id, sender_id)] = known_name
            done.append(
                (
                    conv_id,
                    msg_id,
                    sender_id,
                    sender_name,
                    *row[4:7],
                    text,
                    version,
                    edited_at,
                    deleted_at,
                    row[11],
                    None if details is None else to_json(details),
                    *row[13:],
                )
            )
        rows.participants += [
            (conv_id, person, name, "sender", owner) for (owner, conv_id, person), name in named.items()
        ]
        return done

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

    def _arrival(self, conv_id: str, msg_id: str, arrival: Any) -> str | None:
        sent_at = iso_timestamp(arrival)
        if sent_at is None:
            if arrival is None:
                self._warn(conv_id, msg_id, "MissingTimestamp", "originalarrivaltime is missing; sent_at left empty")
            else:
                self._warn(
                    conv_id,
                    msg_id,
                    "InvalidTimestamp",
                    f"originalarrivaltime {str(arrival)[:60]!r} is not a timestamp; sent_at left empty",
                )
        return sent_at

    def _properties(self, conv_id: str, msg_id: str, props: Any) -> str | None:
        """The properties as JSON text (what they mean is derive's)."""
        if not isinstance(props, dict):
            self._warn(
                conv_id, msg_id, "InvalidProperties", f"properties is {json_type(props)}, not an object; kept as text"
            )
            return json_or_text({"value": props})
        try:
            return to_json(props)
        except (ValueError, RecursionError):
            self._warn(conv_id, msg_id, "UnreadableProperties", "properties nest too deep to store; dropped")
            return None
