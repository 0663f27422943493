"""What a data scientist would do instead of the pipeline, for `netflow-pca bench e2e` to time.

Export the events with COPY into pandas, count them per hour of the day, day and user (UTC), build
each hour's days x users matrix (absent = 0), fit scikit-learn's PCA keeping `variance` of the
variance, score each user by the loading method (the largest |entry| of their column over the
kept components, flagged above `threshold`) and write the scores back with COPY. Command line:
`python -m orchestrate.lab.bench.pandas_route --schema S --table T --run-date D --lookback-days N`,
the PG* variables naming the server; it prints its steps' seconds as JSON. The bench runs it in a process
of its own, so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import psycopg2
from sklearn.decomposition import PCA

from orchestrate.lab.generators.flowgen import qualified

T = TypeVar("T")

SCORES_TABLE = "pandas_user_scores"
# the project's defaults: vars variance_target and loading_threshold
VARIANCE = 0.99
THRESHOLD = 0.1


def export_events(connection: Any, schema: str, table: str) -> pd.DataFrame:
    """The events table as a frame of user_name (categorical) and start_time (epoch seconds)."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.copy_expert(f"copy {qualified(schema, table)} (user_name, start_time) to stdout", buffer)
    buffer.seek(0)
    return pd.read_csv(buffer, sep="\t", header=None, names=["user_name", "start_time"],
                       dtype={"user_name": "category", "start_time": "int64"})


def hourly_counts(events: pd.DataFrame, run_date: date, lookback_days: int) -> pd.Series:
    """Flows per (hour_of_day, day, user_name) over the lookback_days days up to run_date, in UTC."""
    at = pd.to_datetime(events["start_time"], unit="s")
    day = at.dt.normalize()
    last = pd.Timestamp(run_date)
    window = (day <= last) & (day > last - timedelta(days=lookback_days))
    frame = pd.DataFrame({"hour_of_day": at.dt.hour, "day": day, "user_name": events["user_name"]})[window]
    return frame.groupby(["hour_of_day", "day", "user_name"], observed=True).size()


def hourly_matrices(counts: pd.Series) -> dict[int, pd.DataFrame]:
    """Each hour's days x users matrix of the days and users present in that hour."""
    matrices = {}
    for hour, cells in counts.groupby(level="hour_of_day"):
        cells = cells.droplevel("hour_of_day")
        cells.index = cells.index.remove_unused_levels()
        matrices[int(hour)] = cells.unstack("user_name", fill_value=0)
    return matrices


def loading_scores(matrices: dict[int, pd.DataFrame], variance: float, threshold: float) -> pd.DataFrame:
    """Per hour and user: the loading score and whether it is above the threshold."""
    frames = []
    for hour, matrix in matrices.items():
        pca = PCA(n_components=variance).fit(matrix.to_numpy(dtype=float))
        score = np.abs(pca.components_).max(axis=0)
        frames.append(pd.DataFrame({
            "hour_of_day": hour, "user_name": matrix.columns.astype(str), "score": score, "flagged": score > threshold,
        }))
    return pd.concat(frames, ignore_index=True)


def replace_table(connection: Any, table: str, columns: str, frame: pd.DataFrame) -> None:
    """Writes `frame` with COPY into `table`, created afresh with `columns` (SQL column definitions)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", header=False, index=False, float_format="%.17g")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute(f"drop table if exists {table}")
        cursor.execute(f"create table {table} ({columns})")
        cursor.copy_expert(f"copy {table} from stdin", buffer)
    connection.commit()


def write_scores(connection: Any, schema: str, scores: pd.DataFrame) -> None:
    replace_table(connection, qualified(schema, SCORES_TABLE),
                  "hour_of_day integer, user_name text, score float8, flagged boolean", scores)


def timed_route(
    connection: Any, schema: str, table: str, run_date: date, lookback_days: int,
    method_step: str, method: Callable[[dict[int, pd.DataFrame]], T], write: Callable[[Any, str, T], None],
) -> dict[str, float]:
    """Export, count and build the matrices, run `method` on them and `write` its result back;
    returns the seconds of each step (the method's under `method_step`)."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[step] = now - started
        started = now

    events = export_events(connection, schema, table)
    lap("export")
    matrices = hourly_matrices(hourly_counts(events, run_date, lookback_days))
    del events
    lap("matrices")
    result = method(matrices)
    lap(method_step)
    write(connection, schema, result)
    lap("write back")
    return seconds


def run(connection: Any, schema: str, table: str, run_date: date, lookback_days: int) -> dict[str, float]:
    """The whole route; returns the seconds of each step."""
    return timed_route(connection, schema, table, run_date, lookback_days, "fit and score",
                       lambda matrices: loading_scores(matrices, VARIANCE, THRESHOLD), write_scores)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrate.lab.bench.pandas_route", description=__doc__.splitlines()[0])
    parser.add_argument("--schema", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--run-date", type=date.fromisoformat, required=True)
    parser.add_argument("--lookback-days", type=int, required=True)
    args = parser.parse_args(argv)
    with psycopg2.connect("") as connection:
        print(json.dumps(run(connection, args.schema, args.table, args.run_date, args.lookback_days)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
