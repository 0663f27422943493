"""dbt build on real PostgreSQL: the sample seeds, one-hour runs, windows, time zones, bad rows,
and the hourly PCA marts."""

from __future__ import annotations

import json
from datetime import date

from collections.abc import Iterator

import numpy as np
import pytest

from orchestrate.lab.reference.pca import dense, fit_pca
from orchestrate.tests.conftest import Database, InProcessDbt, Project, _project
from orchestrate.tests.models import HOURLY_MODELS
from orchestrate.tests.pca_assertions import assert_fit_matches

SAMPLE_FLOWS = 18723


@pytest.fixture(scope="module")
def loading_built_project(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt
) -> Iterator[Project]:
    """The sample seeds built with both scoring methods: the loading method's PCA marts
    (pca_components, pca_column_means) are fitted only when it scores."""
    for project in _project(db, server_env, f"nfpca_test_{session_id}_loading", tmp_path_factory.mktemp("loading"), invoke_dbt):
        project.build({"scoring_method": "both"})
        yield project


def run_results(project: Project) -> dict[str, str]:
    """unique_id -> status of the last dbt invocation."""
    results = json.loads((project.target_dir / "run_results.json").read_text())["results"]
    return {result["unique_id"]: result["status"] for result in results}


def test_build_on_the_seeds_passes_every_test(built_project: Project) -> None:
    statuses = run_results(built_project)
    assert statuses, "dbt recorded no results"
    assert set(statuses.values()) <= {"success", "pass"}
    assert any(unique_id.startswith("unit_test.") for unique_id in statuses)


def test_hourly_counts_add_up_to_the_events(built_project: Project) -> None:
    [(flows, hours, days)] = built_project.db.rows(
        f'select sum(flow_count), count(distinct hour_of_day), count(distinct day) from "{built_project.schema}".int_hourly_counts'
    )
    assert (flows, hours, days) == (SAMPLE_FLOWS, 24, 14)


def test_hour_12_holds_the_spike_of_user_a(built_project: Project) -> None:
    rows = built_project.db.rows(
        f"""select user_name, day, flow_count from "{built_project.schema}".int_pca_input
            where hour_of_day = 12 order by flow_count desc limit 2"""
    )
    assert rows[0][:2] == ("a", date(2017, 1, 12))
    assert rows[0][2] >= 300 > 10 * rows[1][2]


def test_pca_input_ids_are_dense_ranks_within_each_hour(built_project: Project) -> None:
    rows = built_project.db.rows(f"""
        select hour_of_day, max(day_id), count(distinct day), max(name_id), count(distinct user_name)
        from "{built_project.schema}".int_pca_input group by hour_of_day
    """)
    assert len(rows) == 24
    assert all(max_day == days == 14 and max_name == users == 13 for _, max_day, days, max_name, users in rows)


def test_one_hour_run_replaces_that_hour_only(project: Project) -> None:
    vars = project.load_sample_events()
    project.build(vars)
    before = {model: project.hour_fingerprints(model) for model in HOURLY_MODELS}
    project.db.execute(
        f"""insert into "{project.schema}".events
            select 'zz', extract(epoch from timestamptz '2017-01-05 12:30:00+00')::bigint from generate_series(1, 7)"""
    )

    project.build({**vars, "hour_id": 12})

    for model, hours_before in before.items():
        hours_after = project.hour_fingerprints(model)
        assert hours_after.keys() == hours_before.keys()
        assert {h: f for h, f in hours_after.items() if h != 12} == {h: f for h, f in hours_before.items() if h != 12}
        # not in the models the default method leaves empty (the loading PCA; on plpython the set-based residual ones)
        if hours_before:
            assert hours_after[12] != hours_before[12], model
    assert project.db.rows(
        f"""select flow_count from "{project.schema}".int_pca_input where hour_of_day = 12 and user_name = 'zz'"""
    ) == [(7,)]


def test_run_date_and_lookback_days_set_the_window(project: Project) -> None:
    project.build({**project.load_sample_events(), "run_date": "2017-01-10", "lookback_days": 5})
    [(first, last, ids)] = project.db.rows(
        f'select min(day), max(day), max(day_id) from "{project.schema}".int_pca_input'
    )
    assert (first, last, ids) == (date(2017, 1, 6), date(2017, 1, 10), 5)


