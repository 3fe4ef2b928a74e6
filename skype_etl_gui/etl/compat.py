"""SkypeETLPipeline: the original ETL's API, kept for existing scripts. New code uses ETLPipeline."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import IO, Any

from .errors import REJECTED
from .run.pipeline import ETLPipeline


class SkypeETLPipeline:
    """The legacy interface over ETLPipeline.

    The database is PostgreSQL when `db_config` ({dbname, user, password, host,
    port}) or `db_name` is given, else the embedded SQLite database in
    `output_dir` (or the default local one). `parallel_processing=False` or
    `max_workers=0` keep the whole import in this process; otherwise large
    exports are parsed in one worker process. `chunk_size` is accepted and
    unused: the export is streamed in fixed 64 KB reads.
    """

    def __init__(
        self,
        db_config: dict[str, Any] | None = None,
        db_name: str | None = None,
        db_user: str | None = None,
        db_password: str | None = None,
        db_host: str = "localhost",
        db_port: int = 5432,
        output_dir: str | os.PathLike[str] | None = None,
        memory_limit_mb: int = 1024,
        parallel_processing: bool = True,
        chunk_size: int = 1000,
        batch_size: int = 500,
        max_workers: int | None = None,
    ) -> None:
        warnings.warn(
            "SkypeETLPipeline is kept for existing scripts; use skype_etl_gui.etl.ETLPipeline",
            DeprecationWarning,
            stacklevel=2,
        )
        self.output_dir = Path(output_dir) if output_dir is not None else None
        if db_config is not None:
            database: str | dict[str, Any] = dict(db_config)
        elif db_name is not None:
            database = {"dbname": db_name, "user": db_user, "password": db_password, "host": db_host, "port": db_port}
        elif self.output_dir is not None:
            database = f"sqlite:///{self.output_dir / 'skype_history.db'}"
        else:
            from ..paths import default_database_url

            database = default_database_url()
        parallel = None if parallel_processing and max_workers != 0 else False
        self.chunk_size = chunk_size
        self.pipeline = ETLPipeline(database, batch_size=batch_size, memory_limit_mb=memory_limit_mb, parallel=parallel)

    def run_pipeline(
        self,
        file_path: str | os.PathLike[str] | None = None,
        file_obj: IO[bytes] | None = None,
        is_tar: bool = False,
        user_display_name: str | None = None,
    ) -> dict[str, Any]:
        """Import from a path or an open binary file; the format is recognised by content, so `is_tar` is not needed.

        Returns {"success": True, "export_id", "conversations", "message_count", "duration_seconds"}
        or {"success": False, "error", "error_count"}.
        """
        del is_tar, user_display_name  # recognised from the data; the export names its own user
        if (file_path is None) == (file_obj is None):
            return {"success": False, "error": "give exactly one of file_path and file_obj", "error_count": 1}
        spooled: Path | None = None
        try:
            if file_obj is not None:
                spooled = _spool(file_obj, self.output_dir)
            summary = self.pipeline.run(spooled or file_path)  # type: ignore[arg-type]
        except REJECTED as exc:
            return {"success": False, "error": str(exc), "error_count": 1}
        finally:
            if spooled is not None:
                spooled.unlink(missing_ok=True)
        if summary["status"] != "completed":
            return {
                "success": False,
                "error": summary.get("error") or f"the import was {summary['status']}",
                "error_count": summary["errors"],
            }
        return {
            "success": True,
            "export_id": summary["run_id"],
            "conversations": summary["conversations"],
            "message_count": summary["messages"],
            "duration_seconds": summary["duration_s"],
        }


def _spool(file_obj: IO[bytes], folder: Path | None) -> Path:
    """A stream to a temporary file: the importer reads exports by path (to seek when it resumes)."""
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="skype-export-", dir=folder)
    with os.fdopen(handle, "wb") as out:
        shutil.copyfileobj(file_obj, out, 1 << 20)
    return Path(name)
