"""The hour partitions of the Dagster job, and how a run's partitions become dbt `--vars`.

Pure functions, importable without a dbt manifest: `partition_vars` is the one place where
partition keys and run config turn into the vars of each dbt invocation.
"""

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from dagster import Config, RunRequest, StaticPartitionsDefinition

from orchestrate.run.options import UsageError, dbt_vars, hour_batches, parse_run_date, parse_var_options

HOURS = StaticPartitionsDefinition([str(hour) for hour in range(24)])
HOURLY_OP = "netflow_pca_hourly"
# Dagster's run tags for a run's partition or range of partitions
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


class HourlyRunConfig(Config):
    """Run config of the hourly models; unset values keep the project's defaults."""

    run_date: str | None = None
    lookback_days: int | None = None
    # other dbt vars as YAML or JSON, as the runner's --vars: '{events_table: flow_log}'
    vars: str | None = None


def partition_vars(keys: Sequence[str], config: HourlyRunConfig, project_vars: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `--vars` of each dbt invocation of a run: one with `hour_id` per hour of its partition
    keys, or a single one without it when the run covers all 24 hours."""
    hours = set()
    for key in keys:
        if not (key.isascii() and key.isdigit()) or not 0 <= int(key) <= 23:
            raise UsageError(f"partition '{key}' is not an hour of the day (0-23)")
        hours.add(int(key))
    run_date = parse_run_date(config.run_date, "run_date") if config.run_date else None
    extra = parse_var_options([], config.vars, project_vars)
    return [dbt_vars(hour, run_date, config.lookback_days, extra) for hour in hour_batches(sorted(hours))]


def run_of(invocations: Sequence[Mapping[str, Any]]) -> tuple[date | None, list[int] | None, dict[str, Any]]:
    """What decides a run's kind (orchestrate.run.daily) from the vars of its invocations: its
    run_date, its hours (None: all 24 in one invocation) and its vars apart from the hour."""
    first = invocations[0]
    run_date = date.fromisoformat(first["run_date"]) if first.get("run_date") else None
    hours = [vars["hour_id"] for vars in invocations] if "hour_id" in first else None
    return run_date, hours, {name: value for name, value in first.items() if name != "hour_id"}


def daily_run_request(today: date) -> RunRequest:
    """The schedule's run on a day: all 24 hours in one run (one dbt build), data up to yesterday;
    the op makes it a daily run when the last build reported on the day before (run_of)."""
    yesterday = (today - timedelta(days=1)).isoformat()
    return RunRequest(
        run_key=yesterday,
        run_config={"ops": {HOURLY_OP: {"config": {"run_date": yesterday}}}},
        tags={RANGE_START_TAG: "0", RANGE_END_TAG: "23"},
    )


def hours_of_run(tags: Mapping[str, str]) -> str:
    """The hours a run covered, from its partition tags, for people to read."""
    if PARTITION_TAG in tags:
        return f"hour {tags[PARTITION_TAG]}"
    if RANGE_START_TAG in tags:
        return f"hours {tags[RANGE_START_TAG]}-{tags.get(RANGE_END_TAG, '?')}"
    return "no partition"
