"""The import pipeline, by stage: extract/, transform/, load/, run/. Free of Qt.

The window and the command line both sit on top of it. Names are loaded when
first asked for, so a process that needs one stage (the worker process needs
extract and transform) does not import the others, nor their drivers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compat import SkypeETLPipeline
    from .errors import Cancelled, DatabaseError, DatabaseUrlError, ExportError, ExportReadError
    from .extract import Extractor
    from .load import Batch, ErrorFilter, Loader, open_loader
    from .records import ErrorRecord
    from .run.context import ETLContext, MemorySample, PhaseInfo, Progress
    from .run.pipeline import ETLPipeline, Prepared
    from .transform import Transformer
    from .urls import parse_database_url

_WHERE = {
    "SkypeETLPipeline": ".compat",
    "Cancelled": ".errors",
    "DatabaseError": ".errors",
    "DatabaseUrlError": ".errors",
    "ExportError": ".errors",
    "ExportReadError": ".errors",
    "Extractor": ".extract",
    "Batch": ".load",
    "ErrorFilter": ".load",
    "Loader": ".load",
    "open_loader": ".load",
    "ErrorRecord": ".records",
    "ETLContext": ".run.context",
    "MemorySample": ".run.context",
    "PhaseInfo": ".run.context",
    "Progress": ".run.context",
    "ETLPipeline": ".run.pipeline",
    "Prepared": ".run.pipeline",
    "Transformer": ".transform",
    "parse_database_url": ".urls",
}
__all__ = [
    "Batch",
    "Cancelled",
    "DatabaseError",
    "DatabaseUrlError",
    "ETLContext",
    "ETLPipeline",
    "ErrorFilter",
    "ErrorRecord",
    "ExportError",
    "ExportReadError",
    "Extractor",
    "Loader",
    "MemorySample",
    "PhaseInfo",
    "Prepared",
    "Progress",
    "SkypeETLPipeline",
    "Transformer",
    "open_loader",
    "parse_database_url",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
