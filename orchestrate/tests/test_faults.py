"""Faults on real PostgreSQL while a run writes: a dropped connection, an error from the server, a
killed runner. Each must leave the tables of the last good run readable and whole (not even
rewritten), and the next run must complete.

A second connection holds a lock that the run's write of the PCA mart needs, so the fault lands
at a known point, with the fit done and the write pending, not at a random one."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrate.run.options import dbt_command
from orchestrate.run.runner import PROJECT_DIR, dbt_executable
from orchestrate.tests.conftest import NETFLOW_PCA, Database, Project, run_cli, within_rounding
from orchestrate.tests.models import HOURLY_MODELS

# the model that fits the default method's PCA (on plpython the residual method's numpy, on sql
# its scores over the set-based fit); pca_components is fitted only for the loading method
PCA_MART = "int_residual_scores"
# what the holder takes: for a run of all hours, which swaps in a new table, a read that keeps
# the swap waiting; for a run of one hour, which deletes and inserts, a row lock on that hour
BLOCKERS = {
    None: "select count(*) from {table}",
    12: "select count(*) from (select * from {table} where hour_of_day = 12 for update) as locked",
}


def fingerprints(project: Project) -> dict[str, dict[int, str]]:
    return {model: project.hour_fingerprints(model) for model in HOURLY_MODELS}


def contents(project: Project) -> dict[str, list[tuple[Any, ...]]]:
    return {model: project.db.rows(f'select * from "{project.schema}"."{model}" t order by t::text') for model in HOURLY_MODELS}


def same_contents(before: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """What `contents` must equal: the same rows, floats up to rounding (a rerun of one hour sums
    in another order)."""
    return {model: within_rounding(rows) for model, rows in before.items()}


def blocked_by(db: Database, holder_pid: int, deadline: float) -> int:
    """The backend that waits for a lock the holder holds: the run, half way through its write."""
    while time.monotonic() < deadline:
        rows = db.rows("select pid from pg_stat_activity where %s = any(pg_blocking_pids(pid))", (holder_pid,))
        if rows:
            return int(rows[0][0])
        time.sleep(0.2)
    raise AssertionError("the run never reached the write of the PCA mart")


def start_dbt(project: Project, hour: int | None, env: dict[str, str]) -> subprocess.Popen[str]:
    vars = {"events_table": "events", **({"hour_id": hour} if hour is not None else {})}
    return subprocess.Popen(
        [dbt_executable(), *dbt_command(["run", "--select", PCA_MART], vars)],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def rerun_completes_with_the_same_rows(project: Project, before: dict[str, list[tuple[Any, ...]]], hour: int | None) -> None:
    vars = {"events_table": "events", **({"hour_id": hour} if hour is not None else {})}
    project.build(vars, ("--select", f"{PCA_MART}+"))
    assert contents(project) == same_contents(before)


@pytest.mark.parametrize(
    ("fault", "hour"),
    [("connection terminated", None), ("connection terminated", 12), ("statement timeout", 12)],
    ids=["connection terminated, all hours", "connection terminated, hour 12", "statement timeout, hour 12"],
)
def test_a_fault_in_the_pca_step_keeps_the_last_good_tables(last_good: Project, fault: str, hour: int | None) -> None:
    before, rows_before = fingerprints(last_good), contents(last_good)
    env = {**last_good.env, "DBT_TARGET_PATH": f"{last_good.env['DBT_TARGET_PATH']}_fault"}
    if fault == "statement timeout":
        env["PGOPTIONS"] = "-c statement_timeout=4s"

    with last_good.db.connect() as holder, holder.cursor() as cursor:
        cursor.execute(BLOCKERS[hour].format(table=f'"{last_good.schema}"."{PCA_MART}"'))
        cursor.execute("select pg_backend_pid()")
        run = start_dbt(last_good, hour, env)
        pid = blocked_by(last_good.db, cursor.fetchone()[0], time.monotonic() + 180)
        if fault == "connection terminated":
            assert last_good.db.rows("select pg_terminate_backend(%s)", (pid,)) == [(True,)]
        output = run.communicate(timeout=300)[0]
        holder.rollback()

    assert run.returncode != 0
    expected = {"connection terminated": "server closed the connection unexpectedly",
                "statement timeout": "canceling statement due to statement timeout"}[fault]
    assert expected in output, output[-4000:]
    assert fingerprints(last_good) == before
    rerun_completes_with_the_same_rows(last_good, rows_before, hour)


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_killed_runner_leaves_the_last_good_tables_and_retry_completes(last_good: Project) -> None:
    before, rows_before = fingerprints(last_good), contents(last_good)
    env = {**last_good.env, "DBT_TARGET_PATH": f"{last_good.env['DBT_TARGET_PATH']}_killed"}

    with last_good.db.connect() as holder, holder.cursor() as cursor:
        cursor.execute(BLOCKERS[12].format(table=f'"{last_good.schema}"."{PCA_MART}"'))
        cursor.execute("select pg_backend_pid()")
        runner = subprocess.Popen([NETFLOW_PCA, "run", "--hours", "12", "--var", "events_table=events"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        blocked_by(last_good.db, cursor.fetchone()[0], time.monotonic() + 300)
        [dbt] = children(runner.pid)
        # dbt runs in a session of its own: kill it with the runner, as a machine going down would
        os.killpg(dbt, signal.SIGKILL)
        runner.kill()
        runner.wait(timeout=30)
        holder.rollback()

    # the models before the mart committed hour 12 anew, with the same rows; the mart was not written
    assert contents(last_good) == same_contents(rows_before)
    assert fingerprints(last_good)[PCA_MART] == before[PCA_MART]
    retried = run_cli(env, "retry")
    assert retried.returncode == 0, retried.stdout[-4000:] + retried.stderr[-2000:]
    assert contents(last_good) == same_contents(rows_before)
