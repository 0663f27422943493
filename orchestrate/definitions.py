"""Dagster definitions: the code location `dagster dev -m orchestrate.definitions` loads, assembled
from the dbt project (project), its assets (assets), the hourly partitions (partitions) and the
e-mails on failure and, opt-in, on success with new anomalies (alerts).

The models and their tests (as asset checks) are partitioned by the hour of the day, "0" to "23";
a run of one partition is `dbt build` with that `hour_id`, which replaces that hour's rows only.
The days are not a partition: the tables hold one window of days (up to `run_date`), so
`run_date` and `lookback_days` are run config, and the daily schedule sets `run_date` to
yesterday; the op makes that a daily run, counting only the new day, when the night before ran
with the same parameters (orchestrate.run.daily). The sample seed, the demo's events, is an
asset of its own outside the partitions.
The asset `anomaly_report`, in the same job, writes the run's export and report.
"""

import os
from collections.abc import Mapping

from dagster import AssetSelection, Definitions, RunRequest, ScheduleEvaluationContext, define_asset_job, schedule
from dagster_dbt import DbtCliResource

from orchestrate.alerts import email_on_failure, email_on_new_anomalies, smtp_settings
from orchestrate.assets import anomaly_report, hourly_models, sample_data
from orchestrate.partitions import HOURS, daily_run_request
from orchestrate.project import PROJECT
from orchestrate.run.runner import dbt_executable

hourly_job = define_asset_job(
    "netflow_pca_hourly_job", selection=AssetSelection.assets(hourly_models, anomaly_report), partitions_def=HOURS
)


@schedule(job=hourly_job, cron_schedule="0 1 * * *", execution_timezone="UTC", name="netflow_pca_daily")
def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    return daily_run_request(context.scheduled_execution_time.date())


def build_definitions(environ: Mapping[str, str]) -> Definitions:
    settings = smtp_settings(environ)
    return Definitions(
        assets=[sample_data, hourly_models, anomaly_report],
        jobs=[hourly_job],
        schedules=[daily_schedule],
        sensors=[
            *([email_on_failure(settings)] if settings else []),
            *([email_on_new_anomalies(settings)] if settings and settings.on_new_anomalies else []),
        ],
        resources={"dbt": DbtCliResource(project_dir=PROJECT, dbt_executable=dbt_executable())},
    )


defs = build_definitions(os.environ)
