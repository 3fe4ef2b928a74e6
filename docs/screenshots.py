"""Screenshots of the window's main states, taken offscreen: ready, running, paused, finished with errors,
the error log, the run history, and the archive browser (over a small export of its own, with a photo).

    QT_QPA_PLATFORM=offscreen python docs/screenshots.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter
from PySide6.QtWidgets import QApplication

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from skype_etl_gui.etl import ETLPipeline  # noqa: E402
from skype_etl_gui.gui.main_window import MainWindow  # noqa: E402
from skype_etl_gui.gui.views.archive_browser import ArchiveBrowserWindow  # noqa: E402
from skype_etl_gui.sample import write_sample  # noqa: E402


def wait(app: QApplication, condition, timeout_s: float = 120) -> None:
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: condition() and loop.quit())
    timer.start(50)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()


def main() -> None:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SKYPE_ETL_LOG_DIR"] = tmp
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        export = Path(tmp) / "8_live_sample_export.tar"
        write_sample(export, messages=400_000, seed=3)
        window = MainWindow(str(export), f"sqlite:///{tmp}/skype_history.db")
        window.batch_size = 2000
        window.resize(760, 760)
        window.show()
        out = HERE / "screenshots"
        wait(
            app, lambda: "conversations" in window.preview_label.text() and "Reading" not in window.preview_label.text()
        )
        window.grab().save(str(out / "ready.png"))
        window.start()
        wait(app, lambda: window.memory_series.count() >= 8 and window.progress_bar.value() > 300)
        window.grab().save(str(out / "running.png"))
        window.presenter.toggle_pause()
        wait(app, lambda: window.status_label.text().startswith("Paused"))
        window.grab().save(str(out / "paused.png"))
        window.presenter.toggle_pause()
        wait(app, lambda: window.presenter.state == "finished" and window.start_button.isEnabled())
        wait(app, lambda: window.error_offer is not None)
        window.error_offer.close()
        window.grab().save(str(out / "finished.png"))
        window.show_error_log()
        log = window.error_log
        assert log is not None
        log.resize(1180, 640)
        wait(app, lambda: log.presenter.settled and log.model.is_loaded(0))
        log.table.selectRow(0)
        app.processEvents()
        log.grab().save(str(out / "error_log.png"))
        window.show_run_history()
        history = window.run_history
        assert history is not None
        wait(app, lambda: history.model.rowCount() > 0)
        app.processEvents()
        history.grab().save(str(out / "run_history.png"))
        window.close()
        wait(app, lambda: not window.isVisible())
        browse(app, Path(tmp), out)
        from skype_etl_gui.gui.jobs import Job

        Job.quit_all()
        Job.wait_all()


def beach(path: Path) -> None:
    """A photo to show: sky, sea and sun."""
    image = QImage(1200, 800, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    sky = QLinearGradient(QPointF(0, 0), QPointF(0, 480))
    sky.setColorAt(0, QColor("#f6a04d"))
    sky.setColorAt(1, QColor("#fde3b0"))
    painter.fillRect(0, 0, 1200, 480, sky)
    painter.fillRect(0, 480, 1200, 320, QColor("#2a6f97"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#fff4d6"))
    painter.drawEllipse(QPointF(820, 420), 90, 90)
    painter.end()
    image.save(str(path), "JPEG", 85)


def browse(app: QApplication, tmp: Path, out: Path) -> None:
    """The archive browser over a small extracted export: a photo, a quote, a link, reactions, a call; a search."""
    folder = tmp / "export"
    (folder / "media").mkdir(parents=True)
    beach(folder / "media" / "0-weu-d3-beach.1.jpg")
    sidecar = {"filename": "beach.jpg", "contents": {"1": {"type": "image/jpeg"}}}
    (folder / "media" / "0-weu-d3-beach.json").write_text(json.dumps(sidecar))

    def said(number: int, who: str, name: str, content: str, kind: str = "RichText", **extra: object) -> dict:
        return {
            "id": str(number),
            "displayName": name,
            "originalarrivaltime": f"2024-07-{12 + number // 6:02d}T{9 + number % 6 * 2:02d}:1{number % 10}:00.000Z",
            "messagetype": kind,
            "version": 1720000000000 + number,
            "content": content,
            "conversationid": "8:live:maria",
            "from": who,
            "properties": extra.get("properties"),
            "amsreferences": None,
        }

    me, maria = "8:live:.cid.me", "8:live:maria"
    chat = [
        said(1, maria, "Maria", "Are we still on for the weekend by the sea?"),
        said(2, me, "Me", "Yes! The ferry leaves at 9, tickets are on https://ferries.example.org/summer"),
        said(
            3,
            maria,
            "Maria",
            '<quote author="8:live:.cid.me" authorname="Me" timestamp="1720775400" messageid="2">'
            "The ferry leaves at 9</quote>Perfect, I will bring the café au lait",
            properties={"emotions": [{"key": "heart", "users": [{"mri": me, "time": 1720780000000}]}]},
        ),
        said(
            4,
            me,
            "Me",
            '<partlist type="ended" alt=""><part identity="8:live:maria"><duration>1457</duration></part>'
            '<part identity="8:live:.cid.me"><duration>1457</duration></part></partlist>',
            "Event/Call",
        ),
        said(
            6,
            maria,
            "Maria",
            '<URIObject type="Picture.1" uri="https://api.asm.skype.com/v1/objects/0-weu-d3-beach" '
            'doc_id="0-weu-d3-beach"><OriginalName v="beach.jpg"/>Photo</URIObject>',
            "RichText/UriObject",
            properties={"emotions": [{"key": "like", "users": [{"mri": me, "time": 1720790000000}]}]},
        ),
        said(7, me, "Me", "Wonderful. The sea was so calm that morning."),
    ]
    document = {
        "userId": me,
        "exportDate": "2025-04-30T18:22",
        "conversations": [
            {
                "id": maria,
                "displayName": "Maria",
                "version": 1,
                "properties": None,
                "threadProperties": None,
                "MessageList": chat,
            }
        ],
    }
    (folder / "messages.json").write_text(json.dumps(document))
    url = f"sqlite:///{tmp}/browse.db"
    assert ETLPipeline(url).run(str(folder / "messages.json"))["status"] == "completed"
    browser = ArchiveBrowserWindow(url)
    browser.resize(1100, 640)
    browser.show()
    model = browser.presenter.messages
    wait(app, lambda: model.rowCount() == 6 and model.thumbnails)
    browser.search_field.setText("sea")
    browser.search()
    wait(app, lambda: browser.presenter.hits.rowCount() == 2)
    app.processEvents()
    browser.grab().save(str(out / "archive_browser.png"))
    browser.close()


if __name__ == "__main__":
    main()
