"""`skype-etl media get` and `media export`: the stored files back, on both databases."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.cli import main
from tests.etl.test_media import CLIP, PHOTO, imported, media_members, messages_json, write_tar


@pytest.fixture
def archive(any_db: Any, tmp_path: Path) -> Any:
    imported(any_db, write_tar(tmp_path / "export.tar", [("messages.json", messages_json()), *media_members()]))
    return any_db


def test_media_get(archive: Any, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    sha = hashlib.sha256(CLIP).hexdigest()
    assert main(["media", "get", sha, "--db", archive.url]) == 0
    assert capsysbinary.readouterr().out == CLIP
    out = tmp_path / "clip.mp4"
    assert main(["media", "get", sha.upper(), "--db", archive.url, "-o", str(out)]) == 0
    assert out.read_bytes() == CLIP
    assert main(["media", "get", sha, "--db", archive.url, "-o", str(out)]) == 2  # never over a file
    assert "exists" in capsysbinary.readouterr().err.decode()
    assert main(["media", "get", "0" * 64, "--db", archive.url]) == 1
    assert b"no stored file" in capsysbinary.readouterr().err


def test_media_export(archive: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out"
    (target / "Anna").mkdir(parents=True)
    (target / "Anna" / "beach.png").write_bytes(b"someone else's beach")  # taken: never overwritten
    assert main(["media", "export", str(target), "--db", archive.url]) == 0
    assert "Exported 2 files" in capsys.readouterr().out
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == ["Anna/beach (2).png", "Anna/beach.png", "Anna/clip.mp4"]
    assert (target / "Anna" / "beach.png").read_bytes() == b"someone else's beach"
    assert (target / "Anna" / "beach (2).png").read_bytes() == PHOTO
    assert (target / "Anna" / "clip.mp4").read_bytes() == CLIP
    sent = datetime(2020, 9, 13, 12, 26, 40, 123000, tzinfo=timezone.utc).timestamp()  # message()'s time
    assert abs(os.stat(target / "Anna" / "clip.mp4").st_mtime - sent) < 0.01
    # again: nothing new, nothing doubled
    assert main(["media", "export", str(target), "--db", archive.url]) == 0
    said = capsys.readouterr().out
    assert "Exported 0 files" in said and "2 were there already" in said
    assert len([p for p in target.rglob("*") if p.is_file()]) == 3
    # one conversation only
    other = tmp_path / "other"
    assert main(["media", "export", str(other), "--db", archive.url, "--conversation", "8:nobody", "--quiet"]) == 0
    assert not other.exists() or not any(other.rglob("*"))


def test_the_import_says_what_it_did_with_the_media(
    any_db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = write_tar(tmp_path / "export.tar", [*media_members(), ("messages.json", messages_json())])
    assert main(["import", str(export), "--db", any_db.url]) == 0
    said = capsys.readouterr().err
    assert "Media: 2 files in the export, 2 stored (2.2 MB); 1 named by messages but not in the export" in said
