"""The pipeline's layering: no Qt in etl/, stages that import only what comes before them, no import cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tomllib

from tests.importgraph import ROOT, cycles, graph, module_names

ETL = ROOT / "skype_etl_gui" / "etl"


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


def test_extract_and_transform_never_import_load_or_run() -> None:
    edges = graph()
    later = ("skype_etl_gui.etl.load", "skype_etl_gui.etl.run", "skype_etl_gui.etl.compat", "skype_etl_gui.gui")
    for module, targets in edges.items():
        if module.startswith(("skype_etl_gui.etl.extract", "skype_etl_gui.etl.transform")):
            wrong = sorted(t for t in targets if t.startswith(later))
            assert not wrong, f"{module} imports {wrong}"
    assert edges["skype_etl_gui.etl.run.producer"], "the graph sees imports at all"


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(graph()) == []


def test_the_graph_would_see_a_cycle() -> None:
    """The check above can fail: the loader <-> sqlite/postgres cycle this project once had is found."""
    edges = {"a.loader": {"a.sqlite"}, "a.sqlite": {"a.loader"}, "a.pipeline": {"a.loader"}}
    assert cycles(edges) == [["a.loader", "a.sqlite"]]


def test_the_worker_process_and_a_sqlite_import_load_no_database_driver(tmp_path: Path) -> None:
    from tests.conftest import conversation, export_document, message, write_export

    export = write_export(tmp_path / "e.json", export_document([conversation("8:a", [message("1")])]))
    url = f"sqlite:///{tmp_path / 'h.db'}"
    code = (
        "import sys\n"
        "import skype_etl_gui.etl.run.worker, skype_etl_gui.etl.run.producer\n"
        "assert 'psycopg2' not in sys.modules, 'the worker imports psycopg2'\n"
        "from skype_etl_gui.etl import ETLPipeline\n"
        f"summary = ETLPipeline({url!r}, parallel=True).run({str(export)!r})\n"
        "assert summary['status'] == 'completed', summary\n"
        "print('psycopg2' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def test_every_package_is_installed() -> None:
    """`pip install .` takes the packages pyproject.toml names: each folder of code must be among them."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {name for name, path in module_names().items() if path.name == "__init__.py"}
    assert packages - listed == set()
