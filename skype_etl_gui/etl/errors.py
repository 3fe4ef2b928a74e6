"""The exceptions every stage shares, each meaning one thing to the caller."""

from __future__ import annotations


class ExportError(Exception):
    """The input cannot be imported. Raised before anything is written (exit 2)."""


class AlreadyImporting(ExportError):
    """A live process is importing the same export into the same database: rejected before anything is written."""


class ExportReadError(Exception):
    """The input broke part way through (truncated JSON, a tar cut short)."""


class DatabaseError(Exception):
    """The database cannot be used: unreachable, refused, unwritable (exit 2 before a run begins)."""


class DatabaseTransientError(DatabaseError):
    """The database failed in a way that passes (connection lost, server restarting, busy, deadlock): retried."""


class DatabaseTerminalError(DatabaseError):
    """The database refused for good (a constraint, a permission, a full disk): retrying would not help."""


class DatabaseUrlError(ValueError):
    """The database URL cannot be understood (exit 2)."""


class Cancelled(Exception):
    """A stop was asked for; raised at the next safe point (a read of the export, a batch boundary, a retry)."""


class StageFailure(Exception):
    """An unexpected failure in one stage, with what a bug report needs: the stage, the error and its traceback."""

    def __init__(self, phase: str, error_type: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.phase = phase  # "extract", "transform" or "load"
        self.error_type = error_type  # the class name of the exception it stands for
        self.message = message
        self.detail = detail  # the traceback

    @classmethod
    def of(cls, phase: str, exc: BaseException) -> StageFailure:
        import traceback

        detail = "".join(traceback.format_exception(exc))
        return cls(phase, type(exc).__name__, f"{type(exc).__name__}: {exc}", detail)


# what a run raises before anything is written, each with one line meant for a person
REJECTED = (ExportError, DatabaseError, DatabaseUrlError, OSError)
