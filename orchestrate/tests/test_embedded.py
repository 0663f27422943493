"""The first-run experience: with no PG* variable set, the demo runs on an embedded PostgreSQL,
and Dagster's assets use the same one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from orchestrate.database import PG_VARIABLES, EmbeddedDatabase, connection_parameters, server_environment
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
    # the ranked list: user, hour, day, flows, expected, score, threshold, method
    assert re.search(r"^a +12 +2017-01-12 +303 +\S+ +40\.\d+ +5\.25 +residual$", demo.stdout, flags=re.M), demo.stdout[-3000:]
    report = (tmp_path / "runs" / "latest" / "report.html").resolve()
    assert f"Report: {report}" in demo.stdout and report.exists()
    assert f"in the embedded PostgreSQL, data in {STATE_DIR / 'pgdata'}" in demo.stdout
    assert "netflow-pca db start" in demo.stdout
    assert database.status().running == was_running


def test_without_pg_variables_dagster_uses_the_embedded_database(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    database = EmbeddedDatabase(STATE_DIR / "pgdata")
    was_running = database.status().running
    try:
        with server_environment(STATE_DIR / "pgdata"):
            given = {name: os.environ[name] for name in PG_VARIABLES if name in os.environ}
            with psycopg2.connect(**connection_parameters(os.environ)) as connection, connection.cursor() as cursor:
                cursor.execute("show data_directory")
                [(data_directory,)] = cursor.fetchall()
        assert given == database.status().libpq_environment
        assert Path(data_directory).resolve() == (STATE_DIR / "pgdata").resolve()
        assert not any(name in os.environ for name in PG_VARIABLES)
    finally:
        if not was_running:
            database.stop()
