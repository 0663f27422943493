"""What a run produced, read back from the database for people to look at: the anomaly table as
text, and the data of the static HTML report (drawn by `orchestrate.results.report_html`)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors

from orchestrate.database import connection_parameters
from orchestrate.results.display import number_text, visible
from orchestrate.run.options import project_vars
from orchestrate.run.runner import PROJECT_DIR

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
    "first_evidence_day",
    "last_evidence_day",
    "evidence_component",
    "flow_count",
    "expected_flow_count",
    "kept_components",
)
# the columns of the printed ranked list, with the headings they are printed under
TABLE_HEADINGS = {
    "user_name": "user",
    "hour_of_day": "hour",
    "evidence_day": "day",
    "flow_count": "flows",
    "expected_flow_count": "expected",
    "score": "score",
    "threshold": "threshold",
    "method": "method",
}
# names in the printed table are cut to this many characters
TABLE_NAME_LIMIT = 40


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
    user_outlier_scores: str
    pca_components: str
    pca_input: str
    pipeline_runs: str
    # anomalous_users with whether each row is new; None for a project built before it existed
    anomalous_users_novelty: str | None = None

    @classmethod
    def of_build(cls, target_dir: Path) -> Relations:
        """Those dbt built, as its manifest in target_dir records them."""
        models = ("anomalous_users", "user_outlier_scores", "pca_components", "int_pca_input", "pipeline_runs")
        try:
            novelty: str | None = relation_name(target_dir, "anomalous_users_novelty")
        except LookupError:
            novelty = None
        return cls(*(relation_name(target_dir, model) for model in models), anomalous_users_novelty=novelty)


@dataclass(frozen=True)
class Build:
    """One row of pipeline_runs: what one dbt build read, with which settings, and what it counted."""

    invocation_id: str
    run_started_at: datetime
    hour_id: int | None
    run_date: date | None
    lookback_days: int
    window_first_day: date | None
    window_last_day: date | None
    window_days: int | None
    timezone: str
    source_relation: str
    user_column: str
    time_column: str
    scoring_methods: tuple[str, ...]
    residual_threshold: float | None
    loading_threshold: float | None
    variance_target: str
    pca_backend: str
    events_counted: int
    users_counted: int
    cells_counted: int
    given_vars: dict[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Build:
        """The build of a pipeline_runs row; columns added to the model later are left out."""
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["scoring_methods"] = tuple(str(row["scoring_methods"]).split(","))
        values["given_vars"] = dict(row["given_vars"] or {})
        return cls(**values)

    @property
    def settings(self) -> dict[str, Any]:
        """What makes this build's results those of a data set and a configuration: the source,
        its columns, the time zone, the window's length and the methods' settings. Two builds with
        equal settings and the same last day describe the same results."""
        given = {name: value for name, value in self.given_vars.items() if name not in SETTINGS_APART}
        return {
            "source_relation": self.source_relation,
            "user_column": self.user_column,
            "time_column": self.time_column,
            "timezone": self.timezone,
            "lookback_days": self.lookback_days,
            "scoring_methods": list(self.scoring_methods),
            "residual_threshold": self.residual_threshold,
            "loading_threshold": self.loading_threshold,
            "variance_target": self.variance_target,
            "vars": given,
        }

    @property
    def describes(self) -> tuple[Any, ...]:
        """The settings and the window: builds equal in these hold the same results."""
        return (self.settings, self.run_date, self.window_first_day, self.window_last_day)

    @property
    def thresholds(self) -> dict[str, float]:
        """Each method that ran, with its threshold."""
        return {
            method: threshold
            for method, threshold in (("residual", self.residual_threshold), ("loading", self.loading_threshold))
            if method in self.scoring_methods and threshold is not None
        }

    def differing_vars(self, defaults: Mapping[str, Any]) -> dict[str, Any]:
        """The vars the build was given whose values differ from the project's defaults."""
        return {name: value for name, value in sorted(self.given_vars.items()) if defaults.get(name) != value}


# given vars that other columns of a build already say, or that do not change what it describes
SETTINGS_APART = frozenset(
    {"hour_id", "run_date", "lookback_days", "recount_days", "pca_backend", "pca_functions_schema", "madlib_schema"}
)


