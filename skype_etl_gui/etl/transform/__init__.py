"""Transform: export records to rows, one function per message family. Never imports load or run."""

from .rows import ATTACHMENT_FIELDS, CONVERSATION_FIELDS, MESSAGE_FIELDS, PARTICIPANT_FIELDS, Rows
from .transformer import ErrorSink, Transformer

__all__ = [
    "ATTACHMENT_FIELDS",
    "CONVERSATION_FIELDS",
    "MESSAGE_FIELDS",
    "PARTICIPANT_FIELDS",
    "ErrorSink",
    "Rows",
    "Transformer",
]
