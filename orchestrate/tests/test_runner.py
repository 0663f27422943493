"""The runner's decisions, without dbt or a database."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from orchestrate.database import uses_external_server
from orchestrate.run.options import (
    ALL_HOURS,
    DbtOptions,
    UsageError,
    builds_seeds,
    dbt_command,
    dbt_vars,
    hour_batches,
    parse_hours,
    parse_run_date,
    parse_var_options,
    project_vars,
)
from orchestrate.run.plan import Plan, Resume, Status, Step
from orchestrate.run.runner import PROJECT_DIR, plan_run, profiles_dir, run_destination, step_args, step_label

PROJECT_VARS = project_vars(PROJECT_DIR)
STARTED = datetime(2026, 12, 4, 14, 42, 0, 250000, tzinfo=timezone.utc)


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
    assert (generated / "profiles.yml").read_text() == "netflow_pca: {}\n"
    assert profiles_dir(tmp_path, {"DBT_PROFILES_DIR": "/elsewhere"}) == Path("/elsewhere")
    (tmp_path / "profiles.yml").write_text("mine")
    assert profiles_dir(tmp_path, {}) == tmp_path


def test_any_libpq_variable_selects_the_external_server() -> None:
    assert not uses_external_server({"HOME": "/root"})
    assert not uses_external_server({"PGHOST": ""})
    assert uses_external_server({"PGDATABASE": "flows"})


def test_project_vars_are_those_of_dbt_project_yml() -> None:
    assert PROJECT_VARS["events_table"] == "sample_flows"
    assert {"hour_id", "run_date", "lookback_days", "timezone", "pca_backend"} <= PROJECT_VARS.keys()


def test_var_options_read_values_as_yaml_and_var_wins_over_vars() -> None:
    values = parse_var_options(
        ["timezone=Europe/Berlin", "variance_target=0.95", "events_schema="],
        "{events_table: flow_log, timezone: UTC, loading_threshold: 1}",
        PROJECT_VARS,
    )
    assert values == {
        "events_table": "flow_log",
        "timezone": "Europe/Berlin",
        "loading_threshold": 1,
        "variance_target": 0.95,
        "events_schema": None,
    }


@pytest.mark.parametrize(
    ("assignments", "vars_text", "message"),
    [
        (["timezone"], None, "--var: 'timezone' is not key=value"),
        (["=UTC"], None, "--var: '=UTC' is not key=value"),
        (["src_ip=x"], None, "the project has no var 'src_ip'"),
        (["hour_id=3"], None, "set hour_id with --hours"),
        ([], "{run_date: 2017-01-01}", "set run_date with --run-date"),
        ([], "[1, 2]", "--vars: expected a mapping"),
        ([], "{timezone: [UTC]", "is not YAML or JSON"),
        (["timezone=[UTC, CET]"], None, "must be a single value"),
    ],
)
def test_var_options_refuse_what_the_project_does_not_take(assignments: list[str], vars_text: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_var_options(assignments, vars_text, PROJECT_VARS)


def test_seeds_are_built_only_when_the_events_are_the_sample_seed() -> None:
    assert builds_seeds({}, PROJECT_VARS)
    assert not builds_seeds({"events_table": "flow_log"}, PROJECT_VARS)
    assert not builds_seeds({"events_schema": "raw"}, PROJECT_VARS)


def plan_of(hours: tuple[int, ...] | None, vars: dict[str, Any], seeds: bool = False, options: DbtOptions = DbtOptions()) -> Plan:
    return plan_run(hours, vars, seeds, options, "target= PGHOST=db", STARTED)


def test_plan_is_one_step_per_hour_and_the_first_loads_the_seed() -> None:
    plan = plan_of((3, 18), {"timezone": "UTC"}, seeds=True, options=DbtOptions(threads=2))
    assert [(step.hour, step.vars, step.seeds, step.status) for step in plan.steps] == [
        (3, {"timezone": "UTC", "hour_id": 3}, True, Status.PENDING),
        (18, {"timezone": "UTC", "hour_id": 18}, False, Status.PENDING),
    ]
    assert plan.threads == 2
    assert re.fullmatch("20261204T144200Z-[0-9a-f]{6}", plan.run_id)
    assert plan.started_at == "2026-12-04T14:42:00.250000+00:00" and plan.destination == "target= PGHOST=db"
    assert plan_of((3,), {}).run_id != plan_of((3,), {}).run_id
    [whole] = plan_of(ALL_HOURS, {}).steps
    assert whole.hour is None and whole.vars == {}


def test_the_destination_names_the_target_and_what_the_profile_reads() -> None:
    env = {"PGHOST": "db", "PGPORT": "5432", "PGDATABASE": "flows", "NETFLOW_PCA_SCHEMA": "nf", "PGPASSWORD": "secret"}
    destination = run_destination(env, "ci")
    assert destination.startswith("target=ci PGHOST=db PGPORT=5432 PGDATABASE=flows NETFLOW_PCA_SCHEMA=nf")
    assert "secret" not in destination
    assert run_destination({**env, "NETFLOW_PCA_SCHEMA": "other"}, "ci") != destination


def test_step_args_build_retry_or_build_what_did_not_succeed(tmp_path: Path) -> None:
    step = Step(hour=12, vars={"hour_id": 12}, seeds=False)
    options = DbtOptions(target="ci", threads=2)
    assert step_args(step, Resume.BUILD, tmp_path, options) == [
        "build", "--exclude-resource-type", "unit_test", "seed", "--vars", '{"hour_id": 12}', "--target", "ci", "--threads", "2",
    ]
    assert step_args(step, Resume.RETRY, tmp_path, options) == ["retry", "--state", str(tmp_path), "--threads", "2"]
    remaining = step_args(step, Resume.BUILD_REMAINING, tmp_path, DbtOptions())
    assert remaining == [
        "build", "--exclude-resource-type", "unit_test", "seed",
        "--exclude", "result:success", "result:pass", "result:warn", "result:no-op", "--state", str(tmp_path),
        "--vars", '{"hour_id": 12}',
    ]
    seeded = Step(hour=None, vars={}, seeds=True)
    assert step_args(seeded, Resume.BUILD, tmp_path, DbtOptions()) == ["build", "--exclude-resource-type", "unit_test"]


def test_step_labels() -> None:
    steps = [Step(hour=0, vars={}, seeds=False), Step(hour=5, vars={}, seeds=False)]
    assert step_label(steps, 1) == "hour 5 (2 of 2)"
    assert step_label(steps[:1], 0) == "hour 0"
    assert step_label([Step(hour=None, vars={}, seeds=True)], 0) == "all hours"
