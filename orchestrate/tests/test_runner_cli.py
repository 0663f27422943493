"""The real `netflow-pca` command against real PostgreSQL: runs, one-hour runs, failures, retries
and a run stopped half way by SIGTERM. Each test has a schema of its own holding a copy of the
sample flows as its events table; `built_project` (the seeds built in-process) is the reference."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from orchestrate.run.plan import Plan, RunHistory, Status
from orchestrate.tests.conftest import NETFLOW_PCA, Project, assert_hour_rows_match, assert_refused_for_other_hours, run_cli
from orchestrate.tests.models import HOURLY_MODELS

EVENTS = ("--var", "events_table=events")


def hours_present(project: Project, model: str) -> set[int]:
    return {hour for (hour,) in project.db.rows(f'select distinct hour_of_day from "{project.schema}"."{model}"')}


def recorded_runs(project: Project) -> list[Plan]:
    return RunHistory(project.target_dir / "netflow_pca").plans()


def attempt_statuses(project: Project, step: int, attempt: int, run_id: str | None = None) -> dict[str, str]:
    """The node statuses of one attempt of a step of a run (by default the only recorded one)."""
    if run_id is None:
        [only] = recorded_runs(project)
        run_id = only.run_id
    path = RunHistory(project.target_dir / "netflow_pca").record(run_id).step_dir(step) / f"attempt-{attempt}.json"
    return {result["unique_id"]: result["status"] for result in json.loads(path.read_text())["results"]}


def assert_same_rows_as(project: Project, reference: Project, hours: Sequence[int]) -> None:
    """Every hourly model holds only rows of those hours, and theirs equal the reference's."""
    for model in project.hourly_models():
        assert hours_present(project, model) <= set(hours), model
        assert_hour_rows_match(project, reference, model, hours)


def build_all_hours(project: Project) -> None:
    """A run of all hours on the events copy, as runs of some hours need before them."""
    project.build(project.load_sample_events())


def test_all_hours_then_one_hour_leaves_the_other_hours_byte_identical(project: Project, built_project: Project) -> None:
    project.load_sample_events()

    full = run_cli(project.env, "run", *EVENTS)

    assert full.returncode == 0, full.stdout[-4000:] + full.stderr[-2000:]
    assert "[all hours] succeeded" in full.stdout
    assert "int_pca_input success" in full.stdout
    assert_same_rows_as(project, built_project, range(24))
    report = (project.runs_dir / "latest" / "report.html").resolve()
    assert report.parent.name.startswith("2017-01-14_events_")
    assert f"Report: {report}" in full.stdout and report.exists()
    assert re.search(r"^a +12 +2017-01-12 +303 +3\.449 +40\.46 +5\.25 +residual$", full.stdout, flags=re.M), full.stdout[-3000:]

    before = {model: project.hour_fingerprints(model) for model in project.hourly_models()}
    project.db.execute(
        f"""insert into "{project.schema}".events
            select 'zz', extract(epoch from timestamptz '2017-01-05 12:30:00+00')::bigint from generate_series(1, 7)"""
    )

    one = run_cli(project.env, "run", "--hours", "12", "--vars", "{events_table: events}")

    assert one.returncode == 0, one.stdout[-4000:] + one.stderr[-2000:]
    assert "[hour 12] succeeded" in one.stdout
    for model, hours_before in before.items():
        hours_after = project.hour_fingerprints(model)
        assert {h: f for h, f in hours_after.items() if h != 12} == {h: f for h, f in hours_before.items() if h != 12}
        # not in the models the default method leaves empty (the loading PCA; on plpython the set-based residual ones)
        if hours_before:
            assert hours_after[12] != hours_before[12], model
    assert project.db.rows(
        f"""select flow_count from "{project.schema}".int_pca_input where hour_of_day = 12 and user_name = 'zz'"""
    ) == [(7,)]


