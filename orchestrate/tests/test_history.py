"""Daily operation with the real `netflow-pca run` on real PostgreSQL: the run of the day after
the last one is a daily run, a burst on the new day is printed as new once, the history keeps it
after its day leaves the window, and a rerun of a day leaves the history as it was; a one-hour
build touches only its hour's rows of the history; a lasting burst whose run grows backwards, or
joins runs recorded apart, stays one flag, raised first when it was first raised."""

from __future__ import annotations

import re
from typing import Any

from orchestrate.tests.conftest import Project, run_cli, within_rounding

LOOKBACK = ("--lookback-days", "10", "--var", "events_table=events")
# the sample's planted burst: user a, 300 extra flows in hour 12 on 2017-01-12
BURST_LINE = re.compile(r"^a +12 +2017-01-12 +303 ", flags=re.M)


def run(project: Project, *args: str) -> str:
    result = run_cli(project.env, "run", *LOOKBACK, *args)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def new_section(stdout: str) -> str:
    """What the run printed about its new anomalies (the last part of its results)."""
    match = re.search(r"^(New anomalies, first raised by this run of .*|No new anomalies: .*)$", stdout, flags=re.M | re.S)
    assert match, stdout[-3000:]
    return match[1].split("\nFlagged users:")[0]


def history(project: Project) -> list[tuple[Any, ...]]:
    return project.table("anomaly_history", "hour_of_day, method, user_name, evidence_day")


def test_a_burst_on_the_new_day_is_new_once_and_stays_in_the_history(project: Project) -> None:
    project.load_sample_events()
    # two more weeks of the same flows, without the burst, so that the window can move past it
    project.db.execute(f"""
        insert into "{project.schema}".events
        select user_name, start_time + 14 * 86400 from "{project.schema}".events
        where not (user_name = 'a' and start_time between extract(epoch from timestamptz '2017-01-12 12:00+00')
                                                   and extract(epoch from timestamptz '2017-01-12 12:59:59+00'))
    """)

    first = run(project, "--run-date", "2017-01-11")
    assert "Full build: no earlier build to this server and schema is recorded." in first

    burst_day = run(project, "--run-date", "2017-01-12")
    assert "Daily run: 2017-01-12 is the day after the last build's (2017-01-11), with the same parameters: counting only 2017-01-12 and, for late events, the day before it (recount_days: 1)." in burst_day
    assert BURST_LINE.search(new_section(burst_day)), burst_day[-3000:]
    [(is_new, first_raised_on, days_raised)] = project.db.rows(
        f"""select is_new, first_raised_on, days_raised from "{project.schema}".anomalous_users_novelty
            where user_name = 'a' and hour_of_day = 12"""
    )
    assert (is_new, str(first_raised_on), days_raised) == (True, "2017-01-12", 1)

    next_day = run(project, "--run-date", "2017-01-13")
    assert "Daily run: 2017-01-13 is the day after" in next_day
    assert BURST_LINE.search(next_day), "still flagged, in the ranked list"
    assert not BURST_LINE.search(new_section(next_day)), "but not new again"
    after_next_day = history(project)
    [burst] = [row for row in after_next_day if row[:3] == (12, "residual", "a") and str(row[3]) == "2017-01-12"]
    assert (str(burst[4]), str(burst[6]), burst[8]) == ("2017-01-12", "2017-01-13", 2)

    rerun = run(project, "--run-date", "2017-01-13")
    assert "Daily run: a rerun of 2017-01-13" in rerun
    assert history(project) == within_rounding(after_next_day)
    assert not BURST_LINE.search(new_section(rerun))

    # ten days on, the burst's day has left the window of ten days: a full build, and the flag stays
    later = run(project, "--run-date", "2017-01-23")
    assert "Full build: 2017-01-23 is 10 days after the last build's day (2017-01-13), not the day after." in later
    assert not BURST_LINE.search(later)
    assert project.db.rows(
        f"""select count(*) from "{project.schema}".anomalous_users where user_name = 'a' and evidence_day = '2017-01-12'"""
    ) == [(0,)]
    kept = [row for row in history(project) if row[:3] == (12, "residual", "a") and str(row[3]) == "2017-01-12"]
    assert kept == within_rounding([burst])


def test_a_one_hour_build_touches_only_its_hours_rows_of_the_history(project: Project) -> None:
    # both methods: the loading method flags users in many hours of the sample
    vars = {**project.load_sample_events(), "scoring_method": "both", "run_date": "2017-01-13"}
    project.build(vars)
    before = project.hour_fingerprints("anomaly_history")
    assert len(before) > 1 and 12 in before
    # a burst of user b in hour 12 on 2017-01-13, counted by a build of hour 12 alone (the other
    # hours were built for the same window and vars, so the hour may run alone)
    project.db.execute(f"""insert into "{project.schema}".events
        select 'b', extract(epoch from timestamptz '2017-01-13 12:30:00+00')::bigint from generate_series(1, 300)""")

    project.build({**vars, "hour_id": 12})

    after = project.hour_fingerprints("anomaly_history")
    assert {hour: rows for hour, rows in after.items() if hour != 12} == {hour: rows for hour, rows in before.items() if hour != 12}
    assert after[12] != before[12]
    assert project.db.rows(
        f"""select first_raised_on::text, last_raised_on::text, days_raised from "{project.schema}".anomaly_history
            where hour_of_day = 12 and method = 'residual' and user_name = 'b'"""
    ) == [("2017-01-13", "2017-01-13", 1)]


