"""The PostgreSQL target against a real server started for the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import DatabaseError, ETLPipeline, open_loader
from skype_etl_gui.sample import SampleStats
from tests.conftest import Database, PgDatabase, conversation, export_document, message, write_export
from tests.pgserver import SUPERUSER_PASSWORD

ROOT = Path(__file__).resolve().parent.parent.parent


def skype_etl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skype_etl_gui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker-process"])
def test_sample_import_and_reimport(small_sample: tuple[Path, SampleStats], pg_db: PgDatabase, parallel: bool) -> None:
    path, stats = small_sample
    summary = ETLPipeline(pg_db.url, batch_size=400, parallel=parallel).run(path)
    assert summary["status"] == "completed", summary["error"]
    assert pg_db.count("messages") == stats.unique_messages
    assert pg_db.count("conversations") == stats.conversations
    assert pg_db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'MissingMessageId'") == stats.without_id
    before = pg_db.snapshot()
    again = ETLPipeline(pg_db.url, batch_size=700, parallel=parallel).run(path)
    assert again["status"] == "completed", again["error"]
    assert pg_db.snapshot() == before
    assert pg_db.count("etl_runs") == 2


def test_same_tables_as_sqlite(small_sample: tuple[Path, SampleStats], pg_db: PgDatabase, db: Database) -> None:
    path, _ = small_sample
    ETLPipeline(pg_db.url).run(path)
    ETLPipeline(db.url).run(path)
    assert pg_db.snapshot() == db.snapshot()


def test_timestamptz_and_jsonb(tmp_path: Path, pg_db: PgDatabase) -> None:
    path = write_export(
        tmp_path / "e.json",
        export_document(
            [conversation("8:anna", [message("1", properties={"edittime": "1594056032575", "n": [1, 2]})])]
        ),
    )
    ETLPipeline(pg_db.url).run(path)
    types = dict(
        pg_db.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'messages'")
    )
    assert types["sent_at"] == "timestamp with time zone" and types["properties"] == "jsonb"
    assert pg_db.one("SELECT properties->'n'->>1 FROM messages") == "2"
    assert pg_db.one("SELECT extract(epoch FROM sent_at)::numeric(20,3)::text FROM messages") == "1600000000.123"
    indexes = {r[0] for r in pg_db.query("SELECT indexname FROM pg_indexes WHERE tablename = 'messages'")}
    assert {"messages_by_time", "messages_by_sender"} <= indexes


@pytest.mark.parametrize("server_datestyle", ["ISO, MDY", "SQL, DMY", "German"])
def test_times_are_read_as_the_sqlite_loader_gives_them(pg_db: PgDatabase, server_datestyle: str) -> None:
    """Read back, a timestamptz is "YYYY-MM-DDTHH:MM:SS.mmmZ", as SQLite keeps it, made from the server's text
    without a datetime between: for every fraction of a second, whole seconds, far years and whatever DateStyle
    the server defaults to (the session sets its own)."""
    from datetime import datetime, timezone

    pg_db.execute(f"ALTER DATABASE {pg_db.name} SET DateStyle = '{server_datestyle}'")
    loader = open_loader(pg_db.url)
    loader.connect()
    try:
        cases = {
            "2019-03-16T14:43:23.607Z": "2019-03-16T14:43:23.607Z",
            "2019-03-16T14:43:23Z": "2019-03-16T14:43:23.000Z",
            "2019-03-16T14:43:23.1Z": "2019-03-16T14:43:23.100Z",
            "2019-03-16T14:43:23.123999Z": "2019-03-16T14:43:23.123Z",  # cut, as isoformat does, not rounded
            "2019-03-16T16:43:23.5+02:00": "2019-03-16T14:43:23.500Z",
            "0001-01-01T00:00:00Z": "0001-01-01T00:00:00.000Z",
            "9999-12-31T23:59:59.999999Z": "9999-12-31T23:59:59.999Z",
        }
        for given, wanted in cases.items():
            (row,) = loader._select("SELECT CAST(%s AS timestamptz), NULL::timestamptz", (given,))
            assert row == (wanted, None), given
            as_datetime = datetime.fromisoformat(given.replace("Z", "+00:00")).astimezone(timezone.utc)
            assert as_datetime.isoformat(timespec="milliseconds").replace("+00:00", "Z") == wanted
    finally:
        loader.close()


def test_nul_is_cleaned_and_everything_else_round_trips(tmp_path: Path, any_db: Any) -> None:
    tricky = "tab\there\nnew line\r\nback\\slash \\N \\t 😀 \u2028 \u00a0 ا ☃ 𝄞 'quote' \"dq\" %s {} ; DROP TABLE messages;--"
    messages = [
        message("1", tricky),
        message("2", "nul\x00inside", properties={"key": "v\x00al"}),
        message("3", "\\N"),
        message("4", ""),
        message("5", None),
    ]
    path = write_export(tmp_path / "e.json", export_document([conversation("8:anna", messages)]))
    summary = ETLPipeline(any_db.url).run(path)
    assert summary["status"] == "completed", summary["error"]
    raw = dict(any_db.query("SELECT id, content_raw FROM messages"))
    assert raw["1"] == tricky
    assert raw["2"] in ("nul\x00inside", "nulinside")  # PostgreSQL cannot store NUL: only it goes
    assert (raw["3"], raw["4"], raw["5"]) == ("\\N", "", None)
    assert any_db.count("messages") == 5
    nul_warnings = any_db.query("SELECT message_id, severity FROM etl_errors WHERE error_type = 'NulRemoved'")
    assert nul_warnings == ([("2", "warning")] if isinstance(any_db, PgDatabase) else [])
    assert json.loads(any_db.one("SELECT properties FROM messages WHERE id = '2'")) == {"key": "val"}


def test_highest_version_wins_across_batches(tmp_path: Path, pg_db: PgDatabase) -> None:
    messages = [
        message("1", "v2", version=2),
        message("1", "v3", version=3),
        message("1", "v1 late", version=1),
        message("2", "tie first", version=5),
        message("2", "tie second", version=5),
        message("3", "same batch low", version=1),
        message("3", "same batch high", version=9),
    ]
    path = write_export(tmp_path / "e.json", export_document([conversation("8:anna", messages)]))
    ETLPipeline(pg_db.url, batch_size=1).run(path)
    one_by_one = pg_db.query("SELECT id, content_raw FROM messages ORDER BY id")
    assert one_by_one == [("1", "v3"), ("2", "tie second"), ("3", "same batch high")]
    ETLPipeline(pg_db.url, batch_size=100).run(path)  # all in one batch, over rows already there
    assert pg_db.query("SELECT id, content_raw FROM messages ORDER BY id") == one_by_one


# --- connections ---------------------------------------------------------------------------
def test_libpq_ways_of_giving_the_password(
    small_sample: tuple[Path, SampleStats], pg_server: Any, pg_db: PgDatabase, tmp_path: Path
) -> None:
    export = str(small_sample[0])
    host = f"127.0.0.1:{pg_server.port}"
    # PGPASSWORD
    done = skype_etl(
        "import",
        export,
        "--db",
        f"postgresql://postgres@{host}/{pg_db.name}?sslmode=disable",
        "--quiet",
        env={"PGPASSWORD": SUPERUSER_PASSWORD},
    )
    assert done.returncode == 0, done.stderr
    # ~/.pgpass
    home = tmp_path / "home"
    home.mkdir()
    pgpass = home / ".pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:*:postgres:{SUPERUSER_PASSWORD}\n")
    pgpass.chmod(0o600)
    done = skype_etl(
        "import",
        export,
        "--db",
        f"postgresql://postgres@{host}/{pg_db.name}",
        "--quiet",
        env={"HOME": str(home), "PGPASSWORD": ""},
    )
    assert done.returncode == 0, done.stderr
    # a service file, and a key=value DSN
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[skype]\nhost=127.0.0.1\nport={pg_server.port}\ndbname={pg_db.name}\nuser=postgres\n"
        f"password={SUPERUSER_PASSWORD}\n"
    )
    done = skype_etl("import", export, "--db", "service=skype", "--quiet", env={"PGSERVICEFILE": str(services)})
    assert done.returncode == 0, done.stderr
    dsn = f"host=127.0.0.1 port={pg_server.port} dbname={pg_db.name} user=postgres password={SUPERUSER_PASSWORD}"
    done = skype_etl("import", export, "--db", dsn, "--json")
    assert done.returncode == 0, done.stderr
    assert SUPERUSER_PASSWORD not in done.stdout + done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["database"] == dsn.replace(SUPERUSER_PASSWORD, "***")
    assert pg_db.count("etl_runs") == 4


@pytest.mark.parametrize(
    ("make_url", "fragment"),
    [
        (lambda s, db: f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:1/{db}", "Connection refused"),
        (lambda s, db: s.url("no_such_database"), "does not exist"),
        (lambda s, db: s.url(db, password="wrong-password"), "password authentication failed"),
        (lambda s, db: f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:notaport/x", "port"),
    ],
    ids=["unreachable", "missing database", "failed login", "bad url"],
)
def test_connection_failures_exit_2_without_password(
    small_sample: tuple[Path, SampleStats], pg_server: Any, pg_db: PgDatabase, make_url: Any, fragment: str
) -> None:
    url = make_url(pg_server, pg_db.name)
    done = skype_etl("import", str(small_sample[0]), "--db", url)
    assert done.returncode == 2, done.stderr
    assert fragment in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    for secret in (SUPERUSER_PASSWORD, "wrong-password"):
        assert secret not in done.stderr


def test_role_without_rights(small_sample: tuple[Path, SampleStats], pg_server: Any, pg_db: PgDatabase) -> None:
    pg_server.admin("DROP ROLE IF EXISTS reader; CREATE ROLE reader LOGIN PASSWORD 'reader-pw'")
    pg_server.admin("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database=pg_db.name)
    with pytest.raises(DatabaseError, match="permission denied") as caught:
        ETLPipeline(pg_server.url(pg_db.name, user="reader", password="reader-pw")).run(small_sample[0])
    assert "reader-pw" not in str(caught.value)
    assert pg_db.count("etl_runs") == 0 if pg_db.one("SELECT to_regclass('etl_runs')") else True


def test_no_password_in_anything_stored(tmp_path: Path, pg_server: Any, pg_db: PgDatabase) -> None:
    """The password in the URL reaches no run row, checkpoint, error row or output."""
    messages = [message("1"), 42, message("2", content={"x": 1})]  # error rows too
    path = write_export(tmp_path / "e.json", export_document([conversation("8:a", messages)]))
    done = skype_etl("import", str(path), "--db", pg_db.url, "--json")
    assert done.returncode == 0, done.stderr
    assert SUPERUSER_PASSWORD not in done.stdout + done.stderr
    dump = json.dumps(pg_db.query("SELECT * FROM etl_runs") + pg_db.query("SELECT * FROM etl_errors"), default=str)
    assert SUPERUSER_PASSWORD not in dump
    assert f"postgres:***@127.0.0.1:{pg_server.port}" in dump


def test_a_commit_whose_answer_was_lost_is_not_written_twice(
    small_sample: tuple[Path, SampleStats], pg_db: PgDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch commits, then the connection drops before its answer arrives: on reconnect the importer sees the
    batch's checkpoint stored and does not write it (nor its etl_errors rows) again."""
    import psycopg2

    from skype_etl_gui.etl.load.postgres import PostgresLoader

    real = PostgresLoader._write_batch
    lost: list[int] = []

    def answer_lost(self: PostgresLoader, run_id: str, batch: Any) -> None:
        real(self, run_id, batch)  # committed
        if batch.errors and not lost:  # the first batch with error rows: its answer never arrives
            lost.append(len(batch.errors))
            self._conn.close()
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(PostgresLoader, "_write_batch", answer_lost)
    context_errors: dict[str, int] = {}
    pipeline = ETLPipeline(pg_db.url, batch_size=200, parallel=False)
    context = pipeline.new_context()
    summary = pipeline.run(small_sample[0], context=context)
    context_errors = dict(context.error_types)
    assert summary["status"] == "completed", summary["error"]
    assert lost and lost[0] > 0
    stored = dict(pg_db.query("SELECT error_type, count(*) FROM etl_errors GROUP BY 1"))
    assert stored == context_errors and stored["ConnectionLost"] == 1, "every row once"
    assert pg_db.count("messages") == small_sample[1].unique_messages


