"""Daily run or full build: the decision from the builds pipeline_runs recorded, without dbt."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

from orchestrate.results.report import Build
from orchestrate.run.daily import DAILY_RECOUNT_DAYS, choose_run_kind
from orchestrate.run.options import project_vars
from orchestrate.run.runner import PROJECT_DIR

DEFAULTS = project_vars(PROJECT_DIR)
SCHEMA = "netflow_pca"
GIVEN = {"events_table": "flow_log", "timezone": "Europe/Berlin"}
LAST = Build(
    invocation_id="inv-1",
    run_started_at=datetime(2024, 3, 31, 1, 0, tzinfo=timezone.utc),
    hour_id=None,
    run_date=date(2024, 3, 30),
    lookback_days=90,
    window_first_day=date(2024, 1, 1),
    window_last_day=date(2024, 3, 30),
    window_days=90,
    timezone="Europe/Berlin",
    source_relation=f'"warehouse"."{SCHEMA}"."flow_log"',
    user_column="user_name",
    time_column="start_time",
    scoring_methods=("residual",),
    residual_threshold=5.25,
    loading_threshold=None,
    variance_target="0.99",
    pca_backend="plpython",
    events_counted=1000,
    users_counted=10,
    cells_counted=100,
    given_vars={**GIVEN, "run_date": "2024-03-30", "recount_days": 1, "pca_backend": "plpython"},
)
ALL_BUILT = {hour: LAST for hour in range(24)}


def kind(run_date: date | None, builds: dict[int, Build] = ALL_BUILT, hours: list[int] | None = None, **vars: object):
    given = {**GIVEN, **({"run_date": run_date.isoformat()} if run_date else {}), **vars}
    return choose_run_kind(run_date, hours, given, DEFAULTS, builds, SCHEMA)


def test_the_day_after_the_last_build_with_the_same_parameters_is_a_daily_run() -> None:
    daily = kind(date(2024, 3, 31))
    assert daily.daily and daily.vars == {"recount_days": DAILY_RECOUNT_DAYS}
    assert "2024-03-31 is the day after the last build's (2024-03-30)" in daily.reason
    assert daily.describe().startswith("Daily run: ")
    # the backend does not change the results: another one is still the same parameters
    assert kind(date(2024, 3, 31), pca_backend="sql").daily


def test_a_rerun_of_the_same_day_is_a_daily_run() -> None:
    rerun = kind(date(2024, 3, 30))
    assert rerun.daily and "a rerun of 2024-03-30" in rerun.reason


def test_a_date_far_from_the_last_build_or_before_it_is_a_full_build() -> None:
    later = kind(date(2024, 4, 5))
    assert not later.daily and later.vars == {}
    assert "2024-04-05 is 6 days after the last build's day (2024-03-30), not the day after" in later.reason
    assert later.describe().startswith("Full build: ")
    earlier = kind(date(2024, 3, 29))
    assert not earlier.daily and "1 day before the last build's day" in earlier.reason


def test_other_parameters_are_a_full_build_that_names_them() -> None:
    other_zone = kind(date(2024, 3, 31), timezone="UTC")
    assert not other_zone.daily
    assert "timezone 'Europe/Berlin' then, 'UTC' now" in other_zone.reason
    assert not kind(date(2024, 3, 31), lookback_days=60).daily
    assert not kind(date(2024, 3, 31), events_table="other_log").daily
    threshold = kind(date(2024, 3, 31), residual_threshold=9)
    assert not threshold.daily and "residual_threshold 5.25 then, 9.0 now" in threshold.reason
    # a var that only pipeline_runs' given_vars records (no column of its own)
    damping = kind(date(2024, 3, 31), residual_damp_at=5)
    assert not damping.daily and "other vars" in damping.reason
    # a default the last build ran with, changed in dbt_project.yml since, is another parameter too
    assert not choose_run_kind(date(2024, 3, 31), None, {**GIVEN, "run_date": "2024-03-31"}, {**DEFAULTS, "variance_target": 0.9}, ALL_BUILT, SCHEMA).daily


def test_without_an_earlier_build_or_a_run_date_it_is_a_full_build() -> None:
    assert "records no earlier build" in kind(date(2024, 3, 31), builds={}).reason
    assert not kind(date(2024, 3, 31), builds={}).daily
    no_date = kind(None)
    assert not no_date.daily and "no run date" in no_date.reason


def test_hours_are_judged_by_their_own_last_builds() -> None:
    # hour 12 was last built alone, for another day; the other hours by the all-hours build
    hour_12 = replace(LAST, invocation_id="inv-2", hour_id=12, run_started_at=datetime(2024, 3, 31, 9, tzinfo=timezone.utc),
                      run_date=date(2024, 3, 25))
    builds = {**ALL_BUILT, 12: hour_12}
    assert kind(date(2024, 3, 31), builds, hours=[5]).daily
    assert not kind(date(2024, 3, 31), builds, hours=[12]).daily
    mixed = kind(date(2024, 3, 31), builds)
    assert not mixed.daily and "different days" in mixed.reason
    missing = kind(date(2024, 3, 31), {hour: LAST for hour in range(23)})
    assert not missing.daily and "no earlier build of hour 23" in missing.reason


def test_full_asked_for_or_recount_days_given_are_kept() -> None:
    assert not choose_run_kind(date(2024, 3, 31), None, GIVEN, DEFAULTS, ALL_BUILT, SCHEMA, full=True).daily
    given = kind(date(2024, 4, 20), recount_days=3)
    assert given.daily and given.vars == {} and "recount_days is given (3)" in given.reason


def test_an_events_table_without_events_schema_is_the_one_in_the_target_schema() -> None:
    # an events table in the target schema (no events_schema) is the schema of pipeline_runs
    in_target = replace(LAST, source_relation='"db"."analytics"."flow_log"')
    assert kind(date(2024, 3, 31), {hour: in_target for hour in range(24)}).daily is False
    assert choose_run_kind(date(2024, 3, 31), None, {**GIVEN, "run_date": "2024-03-31"}, DEFAULTS,
                           {hour: in_target for hour in range(24)}, "analytics").daily


def test_a_bad_value_is_left_for_dbt_to_refuse() -> None:
    bad = kind(date(2024, 3, 31), residual_threshold="many", lookback_days="x")
    assert not bad.daily and "residual_threshold 5.25 then, 'many' now" in bad.reason
