"""The pipeline's default method scripted in numpy, like for like, for `netflow-pca bench e2e` to time.

The same export and counting as the pandas route (COPY of the events into pandas, flows per hour
of the day, day and user in UTC over the window), then the residual method of all hours together
with the project's default settings (`orchestrate.lab.reference.scoring`, the numpy reference the marts are
tested against), and the flagged users ranked within each hour, with their evidence, written back
with COPY: what the `anomalous_users` mart holds. Command line:
`python -m orchestrate.lab.bench.numpy_route --schema S --table T --run-date D --lookback-days N`,
the PG* variables naming the server; it prints its steps' seconds as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

import pandas as pd
import psycopg2

from orchestrate.lab.bench.pandas_route import replace_table, timed_route
from orchestrate.lab.generators.flowgen import qualified
from orchestrate.lab.reference.scoring import HourMatrix, ResidualParams, ranked_flags, residual_scores

ANOMALIES_TABLE = "numpy_anomalous_users"


def hour_matrix(hour: int, frame: pd.DataFrame) -> HourMatrix:
    return HourMatrix(hour, tuple(day.date() for day in frame.index), tuple(map(str, frame.columns)),
                      frame.to_numpy(dtype=float))


def anomalies(matrices: dict[int, pd.DataFrame], params: ResidualParams) -> list[tuple[Any, ...]]:
    """The rows of anomalous_users for the residual method: (hour_of_day, method, anomaly_rank,
    user_name, score, threshold, evidence_day, flow_count, expected_flow_count)."""
    scores = residual_scores([hour_matrix(hour, frame) for hour, frame in matrices.items()], params)
    return [
        (s.hour_of_day, s.method, rank, s.user_name, s.score, params.threshold, s.day, s.flow_count, s.expected_count)
        for s, rank in ranked_flags(scores)
    ]


def write_anomalies(connection: Any, schema: str, rows: list[tuple[Any, ...]]) -> None:
    replace_table(connection, qualified(schema, ANOMALIES_TABLE),
                  "hour_of_day integer, method text, anomaly_rank integer, user_name text, score float8,"
                  " threshold float8, evidence_day date, flow_count bigint, expected_flow_count float8",
                  pd.DataFrame(rows))


def run(connection: Any, schema: str, table: str, run_date: date, lookback_days: int) -> dict[str, float]:
    """The whole route; returns the seconds of each step."""
    return timed_route(connection, schema, table, run_date, lookback_days, "residual method",
                       lambda matrices: anomalies(matrices, ResidualParams()), write_anomalies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrate.lab.bench.numpy_route", description=__doc__.splitlines()[0])
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
