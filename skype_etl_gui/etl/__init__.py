"""The import pipeline. Free of Qt: the window and the command line both sit on top of it."""

from .compat import SkypeETLPipeline
from .context import ErrorRecord, ETLContext, MemorySample, PhaseInfo, Progress
from .extractor import ExportError, ExportReadError, Extractor
from .loader import Batch, DatabaseError, Loader, open_loader
from .pipeline import ETLPipeline
from .transformer import Transformer
from .urls import DatabaseUrlError, parse_database_url

__all__ = [
    "Batch",
    "DatabaseError",
    "DatabaseUrlError",
    "ETLContext",
    "ETLPipeline",
    "ErrorRecord",
    "ExportError",
    "ExportReadError",
    "Extractor",
    "Loader",
    "MemorySample",
    "PhaseInfo",
    "Progress",
    "SkypeETLPipeline",
    "Transformer",
    "open_loader",
    "parse_database_url",
]