def test_timezone_moves_the_spike_to_local_hours(project: Project) -> None:
    project.build({**project.load_sample_events(), "timezone": "Asia/Kolkata"})
    rows = project.db.rows(f"""
        select hour_of_day, flow_count from "{project.schema}".int_pca_input
        where user_name = 'a' and day = date '2017-01-12' and hour_of_day in (17, 18) order by 1
    """)
    # 12:00-13:00 UTC is 17:30-18:30 in India: the 300 flows split between those two hours
    assert [hour for hour, _ in rows] == [17, 18]
    assert sum(count for _, count in rows) >= 300


def test_timestamp_time_column_gives_the_same_counts_as_epoch_seconds(built_project: Project, project: Project) -> None:
    vars = project.load_sample_events("events_at", "to_timestamp(start_time) at time zone 'UTC'")
    project.build(vars)
    assert project.table("int_hourly_counts", "1, 2, 3") == built_project.table("int_hourly_counts", "1, 2, 3")


def test_null_user_or_time_stops_the_build_and_keeps_the_last_good_tables(project: Project) -> None:
    vars = project.load_sample_events()
    project.build(vars)
    good = {model: project.table(model, "1, 2, 3") for model in ("int_hourly_counts", "int_pca_input")}
    bad_rows = {
        "(null, 1483500000)": {"not_null_stg_flows__events_user_name"},
        "('a', null)": {"event_times_placeable_stg_flows__events_flow_at"},
    }
    for bad_row, failing_tests in bad_rows.items():
        project.db.execute(f'insert into "{project.schema}".events values {bad_row}')

        result = project.try_build(vars)

        assert result.returncode != 0
        statuses = run_results(project)
        failed = {unique_id.split(".")[2] for unique_id, status in statuses.items() if status in ("fail", "error")}
        assert failed == failing_tests
        assert statuses["model.netflow_pca.int_hourly_counts"] == "skipped"
        assert statuses["model.netflow_pca.int_pca_input"] == "skipped"
        assert {model: project.table(model, "1, 2, 3") for model in good} == good
        project.db.execute(f'delete from "{project.schema}".events where user_name is null or start_time is null')

    project.build(vars)
    assert {model: project.table(model, "1, 2, 3") for model in good} == good


def test_events_in_the_future_do_not_move_the_window(project: Project) -> None:
    project.db.execute(f'create schema "{project.schema}"')
    project.db.execute(f"""
        create table "{project.schema}".events as
        select * from (values
            ('a', extract(epoch from now() - interval '1 day')::bigint),
            ('a', extract(epoch from timestamptz '2100-01-01 12:00:00+00')::bigint)
        ) as events (user_name, start_time)
    """)
    project.build({"events_table": "events"})
    [(days, last_day)] = project.db.rows(f'select count(*), max(day) from "{project.schema}".int_pca_input')
    assert days == 1
    assert last_day < date(2100, 1, 1)


def test_hour_12_first_component_is_dominated_by_user_a(loading_built_project: Project) -> None:
    [(vector,)] = loading_built_project.db.rows(
        f'select principal_components from "{loading_built_project.schema}".pca_components where hour_of_day = 12 and row_id = 1'
    )
    largest = int(np.argmax(np.abs(vector))) + 1
    [(user,)] = loading_built_project.db.rows(
        f'select distinct user_name from "{loading_built_project.schema}".int_pca_input where hour_of_day = 12 and name_id = %s',
        (largest,),
    )
    assert user == "a"
    assert vector[largest - 1] > 0.99


def test_pca_marts_equal_numpy_for_every_hour(loading_built_project: Project) -> None:
    schema = loading_built_project.schema
    [(n, p)] = loading_built_project.db.rows(f'select max(day_id), max(name_id) from "{schema}".int_pca_input')
    cells: dict[int, list[tuple[int, int, float]]] = {}
    for hour, day_id, name_id, count in loading_built_project.db.rows(
        f'select hour_of_day, day_id, name_id, flow_count from "{schema}".int_pca_input'
    ):
        cells.setdefault(hour, []).append((day_id, name_id, float(count)))
    components: dict[int, list[tuple[int, list[float], float, float]]] = {hour: [] for hour in cells}
    for hour, *row in loading_built_project.db.rows(
        f'select hour_of_day, row_id, principal_components, std_dev, proportion from "{schema}".pca_components order by 1, 2'
    ):
        components[hour].append(tuple(row))  # type: ignore[arg-type]
    means = dict(loading_built_project.db.rows(f'select hour_of_day, column_mean from "{schema}".pca_column_means'))
    assert sorted(means) == sorted(cells) == list(range(24))
    for hour, hour_cells in cells.items():
        assert_fit_matches(components[hour], means[hour], fit_pca(dense(hour_cells, n, p), 0.99))