def test_failing_test_exits_non_zero_and_retry_finishes_the_run(project: Project, built_project: Project) -> None:
    build_all_hours(project)
    project.db.execute(f'insert into "{project.schema}".events values (null, 1484222400)')

    failed = run_cli(project.env, "run", "--hours", "11-12", *EVENTS)

    assert failed.returncode == 1, failed.stdout[-4000:] + failed.stderr[-2000:]
    assert "not_null_stg_flows__events_user_name FAIL" in failed.stdout
    assert "[hour 11 (1 of 2)] failed" in failed.stdout
    assert "[hour 12" not in failed.stdout

    project.db.execute(f'delete from "{project.schema}".events where user_name is null')
    retried = run_cli(project.env, "retry")

    assert retried.returncode == 0, retried.stdout[-4000:] + retried.stderr[-2000:]
    assert "[hour 11 (1 of 2)] dbt retry" in retried.stdout
    assert "[hour 12 (2 of 2)] dbt build" in retried.stdout
    # dbt retry ran the failed test and what it had skipped, not the view that had been built
    assert attempt_statuses(project, 0, 1)["model.netflow_pca.stg_flows__events"] == "success"
    rerun = attempt_statuses(project, 0, 2)
    assert "model.netflow_pca.stg_flows__events" not in rerun
    assert rerun["model.netflow_pca.int_pca_input"] == "success"
    assert {status for unique_id, status in rerun.items() if "not_null_stg_flows__events_user_name" in unique_id} == {"pass"}
    assert_same_rows_as(project, built_project, range(24))
    assert f"Report: {(project.runs_dir / 'latest' / 'report.html').resolve()}" in retried.stdout

    again = run_cli(project.env, "retry")
    assert again.returncode == 0
    assert "nothing to retry" in again.stdout


