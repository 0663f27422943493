"""The files of a run: the export equals the anomalous_users mart and is safe for spreadsheets,
each data set's run keeps a folder of its own, files are replaced whole, and the HTML report
says what it describes, ranks the anomalies across hours, draws the window, shows names safely,
stays small, and renders in headless Chromium."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from orchestrate.lab.generators import flowgen
from orchestrate.results import export
from orchestrate.results.display import NAME_LIMIT, number_text, visible
from orchestrate.results.report import (
    ANOMALY_COLUMNS,
    Build,
    Component,
    HeatCell,
    HourSize,
    Provenance,
    Relations,
    ReportData,
    anomaly_table,
    method_summaries,
    ranked,
    results_text,
)
from orchestrate.results.report_html import CHART_LIMIT, RANKED_LIMIT, TABLE_LIMIT, chart_scale, counts_svg, ranked_list, render_report
from orchestrate.tests.chromium import CHROMIUM, chromium
from orchestrate.tests.conftest import Project

HOSTILE = """<script>alert("x")</script> & 'q' é✓"""
DAYS = [date(2017, 1, 1) + timedelta(days=i) for i in range(14)]
# (hour_of_day, user_name, method, score, threshold, evidence_day, evidence_component, flow_count,
#  expected_flow_count, kept_components, first_evidence_day, last_evidence_day): the scored rows of
#  the hand-made mart; HOSTILE's is a run of three days
SCORES = [
    (12, "a", "residual", 90000.5, 100.25, date(2017, 1, 12), None, 303, 4.5, 2, date(2017, 1, 12), date(2017, 1, 12)),
    (12, HOSTILE, "residual", 400.0, 100.25, date(2017, 1, 3), None, 40, 3.0, 2, date(2017, 1, 2), date(2017, 1, 4)),
    (12, "b", "residual", 5.0, 100.25, date(2017, 1, 4), None, 3, 2.0, 2, date(2017, 1, 4), date(2017, 1, 4)),
    (12, "a", "loading", 0.97, 0.1, None, 1, None, None, 3, None, None),
    (12, "b", "loading", 0.05, 0.1, None, 2, None, None, 3, None, None),
    (3, "c", "loading", 0.5, 0.1, None, 1, None, None, 1, None, None),
]


@pytest.fixture
def marts(project: Project) -> Iterator[Relations]:
    """The relations the export and the report read, made by hand with the marts' columns."""
    schema = f'"{project.schema}"'
    project.db.execute(f"""
        create schema {schema};
        create table {schema}.user_outlier_scores (
            hour_of_day int, user_name text, method text, score float8, threshold float8,
            evidence_day date, evidence_component int, flow_count bigint, expected_flow_count float8,
            kept_components int, first_evidence_day date, last_evidence_day date, is_anomalous boolean
        );
        create table {schema}.int_pca_input (
            hour_of_day int, day_id int, name_id int, user_name text, day date, flow_count bigint
        );
        create table {schema}.pca_components (
            hour_of_day int, row_id int, principal_components float8[], std_dev float8, proportion float8
        );
        insert into {schema}.pca_components values
            (12, 1, null, 9.0, 0.8), (12, 2, null, 3.0, 0.15), (12, 3, null, 1.0, 0.05), (3, 1, null, 2.0, 1.0);
        create table {schema}.pipeline_runs as
        select
            'inv-1' as invocation_id, timestamptz '2017-01-15 02:00:00+00' as run_started_at,
            cast(null as int) as hour_id, cast(null as date) as run_date, 90 as lookback_days,
            date '2017-01-01' as window_first_day, date '2017-01-14' as window_last_day, 14 as window_days,
            'UTC' as timezone, '"test"."raw"."flow_log"' as source_relation, 'user_name' as user_column,
            'start_time' as time_column, 'residual,loading' as scoring_methods,
            cast(100.25 as float8) as residual_threshold, cast(0.1 as float8) as loading_threshold,
            '0.99' as variance_target, 'sql' as pca_backend, cast(1234 as bigint) as events_counted,
            cast(4 as bigint) as users_counted, cast(150 as bigint) as cells_counted,
            cast(2 as bigint) as residual_flagged, cast(2 as bigint) as loading_flagged,
            cast('{{"events_table": "flow_log", "scoring_method": "both"}}' as jsonb) as given_vars;
    """)
    with project.db.connect() as connection, connection.cursor() as cursor:
        cursor.executemany(
            f"insert into {schema}.user_outlier_scores values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s > %s)",
            [(*row, row[3], row[4]) for row in SCORES],
        )
        users = sorted({row[1] for row in SCORES})
        cursor.executemany(
            f"insert into {schema}.int_pca_input values (%s, %s, %s, %s, %s, %s)",
            [
                (hour, day_id, users.index(user) + 1, user, day, 300 + day_id if (user, day_id) == ("a", 12) else day_id % 4)
                for hour in (3, 12)
                for day_id, day in enumerate(DAYS, start=1)
                for user in users
                if day_id % 4 or (user, day_id) == ("a", 12)
            ],
        )
    project.db.execute(f"""
        create view {schema}.anomalous_users as
        select
            hour_of_day, method,
            cast(row_number() over (partition by hour_of_day, method order by score desc, user_name) as int)
                as anomaly_rank,
            user_name, score, threshold, evidence_day, evidence_component, flow_count, expected_flow_count,
            kept_components, first_evidence_day, last_evidence_day
        from {schema}.user_outlier_scores
        where is_anomalous
    """)
    yield Relations(
        f"{schema}.anomalous_users",
        f"{schema}.user_outlier_scores",
        f"{schema}.pca_components",
        f"{schema}.int_pca_input",
        f"{schema}.pipeline_runs",
    )


