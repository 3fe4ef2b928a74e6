"""The skype-etl command, run as a user runs it: a real process, its exit code, stderr and database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skype_etl_gui.sample import SampleStats
from tests.conftest import Database

ROOT = Path(__file__).resolve().parent.parent


def skype_etl(
    *args: str, env_extra: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "skype_etl_gui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def wait_for_rows(db: Database, timeout_s: float = 60) -> None:
    """Until the first batch is committed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if db.exists() and db.count("messages") > 0:
                return
        except Exception:  # noqa: BLE001 - the schema may not exist yet
            pass
        time.sleep(0.05)
    raise AssertionError("no batch was committed in time")


def test_import_json_summary(small_sample: tuple[Path, SampleStats], db: Database) -> None:
    path, stats = small_sample
    done = skype_etl("import", str(path), "--db", db.url, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary) == {
        "run_id",
        "status",
        "conversations",
        "messages",
        "errors",
        "duration_s",
        "resumed",
        "messages_skipped",
        "database",
    }
    assert summary["status"] == "completed" and summary["conversations"] == stats.conversations
    assert summary["database"] == db.url and summary["resumed"] is False
    assert db.count("messages") == stats.unique_messages
    assert "Imported" in done.stderr and "progress:" in done.stderr  # plain lines: not a terminal
    assert "Traceback" not in done.stderr


def test_default_database_is_announced(small_sample: tuple[Path, SampleStats], tmp_path: Path) -> None:
    done = skype_etl(
        "import", str(small_sample[0]), "--quiet", env_extra={"SKYPE_ETL_DATA_DIR": str(tmp_path / "data")}
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert Database(tmp_path / "data" / "skype_history.db").count("messages") > 0
    loud = skype_etl("import", str(small_sample[0]), env_extra={"SKYPE_ETL_DATA_DIR": str(tmp_path / "data")})
    assert f"Database: {tmp_path / 'data' / 'skype_history.db'}" in loud.stderr


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty"),
        (lambda p: (p.write_bytes(os.urandom(4096)), p)[1], "not a Skype export"),
        (lambda p: (p.write_bytes(b"{" + os.urandom(4095)), p)[1], "not a Skype export"),  # as 1 in 256 random
        (lambda p: (p.write_bytes(b'{"' + bytes(range(128, 256)) * 8), p)[1], "not a Skype export"),  # no UTF-8
        (lambda p: (p.write_text("[]"), p)[1], "list"),
        (lambda p: (p.write_text('{"userId": "x"}'), p)[1], "conversations"),
        (lambda p: p.parent, "folder"),
    ],
    ids=[
        "missing",
        "empty",
        "random bytes",
        "a brace then random bytes",
        "not utf-8",
        "json array",
        "no conversations",
        "folder",
    ],
)
def test_rejected_input_exit_2(tmp_path: Path, db: Database, make, fragment: str) -> None:
    path = make(tmp_path / "export.tar")
    done = skype_etl("import", str(path), "--db", db.url)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skype-etl: error: ") and fragment in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not db.exists() or db.count("messages") == 0


def test_bad_url_exit_2_without_password(small_sample: tuple[Path, SampleStats]) -> None:
    done = skype_etl("import", str(small_sample[0]), "--db", "mysql://me:s3cret@host/db")
    assert done.returncode == 2 and "s3cret" not in done.stderr and "unsupported" in done.stderr


def test_debug_shows_traceback(tmp_path: Path) -> None:
    done = skype_etl("import", str(tmp_path / "missing.tar"), "--debug", "--db", f"sqlite:///{tmp_path}/x.db")
    assert done.returncode == 2 and "Traceback" in done.stderr


def test_truncated_export_exit_1(tmp_path: Path, db: Database) -> None:
    full = tmp_path / "full.json"
    assert skype_etl("sample", str(full), "--messages", "2000").returncode == 0
    cut = tmp_path / "cut.json"
    cut.write_bytes(full.read_bytes()[:-5000])
    done = skype_etl("import", str(cut), "--db", db.url, "--json", "--batch-size", "100")
    assert done.returncode == 1
    assert json.loads(done.stdout.splitlines()[-1])["status"] == "failed"
    assert "truncated" in done.stderr and "Traceback" not in done.stderr
    assert db.count("messages") > 0


