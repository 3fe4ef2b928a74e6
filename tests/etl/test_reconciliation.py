"""The reconciliation: for every run and conversation, records in the export = stored + skipped, on both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.cli import main
from skype_etl_gui.etl import ETLPipeline
from skype_etl_gui.etl.load import open_existing
from skype_etl_gui.etl.transform import transformer as transforming
from tests.conftest import conversation, export_document, message, write_bad_export, write_export

OWNER = "8:live:.cid.me"  # export_document's


def reconciliation(db: Any, run_id: str) -> list[dict[str, Any]]:
    loader = open_existing(db.url)
    try:
        return loader.reconciliation(run_id)
    finally:
        loader.close()


def counts(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
    return {row["id"]: (row["in_export"], row["stored"], row["skipped"]) for row in rows}


def test_every_conversation_adds_up_and_every_skip_has_its_row(
    any_db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_bad_export(tmp_path / "bad.json")
    summary = ETLPipeline(any_db.url).run(str(path))
    assert summary["status"] == "completed"
    rows = reconciliation(any_db, summary["run_id"])
    assert counts(rows) == {
        "": (1, 0, 1),  # the conversation without an id, and its one message
        "8:bad": (9, 7, 2),  # "junk" and the message without an id are skipped; the rest stored, some repaired
        "8:good": (1, 1, 0),
        "8:nolist": (0, 0, 0),  # an empty one has its row too
    }
    assert all(row["adds_up"] for row in rows)
    assert {row["id"]: row["skip_rows"] for row in rows}["8:bad"] == 2
    assert {row["owner_id"] for row in rows} == {OWNER}
    assert any_db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'Reconciliation'") == 0
    # the command line's JSON, as the contract has it
    assert main(["runs", summary["run_id"], "--db", any_db.url, "--json"]) == 0
    run = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert run["id"] == summary["run_id"] and run["status"] == "completed"
    by_id = {row["id"]: row for row in run["conversations"]}
    assert {k: by_id["8:bad"][k] for k in ("owner_id", "display_name", "in_export", "stored", "skipped")} == {
        "owner_id": OWNER,
        "display_name": "Anna",
        "in_export": 9,
        "stored": 7,
        "skipped": 2,
    }
    # and as text, a line a conversation
    assert main(["runs", summary["run_id"], "--db", any_db.url]) == 0
    text = capsys.readouterr().out
    assert "every conversation adds up" in text and "8:bad (Anna)" in text


def test_a_run_that_does_not_add_up_says_so(any_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug that drops a record silently (here: the transformer forgets message 2) is caught at the end."""
    real = transforming.Transformer.messages

    def forgetful(self: Any, conv_id: str, entries: list[Any], offset: int = 0) -> Any:
        rows = real(self, conv_id, entries, offset)
        rows.messages = [row for row in rows.messages if row[1] != "2"]
        return rows

    monkeypatch.setattr(transforming.Transformer, "messages", forgetful)
    path = write_export(tmp_path / "e.json", export_document([conversation("8:anna", [message("1"), message("2")])]))
    summary = ETLPipeline(any_db.url, parallel=False).run(str(path))
    assert summary["status"] == "completed"
    [row] = reconciliation(any_db, summary["run_id"])
    assert (row["in_export"], row["stored"], row["skipped"], row["adds_up"]) == (2, 1, 0, False)
    errors = any_db.query(
        "SELECT severity, conversation_id, message FROM etl_errors WHERE error_type = 'Reconciliation'"
    )
    assert len(errors) == 1 and errors[0][:2] == ("error", "8:anna") and "do not add up" in errors[0][2]


def test_a_resumed_run_counts_the_whole_export(any_db: Any, small_sample: Any) -> None:
    export, stats = small_sample
    pipeline = ETLPipeline(any_db.url, batch_size=200, parallel=False)
    context = pipeline.new_context()
    seen = [0]

    def stop_after_three(checkpoint: dict[str, Any]) -> None:
        seen[0] += 1
        if seen[0] == 3:
            pipeline.cancel()

    context.subscribe("checkpoint", stop_after_three)
    assert pipeline.run(export, context=context)["status"] == "cancelled"
    resumed = ETLPipeline(any_db.url, batch_size=200, parallel=False).run(export, resume=True)
    assert resumed["status"] == "completed" and resumed["resumed"]
    rows = reconciliation(any_db, resumed["run_id"])
    assert all(row["adds_up"] for row in rows)
    assert sum(row["in_export"] for row in rows) == stats.messages
    assert sum(row["stored"] for row in rows) + sum(row["skipped"] for row in rows) == stats.messages
    # and a fresh import of the same export counts the same
    again = ETLPipeline(any_db.url, parallel=False).run(export)
    assert counts(reconciliation(any_db, again["run_id"])) == counts(rows)
