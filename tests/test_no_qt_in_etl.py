"""The pipeline must never import Qt: it runs headless, in scripts and in worker processes."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ETL = Path(__file__).resolve().parent.parent / "skype_etl_gui" / "etl"


def test_importing_the_library_loads_no_qt() -> None:
    code = (
        "import sys, skype_etl_gui.etl, skype_etl_gui.etl.run.pipeline, skype_etl_gui.cli, skype_etl_gui.sample;"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide', 'shiboken', 'PyQt'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_module_in_etl_names_qt() -> None:
    for path in ETL.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] in ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6") for n in names), (
                path
            )
