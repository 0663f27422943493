"""Whether a run is a daily run or a full build, from what pipeline_runs recorded of the last build
of the same hours. `choose_run_kind` decides, a pure function tested without dbt; the runner and
the Dagster op both reach it through `recorded_run_kind`, which reads pipeline_runs, and say its
reason.

A daily run sets `recount_days`, so int_hourly_counts keeps the days it has counted and counts
only the new day and a margin for late events. That is right only when the counts it keeps are
those this run would count: the last build of the same hours had the same parameters (source,
columns, time zone, window length, methods and every other var given) and reported on the day
before (or the same day: a rerun). Anything else is a full build, which counts every day again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg2

from orchestrate.results.report import SETTINGS_APART, Build, latest_builds, relation_name
from orchestrate.run.options import ALL_HOURS

# the margin of a daily run: the last counted day is counted again, for events that arrive late
DAILY_RECOUNT_DAYS = 1


@dataclass(frozen=True)
class RunKind:
    """A run's kind: daily (the vars to add set recount_days) or full, and why, for people."""

    daily: bool
    reason: str
    vars: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{'Daily run' if self.daily else 'Full build'}: {self.reason}."


def _number_text(value: Any) -> str:
    """variance_target as pipeline_runs writes it, the text of the number the var is (5 is a
    count of components, 1.0 and 0.99 are fractions); a string var as the number it stands for."""
    if isinstance(value, str):
        try:
            return str(float(value))
        except ValueError:
            return value
    return str(value)


