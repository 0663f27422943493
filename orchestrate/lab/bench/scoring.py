"""`netflow-pca bench scoring`: recall and precision of the scoring marts on generated data sets.

Writes each data set (one per seed) with injected bursts (large, subtle, lasting) and collective
events (flowgen) into a scratch schema, builds the whole pipeline on it with both scoring methods,
and compares the flagged (user, hour) pairs of `anomalous_users` with the generator's ground
truth, per kind of burst; then the figures over all the data sets.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg2

from orchestrate.database import connection_parameters
from orchestrate.lab.evaluation.evaluate import Metrics, flags_from_table, format_metrics, metrics_by_kind, truth_from_table
from orchestrate.lab.generators import flowgen
from orchestrate.run.runner import Runner

EVENTS_TABLE = "events"
METHODS = ("residual", "loading")
# (recall, precision) to reach: every burst together, and each kind of issue 16
TARGETS: dict[str, tuple[float, float]] = {"": (0.9, 0.9), "burst": (0.95, 0.95), "subtle": (0.9, 0.95), "lasting": (0.95, 0.95)}


@dataclass(frozen=True)
class ScoringBenchOptions:
    flow_plans: tuple[flowgen.FlowPlan, ...]
    schema: str = "netflow_pca_bench_scoring"
    keep: bool = False


def verdict(row: Metrics) -> str:
    recall, precision = TARGETS[row.method.partition("/")[2]]
    met = row.recall >= recall and row.precision >= precision
    if row.method.endswith("/lasting") and row.right_day is not None:
        met = met and row.right_day == row.found
    return f"{row.method}: recall {row.recall:.3f}, precision {row.precision:.3f} " + (
        "(targets met)" if met else f"(targets: recall {recall}, precision {precision}, not met)"
    )


def total(rows: list[Metrics]) -> Metrics:
    """The figures of one method and kind summed over the data sets."""
    right = [row.right_day for row in rows if row.right_day is not None]
    collective = [row.collective_flags for row in rows if row.collective_flags is not None]
    return Metrics(
        rows[0].method, sum(r.flagged for r in rows), sum(r.found for r in rows), sum(r.injected for r in rows),
        sum(right) if right else None, sum(collective) if collective else None,
    )


def _scored_data_set(env: Mapping[str, str], options: ScoringBenchOptions, flow_plan: flowgen.FlowPlan) -> list[Metrics] | int:
    """Write, build and compare one data set: its figures, or the build's exit code."""
    spec, parameters = flow_plan.spec, connection_parameters(env)
    _drop_schema(env, options.schema)  # the previous data set's, with the views on its events
    with psycopg2.connect(**parameters) as connection:
        written = flowgen.write(connection, options.schema, EVENTS_TABLE, flow_plan)
    print(f"Generated {written:,} flows of {spec.users} users over {spec.days} days (seed {spec.seed}) "
          f"with {len(flow_plan.bursts)} injected bursts into {options.schema}.{EVENTS_TABLE}")
    with tempfile.TemporaryDirectory(prefix="netflow_pca_bench_") as target:
        # a scratch target: the user's own run record (for retry) and artifacts stay as they were
        runner = Runner({**env, "NETFLOW_PCA_SCHEMA": options.schema, "DBT_TARGET_PATH": target})
        code = runner.build(None, {"events_schema": options.schema, "events_table": EVENTS_TABLE, "scoring_method": "both"})
    if code != 0:
        return code
    with psycopg2.connect(**parameters) as connection:
        truth = truth_from_table(connection, options.schema, f"{EVENTS_TABLE}_truth")
        flags = flags_from_table(connection, f"{options.schema}.anomalous_users", method_prefix="")
    return [row for method in METHODS for row in metrics_by_kind(method, flags, truth)]


def run_scoring_bench(env: Mapping[str, str], options: ScoringBenchOptions) -> int:
    """Generate, build with both methods, print the figures; returns the first failed build's exit code."""
    figures: dict[str, list[Metrics]] = {}
    try:
        for flow_plan in options.flow_plans:
            rows = _scored_data_set(env, options, flow_plan)
            if isinstance(rows, int):
                return rows
            print(f"\nFlagged (user, hour) pairs of anomalous_users against the injected bursts (seed {flow_plan.spec.seed}):\n")
            print(format_metrics(rows))
            print()
            for row in rows:
                figures.setdefault(row.method, []).append(row)
        totals = [total(rows) for rows in figures.values()]
        if len(options.flow_plans) > 1:
            print(f"Over the {len(options.flow_plans)} data sets:\n")
            print(format_metrics(totals))
            print()
        for row in totals:
            print(verdict(row))
        return 0
    finally:
        if not options.keep:
            _drop_schema(env, options.schema)


def _drop_schema(env: Mapping[str, str], schema: str) -> None:
    with psycopg2.connect(**connection_parameters(env)) as connection, connection.cursor() as cursor:
        cursor.execute(f"drop schema if exists {flowgen.quote_identifier(schema)} cascade")
