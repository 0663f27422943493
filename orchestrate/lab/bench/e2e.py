"""`netflow-pca bench e2e`: the whole pipeline on generated flow events, against its floor, against
the same method scripted in numpy, and the daily incremental run. Not a test: a measurement.

In a scratch schema it writes `days` days of realistic flow events (flowgen, streamed with COPY),
then times, in one run on the same server and data:
1. the floor: a bare `GROUP BY user, day, hour` of the raw events (UTC, integer arithmetic on the
   epoch seconds), timed before the builds, after them and after the routes, the median of the
   three, plus one scan of the sparse input (int_pca_input); the events are vacuumed and analysed
   first, as autovacuum leaves a loaded table, so that no timing pays for the first reading of
   every row (setting its hint bits);
2. for each PCA backend asked for (plpython, sql), `dbt build` of all 24 hours as a run of
   netflow-pca builds it (data tests included, unit tests left out), dbt's start-up included, into an empty schema of its own (`<schema>_<backend>`); and each
   stage (counts, sparse input, PCA, scoring: per-node times from dbt's run_results.json);
3. the numpy route (numpy_route: the default residual method with the same settings, writing
   back what anomalous_users holds), like for like; and the pandas route (pandas_route: the
   loading method with scikit-learn, scores only), each in a process of its own;
4. the daily incremental run, with the first backend: one more day of events appended, then
   `dbt build` with run_date on that day and the var recount_days (int_hourly_counts counts only
   the new day and the margin).
It prints each as a ratio to the floor, the ratios the issue sets targets for, and the peak
memory of the server (the backends' private memory, as `bench pca` samples it) and the client.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2

from orchestrate.database import connection_parameters
from orchestrate.lab.bench.measure import Measurement, ServerMemory, execute, format_report
from orchestrate.lab.generators import flowgen
from orchestrate.run.options import DbtOptions, build_exclusions, dbt_command
from orchestrate.run.runner import PROJECT_DIR, Runner, dbt_executable

STAGES = ("counts", "sparse input", "PCA", "scoring")
PCA_INPUT = "int_pca_input"
EVENTS_TABLE = "events"
BACKENDS = ("plpython", "sql")
# the targets: the full build within these multiples of the floor, per backend; the
# plpython build within NUMPY_TARGET x the numpy route; the incremental run within a share of the full
FLOOR_TARGETS = {"plpython": 3.0, "sql": 8.0}
NUMPY_TARGET, INCREMENTAL_TARGET = 2.0, 0.15
# when the floor's group-by is timed: one timing moved by half between two runs of the same code
FLOOR_TIMINGS = ("before the builds", "after them", "after the routes")


@dataclass(frozen=True)
class E2eOptions:
    events: int = 10_000_000
    users: int = 20_000
    days: int = 90
    seed: int = 20240101
    recount_days: int = 1
    threads: int | None = None
    schema: str = "netflow_pca_bench_e2e"
    keep: bool = False
    backends: tuple[str, ...] = ("plpython",)


class BenchFailed(RuntimeError):
    """A step of the benchmark failed; the message says which and where its log is."""


def _descendants(child_map: Mapping[str, Sequence[str]], node: str) -> set[str]:
    found: set[str] = set()
    pending = list(child_map.get(node, ()))
    while pending:
        child = pending.pop()
        if child not in found:
            found.add(child)
            pending.extend(child_map.get(child, ()))
    return found


def node_stages(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The stage of every model and test of a dbt manifest. int_pca_input is the sparse input;
    downstream of it, the PCA marts (named pca_*) are the PCA and everything else is scoring;
    the others are the counts, but for the scores (named *_scores: the numpy route's reads the
    counts, beside int_pca_input), which are scoring. A test (or unit test) belongs to the latest
    stage of the models it reads."""
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    [pca_input] = [uid for uid, node in models.items() if node["name"] == PCA_INPUT]
    downstream = _descendants(manifest["child_map"], pca_input)
    stages: dict[str, str] = {}
    for uid, node in models.items():
        if uid == pca_input:
            stages[uid] = "sparse input"
        elif uid not in downstream:
            stages[uid] = "scoring" if node["name"].endswith("_scores") else "counts"
        else:
            stages[uid] = "PCA" if node["name"].startswith("pca_") else "scoring"
    tests = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    for uid, node in tests.items():
        if node["resource_type"] in ("test", "unit_test"):
            parents = [stages[parent] for parent in node["depends_on"]["nodes"] if parent in stages]
            stages[uid] = max(parents, key=STAGES.index) if parents else "counts"
    return stages


