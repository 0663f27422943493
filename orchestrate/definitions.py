"""Dagster definitions: the dbt project as assets, one partition per hour of the day.

`dagster dev -m orchestrate.definitions` opens the UI with the asset graph. The models and their
tests (as asset checks) are partitioned by the hour of the day, "0" to "23"; a run of one partition
is `dbt build` with that `hour_id`, which replaces that hour's rows only. The days are not a
partition: the tables hold one window of days (up to `run_date`), so `run_date` and
`lookback_days` are run config, and the daily schedule sets `run_date` to yesterday. The sample
seed, the demo's events, is an asset of its own outside the partitions. Downstream of
anomalous_users, `anomaly_report` writes the run's export and report, and its materialisation
shows what the run found. With no PG* variable set, the assets use the embedded PostgreSQL of
`netflow-pca`.

The manifest is read from `dagster/` in dbt's target folder (DBT_TARGET_PATH, default `target`),
a folder of its own so that the runner's invocations, which rewrite target/manifest.json with
their own vars, leave the asset graph alone; it is made with `dbt parse` once if it is absent.
`prepare_if_dev()` is not used: under `dagster dev` it parses in every run process, and runs of
several partitions at once race in it (dagster issue 33993).
"""

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    BackfillPolicy,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    RunFailureSensorContext,
    RunRequest,
    ScheduleEvaluationContext,
    SensorDefinition,
    asset,
    define_asset_job,
    run_failure_sensor,
    schedule,
)
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets, get_asset_key_for_model
from filelock import FileLock

from orchestrate.alerts import SmtpSettings, failure_email, send, smtp_settings
from orchestrate.export import runs_directory, write_run_files
from orchestrate.partitions import HOURLY_OP, HOURS, HourlyRunConfig, daily_run_request, hours_of_run, partition_vars
from orchestrate.report import Relations
from orchestrate.run_files_asset import run_files_metadata, server_environment
from orchestrate.runner import PROJECT_DIR, dbt_executable, profiles_dir, project_vars, vars_argument

SEEDS = "resource_type:seed"


def dbt_project(environ: Mapping[str, str]) -> DbtProject:
    project = DbtProject(
        project_dir=PROJECT_DIR,
        target_path=Path(environ.get("DBT_TARGET_PATH", "target")) / "dagster",
        profiles_dir=profiles_dir(PROJECT_DIR, environ),
    )
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    # dagster dev starts two code servers at once: the first parses, the second waits and reads
    with FileLock(project.manifest_path.with_suffix(".lock")):
        if not project.manifest_path.exists():
            dbt = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
            dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


PROJECT = dbt_project(os.environ)


@dbt_assets(manifest=PROJECT.manifest_path, project=PROJECT, select=SEEDS, name="netflow_pca_sample_data")
def sample_data(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """The sample seed, the events of the demo."""
    with server_environment():
        yield from dbt.cli(["seed"], context=context).stream()


@dbt_assets(
    manifest=PROJECT.manifest_path,
    project=PROJECT,
    exclude=SEEDS,
    partitions_def=HOURS,
    # a backfill of many hours is one run, so that all 24 are one dbt build
    backfill_policy=BackfillPolicy.single_run(),
    name=HOURLY_OP,
)
def hourly_models(context: AssetExecutionContext, dbt: DbtCliResource, config: HourlyRunConfig) -> Iterator[Any]:
    """The models and their tests for the hours of the run's partitions."""
    *earlier, last = partition_vars(context.partition_keys, config, project_vars(PROJECT_DIR))
    # A run of some hours is one build per hour. Dagster takes one output per asset from a run,
    # so only the last build reports; an earlier one that fails stops the run.
    with server_environment():
        for vars in earlier:
            dbt.cli(["build", "--vars", vars_argument(vars)], context=context).wait()
        yield from dbt.cli(["build", "--vars", vars_argument(last)], context=context).stream()


@asset(
    name="anomaly_report",
    deps=[get_asset_key_for_model([hourly_models], model) for model in ("anomalous_users", "pipeline_runs")],
    partitions_def=HOURS,
    backfill_policy=BackfillPolicy.single_run(),
    description="The export of anomalous_users (CSV and JSON lines) and the HTML report of what the marts hold "
    "after the run, in a folder of their own under runs/ (runs/latest points at the last).",
)
def anomaly_report(context: AssetExecutionContext) -> MaterializeResult:
    with server_environment():
        files = write_run_files(runs_directory(PROJECT_DIR, os.environ), dict(os.environ), Relations.of_build(PROJECT.manifest_path.parent))
    context.log.info(files.results_text())
    return MaterializeResult(metadata=run_files_metadata(files))


hourly_job = define_asset_job(
    "netflow_pca_hourly_job", selection=AssetSelection.assets(hourly_models, anomaly_report), partitions_def=HOURS
)


@schedule(job=hourly_job, cron_schedule="0 1 * * *", execution_timezone="UTC", name="netflow_pca_daily")
def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    return daily_run_request(context.scheduled_execution_time.date())


def email_on_failure(settings: SmtpSettings) -> SensorDefinition:
    """A sensor that e-mails the recipients when a run of this code location fails."""

    @run_failure_sensor(name="netflow_pca_email_on_failure", default_status=DefaultSensorStatus.RUNNING)
    def email_on_run_failure(context: RunFailureSensorContext) -> None:
        run = context.dagster_run
        errors = []
        for event in context.get_step_failure_events():
            error = event.step_failure_data.error
            # the step's error wraps the one raised in the op (a dbt error, a bad run_date)
            while error is not None:
                errors.append(error.message.strip())
                error = error.cause
        errors.append(context.failure_event.message or "")
        send(settings, failure_email(settings, run.job_name, run.run_id, hours_of_run(run.tags), [e for e in errors if e]))

    return email_on_run_failure


def build_definitions(environ: Mapping[str, str]) -> Definitions:
    settings = smtp_settings(environ)
    return Definitions(
        assets=[sample_data, hourly_models, anomaly_report],
        jobs=[hourly_job],
        schedules=[daily_schedule],
        sensors=[email_on_failure(settings)] if settings else [],
        resources={"dbt": DbtCliResource(project_dir=PROJECT, dbt_executable=dbt_executable())},
    )


defs = build_definitions(os.environ)
