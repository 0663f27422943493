"""What a run produced, read back from the database for people to look at: the anomaly table as
text, and the data of the static HTML report (drawn by `orchestrate.results.report_html`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg2

from orchestrate.database import connection_parameters

PROJECT_NAME = "netflow_pca"
# the columns of anomalous_users, in the order the export and the report show them
ANOMALY_COLUMNS = (
    "hour_of_day",
    "method",
    "anomaly_rank",
    "user_name",
    "score",
    "threshold",
    "evidence_day",
    "evidence_component",
    "flow_count",
    "expected_flow_count",
    "kept_components",
)
# the columns of the printed anomaly table, with the headings they are printed under
TABLE_HEADINGS = {
    "hour_of_day": "hour",
    "method": "method",
    "anomaly_rank": "rank",
    "user_name": "user",
    "score": "score",
    "evidence_day": "evidence_day",
    "flow_count": "flow_count",
    "expected_flow_count": "expected_flow_count",
}


def relation_name(target_dir: Path, model: str) -> str:
    """The quoted relation a model was built into, as dbt's manifest records it."""
    manifest_path = target_dir / "manifest.json"
    try:
        nodes = json.loads(manifest_path.read_text())["nodes"]
        return str(nodes[f"model.{PROJECT_NAME}.{model}"]["relation_name"])
    except (OSError, KeyError, ValueError):
        raise LookupError(f"model {model} is not in {manifest_path}: run dbt first") from None


def query(environ: Mapping[str, str], sql: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one query, on the server the libpq variables name."""
    with psycopg2.connect(**connection_parameters(environ)) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column.name for column in cursor.description or []]
        return columns, cursor.fetchall()


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, numbers right-aligned, NULL as an empty cell."""
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric)
        ).rstrip()

    return "\n".join([line(columns), line(["-" * width for width in widths]), *(line(row) for row in cells)])


@dataclass(frozen=True)
class Relations:
    """The relations the results are read from."""

    anomalous_users: str
    pca_components: str
    pca_input: str

    @classmethod
    def of_build(cls, target_dir: Path) -> Relations:
        """Those dbt built, as its manifest in target_dir records them."""
        return cls(*(relation_name(target_dir, model) for model in ("anomalous_users", "pca_components", "int_pca_input")))


@dataclass(frozen=True)
class HourSize:
    """An hour's matrix: its days (rows) and users (columns)."""

    days: int
    users: int


@dataclass(frozen=True)
class Component:
    row_id: int
    proportion: float


@dataclass(frozen=True)
class ReportData:
    """Everything the HTML report shows, read in a few queries."""

    run_date: date
    anomalies: list[dict[str, Any]]
    hours: dict[int, HourSize]
    scree: dict[int, list[Component]]
    # (hour_of_day, user_name) of a charted user: the user's count on each day of that hour
    counts: dict[tuple[int, str], list[tuple[date, int]]]


def anomalies(environ: Mapping[str, str], relations: Relations) -> list[dict[str, Any]]:
    """Every row of anomalous_users, by hour_of_day, method and anomaly_rank."""
    columns, rows = query(environ, f"""
        select {", ".join(ANOMALY_COLUMNS)}
        from {relations.anomalous_users}
        order by hour_of_day, method, anomaly_rank
    """)
    return [dict(zip(columns, row)) for row in rows]


def last_day(environ: Mapping[str, str], relations: Relations) -> date | None:
    """The last day of the PCA input (None when it is empty)."""
    _, rows = query(environ, f"select max(day) from {relations.pca_input}")
    return rows[0][0]


def _rounded(value: Any) -> Any:
    return float(f"{value:.4g}") if isinstance(value, float) else value


def anomaly_table(rows: Sequence[Mapping[str, Any]], top: int = 3) -> str:
    """The anomaly table as text: the first `top` ranks of each hour and method."""
    shown = [[_rounded(row[column]) for column in TABLE_HEADINGS] for row in rows if row["anomaly_rank"] <= top]
    if not shown:
        return "No anomalous users."
    return format_table(list(TABLE_HEADINGS.values()), shown)


def charted_users(rows: Sequence[Mapping[str, Any]], limit: int) -> dict[int, list[str]]:
    """Per hour, the flagged users to chart: by their best rank over the methods, then name."""
    best: dict[tuple[int, str], int] = {}
    for row in rows:
        key = (row["hour_of_day"], row["user_name"])
        best[key] = min(best.get(key, row["anomaly_rank"]), row["anomaly_rank"])
    charted: dict[int, list[str]] = {}
    for (hour, user), _ in sorted(best.items(), key=lambda item: (item[0][0], item[1], item[0][1])):
        users = charted.setdefault(hour, [])
        if len(users) < limit:
            users.append(user)
    return charted


def _hour_sizes(environ: Mapping[str, str], relations: Relations) -> dict[int, HourSize]:
    _, rows = query(environ, f"""
        select hour_of_day, max(day_id), max(name_id)
        from {relations.pca_input}
        group by hour_of_day
    """)
    return {hour: HourSize(days, users) for hour, days, users in rows}


def _scree(environ: Mapping[str, str], relations: Relations, hours: Sequence[int]) -> dict[int, list[Component]]:
    _, rows = query(environ, f"""
        select hour_of_day, row_id, proportion
        from {relations.pca_components}
        where hour_of_day = any(%s)
        order by hour_of_day, row_id
    """, (list(hours),))
    scree: dict[int, list[Component]] = {}
    for hour, row_id, proportion in rows:
        scree.setdefault(hour, []).append(Component(row_id, proportion))
    return scree


def _daily_counts(
    environ: Mapping[str, str], relations: Relations, users: Mapping[int, Sequence[str]]
) -> dict[tuple[int, str], list[tuple[date, int]]]:
    """The counts of the given users on every day of their hour's matrix, absent days as 0."""
    pairs = [(hour, user) for hour, names in users.items() for user in names]
    _, rows = query(environ, f"""
        with charted as (
            select * from unnest(%s::int[], %s::text[]) as charted (hour_of_day, user_name)
        ),
        hour_days as (
            select distinct hour_of_day, day
            from {relations.pca_input}
            where hour_of_day in (select hour_of_day from charted)
        )
        select charted.hour_of_day, charted.user_name, hour_days.day, coalesce(counts.flow_count, 0)
        from charted
        join hour_days on hour_days.hour_of_day = charted.hour_of_day
        left join {relations.pca_input} as counts
            on counts.hour_of_day = charted.hour_of_day
            and counts.user_name = charted.user_name
            and counts.day = hour_days.day
        order by 1, 2, 3
    """, ([hour for hour, _ in pairs], [user for _, user in pairs]))
    counts: dict[tuple[int, str], list[tuple[date, int]]] = {}
    for hour, user, day, flow_count in rows:
        counts.setdefault((hour, user), []).append((day, int(flow_count)))
    return counts


def report_data(
    environ: Mapping[str, str], relations: Relations, run_date: date, rows: list[dict[str, Any]], chart_limit: int
) -> ReportData:
    """What the report of these anomalous_users rows needs from the database."""
    users = charted_users(rows, chart_limit)
    return ReportData(
        run_date=run_date,
        anomalies=rows,
        hours=_hour_sizes(environ, relations),
        scree=_scree(environ, relations, sorted(users)),
        counts=_daily_counts(environ, relations, users),
    )