def wait_for_lock_waiter(project: Project, table: str, timeout: float = 120) -> None:
    """Until a session waits for a lock on the table: dbt is then inside the node that writes it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [(waiting,)] = project.db.rows(
            "select count(*) from pg_locks where not granted and relation = to_regclass(%s)", (f'"{project.schema}"."{table}"',)
        )
        if waiting:
            return
        time.sleep(0.2)
    raise AssertionError(f"nobody waited for {table} within {timeout} s")


def test_sigterm_half_way_then_retry_gives_the_tables_of_an_uninterrupted_run(project: Project, built_project: Project) -> None:
    build_all_hours(project)
    runner = subprocess.Popen(
        [NETFLOW_PCA, "run", "--hours", "0-1", *EVENTS, "--threads", "2"],
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert runner.stdout is not None
    output = []
    for line in runner.stdout:
        output.append(line)
        if line.startswith("[hour 1 (2 of 2)] dbt build"):
            break
    # Hour 0 is built again and the runner has just started dbt for hour 1, which takes
    # seconds to parse: lock int_pca_input before dbt reaches it, so that the SIGTERM lands while
    # dbt waits inside that model, with the nodes before it done.
    blocker = project.db.connect()
    try:
        blocker.cursor().execute(f'lock table "{project.schema}".int_pca_input in access exclusive mode')
        wait_for_lock_waiter(project, "int_pca_input")
        runner.send_signal(signal.SIGTERM)
        output += runner.communicate(timeout=120)[0]
    finally:
        blocker.rollback()
        blocker.close()
    stopped = "".join(output)

    assert runner.returncode == 128 + signal.SIGTERM, stopped[-4000:]
    assert "[hour 1 (2 of 2)] incomplete" in stopped
    assert "netflow-pca retry" in stopped
    interrupted = attempt_statuses(project, 1, 1)
    assert interrupted["model.netflow_pca.int_hourly_counts"] == "success"
    assert "model.netflow_pca.int_pca_input" not in interrupted
    before = {model: project.hour_fingerprints(model) for model in project.hourly_models()}

    retried = run_cli(project.env, "retry")

    assert retried.returncode == 0, retried.stdout[-4000:] + retried.stderr[-2000:]
    assert "[hour 0" not in retried.stdout
    assert "[hour 1 (2 of 2)] dbt build of the nodes that did not succeed" in retried.stdout
    resumed = attempt_statuses(project, 1, 2)
    assert "model.netflow_pca.int_hourly_counts" not in resumed
    assert resumed["model.netflow_pca.int_pca_input"] == "success"
    after = {model: project.hour_fingerprints(model) for model in project.hourly_models()}
    # what had succeeded before the signal is not written again
    assert after["int_hourly_counts"][0] == before["int_hourly_counts"][0]
    assert after["int_hourly_counts"][1] == before["int_hourly_counts"][1]
    assert after["int_pca_input"][0] == before["int_pca_input"][0]
    assert_same_rows_as(project, built_project, range(24))


def test_retry_resumes_the_run_that_failed_although_a_run_of_another_hour_started_with_it(
    project: Project, built_project: Project
) -> None:
    build_all_hours(project)
    counts = f'"{project.db.env["PGDATABASE"]}"."{project.schema}"."int_hourly_counts"'
    with project.db.connect() as holder, holder.cursor() as cursor:
        # another run writing hour 5 (it holds that hour's lock): the hour-5 run gives up waiting
        cursor.execute("select pg_advisory_xact_lock(hashtext(%s), 5)", (counts,))
        hour_5 = subprocess.Popen(
            [NETFLOW_PCA, "run", "--hours", "5", *EVENTS],
            env={**project.env, "PGOPTIONS": "-c lock_timeout=3000"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        hour_6 = subprocess.Popen(
            [NETFLOW_PCA, "run", "--hours", "6", *EVENTS], env=project.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        failed = hour_5.communicate(timeout=600)[0]
    # the hour-6 run's scoring reads hour 5, so it waits for the run writing hour 5 to finish
    passed = hour_6.communicate(timeout=600)[0]

    assert hour_5.returncode == 1, failed[-4000:]
    assert "canceling statement due to lock timeout" in failed
    assert "Mend the cause, then `netflow-pca retry`" in failed
    assert hour_6.returncode == 0, passed[-4000:]
    five, six = sorted(recorded_runs(project), key=lambda plan: plan.steps[0].hour or 0)
    assert [step.status for step in five.steps] == [Status.FAILED] and [step.status for step in six.steps] == [Status.SUCCEEDED]
    listed = run_cli(project.env, "retry", "--list")
    assert f"{five.run_id}  {five.started_text()}  hour 5: failed at hour 5  <- `netflow-pca retry` resumes this" in listed.stdout
    assert f"{six.run_id}  {six.started_text()}  hour 6: succeeded" in listed.stdout

    retried = run_cli(project.env, "retry")

    assert retried.returncode == 0, retried.stdout[-4000:] + retried.stderr[-2000:]
    assert f"Resuming {five.describe()}." in retried.stdout
    assert "[hour 5] dbt retry" in retried.stdout
    assert "[hour 6]" not in retried.stdout
    assert_same_rows_as(project, built_project, range(24))
    assert "nothing to retry" in run_cli(project.env, "retry").stdout


def test_a_run_of_some_hours_on_a_schema_never_built_is_refused_before_writing(project: Project) -> None:
    project.load_sample_events()

    refused = run_cli(project.env, "run", "--hours", "12", *EVENTS)

    assert refused.returncode == 1, refused.stdout[-4000:] + refused.stderr[-2000:]
    assert "[hour 12] failed" in refused.stdout
    assert_refused_for_other_hours(refused.stdout, "0-11, 13-23", "never built")
    assert [model for model in (*HOURLY_MODELS, "pipeline_runs") if project.db.relation_exists(project.schema, model)] == []


def test_a_bad_var_stops_the_run_and_no_retry_is_advised(project: Project) -> None:
    project.load_sample_events()

    refused = run_cli(project.env, "run", "--hours", "3", *EVENTS, "--var", "residual_collective_share=2")

    assert refused.returncode == 2, refused.stdout[-4000:] + refused.stderr[-2000:]
    assert "Invalid var residual_collective_share: expected a number greater than 0 and at most 1, got 2" in refused.stdout
    assert "a retry would replay it: start a new run with a corrected value" in refused.stdout
    assert "Mend the cause" not in refused.stdout
    [plan] = recorded_runs(project)
    assert plan.steps[0].status is Status.REFUSED
    retried = run_cli(project.env, "retry")
    assert retried.returncode == 0
    assert "stopped on a bad var, which a retry would replay" in retried.stdout and "nothing to retry" in retried.stdout
    named = run_cli(project.env, "retry", "--run", plan.run_id)
    assert named.returncode == 2
    assert named.stderr.startswith(f"netflow-pca retry: {plan.describe()} stopped on a bad var, which a retry would replay")


def test_a_run_date_beyond_the_data_is_refused_and_a_rerun_reuses_the_saved_parse(project: Project) -> None:
    build_all_hours(project)
    first = run_cli(project.env, "run", "--hours", "5", *EVENTS)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    before = {model: project.hour_fingerprints(model) for model in project.hourly_models()}

    refused = run_cli(project.env, "run", "--hours", "5", *EVENTS, "--run-date", "2100-01-01")

    assert refused.returncode != 0
    assert ("Invalid var run_date: the window of 90 days up to 2100-01-01 (2099-10-04 to 2100-01-01) holds no events"
            in refused.stdout), refused.stdout[-4000:]
    assert "span 2017-01-01 to 2017-01-14 (18723 events, days in time zone UTC)" in refused.stdout
    assert "a retry would replay it: start a new run with a corrected value" in refused.stdout
    assert "Mend the cause" not in refused.stdout
    assert {model: project.hour_fingerprints(model) for model in project.hourly_models()} == before

    # a run with the first run's vars starts from its saved parse: dbt parses nothing again
    log = Path(project.env["DBT_LOG_PATH"]) / "dbt.log"
    full_parses = log.read_text().count("Unable to do partial parsing")
    again = run_cli(project.env, "run", "--hours", "5", *EVENTS)
    assert again.returncode == 0, again.stdout[-4000:]
    assert full_parses >= 2 and log.read_text().count("Unable to do partial parsing") == full_parses
