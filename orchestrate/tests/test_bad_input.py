"""Bad input on real PostgreSQL: each case of the README's table "Bad input and faults" either
stops the build with a message naming the problem, leaving the tables of the last good run as
they were, or is handled as the README says. (Null users and times: test_pipeline.py.)"""

from __future__ import annotations

from datetime import date

import pytest

from orchestrate.tests.conftest import Project
from orchestrate.tests.models import HOURLY_MODELS

# (an events table made from the sample's `events`, the vars naming it, the message that stops the build)
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
    "source column not there": (
        None,
        {"events_table": "events", "user_column": "src_ip"},
        "Invalid var user_column: 'src_ip' is not a column of",
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

    result = last_good.dbt("build", vars=vars)

    assert result.returncode != 0
    assert message in result.stdout
    assert {model: last_good.hour_fingerprints(model) for model in HOURLY_MODELS} == before


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