@dataclass(frozen=True)
class Provenance:
    """What the marts hold: per hour of the day, the last build that replaced it."""

    by_hour: dict[int, Build]

    @property
    def latest(self) -> Build:
        return max(self.by_hour.values(), key=lambda build: build.run_started_at)

    @property
    def day(self) -> date | None:
        """The day the results are of: the run_date, else the last day of the window's data."""
        return self.latest.run_date or self.latest.window_last_day

    def other_builds(self) -> list[tuple[Build, list[int]]]:
        """The builds with other settings or another window than the latest that the rows of
        some hours come from, with those hours; most recent first."""
        latest = self.latest.describes
        hours: dict[str, list[int]] = {}
        builds: dict[str, Build] = {}
        for hour, build in sorted(self.by_hour.items()):
            if build.describes != latest:
                hours.setdefault(build.invocation_id, []).append(hour)
                builds[build.invocation_id] = build
        return sorted(((builds[key], value) for key, value in hours.items()), key=lambda item: item[0].run_started_at, reverse=True)


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
class HeatCell:
    """One day and hour of the window: the flows of all users, and the residual method's largest
    evidence on it, with the user it belongs to and how many users it flagged."""

    hour_of_day: int
    day: date
    flows: int
    evidence: float | None
    flagged: int
    top_user: str | None


@dataclass(frozen=True)
class ReportData:
    """Everything the HTML report shows, read in a few queries."""

    provenance: Provenance
    # the vars of the latest build that differ from the project's defaults
    differing_vars: dict[str, Any]
    anomalies: list[dict[str, Any]]
    hours: dict[int, HourSize]
    scree: dict[int, list[Component]]
    # (hour_of_day, user_name) of a charted user: the user's count on each day of that hour
    counts: dict[tuple[int, str], list[tuple[date, int]]]
    heat: list[HeatCell]


def anomalies(environ: Mapping[str, str], relations: Relations) -> list[dict[str, Any]]:
    """Every row of anomalous_users, by hour_of_day, method and anomaly_rank."""
    columns, rows = query(environ, f"""
        select {", ".join(ANOMALY_COLUMNS)}
        from {relations.anomalous_users}
        order by hour_of_day, method, anomaly_rank
    """)
    return [dict(zip(columns, row)) for row in rows]


