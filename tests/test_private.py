"""A person's chat history is theirs: what the program makes is owner-only (POSIX), what they chose keeps its mode."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline
from tests.conftest import conversation, export_document, message, write_export

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_export(tmp_path / "e.json", export_document([conversation("8:a", [message("1"), message("2")])]))


def test_the_default_archive_its_wal_and_its_folder_are_owner_only(
    tmp_path: Path, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"  # as the platform's folder: made by the program
    monkeypatch.setenv("SKYPE_ETL_DATA_DIR", str(data))
    from skype_etl_gui.paths import default_database_url

    seen: dict[str, int] = {}
    pipeline = ETLPipeline(default_database_url(), batch_size=1, parallel=False)
    context = pipeline.new_context()

    def look(_: Any) -> None:  # while the database is open, its -wal and -shm files exist
        for path in data.iterdir():
            seen[path.name] = mode(path)

    context.subscribe("checkpoint", look)
    assert pipeline.run(export, context=context)["status"] == "completed"
    assert mode(data) == 0o700
    assert seen == {"skype_history.db": 0o600, "skype_history.db-wal": 0o600, "skype_history.db-shm": 0o600}


def test_an_old_default_archive_is_made_private_too(
    tmp_path: Path, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    monkeypatch.setenv("SKYPE_ETL_DATA_DIR", str(data))
    from skype_etl_gui.paths import default_database_path, default_database_url

    ETLPipeline(default_database_url()).run(export)
    default_database_path().chmod(0o644)  # as an earlier version left it
    ETLPipeline(default_database_url()).run(export)
    assert mode(data) == 0o700 and mode(default_database_path()) == 0o600


def test_a_path_the_person_chose_keeps_its_mode(tmp_path: Path, export: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    chosen = shared / "family.db"
    ETLPipeline(f"sqlite:///{chosen}").run(export)
    assert mode(chosen) == 0o600, "a new file is private"
    chosen.chmod(0o640)  # the person shares it with their group
    ETLPipeline(f"sqlite:///{chosen}").run(export)
    assert mode(chosen) == 0o640 and mode(shared) == 0o755


def test_the_application_log_is_owner_only(tmp_path: Path) -> None:
    logs = tmp_path / "new" / "logs"
    code = "from skype_etl_gui import applog; import logging; applog.setup('t'); logging.getLogger('skype_etl_gui').info('x')"
    environment = dict(os.environ, SKYPE_ETL_LOG_DIR=str(logs))
    subprocess.run([sys.executable, "-c", code], check=True, env=environment, cwd=ROOT)
    assert mode(logs) == 0o700
    assert [mode(p) for p in logs.iterdir()] == [0o600]