def mart_rows(project: Project, relations: Relations) -> list[tuple[Any, ...]]:
    return project.db.rows(
        f"select {', '.join(ANOMALY_COLUMNS)} from {relations.anomalous_users} order by hour_of_day, method, anomaly_rank"
    )


def read_csv(path: Path) -> list[tuple[Any, ...]]:
    """The exported CSV back as typed values, by the export's conventions."""
    types = {
        "hour_of_day": int, "anomaly_rank": int, "evidence_component": int, "flow_count": int,
        "kept_components": int, "score": float, "threshold": float, "expected_flow_count": float,
        "evidence_day": date.fromisoformat, "first_evidence_day": date.fromisoformat, "last_evidence_day": date.fromisoformat,
    }
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == ANOMALY_COLUMNS
        return [
            tuple(None if row[c] == "" else types.get(c, str)(row[c]) for c in ANOMALY_COLUMNS)  # type: ignore[operator]
            for row in reader
        ]


def test_export_holds_exactly_the_mart_rows_in_order(project: Project, marts: Relations, tmp_path: Path) -> None:
    files = export.write_run_files(tmp_path / "runs", project.env, marts)

    expected = mart_rows(project, marts)
    assert len(expected) == 4
    assert files.csv.parent.parent == tmp_path / "runs" and files.csv.parent.name.startswith("2017-01-14_flow_log_")
    assert (tmp_path / "runs" / "latest").resolve() == files.csv.parent
    assert read_csv(files.csv) == expected
    lines = files.jsonl.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {column: value.isoformat() if isinstance(value, date) else value for column, value in zip(ANOMALY_COLUMNS, row)}
        for row in expected
    ]
    assert "é✓" in files.jsonl.read_text(encoding="utf-8")  # UTF-8 as is, not \u escapes


