"""Partition keys and run config to dbt vars, the daily schedule's run, without dbt or Dagster runs."""

from __future__ import annotations

from datetime import date

import pytest
from dagster._core.storage import tags as dagster_tags

from orchestrate.partitions import (
    HOURLY_OP,
    HOURS,
    PARTITION_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    HourlyRunConfig,
    daily_run_request,
    hours_of_run,
    partition_vars,
    run_of,
)
from orchestrate.run.daily import choose_run_kind
from orchestrate.run.options import UsageError, project_vars
from orchestrate.run.runner import PROJECT_DIR

PROJECT_VARS = project_vars(PROJECT_DIR)


def test_partitions_are_the_24_hours() -> None:
    assert HOURS.get_partition_keys() == [str(hour) for hour in range(24)]


def test_one_partition_is_one_build_of_that_hour() -> None:
    assert partition_vars(["12"], HourlyRunConfig(), PROJECT_VARS) == [{"hour_id": 12}]


def test_all_24_partitions_are_one_build_without_hour_id() -> None:
    config = HourlyRunConfig(run_date="2017-01-14", lookback_days=7, vars="{timezone: Europe/Berlin}")
    assert partition_vars(HOURS.get_partition_keys(), config, PROJECT_VARS) == [
        {"run_date": "2017-01-14", "lookback_days": 7, "timezone": "Europe/Berlin"}
    ]


def test_some_partitions_are_one_build_per_hour_in_order() -> None:
    assert partition_vars(["5", "3", "4", "3"], HourlyRunConfig(), PROJECT_VARS) == [
        {"hour_id": 3},
        {"hour_id": 4},
        {"hour_id": 5},
    ]


@pytest.mark.parametrize(
    ("keys", "config", "message"),
    [
        (["24"], HourlyRunConfig(), "partition '24' is not an hour"),
        (["x"], HourlyRunConfig(), "partition 'x' is not an hour"),
        (["1"], HourlyRunConfig(run_date="2017-02-30"), "run_date: '2017-02-30' is not a date"),
        (["1"], HourlyRunConfig(vars="{hour_id: 3}"), "set hour_id with --hours"),
        (["1"], HourlyRunConfig(vars="{src_ip: x}"), "the project has no var 'src_ip'"),
    ],
)
def test_bad_partitions_and_config_are_refused(keys: list[str], config: HourlyRunConfig, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        partition_vars(keys, config, PROJECT_VARS)


def test_daily_run_is_all_hours_with_data_up_to_yesterday() -> None:
    request = daily_run_request(date(2024, 3, 1))
    assert request.run_key == "2024-02-29"
    assert request.run_config == {"ops": {HOURLY_OP: {"config": {"run_date": "2024-02-29"}}}}
    assert request.tags == {RANGE_START_TAG: "0", RANGE_END_TAG: "23"}
    assert request.partition_key is None


def test_tags_are_dagsters_own() -> None:
    assert PARTITION_TAG == dagster_tags.PARTITION_NAME_TAG
    assert RANGE_START_TAG == dagster_tags.ASSET_PARTITION_RANGE_START_TAG
    assert RANGE_END_TAG == dagster_tags.ASSET_PARTITION_RANGE_END_TAG


def test_hours_of_run() -> None:
    assert hours_of_run({PARTITION_TAG: "12"}) == "hour 12"
    assert hours_of_run({RANGE_START_TAG: "0", RANGE_END_TAG: "23"}) == "hours 0-23"
    assert hours_of_run({}) == "no partition"


def test_the_schedules_run_is_judged_as_the_runner_judges_it() -> None:
    """The op turns its invocations' vars into what choose_run_kind reads: the nightly run of all
    hours is one invocation, with the day before the schedule's day."""
    config = HourlyRunConfig(**daily_run_request(date(2024, 3, 1)).run_config["ops"][HOURLY_OP]["config"])
    run_date, hours, vars = run_of(partition_vars([str(hour) for hour in range(24)], config, PROJECT_VARS))
    assert (run_date, hours, vars) == (date(2024, 2, 29), None, {"run_date": "2024-02-29"})
    assert run_of(partition_vars(["5", "7"], HourlyRunConfig(vars="{timezone: UTC}"), PROJECT_VARS)) == (
        None, [5, 7], {"timezone": "UTC"},
    )
    # without an earlier build it is a full build, as the runner says for the same input
    kind = choose_run_kind(run_date, hours, vars, PROJECT_VARS, {}, "netflow_pca")
    assert not kind.daily and "no earlier build" in kind.reason
