"""The archive browser, driven as a person would, on SQLite and PostgreSQL (issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QListView, QPushButton

from skype_etl_gui.gui.views.archive_browser import ArchiveBrowserWindow
from skype_etl_gui.gui.views.main_window import MainWindow
from tests.gui.conftest import stop_jobs
from tests.test_archive import build

WAIT = 20_000


def open_browser(qtbot: Any, url: str, remembered: Any = None) -> ArchiveBrowserWindow:
    window = ArchiveBrowserWindow(url, remembered=remembered)
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.show()
    conversations = window.findChild(QListView, "conversationList")
    qtbot.waitUntil(lambda: conversations.model().rowCount() == 2, timeout=WAIT)
    return window


def view(window: Any, name: str) -> QListView:
    found = window.findChild(QListView, name)
    assert found is not None, name
    return found


def texts(list_view: QListView) -> list[str]:
    model = list_view.model()
    return [model.index(row, 0).data() for row in range(model.rowCount())]


def test_browse_a_conversation_search_and_open_a_hit(qtbot: Any, any_db: Any, tmp_path: Path) -> None:
    build(tmp_path, any_db.url)
    window = open_browser(qtbot, any_db.url)
    conversations, messages = view(window, "conversationList"), view(window, "messageView")
    assert texts(conversations)[0].startswith("The Team\ngroup · 120 messages · 2021-03-10")
    # the latest conversation opens with its newest messages, the newest at the bottom
    qtbot.waitUntil(lambda: messages.model().rowCount() == 100, timeout=WAIT)  # a page
    assert texts(messages)[-1].endswith("Bob Builder  03:00\ngroup line 119")
    assert texts(messages)[0] == "——— 2021-03-06 ———\nBob Builder  00:00\ngroup line 20 brown"
    # search: Ctrl+F, type, Enter
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    field = window.findChild(QLineEdit, "searchField")
    assert field.hasFocus() or not window.isActiveWindow()
    qtbot.keyClicks(field, "cafe")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    results = view(window, "searchResults")
    qtbot.waitUntil(lambda: results.model().rowCount() == 1, timeout=WAIT)
    assert texts(results) == ["Anna · Anna · 2021-03-01 02:00\nWe met at the [Café] de Flore"]
    # activating the hit opens its conversation with that message current and centred
    results.activated.emit(results.model().index(0, 0))
    qtbot.waitUntil(lambda: messages.currentIndex().isValid(), timeout=WAIT)
    assert "We met at the Café de Flore" in messages.currentIndex().data()
    assert conversations.currentIndex().data().startswith("Anna\n")
    # Esc clears the search
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert field.text() == "" and results.model().rowCount() == 0


def test_a_query_that_cannot_be_read_says_why_in_the_window(qtbot: Any, db: Any, tmp_path: Path) -> None:
    build(tmp_path, db.url)
    window = open_browser(qtbot, db.url)
    field = window.findChild(QLineEdit, "searchField")
    note = window.findChild(type(window.note), "searchNote")
    for query, says in (("-brown", "not only what to leave out"), ('"open', "not closed"), ("zebra", "No messages")):
        field.setText(query)
        qtbot.keyClick(field, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda says=says: says in note.text(), timeout=WAIT)


def test_filter_conversations_and_the_last_one_is_remembered(qtbot: Any, db: Any, tmp_path: Path) -> None:
    build(tmp_path, db.url)
    window = open_browser(qtbot, db.url, remembered=["8:live:.cid.me", "8:anna"])
    conversations, messages = view(window, "conversationList"), view(window, "messageView")
    assert conversations.currentIndex().data().startswith("Anna\n")
    qtbot.waitUntil(lambda: messages.model().rowCount() == 10, timeout=WAIT)
    told: list[Any] = []
    window.remember.connect(told.append)
    window.findChild(QLineEdit, "conversationFilter").setText("team")
    assert texts(conversations) == [texts(conversations)[0]] and texts(conversations)[0].startswith("The Team")
    conversations.setCurrentIndex(conversations.model().index(0, 0))
    assert told == [["", "19:team@thread.skype"]]


def test_scrolling_reads_pages_and_holds_a_bounded_window(
    qtbot: Any, db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    import skype_etl_gui.gui.presenters.browser as browser
    from skype_etl_gui.gui.models.archive import MessageListModel

    monkeypatch.setattr(browser, "PAGE", 30)
    monkeypatch.setattr(MessageListModel, "MAX_ROWS", 60)
    build(tmp_path, db.url)
    window = open_browser(qtbot, db.url)
    messages = view(window, "messageView")
    model = messages.model()
    qtbot.waitUntil(lambda: model.rowCount() == 30, timeout=WAIT)
    seen_first = []
    for _ in range(4):  # up to the start: the window holds 60 at most, the newest go
        messages.verticalScrollBar().setValue(0)
        first = model.rows[0]["id"]
        qtbot.waitUntil(lambda first=first: model.rows[0]["id"] != first or model.at_start, timeout=WAIT)
        seen_first.append(model.rows[0]["id"])
        assert model.rowCount() <= 60
    assert model.at_start and not model.at_end and seen_first[-1] == "g0"
    assert texts(messages)[0].startswith("——— 2021-03-05 ———\nBob Builder  04:00\ngroup line 0")
    for _ in range(5):  # and down again to the newest
        bar = messages.verticalScrollBar()
        bar.setValue(bar.maximum())
        last = model.rows[-1]["id"]
        qtbot.waitUntil(lambda last=last: model.rows[-1]["id"] != last or model.at_end, timeout=WAIT)
        assert model.rowCount() <= 60
    assert model.at_end and model.rows[-1]["id"] == "g119"


def test_the_main_window_opens_the_browser(qtbot: Any, db: Any, tmp_path: Path) -> None:
    build(tmp_path, db.url)
    window = MainWindow(database_url=db.url)
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.show()
    window.findChild(QPushButton, "archiveButton").click()
    browser = window.archive_browser
    assert isinstance(browser, ArchiveBrowserWindow)
    qtbot.waitUntil(lambda: view(browser, "conversationList").model().rowCount() == 2, timeout=WAIT)


def test_an_archive_of_an_earlier_version_is_updated_with_progress(qtbot: Any, old_archive: Any) -> None:
    window = ArchiveBrowserWindow(old_archive.url)
    qtbot.addWidget(window, before_close_func=stop_jobs)
    said: list[str] = []
    window.presenter.note.connect(said.append)
    window.show()
    conversations = view(window, "conversationList")
    qtbot.waitUntil(lambda: conversations.model().rowCount() > 0, timeout=WAIT)
    assert any(text.startswith("Updating the archive made by an earlier version: search index") for text in said)


def test_no_archive_says_so(qtbot: Any, tmp_path: Path) -> None:
    window = ArchiveBrowserWindow(f"sqlite:///{tmp_path / 'none.db'}")
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.show()
    qtbot.waitUntil(lambda: "no such database" in window.note.text(), timeout=WAIT)


def test_after_an_import_the_window_offers_to_open_the_archive(qtbot: Any, db: Any, tmp_path: Path) -> None:
    from tests.conftest import conversation, export_document, message, write_export
    from tests.gui.test_main_window import make_window, run_to_end

    export = write_export(tmp_path / "e.json", export_document([conversation("8:anna", [message("1", "hello")])]))
    window = make_window(qtbot, export, db)
    archive = window.findChild(QPushButton, "archiveButton")
    assert archive.text() == "&Archive"
    assert run_to_end(qtbot, window)["status"] == "completed"
    assert archive.text() == "Open &archive" and archive.isDefault()
    archive.click()
    qtbot.waitUntil(lambda: view(window.archive_browser, "messageView").model().rowCount() == 1, timeout=WAIT)
    assert "hello" in texts(view(window.archive_browser, "messageView"))[0]
