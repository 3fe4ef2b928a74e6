"""skype-etl-gui: the window's entry point.

The full window (progress, pause, resume, error log) is still being built; until
then this opens a small window that says what the command line can do now.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..paths import default_database_url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skype-etl-gui")
    parser.add_argument("export", nargs="?")
    parser.add_argument("--db", metavar="URL", default=None)
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    url = args.db or default_database_url()
    label = QLabel(
        "<h3>Skype Export Importer</h3>"
        "<p>The import window is not finished yet. Import from a terminal with:</p>"
        f"<pre>skype-etl import {args.export or 'EXPORT.tar'} --db {url}</pre>"
    )
    label.setWindowTitle("Skype Export Importer")
    label.setMargin(24)
    label.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