def test_a_refusal_is_not_retried(tmp_path: Path, pg_server: Any, pg_db: PgDatabase) -> None:
    """A terminal error (here: no right to write) fails at once instead of being tried again for 30 s."""
    with open_loader(pg_db.url) as loader:
        loader.ensure_schema()
    role = "reader_" + pg_db.name
    pg_server.admin(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
    pg_server.admin(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}", pg_db.name)
    url = pg_server.url(pg_db.name, user=role, password="pw")
    export = write_export(tmp_path / "e.json", export_document([conversation("8:a", [message("1")])]))
    started = time.monotonic()
    try:
        summary = ETLPipeline(url, parallel=False).run(export)
    except DatabaseError as exc:
        assert "permission denied" in str(exc)
    else:
        assert summary["status"] == "failed" and "permission denied" in summary["error"]
    assert time.monotonic() - started < 5
    pg_server.admin(f"DROP OWNED BY {role}", pg_db.name)
    pg_server.admin(f"DROP ROLE {role}")


def test_a_common_word_as_password_leaves_the_data_alone(tmp_path: Path, pg_server: Any, pg_db: PgDatabase) -> None:
    """Redaction masks where a password is written (the URL), never the same word in a person's messages."""
    role = "hello_" + pg_db.name
    pg_server.admin(f"CREATE ROLE {role} LOGIN PASSWORD 'hello'")
    pg_server.admin(f"GRANT ALL ON SCHEMA public TO {role}", pg_db.name)
    bad = {"id": None, "content": "hello there"}  # skipped: its raw record goes to etl_errors
    path = write_export(tmp_path / "e.json", export_document([conversation("8:a", [message("1", "hello world"), bad])]))
    summary = ETLPipeline(pg_server.url(pg_db.name, user=role, password="hello")).run(path)
    assert summary["status"] == "completed" and f"{role}:***@" in summary["database"]
    assert pg_db.one("SELECT content_raw FROM messages") == "hello world"
    assert "hello there" in pg_db.one("SELECT raw_snippet FROM etl_errors WHERE error_type = 'MissingMessageId'")
    assert pg_db.one("SELECT database_url FROM etl_runs").count("hello") == 1  # the role's name, not the password
    pg_server.admin(f"DROP OWNED BY {role}", pg_db.name)
    pg_server.admin(f"DROP ROLE {role}")