def lasting_burst_events(project: Project) -> dict[str, str]:
    """The sample with user a's burst of hour 12 on 2017-01-12 lasting from 2017-01-11 to 2017-01-13."""
    vars = project.load_sample_events()
    project.db.execute(f"""
        insert into "{project.schema}".events
        select user_name, start_time + shift from "{project.schema}".events
        cross join (values (-86400), (86400)) as shifts (shift)
        where user_name = 'a' and start_time between extract(epoch from timestamptz '2017-01-12 12:00+00')
                                                  and extract(epoch from timestamptz '2017-01-12 12:59:59+00')
    """)
    return vars


FLAG_OF_A = "hour_of_day = 12 and method = 'residual' and user_name = 'a'"
HISTORY_OF_A = """select first_evidence_day::text, last_evidence_day::text, evidence_day::text, first_raised_on::text,
                         first_invocation_id, last_raised_on::text, days_raised"""


def test_a_run_that_grows_backwards_stays_one_flag_raised_once(project: Project) -> None:
    vars = lasting_burst_events(project)
    project.build({**vars, "run_date": "2017-01-13"})
    [(first_day, last_day)] = project.db.rows(
        f"""select first_evidence_day::text, last_evidence_day::text from "{project.schema}".anomalous_users where {FLAG_OF_A}"""
    )
    assert (first_day, last_day) == ("2017-01-11", "2017-01-13")
    # as if the build of 2017-01-13 had seen the run begin a day later: recorded [D, D+1], raised now [D-1, D+1]
    project.db.execute(f"""update "{project.schema}".anomaly_history
                           set first_evidence_day = '2017-01-12', first_invocation_id = 'the first raising'
                           where {FLAG_OF_A}""")

    project.build({**vars, "run_date": "2017-01-14"})

    history_of_a = project.db.rows(f'{HISTORY_OF_A} from "{project.schema}".anomaly_history where {FLAG_OF_A}')
    assert [row[:2] + row[3:] for row in history_of_a] == [
        ("2017-01-11", "2017-01-13", "2017-01-13", "the first raising", "2017-01-14", 2)
    ]
    assert project.db.rows(
        f"""select is_new, first_raised_on::text, days_raised from "{project.schema}".anomalous_users_novelty where {FLAG_OF_A}"""
    ) == [(False, "2017-01-13", 2)]

    before_rerun = project.table("anomaly_history", "hour_of_day, method, user_name, evidence_day")
    project.build({**vars, "run_date": "2017-01-14"})
    assert project.table("anomaly_history", "hour_of_day, method, user_name, evidence_day") == within_rounding(before_rerun)


def test_a_run_that_joins_recorded_runs_makes_them_one_flag(project: Project) -> None:
    vars = lasting_burst_events(project)
    project.build({**vars, "run_date": "2017-01-13"})
    schema = project.schema
    # as if earlier builds had raised the run as two flags, [2017-01-11, 2017-01-11] and a row recorded
    # before runs were, of 2017-01-13 alone; a flag of a week before, apart from the run, stays as it is
    project.db.execute(f"""
        insert into "{schema}".anomaly_history (hour_of_day, method, user_name, evidence_day, first_raised_on,
            first_invocation_id, last_raised_on, last_invocation_id, days_raised, score, threshold,
            first_evidence_day, last_evidence_day)
        select hour_of_day, method, user_name, day, raised_on, invocation, raised_on, invocation, days, score, threshold,
            run_first_day, run_last_day
        from "{schema}".anomaly_history
        cross join (values
            (date '2017-01-11', date '2017-01-11', date '2017-01-11', date '2017-01-12', 'the first raising', 2),
            (date '2017-01-13', null, null, date '2017-01-13', 'the second flag', 1),
            (date '2017-01-04', date '2017-01-04', date '2017-01-04', date '2017-01-05', 'a week before', 1)
        ) as recorded (day, run_first_day, run_last_day, raised_on, invocation, days)
        where {FLAG_OF_A};
        delete from "{schema}".anomaly_history where {FLAG_OF_A} and first_evidence_day = '2017-01-11'
            and last_evidence_day = '2017-01-13';
    """)

    project.build({**vars, "run_date": "2017-01-14"})

    assert project.db.rows(f'{HISTORY_OF_A} from "{schema}".anomaly_history where {FLAG_OF_A} order by 1') == [
        ("2017-01-04", "2017-01-04", "2017-01-04", "2017-01-05", "a week before", "2017-01-05", 1),
        ("2017-01-11", "2017-01-13", "2017-01-12", "2017-01-12", "the first raising", "2017-01-14", 4),
    ]
    assert project.db.rows(
        f"""select is_new, first_raised_on::text, days_raised from "{schema}".anomalous_users_novelty where {FLAG_OF_A}"""
    ) == [(False, "2017-01-12", 4)]
