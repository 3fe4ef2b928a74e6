"""Reading the archive (issue 17, the library): conversations, keyset pages, full-text search, on both databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skype_etl_gui.archive import Archive, ArchiveError, QueryError, parse, upgrade
from skype_etl_gui.etl import DatabaseError, ETLPipeline
from skype_etl_gui.etl.fold import words
from tests.conftest import conversation, export_document, message, write_export

TEXTS = {
    "1": "Привет, как дела?",
    "2": "We met at the Café de Flore",
    "3": "naïve question: where is the ÉCOLE?",
    "4": "Ёлка стоит в углу",
    "5": "the quick brown fox jumps",
    "6": "brown bread and a quick lunch",
    "7": "Ελληνικά: καλημέρα",
    "8": "<b>markup</b> is not searched",  # content_text is the readable text: no tags
    "9": "phone 555-1234, e-mail me",
}


def hour(n: int) -> str:
    return f"2021-03-{1 + n // 24:02d}T{n % 24:02d}:00:00.000Z"


def build(tmp_path: Path, url: str) -> None:
    anna = [message(mid, text, originalarrivaltime=hour(int(mid)), **{"from": "8:anna"}) for mid, text in TEXTS.items()]
    anna.append(
        message(
            "10", "quick reply from me", originalarrivaltime=hour(30), **{"from": "8:live:.cid.me", "displayName": "Me"}
        )
    )
    group = [
        message(
            f"g{i}",
            f"group line {i}" + (" brown" if i % 10 == 0 else ""),
            originalarrivaltime=hour(100 + i),
            conversationid="19:team@thread.skype",
            **{"from": "8:bob", "displayName": "Bob Builder"},
        )
        for i in range(120)
    ]
    document = export_document(
        [
            conversation("8:anna", anna),
            conversation("19:team@thread.skype", group, displayName="The Team"),
        ]
    )
    summary = ETLPipeline(url).run(str(write_export(tmp_path / "e.json", document)))
    assert summary["status"] == "completed", summary["error"]


@pytest.fixture()
def archive(any_db: Any, tmp_path: Path) -> Any:
    build(tmp_path, any_db.url)
    with Archive(any_db.url) as opened:
        yield opened


def ids(hits: list[dict[str, Any]]) -> list[str]:
    return [h["id"] for h in hits]


def test_conversations_with_counts_and_last_times(archive: Archive) -> None:
    found = {c["id"]: c for c in archive.conversations()}
    assert found["8:anna"]["messages"] == 10 and found["8:anna"]["owner_id"] == "8:live:.cid.me"
    assert found["19:team@thread.skype"]["messages"] == 120 and found["19:team@thread.skype"]["owner_id"] == ""
    assert found["19:team@thread.skype"]["display_name"] == "The Team"
    assert [c["id"] for c in archive.conversations()][0] == "19:team@thread.skype"  # the latest first
    assert found["19:team@thread.skype"]["last_sent_at"].startswith("2021-03-10T")


def test_keyset_pages_walk_a_conversation_end_to_end(archive: Archive) -> None:
    team = ("", "19:team@thread.skype")
    newest = archive.messages(*team, before=50)
    assert ids(newest) == [f"g{i}" for i in range(70, 120)]
    seen = list(newest)
    while True:
        first = seen[0]
        page = archive.page(*team, older_than=(first["sent_at"], first["id"]), limit=50)
        if not page:
            break
        seen = page + seen
    assert ids(seen) == [f"g{i}" for i in range(120)]
    around = archive.messages(*team, around="g60", before=3, after=3)
    assert ids(around) == ["g57", "g58", "g59", "g60", "g61", "g62"]
    assert archive.page(*team, newer_than=(seen[-1]["sent_at"], "g119"), limit=5) == []
    first = archive.messages(*team, around="g0", before=5, after=2)
    assert ids(first) == ["g0", "g1"]
    with pytest.raises(ArchiveError, match="no message nope"):
        archive.messages(*team, around="nope")


def test_messages_carry_what_a_view_needs(archive: Archive) -> None:
    row = archive.messages("8:live:.cid.me", "8:anna", around="10", before=0, after=1)[0]
    assert row["sender_id"] == "8:live:.cid.me" and row["sent_at"] == hour(30)
    assert row["content_text"] == "quick reply from me" and row["message_type"] == "RichText"
    assert row["attachments"] == [] and row["reactions"] == [] and row["edited_at"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("привет", ["1"]),  # Cyrillic, case folded
        ("ПРИВЕТ", ["1"]),
        ("cafe", ["2"]),  # accents removed
        ("CAFÉ flore", ["2"]),
        ("ecole naive", ["3"]),
        ("елка", ["4"]),  # ё folds to е
        ("καλημερα", ["7"]),  # Greek accents
        ('"quick brown"', ["5"]),  # a phrase: 6 has both words, not together
        ("quick brown", ["6", "5"]),  # every word, any order, newest first
        ("qu*", ["10", "6", "5", "3"]),  # a prefix: quick, question
        ("quick -lunch", ["10", "5"]),
        ('brown -"quick brown"', [f"g{i}" for i in range(110, -1, -10)] + ["6"]),
        ("markup", ["8"]),
        ("b", []),  # the tag is not in the text
        ("e-mail", ["9"]),  # a hyphenated word is a phrase of its parts
        ("1234", ["9"]),
        ("brown from:anna", ["6", "5"]),
        ("brown from:bob", [f"g{i}" for i in range(110, -1, -10)]),
        ('brown from:"bob builder"', [f"g{i}" for i in range(110, -1, -10)]),
        ('brown in:"the team" after:2021-03-09', ["g110", "g100"]),
        ("quick before:2021-03-02", ["6", "5"]),
        ("in:anna after:2021-03-02", ["10"]),  # filters alone
    ],
)
def test_search(archive: Archive, query: str, expected: list[str]) -> None:
    assert ids(archive.search(query, limit=100)) == expected


def test_search_pages_and_snippets(archive: Archive) -> None:
    first = archive.search("group", limit=50)
    second = archive.search("group", limit=50, offset=50)
    assert len(first) == 50 and len(second) == 50 and not set(ids(first)) & set(ids(second))
    assert ids(first)[0] == "g119"
    hit = archive.search("cafe")[0]
    assert hit["snippet"] == "We met at the [Café] de Flore"
    assert {"owner_id", "conversation_id", "id", "sent_at", "sender_id", "content_text", "snippet"} <= set(hit)
    assert archive.search("пРиВеТ")[0]["snippet"] == "[Привет], как дела?"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "Type a word"),
        ("   ", "Type a word"),
        ("-brown", "not only what to leave out"),
        ("*** !!", "no word to search for"),
        ('"open', "not closed"),
        ("after:yesterday x", "YYYY-MM-DD"),
        ("from: x", "needs a value"),
        ("-from:anna x", "cannot be excluded"),
        ("after:2021-05-01 before:2021-01-01 x", "must be a day before"),
    ],
)
def test_queries_that_cannot_be_read_say_why(query: str, says: str) -> None:
    with pytest.raises(QueryError, match=says):
        parse(query)


def test_filters_that_name_no_one_say_so(archive: Archive) -> None:
    with pytest.raises(QueryError, match="from:zed: no one"):
        archive.search("brown from:zed")
    with pytest.raises(QueryError, match="in:nowhere: no conversation"):
        archive.search("brown in:nowhere")


@settings(max_examples=10_000, deadline=None)
@given(st.text(max_size=40))
def test_any_typed_text_parses_or_says_why(text: str) -> None:
    try:
        query = parse(text)
    except QueryError:
        return
    expression, tsquery = query.fts5(), query.tsquery()
    for term in [*query.include, *query.exclude]:
        assert term.words and all(w.isalnum() for w in term.words)  # nothing but words reaches the database
    assert expression is None or "'" not in expression
    assert tsquery is None or '"' not in tsquery


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list('abc "*-:éЁ()fromin')), max_size=20))
def test_random_queries_never_fail_in_the_database(archive: Archive, text: str) -> None:
    try:
        archive.search(text, limit=5)
    except QueryError:
        pass


def test_the_index_follows_edits_and_reprocess(any_db: Any, tmp_path: Path) -> None:
    build(tmp_path, any_db.url)
    document = export_document(
        [conversation("8:anna", [message("5", "the slow green turtle", originalarrivaltime=hour(5), version=2e12)])]
    )
    assert ETLPipeline(any_db.url).run(str(write_export(tmp_path / "e2.json", document)))["status"] == "completed"
    with Archive(any_db.url) as archive:
        assert ids(archive.search("turtle")) == ["5"]
        assert ids(archive.search('"quick brown"')) == []


def test_a_message_met_again_later_in_the_same_import_is_indexed_once_as_it_won(any_db: Any, tmp_path: Path) -> None:
    """Batches of two: most go in as new rows, the one that meets a stored message merges, and the index holds
    the winning version only (both databases)."""
    versions = [
        message("1", "first words", originalarrivaltime=hour(1)),
        message("2", "the old walrus", originalarrivaltime=hour(2), version=1e12),
        message("3", "third words", originalarrivaltime=hour(3)),
        message("4", "fourth words", originalarrivaltime=hour(4)),
        message("2", "the new narwhal", originalarrivaltime=hour(2), version=2e12),  # a later batch: it wins
        message("5", "fifth words", originalarrivaltime=hour(5)),
    ]
    path = write_export(tmp_path / "twice.json", export_document([conversation("8:anna", versions)]))
    assert ETLPipeline(any_db.url, batch_size=2).run(str(path))["status"] == "completed"
    with Archive(any_db.url) as archive:
        assert ids(archive.search("narwhal")) == ["2"]
        assert ids(archive.search("walrus")) == []
        assert ids(archive.search("words")) == ["5", "4", "3", "1"]


def test_postgresql_folds_as_sqlite_does(pg_db: Any, tmp_path: Path) -> None:
    """The search column's words are the words SQLite's index is given, for every message."""
    build(tmp_path, pg_db.url)
    rows = pg_db.query("SELECT content_text, search::text FROM messages")
    for text, vector in rows:
        lexemes = {part.split(":")[0].strip("'") for part in vector.split()} if vector else set()
        assert lexemes == set(words(text or "")), text


FOLDED_ALIKE = [
    *TEXTS.values(),
    "",
    "!!! ??? ...",
    "Straße STRASSE straße",
    "İstanbul ISTANBUL ıi",
    "ΣΊΣΥΦΟΣ σίσυφος",
    "日本語のテキスト 中文 한국어",
    "emoji 👍🏽 and ❤️ stay out, x_y is two words, ½ and ² fold",
    "ﬁnance ＦＵＬＬ　ＷＩＤＴＨ",
    "same " * 600 + "other",  # a word keeps 255 positions
    "a " + "x" * 3000 + " b " + "é" * 600,  # a word over 2,046 bytes is left out (and takes no position)
    " ".join(f"w{i % 3000}" for i in range(20000)),  # positions end at 16,383
]


def test_postgresql_indexes_an_import_as_its_sql_function_does(pg_db: Any, tmp_path: Path) -> None:
    """An import writes fold.tsvector's literal; an earlier version's messages, and another tool's, get the
    server's skype_search(): the same index, word for word and position for position."""
    from skype_etl_gui.etl.fold import tsvector

    build(tmp_path, pg_db.url)
    for text in FOLDED_ALIKE:
        same, ours, servers = pg_db.query(
            "SELECT CAST(%s AS tsvector) = skype_search(%s), CAST(%s AS tsvector)::text, skype_search(%s)::text",
            (tsvector(text), text, tsvector(text), text),
        )[0]
        assert same is True, (text[:60], ours[:300], servers[:300])


