"""The files of a run: the export equals the anomalous_users mart, files are replaced whole, and
the HTML report escapes what it shows, stays small, and renders in headless Chromium."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from orchestrate.results import export
from orchestrate.results.report import ANOMALY_COLUMNS, Component, HourSize, Relations, ReportData, anomaly_table
from orchestrate.results.report_html import CHART_LIMIT, TABLE_LIMIT, render_report
from orchestrate.tests.chromium import CHROMIUM, chromium
from orchestrate.tests.conftest import Project

HOSTILE = """<script>alert("x")</script> & 'q' é✓"""
DAYS = [date(2017, 1, 1) + timedelta(days=i) for i in range(14)]
# (hour_of_day, user_name, method, score, threshold, evidence_day, evidence_component, flow_count,
#  expected_flow_count, kept_components): the scored rows of the hand-made mart
SCORES = [
    (12, "a", "residual", 90000.5, 100.25, date(2017, 1, 12), None, 303, 4.5, 2),
    (12, HOSTILE, "residual", 400.0, 100.25, date(2017, 1, 3), None, 40, 3.0, 2),
    (12, "b", "residual", 5.0, 100.25, date(2017, 1, 4), None, 3, 2.0, 2),
    (12, "a", "loading", 0.97, 0.1, None, 1, None, None, 3),
    (12, "b", "loading", 0.05, 0.1, None, 2, None, None, 3),
    (3, "c", "loading", 0.5, 0.1, None, 1, None, None, 1),
]


@pytest.fixture
def marts(project: Project) -> Iterator[Relations]:
    """The three relations the export and the report read, made by hand with the marts' columns."""
    schema = f'"{project.schema}"'
    project.db.execute(f"""
        create schema {schema};
        create table {schema}.user_outlier_scores (
            hour_of_day int, user_name text, method text, score float8, threshold float8,
            evidence_day date, evidence_component int, flow_count bigint, expected_flow_count float8,
            kept_components int, is_anomalous boolean
        );
        create table {schema}.int_pca_input (
            hour_of_day int, day_id int, name_id int, user_name text, day date, flow_count bigint
        );
        create table {schema}.pca_components (
            hour_of_day int, row_id int, principal_components float8[], std_dev float8, proportion float8
        );
        insert into {schema}.pca_components values
            (12, 1, null, 9.0, 0.8), (12, 2, null, 3.0, 0.15), (12, 3, null, 1.0, 0.05), (3, 1, null, 2.0, 1.0);
    """)
    with project.db.connect() as connection, connection.cursor() as cursor:
        cursor.executemany(
            f"insert into {schema}.user_outlier_scores values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s > %s)",
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
            kept_components
        from {schema}.user_outlier_scores
        where is_anomalous
    """)
    yield Relations(f"{schema}.anomalous_users", f"{schema}.pca_components", f"{schema}.int_pca_input")


def mart_rows(project: Project, relations: Relations) -> list[tuple[Any, ...]]:
    return project.db.rows(
        f"select {', '.join(ANOMALY_COLUMNS)} from {relations.anomalous_users} order by hour_of_day, method, anomaly_rank"
    )


def read_csv(path: Path) -> list[tuple[Any, ...]]:
    """The exported CSV back as typed values, by the export's conventions."""
    types = {
        "hour_of_day": int, "anomaly_rank": int, "evidence_component": int, "flow_count": int,
        "kept_components": int, "score": float, "threshold": float, "expected_flow_count": float,
        "evidence_day": date.fromisoformat,
    }
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == ANOMALY_COLUMNS
        return [
            tuple(None if row[c] == "" else types.get(c, str)(row[c]) for c in ANOMALY_COLUMNS)  # type: ignore[operator]
            for row in reader
        ]


def test_export_holds_exactly_the_mart_rows_in_order(project: Project, marts: Relations, tmp_path: Path) -> None:
    files = export.write_run_files(tmp_path / "runs", project.env, marts, None)

    expected = mart_rows(project, marts)
    assert len(expected) == 4
    assert files.csv == tmp_path / "runs" / "2017-01-14" / "anomalous_users.csv"
    assert read_csv(files.csv) == expected
    lines = files.jsonl.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {column: value.isoformat() if isinstance(value, date) else value for column, value in zip(ANOMALY_COLUMNS, row)}
        for row in expected
    ]
    assert "é✓" in files.jsonl.read_text(encoding="utf-8")  # UTF-8 as is, not \u escapes


def test_the_run_date_names_the_folder(project: Project, marts: Relations, tmp_path: Path) -> None:
    files = export.write_run_files(tmp_path / "runs", project.env, marts, date(2017, 1, 10))

    assert files.report == tmp_path / "runs" / "2017-01-10" / "report.html"
    assert sorted(path.name for path in files.report.parent.iterdir()) == [
        "anomalous_users.csv", "anomalous_users.jsonl", "report.html"
    ]


