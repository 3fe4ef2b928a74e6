"""A million-message export imports into SQLite in bounded memory (the importing process plus its worker)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 1_000_000
LIMIT_MB = 200

DRIVER = """
import json, resource, sys
from skype_etl_gui.etl import ETLPipeline
summary = ETLPipeline(sys.argv[2]).run(sys.argv[1])
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"status": summary["status"], "messages": summary["messages"], "parallel": summary["telemetry"]["parallel"],
                  "peak_mb": peak_kb / 1024}))
"""


@pytest.mark.slow
def test_million_messages_under_200_mb(tmp_path: Path) -> None:
    export = tmp_path / "million.tar"
    subprocess.run(
        [sys.executable, "-m", "skype_etl_gui", "sample", str(export), "--messages", str(MESSAGES)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(export), f"sqlite:///{tmp_path / 'million.db'}"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed" and result["messages"] > 0.99 * MESSAGES
    assert result["parallel"] is True
    # each process's own peak, added: an upper bound of what the two held at once
    assert result["peak_mb"] < LIMIT_MB, f"peak RSS {result['peak_mb']:.0f} MB"
