"""The runner's decisions, without dbt or a database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from orchestrate.database import uses_external_server
from orchestrate.runner import (
    ALL_HOURS,
    DbtOptions,
    UsageError,
    dbt_command,
    dbt_vars,
    hour_batches,
    parse_hours,
    parse_run_date,
    profiles_dir,
)


@pytest.mark.parametrize(
    ("text", "hours"),
    [("12", (12,)), ("0-5,18", (0, 1, 2, 3, 4, 5, 18)), ("18, 3,3", (3, 18)), ("all", ALL_HOURS), ("0-23", ALL_HOURS)],
)
def test_parse_hours(text: str, hours: tuple[int, ...]) -> None:
    assert parse_hours(text) == hours


@pytest.mark.parametrize("text", ["24", "5-2", "x", "1;drop table x", "", "1-2-3", "-1", "3.5"])
def test_parse_hours_refuses_what_is_not_an_hour(text: str) -> None:
    with pytest.raises(UsageError, match="--hours"):
        parse_hours(text)


def test_parse_run_date() -> None:
    assert parse_run_date("2017-01-14") == date(2017, 1, 14)
    for bad in ["2017-02-30", "14/01/2017", "2017-01-14'; drop table x; --"]:
        with pytest.raises(UsageError, match="--run-date"):
            parse_run_date(bad)


def test_hour_batches_run_all_hours_at_once_and_some_hours_one_by_one() -> None:
    assert hour_batches(None) == [None]
    assert hour_batches(ALL_HOURS) == [None]
    assert hour_batches((0, 5, 18)) == [0, 5, 18]


def test_dbt_vars_leave_unset_values_to_the_project() -> None:
    assert dbt_vars() == {}
    assert dbt_vars(12, date(2017, 1, 14), 30, {"timezone": "UTC"}) == {
        "hour_id": 12,
        "run_date": "2017-01-14",
        "lookback_days": 30,
        "timezone": "UTC",
    }


def test_dbt_command_passes_vars_as_json() -> None:
    args = dbt_command(["build"], {"hour_id": 12}, DbtOptions(target="ci", threads=2))
    assert args[:2] == ["build", "--vars"]
    assert json.loads(args[2]) == {"hour_id": 12}
    assert args[3:] == ["--target", "ci", "--threads", "2"]


def test_profiles_dir_defaults_to_a_copy_of_the_example(tmp_path: Path) -> None:
    (tmp_path / "profiles.yml.example").write_text("netflow_pca: {}\n")
    generated = profiles_dir(tmp_path, {})
    assert generated is not None
    assert (generated / "profiles.yml").read_text() == "netflow_pca: {}\n"
    assert profiles_dir(tmp_path, {"DBT_PROFILES_DIR": "/elsewhere"}) is None
    (tmp_path / "profiles.yml").write_text("mine")
    assert profiles_dir(tmp_path, {}) is None


def test_any_libpq_variable_selects_the_external_server() -> None:
    assert not uses_external_server({"HOME": "/root"})
    assert not uses_external_server({"PGHOST": ""})
    assert uses_external_server({"PGDATABASE": "flows"})
