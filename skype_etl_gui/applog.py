"""The application's own log: rotating files in the platform's log folder, for bug reports.

The ETL library logs through `logging` like any library; the window and the command line
attach this handler. Every line is passed through the redactor, so no password reaches the file.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import platform
import sys
from pathlib import Path

from . import __version__
from .etl.redact import redact_text
from .paths import log_dir, private_folder

LOG_FILE = "skype-etl.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 4
LOGGER = "skype_etl_gui"

_handler: logging.Handler | None = None


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Each log file is created owner-only (0600): it names the files and databases a person imported."""

    def _open(self):  # type: ignore[no-untyped-def]
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=_private_opener)


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then hides passwords written in URLs or DSNs (tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def log_path() -> Path:
    return log_dir() / LOG_FILE


def setup(program: str) -> Path | None:
    """Attach the rotating file handler once; the log file's path, or None when the folder is unusable."""
    global _handler
    path = log_path()
    if _handler is None:
        try:
            private_folder(path.parent)
            handler = PrivateRotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
            )
        except OSError:
            return None  # no log is better than no import
        handler.setFormatter(RedactingFormatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger(LOGGER)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        _handler = handler
    logging.getLogger(LOGGER).info(
        "%s %s started (Python %s, %s)", program, __version__, platform.python_version(), platform.platform()
    )
    return path


def where() -> str:
    """A sentence naming the log, for failure messages."""
    return f"the application log is {log_path()}"


def log_unexpected(exc_type: type[BaseException], exc: BaseException, tb: object) -> None:
    """sys.excepthook for the window: a bug is logged with its traceback before Qt carries on."""
    logging.getLogger(LOGGER).critical("unexpected failure", exc_info=(exc_type, exc, tb))  # type: ignore[arg-type]
    sys.__excepthook__(exc_type, exc, tb)  # type: ignore[arg-type]
