"""`netflow-pca bench pca`: the in-database PCA against its floor and numpy, on synthetic matrices.

In a scratch schema it creates `hours` sparse matrices of `days` x `users` counts at `density` (by
default 24 x 90 x 20,000 at 30%, about 13 million non-zero cells), then times, in the same run:
- the floor: one plain `select hour_of_day, day_id, count(*) ... group by` pass over the input,
  and writing an output of MADlib's layout as large as the fits write;
- numpy on the same matrices, in this process (the Gram route; data transfer not counted);
- pca_sparse_train with each backend that runs here, through `dbt run-operation` (the operation's
  own time from dbt's run results, without dbt's start-up);
and prints each as a ratio to the floor, with the peak private memory of the server processes
that ran it (from /proc, so only when the server runs on this machine). Not a test: a measurement.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg2

from orchestrate.database import connection_parameters
from orchestrate.lab.bench.measure import Measurement, ServerMemory, execute, format_report
from orchestrate.lab.reference.pca import fit_pca
from orchestrate.run.options import dbt_command
from orchestrate.run.runner import Runner, dbt_executable

BACKENDS = ("plpython", "sql", "madlib")


@dataclass(frozen=True)
class BenchOptions:
    hours: int = 24
    days: int = 90
    users: int = 20_000
    density: float = 0.3
    variance: float = 0.99
    backends: tuple[str, ...] = BACKENDS
    schema: str = "netflow_pca_bench"
    keep: bool = False


def parse_backends(text: str) -> tuple[str, ...]:
    backends = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in backends if name not in BACKENDS]
    if unknown or not backends:
        raise ValueError(f"--backends: expected some of {', '.join(BACKENDS)}, got '{text}'")
    return backends


@contextmanager
def _timed() -> Iterator[list[float]]:
    elapsed: list[float] = []
    started = time.perf_counter()
    yield elapsed
    elapsed.append(time.perf_counter() - started)


def create_input(environ: Mapping[str, str], options: BenchOptions) -> None:
    schema = options.schema
    execute(environ, f"""
        drop schema if exists {schema} cascade;
        create schema {schema};
        select setseed(0.42);
        create table {schema}.pca_input as
        select hour_of_day, day_id, name_id, 1 + floor(random() * 20)::integer as flow_count
        from generate_series(0, {options.hours - 1}) as hour_of_day,
            generate_series(1, {options.days}) as day_id,
            generate_series(1, {options.users}) as name_id
        where random() < {options.density};
        analyze {schema}.pca_input;
    """)


def numpy_fit(cells: np.ndarray, options: BenchOptions) -> list[np.ndarray]:
    """The PCA of every hour by the numpy reference's Gram route, the PL/Python fit's: each hour's
    kept components."""
    components = []
    for hour in range(options.hours):
        hour_cells = cells[cells[:, 0] == hour]
        x = np.zeros((options.days, options.users))
        x[hour_cells[:, 1] - 1, hour_cells[:, 2] - 1] = hour_cells[:, 3]
        components.append(fit_pca(x, options.variance, route="gram").components)
    return components


def _fetch_cells(environ: Mapping[str, str], schema: str) -> np.ndarray:
    """(hour_of_day, day_id, name_id, flow_count) rows of the input."""
    buffer = io.StringIO()
    with closing(psycopg2.connect(**connection_parameters(environ))) as connection, connection.cursor() as cursor:
        cursor.copy_expert(f"copy {schema}.pca_input to stdout", buffer)
    return np.fromstring(buffer.getvalue(), dtype=np.int64, sep=" ").reshape(-1, 4)


def run_backend(runner: Runner, options: BenchOptions, backend: str) -> Measurement:
    args = {
        "source_table": f"{options.schema}.pca_input", "out_table": f"{options.schema}.fit_{backend}",
        "row_id": "day_id", "col_id": "name_id", "val_id": "flow_count", "row_dim": options.days,
        "col_dim": options.users, "components_param": options.variance, "grouping_cols": "hour_of_day",
    }
    vars = {"pca_backend": backend}
    command = [dbt_executable(), *dbt_command(["run-operation", "pca_sparse_train", "--args", json.dumps(args)], vars)]
    with ServerMemory(runner.env, options.schema) as memory:
        result = subprocess.run(command, cwd=runner.project_dir, env=runner.env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
        reason = next((line for line in lines if "cannot run here" in line), lines[-1] if lines else "failed")
        return Measurement(f"pca_sparse_train {backend}", None, note=reason[:120])
    timing = json.loads((runner.target_dir / "run_results.json").read_text())["results"][0]["timing"]
    execution = next(step for step in timing if step["name"] == "execute")
    seconds = (datetime.fromisoformat(execution["completed_at"].rstrip("Z"))
               - datetime.fromisoformat(execution["started_at"].rstrip("Z"))).total_seconds()
    [(kept, hours)] = execute(runner.env, f"""
        select count(*), count(distinct hour_of_day) from {options.schema}.fit_{backend}""")
    return Measurement(f"pca_sparse_train {backend}", seconds, memory.peak_bytes, f"{kept} components in {hours} hours")


def run_bench(environ: Mapping[str, str], options: BenchOptions) -> int:
    env = {**environ, "NETFLOW_PCA_SCHEMA": options.schema}
    runner = Runner(env)
    load = os.getloadavg()
    print(f"Creating {options.hours} matrices of {options.days} x {options.users} at density {options.density} "
          f"in schema {options.schema} ...", flush=True)
    create_input(env, options)
    [(cells,)] = execute(env, f"select count(*) from {options.schema}.pca_input")
    measurements = []

    with ServerMemory(env, options.schema) as memory, _timed() as scan:
        execute(env, f"select hour_of_day, day_id, count(*) from {options.schema}.pca_input group by hour_of_day, day_id")
    measurements.append(Measurement("floor: one group-by pass", scan[0], memory.peak_bytes))

    matrices = _fetch_cells(env, options.schema)
    with _timed() as fit:
        components = numpy_fit(matrices, options)
    output_rows = sum(len(hour) for hour in components)
    with ServerMemory(env, options.schema) as memory, _timed() as write:
        execute(env, f"""
            create table {options.schema}.floor_output as
            with vector as materialized (
                select array_agg(random()) as v from generate_series(1, {options.users})
            )
            select k as row_id, vector.v as principal_components, 1.0::float8 as std_dev,
                0.01::float8 as proportion, k % {options.hours} as hour_of_day
            from generate_series(1, {output_rows}) as k, vector""")
    measurements.append(Measurement("floor: write the output", write[0], memory.peak_bytes,
                                    f"{output_rows} rows of float8[{options.users}]"))
    floor = scan[0] + write[0]
    measurements.append(Measurement("floor", floor))
    measurements.append(Measurement("numpy, Gram route (this process)", fit[0], None, f"{output_rows} components"))

    for backend in options.backends:
        print(f"Running pca_sparse_train with the {backend} backend ...", flush=True)
        measurements.append(run_backend(runner, options, backend))

    if not options.keep:
        execute(env, f"drop schema {options.schema} cascade")
    print(f"\n{cells} non-zero cells; load average {load[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
          f"({os.cpu_count()} cores)\n")
    print(format_report(measurements, floor))
    return 0