def stage_times(run_results: Mapping[str, Any], stages: Mapping[str, str]) -> dict[str, tuple[float, float]]:
    """Per stage: the summed execution seconds of its models and of its tests (dbt's threads run
    nodes side by side, so the sums can exceed the wall time)."""
    times = {stage: [0.0, 0.0] for stage in STAGES}
    for result in run_results["results"]:
        stage = stages.get(result["unique_id"])
        if stage is not None:
            times[stage][0 if result["unique_id"].startswith("model.") else 1] += result["execution_time"]
    return {stage: (models, tests) for stage, (models, tests) in times.items()}


def ratio_lines(backend: str, full: float, floor: float, numpy: float, incremental: float | None = None) -> list[str]:
    """The ratios the issue sets targets for, for one backend's full build, each with whether it
    is met: to the floor, to the numpy route (plpython's target), and the incremental run's share."""

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    floor_target = FLOOR_TARGETS[backend]
    lines = [f"{backend}: dbt build / floor: {full / floor:.1f} x (target at most {floor_target:g} x: "
             f"{verdict(full <= floor_target * floor)})"]
    if backend == "plpython":
        lines.append(f"{backend}: dbt build / numpy route: {full / numpy:.2f} x (target at most {NUMPY_TARGET:g} x: "
                     f"{verdict(full <= NUMPY_TARGET * numpy)})")
    if incremental is not None:
        lines.append(f"{backend}: incremental / full build: {incremental / full:.0%} (target at most {INCREMENTAL_TARGET:.0%}: "
                     f"{verdict(incremental <= INCREMENTAL_TARGET * full)})")
    return lines


def _stage_rows(prefix: str, run_results: Mapping[str, Any], stages: Mapping[str, str]) -> list[Measurement]:
    return [
        Measurement(f"{prefix}{stage}", models + tests, note=f"models {models:.1f} s, tests {tests:.1f} s")
        for stage, (models, tests) in stage_times(run_results, stages).items()
    ]


def _timed_query(env: Mapping[str, str], marker: str, sql: str) -> tuple[float, int | None, Any]:
    with ServerMemory(env, marker) as memory:
        started = time.perf_counter()
        [(value,)] = execute(env, sql)
        seconds = time.perf_counter() - started
    return seconds, memory.peak_bytes, value


@dataclass(frozen=True)
class GroupByTiming:
    """One timing of the floor's group-by: its seconds, the server's peak memory, and the cells."""

    seconds: float
    peak_bytes: int | None
    cells: int


def floor_group_by(timings: Mapping[str, GroupByTiming]) -> Measurement:
    """The floor's group-by from its timings (by when they were taken, FLOOR_TIMINGS): the median
    of their seconds, the largest peak memory, and every timing in the note."""
    return Measurement(
        "floor: group by user, day, hour of the events",
        statistics.median(timing.seconds for timing in timings.values()),
        max((timing.peak_bytes for timing in timings.values() if timing.peak_bytes is not None), default=None),
        f"{next(iter(timings.values())).cells:,} cells; the median of "
        + ", ".join(f"{timing.seconds:.1f} s {when}" for when, timing in timings.items()),
    )


