"""A million-message export imports into SQLite in bounded memory (the importing process plus its worker).

Measured by sampling, not getrusage: a child of this (large) test process would
report this process's peak as its own.
"""

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
import json, sys
sys.path.insert(0, "benchmarks")
from harness import PeakMemory
from skype_etl_gui.etl import ETLPipeline
memory = PeakMemory()
summary = ETLPipeline(sys.argv[2]).run(sys.argv[1])
print(json.dumps({"status": summary["status"], "messages": summary["messages"], "parallel": summary["telemetry"]["parallel"],
                  "peak_mb": memory.stop_mb()}))
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
    # the importing process and its worker together, sampled every 10 ms
    assert result["peak_mb"] < LIMIT_MB, f"peak RSS {result['peak_mb']:.0f} MB"