def _number(value: Any, kind: type = float) -> Any:
    """A threshold or a count as a number, to compare with pipeline_runs' columns; a value that
    is none is left as it is (dbt refuses it, naming the var, when the run starts)."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        return value


def _relation_parts(relation: str) -> list[str]:
    """The names of a quoted relation, "db"."schema"."table" (names never hold a quote)."""
    return [part.strip('"') for part in relation.split('"."')]


def requested_settings(vars: Mapping[str, Any], defaults: Mapping[str, Any], target_schema: str) -> dict[str, Any]:
    """What a run with these vars (over the project's defaults) would record, in the terms of
    pipeline_runs; `target_schema` is where an events table without events_schema lives."""
    effective = {**defaults, **vars}
    method = effective.get("scoring_method")
    methods = ("residual", "loading") if method == "both" else (str(method),)
    return {
        "events table": f"{effective.get('events_schema') or target_schema}.{effective.get('events_table')}",
        "user_column": effective.get("user_column"),
        "time_column": effective.get("time_column"),
        "timezone": effective.get("timezone"),
        "lookback_days": _number(effective.get("lookback_days"), int),
        "scoring_method": methods,
        "residual_threshold": _number(effective.get("residual_threshold")) if "residual" in methods else None,
        "loading_threshold": _number(effective.get("loading_threshold")) if "loading" in methods else None,
        "variance_target": _number_text(effective.get("variance_target")),
        "other vars": {name: value for name, value in sorted(vars.items()) if name not in SETTINGS_APART},
    }


def recorded_settings(build: Build) -> dict[str, Any]:
    """The same settings, as pipeline_runs recorded them for a build."""
    relation = _relation_parts(build.source_relation)
    return {
        "events table": ".".join(relation[-2:]),
        "user_column": build.user_column,
        "time_column": build.time_column,
        "timezone": build.timezone,
        "lookback_days": build.lookback_days,
        "scoring_method": tuple(build.scoring_methods),
        "residual_threshold": build.residual_threshold if "residual" in build.scoring_methods else None,
        "loading_threshold": build.loading_threshold if "loading" in build.scoring_methods else None,
        "variance_target": _number_text(build.variance_target),
        "other vars": {name: value for name, value in sorted(build.given_vars.items()) if name not in SETTINGS_APART},
    }


def _differences(recorded: Mapping[str, Any], requested: Mapping[str, Any]) -> list[str]:
    return [f"{name} {recorded[name]!r} then, {requested[name]!r} now" for name in requested if recorded[name] != requested[name]]


def _hours_text(hours: Sequence[int]) -> str:
    return f"hour{'s' if len(hours) > 1 else ''} {', '.join(str(hour) for hour in hours)}"


def choose_run_kind(
    run_date: date | None,
    hours: Sequence[int] | None,
    vars: Mapping[str, Any],
    defaults: Mapping[str, Any],
    last_builds: Mapping[int, Build],
    target_schema: str,
    full: bool = False,
) -> RunKind:
    """Daily or full: `vars` are the run's vars (run_date and lookback_days included), `defaults`
    the project's, `last_builds` the latest build recorded for each hour of the day, `full` the
    user's request for a full build. A recount_days the user gave is kept as given."""
    if full:
        return RunKind(False, "asked for")
    if "recount_days" in vars:
        given = vars["recount_days"]
        return RunKind(given is not None, f"recount_days is given ({given}), and kept")
    if run_date is None:
        return RunKind(False, "no run date given, so the window ends at the last day of the data, which may have moved by any number of days")
    wanted = sorted(hours) if hours is not None else list(ALL_HOURS)
    never = [hour for hour in wanted if hour not in last_builds]
    if len(never) == len(wanted):
        return RunKind(False, "pipeline_runs records no earlier build of these hours")
    if never:
        return RunKind(False, f"pipeline_runs records no earlier build of {_hours_text(never)}")
    requested = requested_settings(vars, defaults, target_schema)
    builds = {build.invocation_id: build for build in (last_builds[hour] for hour in wanted)}
    days = set()
    for build in sorted(builds.values(), key=lambda build: build.run_started_at, reverse=True):
        built = sorted(hour for hour in wanted if last_builds[hour].invocation_id == build.invocation_id)
        differences = _differences(recorded_settings(build), requested)
        if differences:
            return RunKind(False, f"the last build of {_hours_text(built) if len(built) < 24 else 'all hours'} "
                                  f"({build.run_started_at:%Y-%m-%d %H:%M} UTC) had other parameters: {'; '.join(differences)}")
        day = build.run_date or build.window_last_day
        if day is None:
            return RunKind(False, f"the last build of {_hours_text(built)} found no data in its window")
        days.add(day)
    if len(days) > 1:
        return RunKind(False, f"the last builds of these hours reported on different days ({', '.join(sorted(map(str, days)))})")
    [last_day] = days
    gap = (run_date - last_day).days
    daily = {"recount_days": DAILY_RECOUNT_DAYS}
    margin = "the day" if DAILY_RECOUNT_DAYS == 1 else f"the {DAILY_RECOUNT_DAYS} days"
    recount = f"counting only {run_date} and, for late events, {margin} before it (recount_days: {DAILY_RECOUNT_DAYS})"
    if gap == 1:
        return RunKind(True, f"{run_date} is the day after the last build's ({last_day}), with the same parameters: {recount}", daily)
    if gap == 0:
        return RunKind(True, f"a rerun of {run_date}, with the same parameters as its last build: {recount}", daily)
    when = f"{gap} days after" if gap > 0 else f"{-gap} day{'s' if gap < -1 else ''} before"
    return RunKind(False, f"{run_date} is {when} the last build's day ({last_day}), not the day after")


def recorded_run_kind(
    environ: Mapping[str, str],
    manifest_dir: Path | None,
    run_date: date | None,
    hours: Sequence[int] | None,
    vars: Mapping[str, Any],
    defaults: Mapping[str, Any],
    full: bool = False,
) -> RunKind:
    """choose_run_kind on the builds that the pipeline_runs of an earlier build's manifest (in
    `manifest_dir`; none: no earlier build known) records, read on the server `environ` names."""
    if full or "recount_days" in vars or run_date is None:
        return choose_run_kind(run_date, hours, vars, defaults, {}, "", full)
    if manifest_dir is None:
        return RunKind(False, "no earlier build to this server and schema is recorded")
    try:
        pipeline_runs = relation_name(manifest_dir, "pipeline_runs")
    except LookupError:
        return RunKind(False, f"no earlier build's manifest names pipeline_runs (in {manifest_dir})")
    try:
        builds = latest_builds(environ, pipeline_runs)
    except psycopg2.Error as error:
        return RunKind(False, f"{pipeline_runs} could not be read ({' '.join(str(error).split())})")
    return choose_run_kind(run_date, hours, vars, defaults, builds, _relation_parts(pipeline_runs)[-2])
