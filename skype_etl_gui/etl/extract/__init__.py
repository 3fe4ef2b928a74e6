"""Extract: recognise the export, stream its conversations and messages, fingerprint it. Nothing here writes."""

from .events import Boundary, ConversationEnd, ConversationStart, Event, ExportHeader, MessageChunk, Position
from .extractor import CHUNK_SIZE, Extractor
from .fingerprint import fingerprint
from .sniff import ExportSource, inspect_export

__all__ = [
    "CHUNK_SIZE",
    "Boundary",
    "ConversationEnd",
    "ConversationStart",
    "Event",
    "ExportHeader",
    "ExportSource",
    "Extractor",
    "MessageChunk",
    "Position",
    "fingerprint",
    "inspect_export",
]
