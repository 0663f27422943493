"""The daily incremental run (var recount_days): a new day appended, then built incrementally,
gives every model the same rows as a full rebuild on the same events."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from orchestrate.lab.generators import flowgen
from orchestrate.tests.conftest import Database, InProcessDbt, Project, _project
from orchestrate.tests.models import HOURLY_MODELS

SPEC = flowgen.FlowSpec(users=40, days=16, events=40_000, seed=11, bursts=4)
LOOKBACK = 12


def built_tables(project: Project) -> list[str]:
    """The models of the project's manifest that are tables (not views), whatever marts exist,
    but for records of the builds themselves (pipeline_runs: appended, never rebuilt)."""
    manifest = json.loads((project.target_dir / "manifest.json").read_text())
    return sorted(
        node["name"] for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] != "view"
        and node["config"].get("full_refresh") is not False
    )


def rows_in_key_order(project: Project, model: str) -> list[tuple[Any, ...]]:
    """The model's rows ordered by every column that is not a float or an array."""
    columns = project.db.rows(
        "select column_name, data_type from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position",
        (project.schema, model),
    )
    keys = [f'"{name}"' for name, data_type in columns if data_type not in ("double precision", "real", "numeric", "ARRAY")]
    return project.table(model, ", ".join(keys))


def assert_same_rows(mine: list[tuple[Any, ...]], reference: list[tuple[Any, ...]], model: str) -> None:
    """Equal rows; numbers and arrays of numbers within 1e-9 relative (the PCA's float sums), the
    rest (arrays of days too) exactly."""
    assert len(mine) == len(reference), model
    for got, expected in zip(mine, reference):
        for a, b in zip(got, expected):
            if isinstance(a, float) or (isinstance(a, list) and all(isinstance(x, (int, float)) for x in a)):
                assert np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-9, atol=1e-12), model
            else:
                assert a == b, model


@pytest.fixture
def full_project(db: Database, server_env: dict[str, str], session_id: str, tmp_path: Path, invoke_dbt: InProcessDbt) -> Any:
    """A second schema, for the full rebuild the incremental run is compared with."""
    yield from _project(db, server_env, f"nfpca_test_{session_id}_full", tmp_path / "full", invoke_dbt)


def test_a_new_day_built_incrementally_equals_a_full_rebuild(project: Project, full_project: Project) -> None:
    flow_plan = flowgen.plan(SPEC)
    last = SPEC.days - 1
    with project.db.connect() as connection:
        flowgen.write(connection, project.schema, "events", flow_plan, range(last))
    events = {"events_schema": project.schema, "events_table": "events", "lookback_days": LOOKBACK}
    daily = {**events, "recount_days": 1}
    project.build({**daily, "run_date": flow_plan.day_date(last - 1).isoformat()})
    counts = f'"{project.schema}".int_hourly_counts'
    # the days that stay in the window and out of the margin: their rows, where and as written
    kept_days = (flow_plan.day_date(last) - timedelta(days=LOOKBACK - 1), flow_plan.day_date(last - 2))
    fingerprint = (
        f"select count(*), md5(string_agg(ctid::text || xmin::text, ',' order by ctid)) from {counts} "
        "where day >= %s and day < %s"
    )
    old_rows_before = project.db.rows(fingerprint, kept_days)

    # the new day arrives, and a late flow of the day before (within the margin of one day)
    with project.db.connect() as connection:
        flowgen.append(connection, project.schema, "events", flow_plan, range(last, SPEC.days))
    late = flow_plan.day_date(last - 1)
    project.db.execute(
        f"""insert into "{project.schema}".events
            values ('late', extract(epoch from timestamptz %s)::bigint)""",
        (f"{late.isoformat()} 12:30:00+00",),
    )
    run_date = flow_plan.day_date(last).isoformat()
    project.build({**daily, "run_date": run_date})
    full_project.build({**events, "run_date": run_date})

    # the days kept were not rewritten: only the margin and the new day were counted
    assert project.db.rows(fingerprint, kept_days) == old_rows_before
    assert old_rows_before[0][0] > 0
    [(first, final, late_flows)] = project.db.rows(
        f"select min(day), max(day), sum(flow_count) filter (where user_name = 'late') from {counts}"
    )
    assert (first, final, late_flows) == (flow_plan.day_date(last) - timedelta(days=LOOKBACK - 1), flow_plan.day_date(last), 1)
    tables = built_tables(project)
    assert {"int_hourly_counts", "int_pca_input", "pca_components", "pca_column_means"} <= set(tables)
    for model in tables:
        assert_same_rows(rows_in_key_order(project, model), rows_in_key_order(full_project, model), model)