def test_sql_backend_builds_the_same_marts(loading_built_project: Project, project: Project) -> None:
    project.build({**project.load_sample_events(), "pca_backend": "sql", "scoring_method": "both"})
    for model, order, keys in [("pca_components", "1, 2", 2), ("pca_column_means", "1", 1)]:
        mine, reference = project.table(model, order), loading_built_project.table(model, order)
        assert [row[:keys] for row in mine] == [row[:keys] for row in reference]
        for got, expected in zip(mine, reference):
            assert all(np.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(got[keys:], expected[keys:]))


def test_the_default_residual_method_builds_no_pca_it_does_not_read(built_project: Project) -> None:
    """With scoring_method residual, nothing reads the loading method's PCA: its marts and its
    scores are built empty, and every user of every hour has a residual score."""
    for model in ("pca_components", "pca_column_means", "int_loading_scores"):
        assert built_project.table(model) == [], model
    [(users, methods)] = built_project.db.rows(
        f'select count(*), array_agg(distinct method) from "{built_project.schema}".user_outlier_scores')
    assert users == 24 * 13 and methods == ["residual"]


def test_a_user_column_of_any_comparable_type_is_carried_as_its_natural_text(project: Project) -> None:
    project.db.execute(f"""
        create schema "{project.schema}";
        create table "{project.schema}".typed_users as select
            7::int as u_int, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as u_uuid, '10.0.0.6'::inet as u_inet,
            '10.0.1.0/24'::inet as u_network, '2001:db8::1/128'::inet as u_ipv6, '10.0.0.7/32'::cidr as u_cidr,
            '08:00:2b:01:02:03'::macaddr as u_mac, 'x y'::varchar(10) as u_varchar
    """)
    columns = f"adapter.get_columns_in_relation(api.Relation.create(schema='{project.schema}', identifier='typed_users'))"
    shown = project.dbt("show", "--output", "json", "--inline", (
        f"{{% set columns = {columns} %}}select "
        "{% for column in columns %}{{ netflow_pca.event_user_to_text(column) }} as {{ column.name }}"
        "{{ ',' if not loop.last }} {% endfor %}"
        f'from "{project.schema}".typed_users'
    ))
    assert shown.returncode == 0, shown.stdout[-3000:]
    [row] = json.loads(shown.stdout[shown.stdout.index('{\n  "show"'):])["show"]

    assert row == {
        "u_int": "7", "u_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "u_inet": "10.0.0.6", "u_network": "10.0.1.0/24",
        "u_ipv6": "2001:db8::1", "u_cidr": "10.0.0.7", "u_mac": "08:00:2b:01:02:03", "u_varchar": "x y",
    }


def _tampered_copy(built_project: Project, project: Project, models: tuple[str, ...], tampering: tuple[str, ...]) -> None:
    """Copies of the built models in the project's own schema, changed by the tampering statements
    ({input}: int_pca_input, {counts}: int_hourly_counts, {scores}: user_outlier_scores), each of
    which must change a row."""
    project.db.execute(f'create schema "{project.schema}"')
    for model in models:
        project.db.execute(f'create table "{project.schema}".{model} as select * from "{built_project.schema}".{model}')
    with project.db.connect() as connection, connection.cursor() as cursor:
        for statement in tampering:
            cursor.execute(statement.format(input=f'"{project.schema}".int_pca_input',
                                            counts=f'"{project.schema}".int_hourly_counts',
                                            scores=f'"{project.schema}".user_outlier_scores'))
            assert cursor.rowcount > 0, statement