def test_an_archive_of_an_earlier_version_gets_its_index_once(old_archive: Any) -> None:
    with pytest.raises(ArchiveError, match="made by an earlier version"):
        Archive(old_archive.url).open()
    seen: list[tuple[str, int, int]] = []
    upgrade(old_archive.url, lambda *step: seen.append(step))
    assert seen[-1][0] == "search index"
    text, mid = old_archive.query("SELECT content_text, id FROM messages WHERE content_text <> '' ORDER BY id")[0]
    with Archive(old_archive.url) as archive:
        assert archive.schema == 5
        assert mid in ids(archive.search(" ".join(words(text)[:3]), limit=500))  # the messages stored before
    assert upgrade(old_archive.url, lambda *step: seen.append(("again", 0, 0))) == 5 and seen[-1][0] != "again"


def test_not_an_archive_says_so(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no such database"):
        Archive(f"sqlite:///{tmp_path / 'none.db'}").open()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(DatabaseError, match="not an archive"):
        Archive(f"sqlite:///{other}").open()


def test_the_command_line_searches_and_shows(any_db: Any, tmp_path: Path, capsys: Any) -> None:
    import json

    from skype_etl_gui.cli import main

    build(tmp_path, any_db.url)
    assert main(["search", "cafe", "--db", any_db.url]) == 0
    out = capsys.readouterr().out
    assert "8:anna" in out and "[Café]" in out and "(id 2)" in out
    assert main(["search", "brown", "--db", any_db.url, "--json", "--limit", "3"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [h["id"] for h in hits] == ["g110", "g100", "g90"] and all("snippet" in h for h in hits)
    assert main(["search", "--db", any_db.url, "--", "-brown"]) == 2  # (-- : a query that starts with -)
    assert "not only what to leave out" in capsys.readouterr().err
    assert main(["search", "--db", any_db.url, "-brown"]) == 2  # and without --: a -word is no option
    assert "not only what to leave out" in capsys.readouterr().err
    # the words need no quotes, and an excluded word may come anywhere, before or after the options
    assert main(["search", "-quick", "--db", any_db.url, "brown", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()][:3] == ["g110", "g100", "g90"]
    assert main(["search", "quick", "brown", "--db", any_db.url, "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["6", "5"]
    with pytest.raises(SystemExit) as typo:  # an option of ours misspelt is no word of the query
        main(["search", "brown", "--limt", "3", "--db", any_db.url])
    assert typo.value.code == 2 and "unrecognized arguments: --limt" in capsys.readouterr().err
    assert main(["search", "--db", any_db.url]) == 2
    assert "Type a word" in capsys.readouterr().err
    assert main(["search", "zebra", "--db", any_db.url]) == 0
    assert "No messages found." in capsys.readouterr().err
    assert main(["show", "19:team@thread.skype", "--db", any_db.url, "--around", "g60", "--limit", "4"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines == [
        "--- 2021-03-07 ---",
        "14:00  Bob Builder: group line 58",
        "15:00  Bob Builder: group line 59",
        "16:00  Bob Builder: group line 60 brown",
        "17:00  Bob Builder: group line 61",
    ]
    assert main(["show", "19:team@thread.skype", "--db", any_db.url, "--around", "g68", "--limit", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "--- 2021-03-07 ---",
        "23:00  Bob Builder: group line 67",
        "--- 2021-03-08 ---",  # a line a day
        "00:00  Bob Builder: group line 68",
    ]
    assert main(["show", "8:anna", "--db", any_db.url, "--json", "--limit", "2"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["9", "10"]
    assert main(["show", "8:nobody", "--db", any_db.url]) == 2
    assert "8:nobody: no conversation of that id or name" in capsys.readouterr().err


def test_the_command_line_brings_an_old_archive_up_to_date_first(old_archive: Any, capsys: Any) -> None:
    from skype_etl_gui.cli import main

    assert main(["search", "hello", "--db", old_archive.url]) == 0
    err = capsys.readouterr().err
    assert "Migrating the archive to schema 5: search index" in err


def test_another_tool_may_write_messages_and_a_reprocess_mends_the_index(any_db: Any, tmp_path: Path) -> None:
    """No trigger or function of ours is needed to write messages; a reprocess indexes what it rewrites, and
    messages added without their index are indexed by the next write (SQLite) or the next opening for writing
    (PostgreSQL, by skype_search() in SQL)."""
    from skype_etl_gui.cli import main

    db = any_db
    build(tmp_path, db.url)
    db.execute("UPDATE messages SET content_text = 'zebra crossing' WHERE id = '5'")  # plain sqlite3
    db.execute(
        "INSERT INTO messages (owner_id, conversation_id, id, content_text, sent_at) "
        "VALUES ('8:live:.cid.me', '8:anna', 'x1', 'walrus', '2021-03-09T00:00:00.000Z')"
    )
    assert main(["reprocess", "--db", db.url, "--quiet"]) == 0
    with Archive(db.url) as archive:
        assert ids(archive.search('"quick brown"')) == ["5"]  # the text re-derived from the export's, indexed
        assert ids(archive.search("zebra")) == []
        assert ids(archive.search("walrus")) == ["x1"]  # added by the other tool: indexed by the next write


def test_sqlite_time_keys_that_meet_move_aside_and_stay_exact(db: Any, tmp_path: Path) -> None:
    """Two messages of the same millisecond whose rowids are 2^21 apart would share a search key: the later takes
    the next free one, and a change to either is indexed again exactly."""
    from skype_etl_gui.etl.load import search_index

    build(tmp_path, db.url)
    same = "2021-03-01T05:00:00.000Z"  # message 5's time
    rowid_5 = db.one("SELECT rowid FROM messages WHERE id = '5'")
    far = rowid_5 + (1 << search_index.SHIFT)
    db.execute(
        "INSERT INTO messages (rowid, owner_id, conversation_id, id, content_text, sent_at) "
        "VALUES (?, '8:live:.cid.me', '8:anna', 'far', 'quick zebra', ?)",
        (far, same),
    )
    conn = sqlite3.connect(db.path)
    search_index.register(conn)
    try:
        with conn:
            assert search_index.index_new(conn) == 1
        moved = conn.execute("SELECT message_rowid, search_rowid FROM search_moved").fetchall()
        key_5 = conn.execute(f"SELECT {search_index.key_sql('?', '?')}", (same, rowid_5)).fetchone()[0]
        assert key_5 == conn.execute("SELECT rowid FROM messages_fts WHERE message_rowid = ?", (rowid_5,)).fetchone()[0]
        assert moved == [(far, key_5 + 1)]
        with conn:  # the moved one's text changes: out under its moved key, in again
            before = search_index.indexed_messages(conn, [("8:live:.cid.me", "8:anna", "far")])
            conn.execute("UPDATE messages SET content_text = 'slow zebra' WHERE rowid = ?", (far,))
            assert search_index.index_changed(conn, before) == 1
        assert conn.execute("SELECT count(*) FROM messages_fts").fetchone()[0] == 131
    finally:
        conn.close()
    with Archive(db.url) as archive:
        assert ids(archive.search("zebra")) == ["far"]
        assert ids(archive.search("quick before:2021-03-02")) == ["6", "5"]  # a key range (far says "slow" now)
        assert set(ids(archive.search("quick brown"))) == {"5", "6"}
        assert ids(archive.search("slow")) == ["far"]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), max_size=60))
def test_sqlite_tokenizes_ascii_as_the_folding_does(text: str) -> None:
    """SQLite indexes ASCII text as it is (its tokenizer lowers and cuts it): the words must be fold's words."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61 remove_diacritics 0')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
        conn.execute("INSERT INTO t (body) VALUES (?)", (text,))
        assert {term for (term,) in conn.execute("SELECT term FROM v")} == set(words(text))
    finally:
        conn.close()


def reprocess_counting_rebuilds(
    url: str, monkeypatch: pytest.MonkeyPatch, seen: list[Any] | None = None, **options: Any
) -> tuple[dict, int]:
    """A reprocess, and how many times it made the search index again from nothing; its progress into `seen`."""
    from skype_etl_gui.etl.load import open_existing
    from skype_etl_gui.etl.load.base import Loader
    from skype_etl_gui.etl.run.reprocess import Reprocess

    made: list[int] = []
    loader = open_existing(url)
    real = type(loader).rebuild_search_index if type(loader).search_rebuilds else Loader.rebuild_search_index
    monkeypatch.setattr(type(loader), "rebuild_search_index", lambda self, *a: made.append(1) or real(self, *a))
    try:
        job = Reprocess(loader, on_progress=None if seen is None else seen.append, **options)
        return job.run(), len(made)
    finally:
        loader.close()


def stale_texts(db: Any, where: str = "") -> None:
    """Texts (and their index) as an earlier version might have derived them: 'zebra <id>'."""
    from skype_etl_gui.etl.load import open_existing

    db.execute(f"UPDATE messages SET content_text = 'zebra ' || id {where}")
    if db.url.startswith("sqlite"):
        loader = open_existing(db.url)
        try:
            loader.rebuild_search_index()
        finally:
            loader.close()
    else:
        db.execute(f"UPDATE messages SET search = skype_search(content_text) {where}")
    with Archive(db.url) as archive:
        assert archive.search("zebra", limit=500)


def sqlite_index(db: Any) -> list[tuple[Any, ...]]:
    return db.query("SELECT rowid, body, message_rowid FROM messages_fts ORDER BY rowid")


def test_a_reprocess_that_rewrites_most_texts_makes_the_index_again_once(
    any_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive of an earlier version has most texts rewritten: SQLite's index is then made again once, at the
    messages' end (taking each message out and in again costs three times as much), and is exactly what a fresh
    import indexes; PostgreSQL writes each message's index with it. Search finds the new texts either way."""
    build(tmp_path, any_db.url)
    stale_texts(any_db)
    from skype_etl_gui.etl.load import search_index

    monkeypatch.setattr(search_index, "REBUILD_SLICE", 50)  # 130 messages: three reports of the rebuild
    seen: list[Any] = []
    summary, rebuilds = reprocess_counting_rebuilds(any_db.url, monkeypatch, seen, page=10)
    assert summary["status"] == "completed", summary["error"]
    percents = [progress.percent for progress in seen]
    assert percents == sorted(percents) and percents[-1] == 100
    with Archive(any_db.url) as archive:
        assert ids(archive.search("zebra")) == []
        assert ids(archive.search('"quick brown"')) == ["5"]
        assert len(archive.search("group", limit=500)) == 120
    if any_db.url.startswith("sqlite"):
        assert rebuilds == 1
        rebuilding = [(p.done, p.total) for p in seen if p.stage == "search index"]
        assert rebuilding == [(0, 130), (50, 130), (100, 130), (130, 130)]
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        other = type(any_db)(fresh / "fresh.db")
        build(fresh, other.url)
        assert sqlite_index(any_db) == sqlite_index(other)
    else:
        assert rebuilds == 0


def test_a_reprocess_that_rewrites_a_few_texts_keeps_the_index_message_by_message(
    db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(tmp_path, db.url)
    stale_texts(db, "WHERE id IN ('5', 'g7')")
    summary, rebuilds = reprocess_counting_rebuilds(db.url, monkeypatch, page=10)
    assert (summary["status"], rebuilds) == ("completed", 0)
    with Archive(db.url) as archive:
        assert ids(archive.search("zebra")) == []
        assert ids(archive.search('"quick brown"')) == ["5"]


def test_a_reprocess_stopped_while_the_index_waits_makes_it_when_resumed(
    db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after the index was left to be made again at the end: until then search sees the old texts (the
    index is never half made), and the resumed reprocess makes it, as its checkpoint says."""
    from tests.etl.test_reprocess import checkpoint_of, stopped_after

    build(tmp_path, db.url)
    stale_texts(db)
    first, _, loader = stopped_after(db.url, 3, page=10)
    assert first["status"] == "cancelled"
    assert loader.search_deferred is False
    checkpoint = checkpoint_of(db, first["run_id"])
    assert (checkpoint["stage"], checkpoint["reindex"]) == ("messages", True)
    with Archive(db.url) as archive:
        assert ids(archive.search("zebra", limit=500)) != []  # the index as it was, whole: nothing half made
    summary, rebuilds = reprocess_counting_rebuilds(db.url, monkeypatch, page=10)
    assert (summary["status"], summary["resumed"], rebuilds) == ("completed", True, 1)
    with Archive(db.url) as archive:
        assert ids(archive.search("zebra")) == []
        assert len(archive.search("group", limit=500)) == 120


def test_names_the_archive_knows_where_the_export_left_them_out(any_db: Any, tmp_path: Path) -> None:
    """Exports often leave `displayName` out of a message and a one-to-one chat unnamed. A person reads the
    name the archive knows for that id (from that person's other messages), not "8:live:…"; the stored values
    stay as the export had them, and an id nobody named stays an id."""
    from skype_etl_gui.archive import conversation_label, sender_label

    chat = [
        message("1", "named here", originalarrivaltime=hour(1), **{"from": "8:live:dana", "displayName": "Dana K"}),
        message(
            "2", "lunch without a name", originalarrivaltime=hour(2), **{"from": "8:live:dana", "displayName": None}
        ),
        message("3", "lunch from a stranger", originalarrivaltime=hour(3), **{"from": "8:live:zed", "displayName": ""}),
    ]
    document = export_document([conversation("8:live:dana", chat, displayName=None)])
    assert ETLPipeline(any_db.url).run(str(write_export(tmp_path / "e.json", document)))["status"] == "completed"
    with Archive(any_db.url) as archive:
        (dana,) = archive.conversations()
        assert (dana["display_name"], dana["known_name"], conversation_label(dana)) == (None, "Dana K", "Dana K")
        page = {m["id"]: m for m in archive.page(dana["owner_id"], dana["id"])}
        assert page["2"]["sender_name"] is None and page["2"]["known_name"] == "Dana K"
        assert [sender_label(page[i]) for i in "123"] == ["Dana K", "Dana K", "8:live:zed"]
        assert page["1"]["known_name"] is None  # it carried its own
        hits = {h["id"]: h for h in archive.search("lunch")}
        assert [sender_label(hits[i]) for i in "23"] == ["Dana K", "8:live:zed"]
        # an import while the archive stays open (the browser's) names zed: the next page read says so
        named = message(
            "4", "zed has a name now", originalarrivaltime=hour(4), **{"from": "8:live:zed", "displayName": "Zed Q"}
        )
        document = export_document([conversation("8:live:dana", [*chat, named], displayName=None)])
        assert (
            ETLPipeline(any_db.url).run(str(write_export(tmp_path / "later.json", document)))["status"] == "completed"
        )
        page = {m["id"]: m for m in archive.page(dana["owner_id"], dana["id"])}
        assert [sender_label(page[i]) for i in "1234"] == ["Dana K", "Dana K", "Zed Q", "Zed Q"]


def test_a_conversation_is_found_by_the_name_the_browser_lists(any_db: Any, tmp_path: Path, capsys: Any) -> None:
    """`show` and `in:` take a conversation's name as well as its id: its own name, or for an unnamed one-to-one
    chat the other person's (as the browser lists it). A name that fits several says which, with their ids."""
    from skype_etl_gui.archive import conversation_label
    from skype_etl_gui.cli import main

    document = export_document(
        [
            conversation(
                "8:live:dana",
                [
                    message(
                        "1",
                        "hi from dana",
                        originalarrivaltime=hour(1),
                        **{"from": "8:live:dana", "displayName": "Dana K"},
                    )
                ],
                displayName=None,
            ),
            conversation(
                "8:live:danny", [message("2", "hi from danny", originalarrivaltime=hour(2))], displayName="Danny"
            ),
            conversation(
                "19:x@thread.skype", [message("3", "hi all", originalarrivaltime=hour(3))], displayName="Dan's team"
            ),
            conversation("48:calllogs", [message("4", "a call", originalarrivaltime=hour(4))], displayName=None),
        ]
    )
    assert ETLPipeline(any_db.url).run(str(write_export(tmp_path / "e.json", document)))["status"] == "completed"
    with Archive(any_db.url) as archive:
        assert [c["id"] for c in archive.find_conversations("dana k")] == ["8:live:dana"]
        assert [c["id"] for c in archive.find_conversations("DANNY")] == ["8:live:danny"]  # the whole name first
        assert [c["id"] for c in archive.find_conversations("dan")] == [
            "19:x@thread.skype",
            "8:live:dana",
            "8:live:danny",
        ]
        assert [c["id"] for c in archive.find_conversations("8:live:danny")] == ["8:live:danny"]
        assert [c["id"] for c in archive.find_conversations("8:LIVE:Danny")] == ["8:live:danny"]  # as in: folds it
        assert archive.find_conversations("zed") == []
        calls = archive.find_conversations("call log")  # Skype's own, unnamed in exports
        assert [(c["id"], c["name"]) for c in calls] == [("48:calllogs", "Call log")]
        assert conversation_label(next(c for c in archive.conversations() if c["id"] == "48:calllogs")) == "Call log"
        assert ids(archive.search('hi in:"Dana K"')) == ["1"]
    assert main(["show", "Dana K", "--db", any_db.url]) == 0
    assert "Dana K: hi from dana" in capsys.readouterr().out
    assert main(["show", "team", "--db", any_db.url]) == 0
    assert "hi all" in capsys.readouterr().out
    assert main(["show", "dan", "--db", any_db.url]) == 2
    err = capsys.readouterr().err
    assert "dan: names 3 conversations; give one's id: 19:x@thread.skype (Dan's team); 8:live:dana (Dana K)" in err
    assert main(["show", "zed", "--db", any_db.url]) == 2
    assert "zed: no conversation of that id or name in this archive" in capsys.readouterr().err
