"""The Qt binding this project installs survives many signals (PySide6 6.12.0 did not: it aborts)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Emitter(QObject):
    changed = Signal(object)
emitter = Emitter()
emitter.changed.connect(lambda value: None)
before = sys.getrefcount(False), sys.getrefcount(True)
for _ in range(20000):
    emitter.changed.emit("x")
print(sys.getrefcount(False) - before[0], sys.getrefcount(True) - before[1])
"""


def test_signals_do_not_eat_references() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split() == ["0", "0"]