def test_sigint_stops_cleanly_exit_130(tmp_path: Path, db: Database) -> None:
    export = tmp_path / "big.tar"
    assert skype_etl("sample", str(export), "--messages", "60000").returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "skype_etl_gui", "import", str(export), "--db", db.url, "--json", "--batch-size", "500"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_rows(db)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert json.loads(out.splitlines()[-1])["status"] == "cancelled"
    assert db.one("SELECT status FROM etl_runs") == "cancelled"
    assert 0 < db.count("messages") < 60000


def test_runs_and_errors_commands(tmp_path: Path, db: Database, small_sample: tuple[Path, SampleStats]) -> None:
    assert skype_etl("import", str(small_sample[0]), "--db", db.url, "--quiet").returncode == 0
    runs = skype_etl("runs", "--db", db.url)
    assert runs.returncode == 0 and "completed" in runs.stdout
    listed = json.loads(skype_etl("runs", "--db", db.url, "--json").stdout)
    assert len(listed) == 1 and listed[0]["status"] == "completed"
    errors = json.loads(skype_etl("errors", "--db", db.url, "--json", "--run", listed[0]["id"]).stdout)
    media = [e for e in errors if e["error_type"].startswith("Media")]  # the sample's expired and orphan files
    assert [e["error_type"] for e in errors if e not in media] == ["MissingMessageId"] * small_sample[1].without_id
    assert "MissingMessageId" in skype_etl("errors", "--db", db.url).stdout


def test_sample_command(tmp_path: Path) -> None:
    out = tmp_path / "demo.tar.gz"
    done = skype_etl("sample", str(out), "--messages", "250", "--seed", "4")
    assert done.returncode == 0 and out.stat().st_size > 0
    assert "250 message entries" in done.stderr


def test_resume_with_nothing_to_resume_says_so(small_sample: tuple[Path, SampleStats], db: Database) -> None:
    done = skype_etl("import", str(small_sample[0]), "--db", db.url, "--resume", "--json")
    assert done.returncode == 0, done.stderr
    assert "nothing to resume" in done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["resumed"] is False and summary["messages_skipped"] == 0


def test_sigint_then_resume_finishes(tmp_path: Path, db: Database) -> None:
    export = tmp_path / "big.tar"
    assert skype_etl("sample", str(export), "--messages", "60000").returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "skype_etl_gui", "import", str(export), "--db", db.url, "--batch-size", "500"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_rows(db)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "--resume" in err
    done = skype_etl("import", str(export), "--db", db.url, "--resume", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["resumed"] is True and summary["messages_skipped"] > 0
    assert db.one("SELECT count(*) FROM etl_runs WHERE status = 'completed'") == 1


def test_the_progress_line_says_memory_once_sampled_and_small_media_in_tenths() -> None:
    """Before the first memory sample the line names no memory (not "0 MB"); a megabyte and a half of media is
    "1.5 MB", not "2 MB" or "0 MB", and a few bytes are bytes, not "0.0 MB"."""
    import io

    from skype_etl_gui.cli import ProgressReporter
    from skype_etl_gui.etl.run.context import MemorySample, Progress

    out = io.StringIO()
    reporter = ProgressReporter(out, memory_limit_mb=0)
    reporter.on_progress(Progress(messages=10, percent=100.0))
    reporter.on_memory(MemorySample(rss_mb=41.2, peak_mb=41.2, limit_mb=0, near_limit=False))
    reporter.on_progress(Progress(messages=20, percent=100.0, media_files=2, media_bytes=1_572_864))
    reporter.on_progress(Progress(messages=30, percent=100.0, media_files=3, media_bytes=213))
    first, second, third = out.getvalue().splitlines()
    assert "memory" not in first
    assert "memory 41 MB" in second and "2 media files (1.5 MB)" in second
    assert "3 media files (213 B)" in third


def test_a_reader_that_stops_reading_ends_the_command_quietly(
    db: Database, small_sample: tuple[Path, SampleStats]
) -> None:
    """`skype-etl search word | head -1`: once the reader has gone, no error line and no traceback; the exit
    code is a shell's for a program its pipe's reader left (141)."""
    assert skype_etl("import", str(small_sample[0]), "--db", db.url, "--quiet").returncode == 0
    with subprocess.Popen(
        [sys.executable, "-m", "skype_etl_gui", "search", "lunch", "--limit", "5000", "--db", db.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as search:
        assert search.stdout is not None and search.stderr is not None
        assert search.stdout.readline()  # the first hit, then the reader goes (more than a pipe holds is left)
        search.stdout.close()
        assert search.wait(60) == 141
        assert search.stderr.read() == b""