def test_a_rerun_replaces_the_files_and_a_crash_leaves_the_old_ones(
    project: Project, marts: Relations, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = export.write_run_files(tmp_path / "runs", project.env, marts, None)
    project.db.execute(f'delete from "{project.schema}".user_outlier_scores where user_name = \'c\'')

    second = export.write_run_files(tmp_path / "runs", project.env, marts, None)

    assert read_csv(second.csv) == mart_rows(project, marts) and len(second.anomalies) == 3
    kept = {path: path.read_bytes() for path in (first.csv, first.jsonl, first.report)}
    project.db.execute(f'delete from "{project.schema}".user_outlier_scores where user_name = \'a\'')

    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(export.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        export.write_run_files(tmp_path / "runs", project.env, marts, None)

    assert {path: path.read_bytes() for path in kept} == kept
    assert sorted(path.name for path in first.csv.parent.iterdir()) == sorted(path.name for path in kept)


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
    page = export.write_run_files(tmp_path / "runs", project.env, marts, None).report.read_text(encoding="utf-8")

    assert HOSTILE not in page and "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27; é✓" in page
    document = Document(page)
    assert "script" not in document.tags
    assert document.users == ["c", "a", HOSTILE]


def test_the_anomaly_table_shows_the_top_ranks_of_each_hour_and_method() -> None:
    rows = [dict(zip(("hour_of_day", "method", "user_name", "anomaly_rank"), row)) for row in
            [(3, "loading", "c", 1), (12, "residual", "a", 1), (12, "residual", "b", 2)]]
    for row in rows:
        row.update(score=1 / 3, evidence_day=None, flow_count=None, expected_flow_count=None)

    lines = anomaly_table(rows, top=1).splitlines()

    assert lines[0].split() == ["hour", "method", "rank", "user", "score", "evidence_day", "flow_count", "expected_flow_count"]
    assert [line.split() for line in lines[2:]] == [["3", "loading", "1", "c", "0.3333"], ["12", "residual", "1", "a", "0.3333"]]
    assert anomaly_table([]) == "No anomalous users."


def test_the_report_stays_small_with_many_flagged_users() -> None:
    days = [date(2017, 1, 1) + timedelta(days=i) for i in range(90)]
    users = [f"user-{i:05d}" for i in range(20_000)]
    anomalies = [
        {"hour_of_day": hour, "method": method, "anomaly_rank": rank, "user_name": user, "score": 1.0 / rank,
         "threshold": 0.1, "evidence_day": days[rank % 90] if method == "residual" else None,
         "evidence_component": None, "flow_count": 40, "expected_flow_count": 2.5, "kept_components": 88}
        for hour in range(24) for method in ("residual", "loading") for rank, user in enumerate(users[:500], start=1)
    ]
    data = ReportData(
        run_date=days[-1],
        anomalies=anomalies,
        hours={hour: HourSize(90, 20_000) for hour in range(24)},
        scree={hour: [Component(i, 0.99 / 88) for i in range(1, 89)] for hour in range(24)},
        counts={(hour, user): [(day, i % 20) for i, day in enumerate(days)] for hour in range(24) for user in users[:CHART_LIMIT]},
    )

    page = render_report(data)

    assert len(page.encode()) < 2_000_000
    assert page.count('class="user-chart"') == 24 * CHART_LIMIT
    assert page.count(f"residual: {500 - TABLE_LIMIT} more in anomalous_users.csv") == 24


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium is not at {CHROMIUM} (CI installs it)")
def test_the_report_of_the_sample_renders_in_chromium(built_project: Project, tmp_path: Path) -> None:
    files = export.write_run_files(tmp_path / "runs", built_project.env, Relations.of_build(built_project.target_dir), None)
    url = files.report.as_uri()

    dom = chromium(url, tmp_path / "profile", "--dump-dom")

    section = re.search(r'<section id="hour-12">.*?</section>', dom, flags=re.S)
    assert section, "no section for hour 12"
    assert re.search(r'<svg class="scree"[^>]*>.*?<path class="bar"', section[0], flags=re.S)
    assert re.search(r'<figure class="user-chart" data-user="a"><svg class="counts"[^>]*>.*?<path class="hit"', section[0], flags=re.S)
    ranked = re.search(r'<table class="ranked">.*?</table>', section[0], flags=re.S)
    assert ranked and re.search(r'<td class="text">residual</td><td>1</td><td class="text">a</td>', ranked[0])
    screenshot = files.report.parent / "report.png"
    chromium(url, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,2000")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