def _time_group_by(env: Mapping[str, str], schema: str, when: str) -> GroupByTiming:
    print(f"Timing the floor's group-by ({when}) ...", flush=True)
    return GroupByTiming(*_timed_query(env, schema, f"""
        select count(*) from (
            select user_name, start_time / 86400 as day, start_time / 3600 % 24 as hour_of_day, count(*)
            from {schema}.{EVENTS_TABLE}
            group by 1, 2, 3
        ) as counts"""))


def _vacuum_analyze(env: Mapping[str, str], relation: str) -> None:
    with closing(psycopg2.connect(**connection_parameters(env))) as connection:
        connection.autocommit = True  # VACUUM runs outside a transaction
        with connection.cursor() as cursor:
            cursor.execute(f"vacuum (analyze) {relation}")


def _run_process(command: Sequence[str], env: Mapping[str, str], marker: str, log: Path) -> tuple[float, int | None, int, str]:
    """Run a command to its end; its wall seconds, the server's peak memory, its own peak RSS
    (from the kernel's accounting of the process) and its output."""
    with ServerMemory(env, marker) as memory, log.open("w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=dict(env), stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchFailed(f"{' '.join(command[:3])} ... failed with exit code {process.returncode}; see {log}")
    return seconds, memory.peak_bytes, usage.ru_maxrss * 1024, log.read_text()


def _dbt_build(runner: Runner, vars: Mapping[str, Any], log: Path) -> tuple[float, int | None, int, dict[str, Any]]:
    # as a run of netflow-pca builds; the events are generated, not the seed
    command = [dbt_executable(), *dbt_command(["build", *build_exclusions(reads_seed=False)], vars, runner.options)]
    seconds, server, client, _ = _run_process(command, runner.env, runner.env["NETFLOW_PCA_SCHEMA"], log)
    return seconds, server, client, json.loads((runner.target_dir / "run_results.json").read_text())


def _write_events(env: Mapping[str, str], schema: str, flow_plan: flowgen.FlowPlan, days: range, append: bool) -> int:
    with closing(psycopg2.connect(**connection_parameters(env))) as connection:
        if append:
            return flowgen.append(connection, schema, EVENTS_TABLE, flow_plan, days)
        return flowgen.write(connection, schema, EVENTS_TABLE, flow_plan, days)


def _route(
    env: Mapping[str, str], module: str, schema: str, run_date: str, days: int, log: Path
) -> tuple[float, int | None, int, dict[str, float]]:
    seconds, server, client, output = _run_process(
        [sys.executable, "-m", f"orchestrate.lab.bench.{module}", "--schema", schema, "--table", EVENTS_TABLE,
         "--run-date", run_date, "--lookback-days", str(days)],
        env, schema, log)
    return seconds, server, client, json.loads(output.strip().splitlines()[-1])


def _steps_note(steps: Mapping[str, float]) -> str:
    return ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items())


