"""The first-run experience: with no PG* variable set, the demo runs on an embedded PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from orchestrate.database import PG_VARIABLES, EmbeddedDatabase
from orchestrate.run.runner import PROJECT_DIR, STATE_DIR


def test_demo_runs_on_the_embedded_database_and_stops_it(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name not in PG_VARIABLES}
    env |= {
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "NETFLOW_PCA_RUNS_PATH": str(tmp_path / "runs"),
    }
    database = EmbeddedDatabase(STATE_DIR / "pgdata")
    was_running = database.status().running

    demo = subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", "demo"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )

    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-2000:]
    # the anomaly table: hour, method, rank, user, score, evidence_day, flow_count, ...
    assert re.search(r"^ *12  residual +1  a +\S+  2017-01-12 +303 ", demo.stdout, flags=re.M), demo.stdout[-3000:]
    report = tmp_path / "runs" / "2017-01-14" / "report.html"
    assert f"Report: {report}" in demo.stdout and report.exists()
    assert database.status().running == was_running
