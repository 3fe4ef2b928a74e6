"""Where the importer keeps its data by default."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "skype-etl-gui"
DATABASE_FILE = "skype_history.db"


def data_dir() -> Path:
    """The platform's user data folder; SKYPE_ETL_DATA_DIR overrides it (tests, portable use)."""
    override = os.environ.get("SKYPE_ETL_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """The platform's user log folder; SKYPE_ETL_LOG_DIR overrides it, else a `logs` folder in SKYPE_ETL_DATA_DIR."""
    override = os.environ.get("SKYPE_ETL_LOG_DIR")
    if override:
        return Path(override)
    if os.environ.get("SKYPE_ETL_DATA_DIR"):
        return data_dir() / "logs"
    from platformdirs import user_log_dir

    return Path(user_log_dir(APP_NAME, appauthor=False))


def private_folder(path: Path) -> Path:
    """A folder of this program's own, readable by its owner only (0700 on POSIX), made when missing."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        path.chmod(0o700)
    return path


def private_file(path: Path) -> None:
    """Make `path` (and nothing else) owner-only, when it exists: 0600 on POSIX."""
    if os.name == "posix" and path.exists():
        path.chmod(0o600)


def default_database_path() -> Path:
    return data_dir() / DATABASE_FILE


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"
