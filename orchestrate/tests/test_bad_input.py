"""Bad input on real PostgreSQL: each case of the README's table "Bad input and faults" either
stops the build with a message naming the problem, leaving the tables of the last good run as
they were, or is handled as the README says. (Null users and times: test_pipeline.py.)"""

from __future__ import annotations

from datetime import date

import pytest

from orchestrate.lab.reference.pca import dense, fit_pca
from orchestrate.tests.conftest import Project, within_rounding
from orchestrate.tests.models import HOURLY_MODELS

# (an events table made from the sample's `events`, the vars naming it, the message that stops the build, or its parts)
REFUSED = {
    "empty source": (
        "create table {schema}.no_events as select * from {schema}.events where false",
        {"events_table": "no_events"},
        "Failure in test not_empty_stg_flows__events",
    ),
    "time column of the wrong type": (
        "create table {schema}.text_times as select user_name, start_time::text as start_time from {schema}.events",
        {"events_table": "text_times"},
        "Invalid var time_column: column 'start_time' has type text",
    ),
    "missing source table": (
        None,
        {"events_table": "no_such_table"},
        "does not exist: check the vars events_schema",
    ),
    "times at infinity": (
        """create table {schema}.infinite_times as
           select user_name, to_timestamp(start_time) as start_time from {schema}.events
           union all values ('x', timestamptz 'infinity'), ('x', timestamptz '-infinity'), ('y', timestamptz 'infinity')""",
        {"events_table": "infinite_times"},
        "holds times that cannot be placed on a day: infinity (2 events), -infinity (1 event)",
    ),
    "epoch seconds that are no time": (
        """create table {schema}.unplaceable_seconds as
           select user_name, cast(start_time as double precision) as start_time from {schema}.events
           union all values ('x', 'NaN'), ('x', 1.7e15), ('x', '-Infinity')""",
        {"events_table": "unplaceable_seconds"},
        "holds times that cannot be placed on a day: -Infinity (1 event), 1.7e+15 (1 event), NaN (1 event)",
    ),
    "a date at infinity": (
        """create table {schema}.infinite_dates as
           select user_name, cast(to_timestamp(start_time) as date) as start_time from {schema}.events
           union all values ('x', date 'infinity')""",
        {"events_table": "infinite_dates"},
        "holds times that cannot be placed on a day: infinity (1 event)",
    ),
    "a run_date after the data (a typo)": (
        None,
        {"events_table": "events", "run_date": "2100-01-01"},
        ("Invalid var run_date: the window of 90 days up to 2100-01-01 (2099-10-04 to 2100-01-01) holds no events",
         "span 2017-01-01 to 2017-01-14 (18723 events, days in time zone UTC)"),
    ),
    "a run_date before the data": (
        None,
        {"events_table": "events", "run_date": "2016-12-01", "lookback_days": 30},
        ("Invalid var run_date: the window of 30 days up to 2016-12-01 (2016-11-02 to 2016-12-01) holds no events",
         "span 2017-01-01 to 2017-01-14"),
    ),
    "times in epoch milliseconds": (
        "create table {schema}.millisecond_times as select user_name, start_time * 1000 as start_time from {schema}.events",
        {"events_table": "millisecond_times"},
        ("The time column start_time places every event after the last complete day",
         "span 48971-08-27 to 49009-12-24 (18723 events"),
    ),
    "a variance_target above the window's days": (
        None,
        {"events_table": "events", "variance_target": 20},
        "Invalid var variance_target: 20 components, but the window's matrices have 14 days, so at most 14",
    ),
    "source column not there": (
        None,
        {"events_table": "events", "user_column": "src_ip"},
        "Invalid var user_column: 'src_ip' is not a column of",
    ),
    # runs of one hour whose residual scores would read other hours built for another run
    "a run of one hour for another run_date": (
        None,
        {"events_table": "events", "hour_id": 12, "run_date": "2017-01-13"},
        ("The residual scores of hour 12 read its users' other hours, which have not been built for this run's window",
         "(hours 0-11, 13-23 built for run_date unset, this run '2017-01-13'): run all hours first with these vars"),
    ),
    "a run of one hour in another time zone": (
        None,
        {"events_table": "events", "hour_id": 0, "timezone": "America/New_York"},
        "(hours 1-23 built for timezone 'UTC', this run 'America/New_York')",
    ),
    "a run of one hour on the set-based route after runs on the numpy route": (
        None,
        {"events_table": "events", "hour_id": 12, "pca_backend": "sql"},
        "(hours 0-11, 13-23 built for scoring_route 'numpy', this run 'sql')",
    ),
}