def test_a_one_hour_run_on_a_fresh_schema_equals_that_hour_of_an_all_hours_run(project: Project, full_project: Project) -> None:
    """The hour's matrix takes its size from the window, not from the hours the schema holds: in
    New York time, hour 2 lacks a day and a user of the window, yet a run of hour 2 alone on a
    schema never built fits it exactly as the run of all hours does. With the loading method
    alone: the residual method's scores read the other hours, so a run of one hour with it on a
    schema never built stops (check_other_hours_built; test_bad_input)."""
    vars = {**full_project.load_sample_events(), "timezone": "America/New_York", "scoring_method": "both"}
    local_time = "to_timestamp(start_time) at time zone 'America/New_York'"
    full_project.db.execute(f"""delete from "{full_project.schema}".events
        where extract(hour from {local_time}) = 2 and (user_name = 'a' or cast({local_time} as date) = date '2017-01-05')""")
    full_project.build(vars)

    project.build({**vars, "events_schema": full_project.schema, "hour_id": 2, "scoring_method": "loading"})

    [(days, users)] = project.db.rows(
        f'select count(distinct day_id), count(distinct name_id) from "{project.schema}".int_pca_input')
    [(row_dim, col_dim)] = project.db.rows(
        f'select row_dim, col_dim from "{project.schema}".int_pca_dimensions where hour_of_day = 2')
    # New York's window runs from 2016-12-31 (the evening of the first UTC day) to 2017-01-14:
    # hour 2 lacks 2016-12-31 and 2017-01-05 of its 15 days, and user a of the 13
    assert (days, users, row_dim, col_dim) == (13, 12, 15, 13)
    for model in HOURLY_MODELS:
        one_hour = rows_in_key_order(project, model)
        columns = columns_of(full_project, model)
        all_hours = [row for row in rows_in_key_order(full_project, model) if row[columns.index("hour_of_day")] == 2]
        if "method" in columns:
            all_hours = [row for row in all_hours if row[columns.index("method")] == "loading"]
        elif model.startswith("int_residual_"):
            # the residual method's own models, which the loading method leaves empty
            assert one_hour == [], model
            continue
        # empty in both only where the route leaves a model empty (the loading PCA has variance here)
        assert bool(one_hour) == bool(all_hours), model
        assert_same_rows(one_hour, all_hours, model)
    assert rows_in_key_order(project, "int_loading_scores")


def test_a_one_hour_run_on_the_set_based_route_equals_that_hour_of_the_run_of_all_hours_before_it(project: Project) -> None:
    """The set-based route reads the other hours' stored expected counts and user components:
    after a run of all hours with the same vars, a run of hour 7 alone rewrites hour 7 with the
    rows that run gave it, within rounding, and leaves the other hours as they were."""
    vars = {**project.load_sample_events(), "pca_backend": "sql"}
    project.build(vars)
    models = [model for model in HOURLY_MODELS if rows_in_key_order(project, model)]
    assert "int_residual_expected_counts" in models and "int_residual_scores" in models
    hour_column = {model: columns_of(project, model).index("hour_of_day") for model in models}
    all_hours = {model: rows_in_key_order(project, model) for model in models}
    others_before = {model: project.hour_fingerprints(model) for model in models}

    project.build({**vars, "hour_id": 7})

    for model in models:
        assert {hour: rows for hour, rows in project.hour_fingerprints(model).items() if hour != 7} == {
            hour: rows for hour, rows in others_before[model].items() if hour != 7}, model
        rows_of_hour = [row for row in rows_in_key_order(project, model) if row[hour_column[model]] == 7]
        assert_same_rows(rows_of_hour, [row for row in all_hours[model] if row[hour_column[model]] == 7], model)


def columns_of(project: Project, model: str) -> list[str]:
    return [name for (name,) in project.db.rows(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position",
        (project.schema, model),
    )]


COUNT_MODELS = ("stg_flows__events", "int_analysis_window", "int_hourly_counts")
# about 50 years back: Monrovia's clocks ran 44 minutes 30 seconds behind UTC until 1972, so its
# local midnights cut quarter hours of UTC, whose events int_analysis_window places one by one
FIFTY_YEARS = 18262


@pytest.mark.parametrize(("time_expression", "timezone", "days_back"), [
    ("to_timestamp(start_time)", "Asia/Kolkata", 0),
    ("cast(start_time as double precision) + 0.25", "America/New_York", 0),
    ("cast(start_time as integer)", "Asia/Kathmandu", 0),
    ("to_timestamp(start_time) at time zone 'UTC'", "UTC", 0),
    ("cast(to_timestamp(start_time) at time zone 'UTC' as date)", "Pacific/Kiritimati", 0),
    (f"start_time - {FIFTY_YEARS} * 86400", "Africa/Monrovia", FIFTY_YEARS),
])
def test_a_recount_reads_the_stored_times_of_any_type_as_a_full_count_does(
    project: Project, time_expression: str, timezone: str, days_back: int
) -> None:
    """The days a run recounts are found by comparing the stored time with constants
    (source_time_in_days), a day wider than the local days on either side, and the window's
    days are counted by the quarter hour of stored epoch seconds; whatever the type of the time
    column and the zone's offset, the counts equal a full count's and the staging view's days."""
    vars = {**project.load_sample_events("events", time_expression), "timezone": timezone, "lookback_days": 6,
            "recount_days": 1}
    first, last = (date(2017, 1, 7) - timedelta(days=days_back), date(2017, 1, 12) - timedelta(days=days_back))
    select = ["--select", *COUNT_MODELS]
    result = project.dbt("run", *select, vars={**vars, "run_date": (last - timedelta(days=1)).isoformat()})
    assert result.returncode == 0, result.stdout[-3000:]
    result = project.dbt("run", *select, vars={**vars, "run_date": last.isoformat()})
    assert result.returncode == 0, result.stdout[-3000:]
    recounted = project.table("int_hourly_counts", "1, 2, 3")
    result = project.dbt("run", *select, "--full-refresh", vars={**vars, "run_date": last.isoformat()})
    assert result.returncode == 0, result.stdout[-3000:]
    assert recounted == project.table("int_hourly_counts", "1, 2, 3")
    # every event of the window's local days, as the staging view places them one by one
    days = project.db.rows(f"""
        select cast(flow_local_at as date), count(*) from "{project.schema}".stg_flows__events
        where cast(flow_local_at as date) between %s and %s group by 1 order by 1""", (first, last))
    assert len(days) == 6
    assert project.db.rows(
        f'select day, sum(flow_count) from "{project.schema}".int_hourly_counts group by 1 order by 1') == days
    assert project.db.rows(f'select days, events from "{project.schema}".int_analysis_window') == [
        ([day for day, _ in days], sum(events for _, events in days))]