def run_e2e(environ: Mapping[str, str], options: E2eOptions) -> int:
    schema = options.schema
    env = {**environ, "NETFLOW_PCA_SCHEMA": schema}
    runners = {
        backend: Runner({**environ, "NETFLOW_PCA_SCHEMA": f"{schema}_{backend}"}, options=DbtOptions(threads=options.threads))
        for backend in options.backends
    }
    logs = runners[options.backends[0]].target_dir / "bench_e2e"
    logs.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    # one more day than the window, with the events per day of the window
    spec = flowgen.FlowSpec(users=options.users, days=options.days + 1,
                            events=round(options.events * (options.days + 1) / options.days), seed=options.seed)
    flow_plan = flowgen.plan(spec)
    print(f"Writing {options.days} days of about {options.events:,} flow events of {options.users:,} users "
          f"into {schema}.{EVENTS_TABLE} ...", flush=True)
    for relation_schema in (schema, *(f"{schema}_{backend}" for backend in options.backends)):
        execute(env, f"drop schema if exists {relation_schema} cascade")
    started = time.perf_counter()
    events = _write_events(env, schema, flow_plan, range(options.days), append=False)
    generated = time.perf_counter() - started
    _vacuum_analyze(env, f"{schema}.{EVENTS_TABLE}")
    run_date = flow_plan.day_date(options.days - 1)
    vars = {"events_schema": schema, "events_table": EVENTS_TABLE, "lookback_days": options.days,
            "recount_days": options.recount_days}

    before_builds, after_builds, after_routes = FLOOR_TIMINGS
    group_timings = {before_builds: _time_group_by(env, schema, before_builds)}

    builds: dict[str, tuple[float, int | None, int, dict[str, Any]]] = {}
    stages: dict[str, str] = {}
    for backend, runner in runners.items():
        print(f"dbt build of all 24 hours, pca_backend {backend} ...", flush=True)
        builds[backend] = _dbt_build(runner, {**vars, "run_date": run_date.isoformat(), "pca_backend": backend},
                                     logs / f"full_{backend}.log")
        stages = node_stages(json.loads((runner.target_dir / "manifest.json").read_text()))

    group_timings[after_builds] = _time_group_by(env, schema, after_builds)
    first = options.backends[0]
    scan_seconds, scan_server, _ = _timed_query(env, f"{schema}_{first}", f"""
        select count(*) from (
            select hour_of_day, day_id, count(*) from {schema}_{first}.{PCA_INPUT} group by hour_of_day, day_id
        ) as scan""")

    print("The numpy route ...", flush=True)
    numpy_seconds, numpy_server, numpy_client, numpy_steps = _route(
        env, "numpy_route", schema, run_date.isoformat(), options.days, logs / "numpy.log")
    print("The pandas route ...", flush=True)
    pandas_seconds, pandas_server, pandas_client, pandas_steps = _route(
        env, "pandas_route", schema, run_date.isoformat(), options.days, logs / "pandas.log")
    group_timings[after_routes] = _time_group_by(env, schema, after_routes)
    group_by = floor_group_by(group_timings)
    assert group_by.seconds is not None  # a median of timings
    floor = group_by.seconds + scan_seconds

    print(f"Appending a day and running the daily incremental build, pca_backend {first} ...", flush=True)
    appended = _write_events(env, schema, flow_plan, range(options.days, options.days + 1), append=True)
    new_day = flow_plan.day_date(options.days)
    incremental_seconds, incremental_server, incremental_client, incremental_results = _dbt_build(
        runners[first], {**vars, "run_date": new_day.isoformat(), "pca_backend": first}, logs / "incremental.log")

    if not options.keep:
        for relation_schema in (schema, *(f"{schema}_{backend}" for backend in options.backends)):
            execute(env, f"drop schema {relation_schema} cascade")
    steps = [
        group_by,
        Measurement("floor: one scan of int_pca_input", scan_seconds, scan_server),
        Measurement("floor", floor),
    ]
    for backend, (seconds, server, client, results) in builds.items():
        steps += [
            Measurement(f"dbt build, all hours (full), {backend}", seconds, server,
                        f"dbt start-up and scheduling {seconds - results['elapsed_time']:.1f} s", client),
            *_stage_rows("  ", results, stages),
        ]
    steps += [
        Measurement("numpy route (residual, like for like)", numpy_seconds, numpy_server, _steps_note(numpy_steps), numpy_client),
        Measurement("pandas + scikit-learn route (loading only)", pandas_seconds, pandas_server, _steps_note(pandas_steps),
                    pandas_client),
        Measurement(f"dbt build, one new day (recount_days {options.recount_days}), {first}", incremental_seconds,
                    incremental_server, f"{appended:,} events appended for {new_day}", incremental_client),
        *_stage_rows("  ", incremental_results, stages),
    ]
    print(f"\n{events:,} events of {options.users:,} users over {options.days} days (written in {generated:.0f} s); "
          f"load average {load[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end ({os.cpu_count()} cores)\n")
    print(format_report(steps, floor))
    print()
    for backend, (seconds, *_rest) in builds.items():
        print("\n".join(ratio_lines(backend, seconds, floor, numpy_seconds,
                                    incremental_seconds if backend == first else None)))
    return 0
