"""Several exports in one archive: each owner's one-to-one chats apart, a shared thread once, on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline
from skype_etl_gui.etl.load import open_existing
from skype_etl_gui.etl.run.reprocess import Reprocess
from tests.conftest import Database, PgDatabase, conversation, message, write_export

A, B = "8:live:.cid.aaaa", "8:live:bob.b"
CONTACT = "8:live:carol"  # both chatted with her: both exports have the conversation 8:live:carol
THREAD = "19:shared0123@thread.skype"  # both are in this group


def export(owner: str | None, chat: list[dict[str, Any]], thread: list[dict[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "exportDate": "2025-04-30T18:22",
        "conversations": [
            conversation(CONTACT, chat, displayName="Carol"),
            conversation(THREAD, thread, displayName="Climbing", threadProperties={"members": f'["{A}", "{B}"]'}),
        ],
    }
    if owner is not None:
        document["userId"] = owner
    return document


def exports(tmp_path: Path) -> dict[str, Path]:
    a = export(
        A,
        [
            message("1001", "Hi Carol, it's A", **{"from": A}, displayName="A"),
            message("1002", "A's secret", **{"from": CONTACT}, displayName="Carol"),
        ],
        # the same thread message in both exports; B's export holds a later version (an edit)
        [message("5001", "old text", **{"from": A}, displayName="A", version=10)],
    )
    b = export(
        B,
        [message("1002", "B's secret", **{"from": CONTACT}, displayName="Carol")],
        [
            message("5001", "edited text", **{"from": A}, displayName="A", version=20),
            message("5002", "B joins in", **{"from": B}, displayName="B"),
        ],
    )
    return {"a": write_export(tmp_path / "a.json", a), "b": write_export(tmp_path / "b.json", b)}


def run(db: Any, path: Path) -> dict[str, Any]:
    summary = ETLPipeline(db.url).run(str(path))
    assert summary["status"] == "completed", summary["error"]
    return summary


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_two_owners_keep_their_chats_apart_and_share_the_thread(any_db: Any, tmp_path: Path, order: str) -> None:
    paths = exports(tmp_path)
    for which in order:
        run(any_db, paths[which])
    messages = any_db.query("SELECT owner_id, conversation_id, id, content_text FROM messages ORDER BY 1, 2, 3")
    assert messages == [
        ("", THREAD, "5001", "edited text"),  # once, the highest version, whatever the order
        ("", THREAD, "5002", "B joins in"),
        (A, CONTACT, "1001", "Hi Carol, it's A"),
        (A, CONTACT, "1002", "A's secret"),  # not overwritten by B's message 1002
        (B, CONTACT, "1002", "B's secret"),
    ]
    conversations = any_db.query("SELECT owner_id, id, display_name FROM conversations ORDER BY 1, 2")
    assert conversations == [("", THREAD, "Climbing"), (A, CONTACT, "Carol"), (B, CONTACT, "Carol")]
    people = any_db.query("SELECT owner_id, conversation_id, participant_id FROM participants ORDER BY 1, 2, 3")
    assert people == [
        ("", THREAD, A),
        ("", THREAD, B),
        (A, CONTACT, A),  # each owner is a member of their own chat with Carol, never of the other's
        (A, CONTACT, CONTACT),
        (B, CONTACT, B),
        (B, CONTACT, CONTACT),
    ]
    runs = any_db.query("SELECT owner_id, export_user_id FROM etl_runs ORDER BY started_at")
    assert sorted(runs) == [(A, A), (B, B)]


def test_both_orders_make_the_same_archive(any_db: Any, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    paths = exports(tmp_path)
    for which in "ab":
        run(any_db, paths[which])
    first = any_db.snapshot()
    if isinstance(any_db, PgDatabase):
        name = any_db.server.create_database()
        other: Any = PgDatabase(any_db.server, name)
        request.addfinalizer(lambda: any_db.server.drop_database(name))
    else:
        other = Database(tmp_path / "other.db")
    for which in "ba":
        run(other, paths[which])
    assert other.snapshot() == first


def test_the_same_owner_s_two_exports_merge_as_one_history(any_db: Any, tmp_path: Path) -> None:
    older = export(A, [message("1001", "draft", **{"from": A}, version=1)], [])
    newer = export(A, [message("1001", "final", **{"from": A}, version=2), message("1003", "later", **{"from": A})], [])
    run(any_db, write_export(tmp_path / "newer.json", newer))
    run(any_db, write_export(tmp_path / "older.json", older))
    assert any_db.query("SELECT owner_id, id, content_text FROM messages ORDER BY id") == [
        (A, "1001", "final"),
        (A, "1003", "later"),
    ]
    assert any_db.query("SELECT owner_id, id FROM conversations ORDER BY 1, 2") == [("", THREAD), (A, CONTACT)]


def test_an_export_without_user_id_gets_an_owner_of_its_own(any_db: Any, tmp_path: Path) -> None:
    paths = exports(tmp_path)
    run(any_db, paths["a"])
    nameless = export(None, [message("1002", "whose?", **{"from": CONTACT})], [])
    path = write_export(tmp_path / "nameless.json", nameless)
    summary = run(any_db, path)
    owners = any_db.query(f"SELECT DISTINCT owner_id FROM messages WHERE conversation_id = '{CONTACT}' ORDER BY 1")
    made = [owner for (owner,) in owners if owner != A]
    assert len(made) == 1 and made[0].startswith("export:") and len(made[0]) == len("export:") + 16
    assert any_db.query("SELECT content_text FROM messages WHERE owner_id = ?", (made[0],)) == [("whose?",)]
    assert any_db.query("SELECT content_text FROM messages WHERE owner_id = ? AND id = '1002'", (A,)) == [
        ("A's secret",)
    ]
    warnings = any_db.query(
        "SELECT severity, message FROM etl_errors WHERE error_type = 'MissingUserId' AND run_id = ?",
        (summary["run_id"],),
    )
    assert len(warnings) == 1 and warnings[0][0] == "warning" and made[0] in warnings[0][1]
    assert any_db.one("SELECT owner_id FROM etl_runs WHERE id = ?", (summary["run_id"],)) == made[0]
    # the same file again: the same owner, nothing new
    before = any_db.snapshot()
    run(any_db, path)
    assert any_db.snapshot() == before


def test_a_reprocess_of_two_owners_changes_nothing(any_db: Any, tmp_path: Path) -> None:
    paths = exports(tmp_path)
    for which in "ba":
        run(any_db, paths[which])
    before = any_db.snapshot()
    loader = open_existing(any_db.url)
    try:
        summary = Reprocess(loader).run()
    finally:
        loader.close()
    assert (summary["status"], summary["changed"]) == ("completed", 0)
    assert any_db.snapshot() == before