@pytest.mark.parametrize("tampering", [
    ("update {input} set flow_count = flow_count + 1 where hour_of_day = 12 and user_name = 'a' and day = date '2017-01-12'",),
    ("insert into {input} select * from {input} where hour_of_day = 3 and day_id = 2 and name_id = 1",),
    ("delete from {input} where hour_of_day = 7 and day_id = 1 and name_id = 2",),
    # a whole day of an hour lost: no cell of it is left to compare
    ("delete from {input} where hour_of_day = 7 and day_id = 1",),
    # the cells of a day moved to the next day's row: cells and counts per day unchanged
    ("update {input} set day_id = day_id + 1 where hour_of_day = 9 and day_id = 1",),
    # a cell's user or day lost (int_pca_input's not-nulls, in the same aggregate)
    ("update {input} set user_name = null where hour_of_day = 12 and day_id = 1 and name_id = 1",),
    ("update {input} set day = null where hour_of_day = 12 and day_id = 1 and name_id = 1",),
    # two users' counts swapped on one day: the cells and flows per day are unchanged, the checksum is not
    ("""with pair as (
           select low.name_id as low_id, high.name_id as high_id, low.flow_count as low_count, high.flow_count as high_count
           from {input} as low join {input} as high
             on low.hour_of_day = high.hour_of_day and low.day_id = high.day_id and low.name_id < high.name_id
                and low.flow_count <> high.flow_count
           where low.hour_of_day = 12 and low.day_id = 1 order by 1, 2 limit 1)
       update {input} set flow_count = case name_id when pair.low_id then pair.high_count else pair.low_count end
       from pair where hour_of_day = 12 and day_id = 1 and name_id in (pair.low_id, pair.high_id)""",),
])
def test_the_cells_test_catches_a_changed_doubled_lost_or_swapped_cell(
    built_project: Project, project: Project, tampering: tuple[str, ...]
) -> None:
    _tampered_copy(built_project, project, ("int_hourly_counts", "int_pca_input", "int_window_days"), tampering)

    result = project.dbt("test", "--select", "pca_input_cells_match_hourly_counts",
                         vars={"events_schema": built_project.schema})

    assert result.returncode != 0
    assert "Failure in test pca_input_cells_match_hourly_counts" in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize("tampering", [
    # two users of an hour under one name_id
    ("update {input} set name_id = 1 where hour_of_day = 12 and name_id = 2",),
    # one user under two name_ids
    ("update {input} set name_id = name_id + 1000 where hour_of_day = 12 and user_name = 'a' and day_id = 1",),
    # two users' name_ids swapped: one to one still, but not their rank by name
    ("update {input} set name_id = 3 - name_id where hour_of_day = 12 and name_id in (1, 2)",),
    # a count doubled in both tables: they agree (the cells test), but both hold the cell twice
    ("insert into {counts} select * from {counts} where hour_of_day = 3 and user_name = 'a' and day = date '2017-01-02'",
     "insert into {input} select * from {input} where hour_of_day = 3 and user_name = 'a' and day = date '2017-01-02'"),
])
def test_the_name_id_test_catches_ids_that_are_not_the_users_rank_or_a_doubled_cell(
    built_project: Project, project: Project, tampering: tuple[str, ...]
) -> None:
    _tampered_copy(built_project, project, ("int_hourly_counts", "int_pca_input"), tampering)

    result = project.dbt("test", "--select", "pca_input_name_ids_rank_users",
                         vars={"events_schema": built_project.schema})

    assert result.returncode != 0
    assert "Failure in test pca_input_name_ids_rank_users" in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize("tampering", [
    "update {scores} set score = null where hour_of_day = 12 and user_name = 'a'",
    # null only where the condition holds: a residual row's day
    "update {scores} set evidence_day = null where hour_of_day = 12 and user_name = 'a' and method = 'residual'",
    "update {scores} set hour_of_day = 24 where hour_of_day = 12 and user_name = 'a'",
    "update {scores} set method = 'other' where hour_of_day = 12 and user_name = 'a'",
])
def test_the_column_values_test_catches_a_null_an_out_of_range_or_an_unknown_value(
    built_project: Project, project: Project, tampering: str
) -> None:
    _tampered_copy(built_project, project, ("user_outlier_scores",), (tampering,))

    result = project.dbt("test", "--select", "column_values_user_outlier_scores", vars={"events_schema": built_project.schema})

    assert result.returncode != 0
    assert "Failure in test column_values_user_outlier_scores" in result.stdout, result.stdout[-3000:]


def test_the_column_values_test_passes_a_null_where_its_condition_does_not_hold(built_project: Project, project: Project) -> None:
    # the loading method names no day
    _tampered_copy(built_project, project, ("user_outlier_scores",),
                   ("update {scores} set method = 'loading', evidence_day = null where hour_of_day = 12 and user_name = 'a'",))

    result = project.dbt("test", "--select", "column_values_user_outlier_scores", vars={"events_schema": built_project.schema})

    assert result.returncode == 0, result.stdout[-3000:]