NAMES = {
    "a": "O'Brien \"the\"; drop table events; --",
    "b": "Ünïcødé 用户 🙂",
    "c": "z" * 1000,
    "d": "  two  spaces ",
}
# whole days, so that hours of the day keep their flows: the sample's January 2017 becomes 1966
BEFORE_1970 = 18_519 * 86_400


@pytest.mark.parametrize("case", REFUSED)
def test_refused_input_is_named_and_keeps_the_last_good_tables(last_good: Project, case: str) -> None:
    create, vars, message = REFUSED[case]
    schema = f'"{last_good.schema}"'
    before = {model: last_good.hour_fingerprints(model) for model in HOURLY_MODELS}
    if create is not None:
        last_good.db.execute(create.format(schema=schema))

    result = last_good.try_build(vars)

    assert result.returncode != 0
    for part in (message,) if isinstance(message, str) else message:
        assert part in result.stdout
    assert {model: last_good.hour_fingerprints(model) for model in HOURLY_MODELS} == before


def test_a_variance_target_above_the_users_stops_before_the_pca(last_good: Project) -> None:
    """The users are known once counted: the counts and the PCA input are written again (the same
    rows), nothing from the PCA on."""
    counted = ("int_hourly_counts", "int_pca_input")
    before = {model: last_good.hour_fingerprints(model) for model in HOURLY_MODELS if model not in counted}
    rows = {model: last_good.table(model, "1, 2, 3") for model in counted}

    result = last_good.try_build({"events_table": "events", "variance_target": 14})

    assert result.returncode != 0
    assert ("Invalid var variance_target: 14 components, but the window's matrices have 14 days and 13 users, "
            "so at most 13 components can be asked for") in result.stdout
    assert {model: last_good.table(model, "1, 2, 3") for model in counted} == rows
    assert {model: last_good.hour_fingerprints(model) for model in before} == before


def test_one_user_only_gives_one_component_holding_all_variance(project: Project) -> None:
    vars = project.load_sample_events()
    project.db.execute(f"delete from \"{project.schema}\".events where user_name <> 'a'")

    project.build({**vars, "scoring_method": "both"})  # the loading method's PCA marts are fitted for it

    rows = project.db.rows(f'select hour_of_day, row_id, principal_components, proportion from "{project.schema}".pca_components')
    assert sorted(hour for hour, *_ in rows) == list(range(24))
    assert all(row_id == 1 and vector == pytest.approx([1.0]) and proportion == pytest.approx(1.0)
               for _, row_id, vector, proportion in rows)


def test_one_day_only_gives_means_and_no_components(project: Project) -> None:
    result = project.build({**project.load_sample_events(), "run_date": "2017-01-12", "lookback_days": 1, "scoring_method": "both"})

    assert "hour_of_day = 12 has no variance (fewer than 2 rows, or all rows equal): no components" in result.stdout
    assert project.table("pca_components") == []
    assert [hour for hour, _ in project.table("pca_column_means")] == list(range(24))
    assert project.db.rows(f'select distinct day from "{project.schema}".int_pca_input') == [(date(2017, 1, 12),)]


