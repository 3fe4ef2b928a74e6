"""Schema 3 on an archive of release 0.1.0: owners from its runs, a table a transaction, continued after a failure."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from skype_etl_gui.etl import DatabaseError, open_loader
from skype_etl_gui.etl.load import postgres, sqlite
from skype_etl_gui.etl.load.schema import SCHEMA_VERSION, upgrade_steps
from tests.etl.test_reprocess import MIXED

A, B = "8:live:.cid.5a1b2c3d4e5f6a7b", "8:live:bob.other"


def migrate(url: str, seen: list[tuple[str, int, int]] | None = None) -> int:
    loader = open_loader(url)
    if seen is not None:
        loader.on_migrate = lambda *step: seen.append(step)
    with loader:
        return loader.ensure_schema()


def test_the_owners_of_an_old_archive(old_archive: Any) -> None:
    before = {table: old_archive.count(table) for table in ("conversations", "messages", "participants", "attachments")}
    seen: list[tuple[str, int, int]] = []
    assert migrate(old_archive.url, seen) == SCHEMA_VERSION
    assert [name for name, _, _ in seen][:3] == ["schema 2", "etl_runs", "conversations"]
    names = [name for name, _, _ in seen]
    assert names[-3:] == ["owners", "schema 4", "search index"] and seen[-1][1:] == (
        len(seen) + 2,
        len(seen) + 2,
    )  # (see below)
    # reactions and mentions came with schema 2 as schema 3 makes them: their steps were not needed
    after = {table: old_archive.count(table) for table in before}
    assert after == before  # nothing lost
    # threads are shared (''), every other conversation its first import's owner's
    owners = old_archive.query("SELECT substr(id, 1, 3) = '19:', owner_id, count(*) FROM conversations GROUP BY 1, 2")
    assert sorted(owners) == [(False, A, 9), (True, "", 5)]  # SQLite's 0 and 1 equal them
    for table in ("messages", "participants", "attachments"):
        stray = old_archive.one(
            f"SELECT count(*) FROM {table} WHERE owner_id <> CASE WHEN substr(conversation_id, 1, 3) = '19:' "
            f"THEN '' ELSE '{A}' END"
        )
        assert stray == 0, table
    # the chat 0.1.0 mixed: one warning, of a run of its own
    warnings = old_archive.query(
        "SELECT r.kind, r.status, e.severity, e.conversation_id, e.message FROM etl_errors AS e "
        "JOIN etl_runs AS r ON r.id = e.run_id WHERE e.error_type = 'MixedOwners'"
    )
    assert len(warnings) == 1
    kind, status, severity, conversation, text = warnings[0]
    assert (kind, status, severity, conversation) == ("migrate", "completed", "warning", MIXED)
    assert "2 accounts" in text and A in text
    assert old_archive.query("SELECT owner_id FROM etl_runs WHERE kind = 'import' ORDER BY owner_id") == [(A,), (B,)]
    # opening it again changes nothing
    snapshot = old_archive.snapshot()
    assert migrate(old_archive.url, seen := []) == SCHEMA_VERSION and seen == []
    assert old_archive.snapshot() == snapshot


def test_a_failed_migration_continues_with_the_table_it_failed_on(
    old_archive: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = ("conversations", "messages", "participants", "attachments")
    before = {table: old_archive.count(table) for table in tables}
    real = upgrade_steps

    def failing_on_messages(dialect: str, current: int) -> list[Any]:
        steps = real(dialect, current)
        return [
            dataclasses.replace(s, statements=[*s.statements, "SELECT * FROM no_such_table"])
            if s.name == "messages"
            else s
            for s in steps
        ]

    for module in (sqlite, postgres):
        monkeypatch.setattr(module, "upgrade_steps", failing_on_messages)
    with pytest.raises(DatabaseError, match="no_such_table"):
        migrate(old_archive.url)
    # the steps before it are in: conversations has its owners, messages not yet
    assert old_archive.one("SELECT count(*) FROM conversations WHERE owner_id = ?", (A,)) == 9
    assert old_archive.one("SELECT max(version) FROM schema_version") == 2
    for module in (sqlite, postgres):
        monkeypatch.setattr(module, "upgrade_steps", real)
    seen: list[tuple[str, int, int]] = []
    assert migrate(old_archive.url, seen) == SCHEMA_VERSION
    assert [name for name, _, _ in seen][0] == "messages"  # those before it are not done again
    assert old_archive.query("SELECT version FROM schema_version ORDER BY version") == [(1,), (2,), (3,), (4,), (5,)]
    assert {table: old_archive.count(table) for table in tables} == before