def with_novelty(environ: Mapping[str, str], relations: Relations, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows of anomalous_users, each with `is_new` (the build raised it first) and
    `first_raised_on` from anomalous_users_novelty; both None without that relation."""
    novelty: dict[tuple[int, str, str], tuple[bool, date]] = {}
    if relations.anomalous_users_novelty is not None:
        _, found = query(environ, f"""
            select hour_of_day, method, user_name, is_new, first_raised_on
            from {relations.anomalous_users_novelty}
        """)
        novelty = {(hour, method, user): (is_new, first) for hour, method, user, is_new, first in found}
    marked = []
    for row in rows:
        is_new, first = novelty.get((row["hour_of_day"], row["method"], row["user_name"]), (None, None))
        marked.append({**row, "is_new": is_new, "first_raised_on": first})
    return marked


def latest_builds(environ: Mapping[str, str], pipeline_runs: str) -> dict[int, Build]:
    """Per hour of the day, the last build recorded in pipeline_runs that replaced it; none when
    the table does not exist yet."""
    try:
        columns, rows = query(environ, f"""
            select distinct on (hours.hour_of_day) hours.hour_of_day as built_hour, runs.*
            from generate_series(0, 23) as hours (hour_of_day)
            inner join {pipeline_runs} as runs
                on runs.hour_id is null or runs.hour_id = hours.hour_of_day
            order by hours.hour_of_day, runs.run_started_at desc
        """)
    except psycopg2.errors.UndefinedTable:
        return {}
    return {row[0]: Build.from_row(dict(zip(columns, row))) for row in rows}


def provenance(environ: Mapping[str, str], relations: Relations) -> Provenance:
    """Per hour of the day, the last build recorded in pipeline_runs that replaced it."""
    builds = latest_builds(environ, relations.pipeline_runs)
    if not builds:
        raise LookupError(f"{relations.pipeline_runs} records no build: run dbt build first")
    return Provenance(builds)


# a method that flags more than this share of an hour's users (and at least MIN_BLIND of them)
# does not tell the users apart there: its flags rank after the others
BLIND_SHARE = 0.25
MIN_BLIND = 3


def is_blind(flagged: int, users: int) -> bool:
    """True when a method flagging `flagged` of an hour's `users` does not discriminate."""
    return flagged >= MIN_BLIND and flagged > BLIND_SHARE * users


@dataclass(frozen=True)
class MethodSummary:
    """What one method flagged over all hours: rows of anomalous_users, in which hours, and the
    hours where it flags so large a share of the users that it does not discriminate."""

    method: str
    flagged: int
    hours: list[int]
    blind_hours: list[int]


def method_summaries(
    rows: Sequence[Mapping[str, Any]], hours: Mapping[int, HourSize], methods: Sequence[str]
) -> list[MethodSummary]:
    """Per method that ran, what it flagged (`hours`: each hour's matrix, for its users)."""
    summaries = []
    for method in methods:
        by_hour = Counter(row["hour_of_day"] for row in rows if row["method"] == method)
        blind = [hour for hour, count in sorted(by_hour.items()) if is_blind(count, hours[hour].users if hour in hours else count)]
        summaries.append(MethodSummary(method, sum(by_hour.values()), sorted(by_hour), blind))
    return summaries


def blind_pairs(summaries: Sequence[MethodSummary]) -> set[tuple[str, int]]:
    """The (method, hour) pairs where a method does not discriminate."""
    return {(summary.method, hour) for summary in summaries for hour in summary.blind_hours}


def ranked(rows: Sequence[Mapping[str, Any]], summaries: Sequence[MethodSummary]) -> list[dict[str, Any]]:
    """The run's anomalies across hours and methods, most telling first: the flags of a method
    where it discriminates before those where it does not, then by how many times its
    threshold the score is (scores of different methods are on different scales)."""
    blind = blind_pairs(summaries)
    listed = [
        {**row, "times_threshold": row["score"] / row["threshold"], "blind": (row["method"], row["hour_of_day"]) in blind}
        for row in rows
    ]
    return sorted(listed, key=lambda row: (row["blind"], -row["times_threshold"], row["hour_of_day"], row["method"], row["anomaly_rank"]))


def _table_value(column: str, value: Any) -> Any:
    """A value as the printed table shows it: names made safe, floats to four digits (whole
    numbers without a decimal point)."""
    if column == "user_name":
        return visible(value, TABLE_NAME_LIMIT)
    if not isinstance(value, float):
        return value
    shown = float(number_text(value))
    return int(shown) if shown.is_integer() else shown


def anomaly_table(rows: Sequence[Mapping[str, Any]], top: int = 10) -> str:
    """The first `top` rows of a ranked list as text, names made safe for a terminal."""
    if not rows:
        return "No anomalous users."
    shown = [[_table_value(column, row[column]) for column in TABLE_HEADINGS] for row in rows[:top]]
    return format_table(list(TABLE_HEADINGS.values()), shown)


def method_lines(summaries: Sequence[MethodSummary], thresholds: Mapping[str, float]) -> list[str]:
    """One line per method: its threshold, what it flagged, and where it does not discriminate."""
    lines = []
    for summary in summaries:
        hours = f"in {len(summary.hours)} hour{'' if len(summary.hours) == 1 else 's'}" if summary.hours else ""
        line = f"{summary.method} (threshold {number_text(thresholds[summary.method])}): {summary.flagged} flagged {hours}".rstrip()
        if summary.blind_hours:
            line += (f"; flags more than {BLIND_SHARE:.0%} of the users in {len(summary.blind_hours)} of them:"
                     " it does not discriminate on this data")
        lines.append(line)
    return lines


def charted_users(rows: Sequence[Mapping[str, Any]], limit: int, blind: Set[tuple[str, int]] = frozenset()) -> dict[int, list[str]]:
    """Per hour, the flagged users to chart: first those a method flags where it discriminates
    (`blind` holds the (method, hour) pairs where it does not), by their best rank, then name."""
    best: dict[tuple[int, str], tuple[bool, int]] = {}
    for row in rows:
        key = (row["hour_of_day"], row["user_name"])
        priority = ((row["method"], row["hour_of_day"]) in blind, row["anomaly_rank"])
        best[key] = min(best.get(key, priority), priority)
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


def _heat(environ: Mapping[str, str], relations: Relations) -> list[HeatCell]:
    """Per day and hour of the window: the flows of all users, and the residual method's largest
    evidence among the users whose strongest day it is (user_outlier_scores keeps each user's
    strongest day), with that user (cut to a length worth showing) and the users flagged."""
    _, rows = query(environ, f"""
        with activity as (
            select hour_of_day, day, sum(flow_count) as flows
            from {relations.pca_input}
            group by hour_of_day, day
        ),
        evidence as (
            select
                hour_of_day,
                evidence_day as day,
                max(score) as evidence,
                count(*) filter (where is_anomalous) as flagged,
                (array_agg(left(user_name, 200) order by score desc, user_name collate "C"))[1] as top_user
            from {relations.user_outlier_scores}
            where method = 'residual' and evidence_day is not null
            group by hour_of_day, evidence_day
        )
        select
            coalesce(activity.hour_of_day, evidence.hour_of_day),
            coalesce(activity.day, evidence.day),
            coalesce(activity.flows, 0),
            evidence.evidence,
            coalesce(evidence.flagged, 0),
            evidence.top_user
        from activity
        full join evidence
            on activity.hour_of_day = evidence.hour_of_day
            and activity.day = evidence.day
        order by 1, 2
    """)
    return [HeatCell(hour, day, int(flows), evidence, int(flagged), user) for hour, day, flows, evidence, flagged, user in rows]


def report_data(
    environ: Mapping[str, str], relations: Relations, found: Provenance, rows: list[dict[str, Any]], chart_limit: int
) -> ReportData:
    """What the report of these anomalous_users rows needs from the database."""
    hours = _hour_sizes(environ, relations)
    summaries = method_summaries(rows, hours, found.latest.scoring_methods)
    users = charted_users(rows, chart_limit, blind_pairs(summaries))
    return ReportData(
        provenance=found,
        differing_vars=found.latest.differing_vars(project_vars(PROJECT_DIR)),
        anomalies=rows,
        hours=hours,
        scree=_scree(environ, relations, sorted(users)),
        counts=_daily_counts(environ, relations, users),
        heat=_heat(environ, relations),
    )


def build_line(build: Build) -> str:
    """The source, window, time zone and backend of a build, on one line."""
    if build.window_first_day is None or build.window_last_day is None:
        window = "no data in the window"
    else:
        window = f"{build.window_first_day.isoformat()} to {build.window_last_day.isoformat()} ({build.window_days} days with data)"
    return f"{visible(build.source_relation, 200)}, {window}, time zone {build.timezone}, PCA backend {build.pca_backend}"


def results_text(found: Provenance, summaries: Sequence[MethodSummary], rows: Sequence[Mapping[str, Any]], top: int = 10) -> str:
    """What a run found, for a terminal: what it describes, each method's count, and the first
    `top` anomalies of the ranked list."""
    listed = ranked(rows, summaries)
    shown = f"the first {top} of {len(listed)}" if len(listed) > top else f"{len(listed)} in all"
    lines = [
        f"Results: {build_line(found.latest)}",
        *(f"  {line}" for line in method_lines(summaries, found.latest.thresholds)),
        "",
        f"The anomalies, ranked ({shown}):" if listed else "No anomalous users.",
    ]
    if listed:
        lines += ["", anomaly_table(listed, top)]
    return "\n".join([*lines, "", *new_anomaly_lines(found, listed, top)]).rstrip()


def new_anomaly_lines(found: Provenance, listed: Sequence[Mapping[str, Any]], top: int = 10) -> list[str]:
    """The ranked anomalies the run raised first, or that it raised none; nothing when the rows
    do not say (a project built before anomaly_history existed)."""
    if all(row.get("is_new") is None for row in listed) and listed:
        return []
    new = [row for row in listed if row.get("is_new")]
    day = found.day.isoformat() if found.day else "the run's day"
    if not new:
        return [f"No new anomalies: every flag of this run was raised before {day} (see anomaly_history)."]
    shown = f"the first {top} of {len(new)}" if len(new) > top else f"{len(new)} in all"
    return [f"New anomalies, first raised by this run of {day} ({shown}):", "", anomaly_table(new, top)]


# what Markdown reads as markup inside a table cell
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|<>~])")


def markdown_table(rows: Sequence[Mapping[str, Any]], top: int = 10) -> str:
    """The first `top` rows of a ranked list as a Markdown table, names made safe."""
    if not rows:
        return "No anomalous users."
    headings = list(TABLE_HEADINGS.values())
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    for row in rows[:top]:
        cells = [_table_value(column, row[column]) for column in TABLE_HEADINGS]
        lines.append("| " + " | ".join(_MARKDOWN_SPECIAL.sub(r"\\\1", "" if cell is None else str(cell)) for cell in cells) + " |")
    return "\n".join(lines)
