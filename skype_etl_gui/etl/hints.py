"""What each recorded error means for the person who imported, and what they can do about it."""

from __future__ import annotations

SEVERITY_MEANING = {
    "warning": "repaired: the record is stored, with the change described",
    "error": "skipped: the record is not stored",
    "fatal": "the run stopped here: what was committed before is kept, and it can be resumed",
}

HINTS = {
    "MissingMessageId": (
        "Skype wrote this message without an id, so it cannot be stored or told apart from others. "
        "Nothing to do: the raw record below is all there is of it."
    ),
    "InvalidMessage": (
        "An entry of the message list is not a message at all (a number, text or list). "
        "It usually means the export was edited or damaged; the rest of the conversation is stored."
    ),
    "MissingConversationId": (
        "A conversation has no id, so its messages cannot be stored. If this export was edited by hand, "
        "take a fresh export from Skype's export page and import that."
    ),
    "InvalidMessageList": (
        "The conversation's MessageList is not a list. The conversation itself is stored, without messages."
    ),
    "NonStringId": "The message id was a number or other value; it is stored as text. Nothing to do.",
    "MissingSender": "The message names no sender; it is stored without one. Nothing to do.",
    "NonStringSender": "The sender was not text; it is stored as text. Nothing to do.",
    "NonStringContent": "The content was not text; it is stored as its JSON text. Nothing to do.",
    "MissingMessageType": "The message has no type; it is stored and read as plain text. Nothing to do.",
    "InvalidTimestamp": (
        "The time the message was sent is not a date, so sent_at is empty. The message is stored; "
        "it will sort without a time."
    ),
    "UnreadableContent": (
        "The markup of this typed message (a call, file, contact, poll…) could not be read. "
        "Its text is stored as plain text, and content_raw keeps it exactly as exported."
    ),
    "InvalidProperties": "The message's properties were not an object; they are kept as text. Nothing to do.",
    "UnreadableProperties": "The properties nest too deep to store and were dropped; the message is stored.",
    "NestedTooDeep": (
        "A value in this record nests lists or objects more than 64 levels deep, which no real export does and "
        "which would take the importer's memory; it was left out (a note stands in its place) and the rest "
        "of the record is stored. Nothing to do."
    ),
    "NulRemoved": "PostgreSQL cannot store NUL characters, so they were removed; everything else is as exported.",
    "ConnectionLost": (
        "The connection to the database server dropped and was made again; the batch was written once. "
        "If this repeats, check the network or the server."
    ),
    "MemoryNearLimit": (
        "The import came near its memory limit and made its batches smaller. It goes on more slowly; "
        "raise the limit if the machine has memory to spare."
    ),
    "ExportError": (
        "The export is damaged or not a Skype export. Take a fresh export from Skype's export page, "
        "or check that the download finished."
    ),
    "ExportReadError": (
        "The export could not be read to the end (a damaged or incomplete file, or a disk that failed). "
        "What was read is stored; with a complete copy of the same export, Resume continues from here."
    ),
    "MemoryLimit": (
        "The import passed its memory limit while reading one very large record, and stopped before the "
        "system would have had to. What was committed is kept: raise the limit (--memory-limit, or close other "
        "programs) and Resume."
    ),
    "DatabaseError": (
        "The database stopped accepting writes (a full disk, a stopped server, missing permissions). "
        "Fix that and press Resume: nothing committed is lost or duplicated."
    ),
}


def hint_for(error_type: str | None, severity: str | None) -> str:
    """A sentence or two in plain language for a person reading the error log."""
    hint = HINTS.get(error_type or "")
    if hint:
        return hint
    if severity == "fatal":
        return (
            "An unexpected failure stopped the run; what was committed is kept and it can be resumed. "
            "Please report it with the application log."
        )
    return "Recorded while importing; see the message and the raw record."