def test_a_rerun_replaces_the_files_and_a_crash_leaves_the_old_ones(
    project: Project, marts: Relations, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = export.write_run_files(tmp_path / "runs", project.env, marts)
    project.db.execute(f'delete from "{project.schema}".user_outlier_scores where user_name = \'c\'')

    second = export.write_run_files(tmp_path / "runs", project.env, marts)

    assert second.csv == first.csv
    assert read_csv(second.csv) == mart_rows(project, marts) and len(second.anomalies) == 3
    kept = {path: path.read_bytes() for path in (first.csv, first.jsonl, first.report)}
    project.db.execute(f'delete from "{project.schema}".user_outlier_scores where user_name = \'a\'')

    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        export.write_run_files(tmp_path / "runs", project.env, marts)

    assert {path: path.read_bytes() for path in kept} == kept
    assert sorted(path.name for path in first.csv.parent.iterdir()) == sorted(path.name for path in kept)


def test_an_empty_window_says_so(project: Project, marts: Relations, tmp_path: Path) -> None:
    project.db.execute(f"""update "{project.schema}".pipeline_runs
        set window_first_day = null, window_last_day = null, window_days = 0, run_date = '2024-03-31'""")

    with pytest.raises(LookupError, match=r"The window holds no data \(90 days up to run_date 2024-03-31"):
        export.write_run_files(tmp_path / "runs", project.env, marts)


class Document(HTMLParser):
    """The tags and the data-user attributes of a page, as a browser's parser reads them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.users: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.users += [value or "" for name, value in attrs if name == "data-user"]


def test_the_report_escapes_user_names(project: Project, marts: Relations, tmp_path: Path) -> None:
    page = export.write_run_files(tmp_path / "runs", project.env, marts).report.read_text(encoding="utf-8")

    assert HOSTILE not in page and "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27; é✓" in page
    document = Document(page)
    assert "script" not in document.tags
    assert document.users == ["c", "a", HOSTILE]


def a_build(**changes: Any) -> Build:
    """A pipeline_runs row as the report reads it."""
    values: dict[str, Any] = dict(
        invocation_id="inv-1", run_started_at=datetime(2017, 1, 15, 2, tzinfo=timezone.utc), hour_id=None, run_date=None,
        lookback_days=90, window_first_day=DAYS[0], window_last_day=DAYS[-1], window_days=14, timezone="UTC",
        source_relation='"test"."raw"."flow_log"', user_column="user_name", time_column="start_time",
        scoring_methods=("residual", "loading"), residual_threshold=7.0, loading_threshold=0.1, variance_target="0.99",
        pca_backend="sql", events_counted=1234, users_counted=4, cells_counted=150, given_vars={},
    )
    return Build(**{**values, **changes})


def anomaly(hour: int, method: str, rank: int, user: str, score: float, **evidence: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ANOMALY_COLUMNS)
    threshold = 7.0 if method == "residual" else 0.1
    row.update(hour_of_day=hour, method=method, anomaly_rank=rank, user_name=user, score=score, threshold=threshold, kept_components=1)
    return {**row, **evidence}


def test_the_ranked_list_puts_a_method_that_flags_most_users_last() -> None:
    rows = [
        anomaly(12, "residual", 1, "a", 30.27, evidence_day=DAYS[11], flow_count=303, expected_flow_count=-5.551e-17),
        *(anomaly(hour, "loading", rank, user, 0.99 - rank / 100) for hour in (3, 12) for rank, user in enumerate("abcd", 1)),
        anomaly(5, "loading", 1, "b", 0.3),
    ]
    hours = {3: HourSize(14, 4), 5: HourSize(14, 13), 12: HourSize(14, 4)}

    summaries = method_summaries(rows, hours, ("residual", "loading"))
    listed = ranked(rows, summaries)

    assert [(s.method, s.flagged, s.hours, s.blind_hours) for s in summaries] == [
        ("residual", 1, [12], []), ("loading", 9, [3, 5, 12], [3, 12])
    ]
    # by times the threshold (the residual flag 4.3 x, loading in hour 5, where it flags 1 of 13
    # users, 3 x), then the hours where loading flags every user, however high their scores
    assert [(row["hour_of_day"], row["method"], row["user_name"]) for row in listed[:3]] == [
        (12, "residual", "a"), (5, "loading", "b"), (3, "loading", "a")
    ]
    text = results_text(Provenance({hour: a_build() for hour in range(24)}), summaries, rows, top=2)
    assert 'Results: "test"."raw"."flow_log", 2017-01-01 to 2017-01-14 (14 days with data), time zone UTC, PCA backend sql' in text
    assert "loading (threshold 0.1): 9 flagged in 3 hours; flags more than 25% of the users in 2 of them" in text
    assert "The anomalies, ranked (the first 2 of 10):" in text
    table = text.splitlines()[-2:]
    # an expected count of -5.551e-17 is float noise: 0
    assert table[0].split() == ["a", "12", "2017-01-12", "303", "0", "30.27", "7", "residual"]
    assert table[1].split() == ["b", "5", "0.3", "0.1", "loading"]
    assert anomaly_table([]) == "No anomalous users."


def test_the_new_anomalies_are_listed_after_the_ranked_list_and_marked_in_the_report() -> None:
    burst = anomaly(12, "residual", 1, "a", 30.27, evidence_day=DAYS[11], flow_count=303, expected_flow_count=3.7, is_new=True)
    older = anomaly(5, "residual", 1, "b", 14.0, evidence_day=DAYS[2], flow_count=40, expected_flow_count=2.0, is_new=False)
    summaries = method_summaries([burst, older], {5: HourSize(14, 20), 12: HourSize(14, 20)}, ("residual",))
    found = Provenance({hour: a_build(run_date=DAYS[-1]) for hour in range(24)})

    text = results_text(found, summaries, [burst, older])
    ranked_part, new_part = text.split("New anomalies, first raised by this run of 2017-01-14 (1 in all):")
    assert "b " in ranked_part and "a " in ranked_part
    assert [line.split()[:3] for line in new_part.strip().splitlines()[2:]] == [["a", "12", "2017-01-12"]]

    none_new = results_text(found, summaries, [{**burst, "is_new": False}, older])
    assert none_new.endswith("No new anomalies: every flag of this run was raised before 2017-01-14 (see anomaly_history).")
    # rows that do not say (a project built before the history existed) print nothing about it
    assert "new anomalies" not in results_text(found, summaries, [{**burst, "is_new": None}]).lower()

    page = ranked_list(ranked([burst, older], summaries))
    assert "1 of them new" in page
    assert len(re.findall(r'<tr class="new">', page)) == 1 and "<bdi>a</bdi>" in page.split('<tr class="new">')[1].split("</tr>")[0]


def test_names_are_shown_with_their_hidden_characters_visible_and_cut() -> None:
    assert visible("rtl\u202egnp.exe") == "rtl\\u202egnp.exe"
    assert visible("\x1b[31mred\x1b[0m\r") == "\\x1b[31mred\\x1b[0m\\x0d"
    assert visible("zero\u200bwidth\ufeff") == "zero\\u200bwidth\\ufeff"
    assert visible("日本語 é✓ אבג") == "日本語 é✓ אבג"
    assert visible("x" * 100_000) == "x" * NAME_LIMIT + "… (100,000 characters)"
    assert number_text(-5.551e-17) == "0" and number_text(-0.0) == "0" and number_text(123456.7) == "123457"


def test_the_csv_quotes_control_characters_and_neutralises_formulas(tmp_path: Path) -> None:
    names = ["cr\ronly", "lf\nonly", "tab\there", '=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tlead", 'q"uote', "a,b", "plain"]
    rows = [anomaly(12, "residual", rank, name, 10.0 - rank, evidence_day=DAYS[0], flow_count=5, expected_flow_count=-1.5)
            for rank, name in enumerate(names, 1)]
    path = tmp_path / "a.csv"
    path.write_text(export.to_csv(rows), encoding="utf-8", newline="")

    with path.open(newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))

    assert len(read) == len(names)
    assert [row["user_name"] for row in read] == [
        "cr\ronly", "lf\nonly", "tab\there", '\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "'\tlead", 'q"uote', "a,b", "plain"
    ]
    # numbers are the export's own, negative ones included: never neutralised
    assert {row["expected_flow_count"] for row in read} == {"-1.5"}
    assert export.csv_field("user_name", "cr\ronly") == '"cr\ronly"'
    assert export.csv_field("user_name", "plain") == "plain"


def test_a_run_folder_is_unique_to_its_data_set_and_settings() -> None:
    def folder(**changes: Any) -> str:
        return export.folder_name(Provenance({hour: a_build(**changes) for hour in range(24)}))

    base = folder()
    assert re.fullmatch(r"2017-01-14_flow_log_[0-9a-f]{8}", base)
    assert folder(invocation_id="inv-2", pca_backend="plpython", given_vars={"hour_id": 3}) == base
    others = [
        folder(source_relation='"test"."raw"."flow_log_b"'),
        folder(source_relation='"test"."other"."flow_log"'),
        folder(user_column="src_ip"),
        folder(timezone="Europe/Berlin"),
        folder(residual_threshold=5.0),
        folder(given_vars={"residual_damp_at": 3}),
        folder(run_date=date(2017, 1, 10)),
    ]
    assert len({base, *others}) == len(others) + 1
    assert export.folder_name(Provenance({0: a_build(source_relation='"d"."s"."../../etc passwd"')})).startswith("2017-01-14_etc_passwd_")


def test_the_report_shows_hidden_characters_and_stays_small_with_a_huge_name() -> None:
    huge = "h" * 100_000
    rows = [
        anomaly(12, "residual", 1, huge, 30.0, evidence_day=DAYS[11], flow_count=303, expected_flow_count=-5.551e-17),
        anomaly(12, "residual", 2, "rtl\u202egnp.exe", 20.0, evidence_day=DAYS[3], flow_count=40, expected_flow_count=3.0),
        anomaly(12, "residual", 3, "\x1b[31mred", 10.0, evidence_day=DAYS[4], flow_count=30, expected_flow_count=3.0),
    ]
    data = ReportData(
        provenance=Provenance({hour: a_build() for hour in range(24)}),
        differing_vars={},
        anomalies=rows,
        hours={12: HourSize(14, 50)},
        scree={12: [Component(1, 0.9)]},
        counts={(12, row["user_name"]): [(day, 3) for day in DAYS] for row in rows},
        heat=[HeatCell(12, DAYS[11], 400, 30.0, 1, huge[:200])],
    )

    page = render_report(data)

    assert huge[: NAME_LIMIT + 1] not in page and len(page.encode()) < 60_000
    assert "\u202e" not in page and "\x1b" not in page
    assert '<span class="ctl">\\u202e</span>' in page and '<span class="ctl">\\x1b</span>' in page
    assert "e-17" not in page


def test_the_report_stays_small_with_many_flagged_users() -> None:
    days = [date(2017, 1, 1) + timedelta(days=i) for i in range(90)]
    users = [f"user-{i:05d}" for i in range(20_000)]
    anomalies = [
        {"hour_of_day": hour, "method": method, "anomaly_rank": rank, "user_name": user, "score": 1.0 / rank,
         "threshold": 0.1, "evidence_day": days[rank % 90] if method == "residual" else None,
         "first_evidence_day": days[rank % 90] if method == "residual" else None,
         "last_evidence_day": days[rank % 90] if method == "residual" else None,
         "evidence_component": None, "flow_count": 40, "expected_flow_count": 2.5, "kept_components": 88}
        for hour in range(24) for method in ("residual", "loading") for rank, user in enumerate(users[:500], start=1)
    ]
    window = {"window_first_day": days[0], "window_last_day": days[-1], "window_days": 90}
    data = ReportData(
        provenance=Provenance({hour: a_build(**window) for hour in range(24)}),
        differing_vars={"scoring_method": "both"},
        anomalies=anomalies,
        hours={hour: HourSize(90, 20_000) for hour in range(24)},
        scree={hour: [Component(i, 0.99 / 88) for i in range(1, 89)] for hour in range(24)},
        counts={(hour, user): [(day, i % 20) for i, day in enumerate(days)] for hour in range(24) for user in users[:CHART_LIMIT]},
        heat=[HeatCell(hour, day, 5000 + i, 3.0, 1, "user-00001") for hour in range(24) for i, day in enumerate(days)],
    )

    page = render_report(data)

    assert len(page.encode()) < 2_000_000
    assert page.count('class="user-chart"') == 24 * CHART_LIMIT
    assert page.count(f"residual: {500 - TABLE_LIMIT} more in anomalous_users.csv") == 24
    assert f"{24 * 1000 - RANKED_LIMIT} more in anomalous_users.csv" in page


def test_a_burst_far_above_the_other_days_does_not_flatten_them() -> None:
    # the other days (at most 5) keep the chart's height; the burst of 303 is cut and written
    assert chart_scale([303, 5, 3, 4], median=3.5, expected=3.7) == pytest.approx(6.25)
    assert chart_scale([9, 5, 3, 4], median=3.5, expected=3.7) == 9
    svg = counts_svg("a", [(day, 303 if i == 11 else 3) for i, day in enumerate(DAYS)], DAYS[11], 3.7)
    assert ">303</text>" in svg and "median 3</text>" in svg


def test_two_runs_on_two_tables_with_the_same_last_day_keep_both_results(project: Project) -> None:
    """The second table holds the same flows with the user as an inet source address: it is
    exported as 10.0.0.6, as other logs show it, not 10.0.0.6/32; a network keeps its mask."""
    project.build(project.load_sample_events())
    first = export.write_run_files(project.runs_dir, project.env, Relations.of_build(project.target_dir))
    project.db.execute(f"""
        create table "{project.schema}".events_inet as
        select
            case when user_name = 'b' then inet '10.0.1.0/24' else ('10.0.0.' || (ascii(user_name) - 96))::inet end as src_ip,
            start_time
        from "{project.schema}".events
    """)

    project.build({"events_table": "events_inet", "user_column": "src_ip"})
    second = export.write_run_files(project.runs_dir, project.env, Relations.of_build(project.target_dir))

    assert first.csv.parent != second.csv.parent
    assert first.csv.parent.name.startswith("2017-01-14_events_") and second.csv.parent.name.startswith("2017-01-14_events_inet_")
    assert (project.runs_dir / "latest").resolve() == second.csv.parent
    for files in (first, second):
        assert all(path.exists() for path in (files.csv, files.jsonl, files.report))
    assert [row[3] for row in read_csv(first.csv)] == ["a"]
    assert [row[3] for row in read_csv(second.csv)] == ["10.0.0.1"]
    users = {user for (user,) in project.db.rows(f'select distinct user_name from "{project.schema}".int_pca_input')}
    assert "10.0.0.6" in users and "10.0.1.0/24" in users and not any(user.endswith("/32") for user in users)
    assert "events_inet" in second.report.read_text(encoding="utf-8") and "events_inet" not in first.report.read_text(encoding="utf-8")


def write_tiny_flows(project: Project) -> dict[str, str]:
    """The generator's tiny data set (20 users, two weeks from 2024-01-01) in the test's schema:
    four planted bursts and three collective events (a holiday on 2024-01-09, an outage at
    14:00-15:59 on 2024-01-12, an update at 10:00 on 2024-01-11)."""
    project.db.execute(f'create schema if not exists "{project.schema}"')
    with project.db.connect() as connection:
        flowgen.write(connection, project.schema, "tiny_flows", flowgen.plan(flowgen.PRESETS["tiny"]))
    return {"events_table": "tiny_flows"}


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium is not at {CHROMIUM} (CI installs it)")
def test_the_report_of_a_burst_and_a_collective_event_renders_in_chromium(project: Project, tmp_path: Path) -> None:
    # the tiny preset holds a natural extreme (u00015 at 20:00 on 2024-01-08, 129 flows where
    # about 30 are usual) that the default residual_threshold 5.5 flags; this test is about how
    # the planted bursts render, so it sets the threshold only they pass
    project.build({**write_tiny_flows(project), "residual_threshold": 7})
    files = export.write_run_files(project.runs_dir, project.env, Relations.of_build(project.target_dir))
    url = files.report.as_uri()

    dom = chromium(url, tmp_path / "profile", "--dump-dom")

    provenance = re.search(r'<section id="provenance">.*?</section>', dom, flags=re.S)
    assert provenance, "no provenance header"
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", provenance[0]))
    source = f'"{project.env["PGDATABASE"]}"."{project.schema}"."tiny_flows"'
    assert facts["Source"] == f"{source}, user column user_name, time column start_time"
    assert facts["Window"].startswith("2024-01-01 to 2024-01-14, 14 days with data")
    assert facts["Time zone"] == "UTC" and "threshold 7" in facts["Methods"]
    assert facts["Vars given"] == "events_table: tiny_flows, residual_threshold: 7"
    assert re.fullmatch(r"[0-9,]+ flows, 20 users, [0-9,]+ \(hour, day, user\) cells", facts["Counted"])
    ranked_list = re.search(r'<table class="ranked-all">.*?<tbody>(.*?)</tbody>', dom, flags=re.S)
    assert ranked_list, "no ranked list"
    first_row = re.search(r"<tr[^>]*>(.*?)</tr>", ranked_list[1])
    assert first_row
    first = re.findall(r"<td[^>]*>(.*?)</td>", first_row[1])
    assert first[:4] == ["<bdi>u00004</bdi>", "00:00", "2024-01-04", "80"] and first[-1] == "residual"
    heat = re.search(r'<svg class="heatmap".*?</svg>', dom, flags=re.S)
    assert heat, "no heat map"
    # each planted burst is a dot, and no collective event is
    dots = set(re.findall(r'<circle class="burst" data-day="([0-9-]+)" data-hour="([0-9]+)"', heat[0]))
    truth = flowgen.truth_rows(flowgen.plan(flowgen.PRESETS["tiny"]))
    assert dots == {(row.day.isoformat(), str(row.hour_of_day)) for row in truth if row.kind == "burst"}
    # the outage's hours are the darkest blue of the map: far fewer flows than on the usual day
    assert re.search(r'<path fill="#3182bd" d="[^"]*"', heat[0])
    screenshot = files.report.parent / "report.png"
    chromium(url, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,2400")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
