"""Runs at the same time: different hours proceed side by side, the same hour takes turns."""

from __future__ import annotations

import subprocess
import time
from typing import Any

from orchestrate.run.options import dbt_command
from orchestrate.run.runner import PROJECT_DIR, dbt_executable
from orchestrate.tests.conftest import Project, within_rounding
from orchestrate.tests.models import HOURLY_MODELS


def start_dbt(project: Project, command: list[str], vars: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [dbt_executable(), *dbt_command(command, vars)],
        cwd=PROJECT_DIR,
        env={**project.env, "DBT_TARGET_PATH": f"{project.env['DBT_TARGET_PATH']}_{vars.get('hour_id')}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def hour_rows(project: Project, model: str, hour: int) -> list[tuple[Any, ...]]:
    return project.db.rows(f'select * from "{project.schema}"."{model}" t where hour_of_day = %s order by t::text', (hour,))


def waiting_hour_locks(project: Project, relation: str, hour: int) -> int:
    """Runs waiting for the advisory lock of one hour of one relation (keys as in lock_selected_hours)."""
    return int(project.db.rows(
        """select count(*) from pg_locks
           where locktype = 'advisory' and not granted and objsubid = 2
             and classid = hashtext(%s)::oid and objid = %s""",
        (relation, hour),
    )[0][0])


def test_runs_for_different_hours_proceed_together_and_match_solo_runs(project: Project) -> None:
    vars = project.load_sample_events()
    project.build(vars)
    solo = {(model, hour): hour_rows(project, model, hour) for model in HOURLY_MODELS for hour in (5, 6)}
    project.db.execute(f'delete from "{project.schema}".int_pca_input where hour_of_day in (5, 6)')
    project.db.execute(f'delete from "{project.schema}".int_hourly_counts where hour_of_day in (5, 6)')

    runs = [start_dbt(project, ["run"], {**vars, "hour_id": hour}) for hour in (5, 6)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]

    failures = [output[-4000:] for run, output in zip(runs, outputs) if run.returncode != 0]
    assert [run.returncode for run in runs] == [0, 0], "\n\n".join(failures)
    assert {key: hour_rows(project, *key) for key in solo} == {key: within_rounding(rows) for key, rows in solo.items()}


def test_a_second_run_for_the_same_hour_waits_for_the_first(project: Project) -> None:
    vars = project.load_sample_events()
    project.build(vars)
    before = hour_rows(project, "int_hourly_counts", 12)
    relation = f'"{project.db.env["PGDATABASE"]}"."{project.schema}"."int_hourly_counts"'

    with project.db.connect() as holder, holder.cursor() as cursor:
        # stands in for a first run that is half way through writing hour 12
        cursor.execute("select pg_advisory_xact_lock(hashtext(%s), 12)", (relation,))
        second = start_dbt(project, ["run", "--select", "int_hourly_counts"], {**vars, "hour_id": 12})
        deadline = time.monotonic() + 120
        while waiting_hour_locks(project, relation, 12) == 0 and second.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert second.poll() is None, second.communicate()[0]
        assert waiting_hour_locks(project, relation, 12) == 1
        other_hour = project.dbt("run", "--select", "int_hourly_counts", vars={**vars, "hour_id": 11})
        assert other_hour.returncode == 0, other_hour.stdout
    output = second.communicate(timeout=300)[0]

    assert second.returncode == 0, output
    assert hour_rows(project, "int_hourly_counts", 12) == before
