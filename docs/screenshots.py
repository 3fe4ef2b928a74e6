"""Screenshots of the window's main states, taken offscreen: ready, running, paused, finished with errors,
the error log and the run history.

    QT_QPA_PLATFORM=offscreen python docs/screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from skype_etl_gui.gui.main_window import MainWindow  # noqa: E402
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
        from skype_etl_gui.gui.jobs import Job

        Job.quit_all()
        Job.wait_all()


if __name__ == "__main__":
    main()
