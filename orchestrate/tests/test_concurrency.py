"""Runs at the same time: different hours proceed side by side, taking turns only on the staging
view when both must rebuild it; the same hour takes turns."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from typing import Any

from orchestrate.run.options import dbt_command
from orchestrate.run.plan import RunHistory, Status
from orchestrate.run.runner import PROJECT_DIR, dbt_executable
from orchestrate.tests.conftest import (
    NETFLOW_PCA,
    Project,
    assert_hour_rows_match,
    assert_refused_for_other_hours,
    rows_of_hours,
    within_rounding,
)
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


def waiting_hour_locks(project: Project, relation: str, hour: int) -> int:
    """Runs waiting for the advisory lock of one hour of one relation (keys as in lock_selected_hours)."""
    return int(project.db.rows(
        """select count(*) from pg_locks
           where locktype = 'advisory' and not granted and objsubid = 2
             and classid = hashtext(%s)::oid and objid = %s""",
        (relation, hour),
    )[0][0])


def waiting_view_locks(project: Project, relation: str) -> int:
    """Runs waiting for the lock that shared_view takes on a view (one bigint key: hashtext of its name)."""
    return int(project.db.rows(
        """select count(*) from pg_locks
           where locktype = 'advisory' and not granted and objsubid = 1
             and classid::bigint = (hashtext(%(relation)s)::bigint >> 32) & 4294967295
             and objid::bigint = hashtext(%(relation)s)::bigint & 4294967295""",
        {"relation": relation},
    )[0][0])


def test_runs_for_different_hours_at_once_take_turns_on_the_staging_view_and_match_solo_runs(project: Project) -> None:
    vars = project.load_sample_events()
    project.build(vars)
    solo = {(model, hour): rows_of_hours(project, model, [hour]) for model in HOURLY_MODELS for hour in (5, 6)}
    for model in HOURLY_MODELS:
        project.db.execute(f'delete from "{project.schema}"."{model}" where hour_of_day in (5, 6)')
    view = f'"{project.schema}"."stg_flows__events"'
    [(built_definition,)] = project.db.rows("select pg_get_viewdef(%s::regclass)", (view,))
    # a view of another definition, as after a change of the vars: both runs must rebuild it
    project.db.execute(f"create or replace view {view} as select * from ({built_definition.rstrip(';')}) as stale")
    relation = f'"{project.db.env["PGDATABASE"]}".{view}'

    with project.db.connect() as holder, holder.cursor() as cursor:
        # stands in for a run half way through rebuilding the view: both runs meet it there
        cursor.execute("select pg_advisory_xact_lock(hashtext(%s))", (relation,))
        runs = [
            subprocess.Popen([NETFLOW_PCA, "run", "--hours", str(hour), "--var", "events_table=events"],
                             env=project.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for hour in (5, 6)
        ]
        deadline = time.monotonic() + 300
        while waiting_view_locks(project, relation) < 2 and all(run.poll() is None for run in runs) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert waiting_view_locks(project, relation) == 2, "\n\n".join(run.communicate()[0][-4000:] for run in runs)
    outputs = [run.communicate(timeout=600)[0] for run in runs]

    failures = [output[-4000:] for run, output in zip(runs, outputs) if run.returncode != 0]
    assert [run.returncode for run in runs] == [0, 0], "\n\n".join(failures)
    assert project.db.rows("select pg_get_viewdef(%s::regclass)", (view,)) == [(built_definition,)]
    # each run read the other's hour as the full build left it or as the other rewrote it, the
    # same rows either way: the hours were built for the same window and vars
    assert {(model, hour): rows_of_hours(project, model, [hour]) for model, hour in solo} == {key: within_rounding(rows) for key, rows in solo.items()}
    # each run kept its own record, with the results of its own invocation
    plans = RunHistory(project.target_dir / "netflow_pca").plans()
    assert sorted(plan.steps[0].hour for plan in plans) == [5, 6]
    for plan in plans:
        assert [step.status for step in plan.steps] == [Status.SUCCEEDED]
        results = json.loads((RunHistory(project.target_dir / "netflow_pca").record(plan.run_id).step_dir(0) / "attempt-1.json").read_text())
        assert {result["unique_id"]: result["status"] for result in results["results"]}["model.netflow_pca.int_pca_input"] == "success"
        assert results["args"]["vars"]["hour_id"] == plan.steps[0].hour


def test_a_second_run_for_the_same_hour_waits_for_the_first(project: Project) -> None:
    vars = project.load_sample_events()
    project.build(vars)
    before = rows_of_hours(project, "int_hourly_counts", [12])
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
    assert rows_of_hours(project, "int_hourly_counts", [12]) == before


def waiting_creation_locks(project: Project, relation: str) -> int:
    """Runs waiting for the lock create_incremental_table_sql takes on creating a table."""
    return waiting_view_locks(project, f"create {relation}")


def start_runs_of_hours(project: Project, hours: Sequence[int], *args: str) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen([NETFLOW_PCA, "run", "--hours", str(hour), *args],
                         env=project.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for hour in hours
    ]


def test_the_first_runs_of_different_hours_on_a_new_schema_both_create_the_tables(
    built_project: Project, project: Project
) -> None:
    """With the loading method alone (each hour's scores read that hour only, so runs of single
    hours need no other hours built), two first runs meet on creating the tables."""
    relation = f'"{project.db.env["PGDATABASE"]}"."{project.schema}"."int_hourly_counts"'
    vars = ["--var", f"events_schema={built_project.schema}", "--var", "events_table=sample_flows", "--var", "scoring_method=loading"]

    with project.db.connect() as holder, holder.cursor() as cursor:
        # stands in for a run half way through creating the table: both runs meet it there
        cursor.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"create {relation}",))
        runs = start_runs_of_hours(project, (5, 6), *vars)
        deadline = time.monotonic() + 300
        while waiting_creation_locks(project, relation) < 2 and all(run.poll() is None for run in runs) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert waiting_creation_locks(project, relation) == 2, "\n\n".join(run.communicate()[0][-4000:] for run in runs)
    outputs = [run.communicate(timeout=600)[0] for run in runs]

    failures = [output[-4000:] for run, output in zip(runs, outputs) if run.returncode != 0]
    assert [run.returncode for run in runs] == [0, 0], "\n\n".join(failures)
    # the models the scoring method does not change (built_project scores with the residual method)
    for model in ("int_hourly_counts", "int_pca_input"):
        assert_hour_rows_match(project, built_project, model, [5, 6])
    for model in project.hourly_models():
        assert {hour for (hour,) in project.db.rows(f'select distinct hour_of_day from "{project.schema}"."{model}"')} <= {5, 6}
    assert len(project.table("pipeline_runs")) == 2


def test_the_first_runs_of_different_hours_on_a_new_schema_are_refused_before_writing(
    built_project: Project, project: Project
) -> None:
    """With the residual method, each run's scores would read the other hours, never built (and
    one of them being built by the run beside it): both stop before any hour's rows are written."""
    runs = start_runs_of_hours(project, (5, 6), "--var", f"events_schema={built_project.schema}", "--var", "events_table=sample_flows")
    outputs = [run.communicate(timeout=600)[0] for run in runs]

    assert [run.returncode for run in runs] == [1, 1], "\n\n".join(output[-4000:] for output in outputs)
    assert_refused_for_other_hours(outputs[0], "0-4, 6-23", "never built")
    assert_refused_for_other_hours(outputs[1], "0-5, 7-23", "never built")
    assert [model for model in (*HOURLY_MODELS, "pipeline_runs") if project.db.relation_exists(project.schema, model)] == []