def test_odd_user_names_and_times_before_1970_run_as_any_other(built_project: Project, project: Project) -> None:
    renamed = " ".join("when %s then %s" for _ in NAMES)
    project.db.execute(f'create schema "{project.schema}"')
    project.db.execute(
        f"""create table "{project.schema}".events as
            select case user_name {renamed} else user_name end as user_name, start_time - {BEFORE_1970} as start_time
            from "{built_project.schema}".sample_flows""",
        [value for pair in NAMES.items() for value in pair],
    )

    project.build({"events_table": "events"})

    shown = {NAMES.get(user, user): count for user, count in built_project.db.rows(
        f'select user_name, sum(flow_count) from "{built_project.schema}".int_hourly_counts group by 1'
    )}
    assert dict(project.db.rows(f'select user_name, sum(flow_count) from "{project.schema}".int_pca_input group by 1')) == shown
    [(first, last)] = project.db.rows(f'select min(day), max(day) from "{project.schema}".int_pca_input')
    assert date(1966, 1, 1) < first <= last < date(1970, 1, 1)
    components = {hour: count for hour, count in project.db.rows(
        f'select hour_of_day, count(*) from "{project.schema}".pca_components group by 1'
    )}
    reference = dict(built_project.db.rows(
        f'select hour_of_day, count(*) from "{built_project.schema}".pca_components group by 1'
    ))
    assert components == reference


def test_late_and_stray_rows_do_not_move_the_window(built_project: Project, project: Project) -> None:
    vars = project.load_sample_events()
    # one event in the future, one on a day far beyond the data holding under 1% of a median day's
    project.db.execute(f"""insert into "{project.schema}".events values
        ('late', extract(epoch from timestamptz '2030-01-01 12:00+00')),
        ('stray', extract(epoch from timestamptz '2020-06-01 12:00+00'))""")

    result = project.build(vars)

    assert ("2 events after the window's last day, from 2020-06-01 to 2030-01-01, are left out as late or bad data"
            in result.stdout)
    [(first, last, late, first_late, last_late)] = project.db.rows(
        f'select window_first_day, window_last_day, late_events, first_late_day, last_late_day from "{project.schema}".pipeline_runs')
    assert (first, last) == (date(2017, 1, 1), date(2017, 1, 14))
    assert (late, first_late, last_late) == (2, date(2020, 6, 1), date(2030, 1, 1))
    assert project.db.rows(f"""select count(*) from "{project.schema}".int_hourly_counts where user_name in ('late', 'stray')""") == [(0,)]
    assert [within_rounding(row) for row in project.table("pca_components", "hour_of_day, row_id")] == \
        built_project.table("pca_components", "hour_of_day, row_id")


def test_a_local_hour_that_does_not_exist_is_no_row_of_its_matrix(project: Project) -> None:
    """New York's spring change skips 02:00 on 2024-03-10: that day is no row of hour 2's matrix
    (rather than a row of zeros), and hour 2 is fitted on its ten real days."""
    project.db.execute(f'create schema "{project.schema}"')
    project.db.execute(f"""create table "{project.schema}".events as
        select 'u' || user_id as user_name, local_hour at time zone 'America/New_York' as start_time
        from generate_series(1, 6) as user_id,
             generate_series(timestamp '2024-03-05 00:00', timestamp '2024-03-15 23:00', interval '1 hour') as local_hour,
             generate_series(1, 1 + (user_id * 7 + extract(day from local_hour)::int * 3 + extract(hour from local_hour)::int) % 5)
        where (local_hour at time zone 'America/New_York') at time zone 'America/New_York' = local_hour""")

    project.build({"events_table": "events", "timezone": "America/New_York", "scoring_method": "both"})

    dimensions = dict(project.db.rows(f'select hour_of_day, row_dim from "{project.schema}".int_pca_dimensions'))
    assert dimensions == {hour: 10 if hour == 2 else 11 for hour in range(24)}
    assert project.db.rows(
        f"select count(*) from \"{project.schema}\".int_window_days where hour_of_day = 2 and day = date '2024-03-10'") == [(0,)]
    cells = project.db.rows(f'select day_id, name_id, flow_count from "{project.schema}".int_pca_input where hour_of_day = 2')
    reference = fit_pca(dense(cells, 10, 6), 0.99)
    fitted = project.db.rows(
        f'select std_dev from "{project.schema}".pca_components where hour_of_day = 2 order by row_id')
    assert [std_dev for (std_dev,) in fitted] == pytest.approx(list(reference.std_dev), rel=1e-10)
