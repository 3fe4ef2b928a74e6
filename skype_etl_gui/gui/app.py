"""skype-etl-gui: the window's entry point."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from importlib import resources


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skype-etl-gui", description="Import a Skype export with a window.")
    parser.add_argument("export", nargs="?", help="the export to fill in")
    parser.add_argument("--db", metavar="URL", default=None, help="the database to fill in")
    parser.add_argument("--browse", action="store_true", help="open the archive browser on that database")
    args = parser.parse_args(argv)

    from .. import applog

    applog.setup("skype-etl-gui")
    sys.excepthook = applog.log_unexpected  # a bug in a slot is logged, with its traceback

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .jobs import share_the_interpreter_lock
    from .main_window import MainWindow

    share_the_interpreter_lock()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Skype Export Importer")
    app.setOrganizationName("skype-etl-gui")
    app.setDesktopFileName("skype-etl-gui")
    icon = resources.files("skype_etl_gui.resources").joinpath("skype-etl-gui.svg")
    app.setWindowIcon(QIcon(str(icon)))
    from .jobs import Job

    window = MainWindow(export_path=args.export, database_url=args.db)
    window.show()
    # what the program holds once its window is up (Qt's bindings, the modules) never becomes garbage: out of
    # the collector's sight, so that a full collection during an import is short (it took 80 ms, over the
    # GUI thread's 50 ms budget, with a large heap)
    gc.freeze()
    if args.browse:
        window.show_archive()
    code = int(app.exec())
    # the window closes once its jobs have ended; a job started at the very end (saving settings) ends here
    Job.quit_all()
    Job.wait_all()
    return code


if __name__ == "__main__":
    sys.exit(main())
