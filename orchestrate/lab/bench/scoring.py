"""`netflow-pca bench scoring`: recall and precision of the scoring marts on a generated data set.

Writes a data set with injected bursts and collective events (flowgen) into a scratch schema,
builds the whole pipeline on it with both scoring methods, and compares the flagged (user, hour)
pairs of `anomalous_users` with the generator's ground truth.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg2

from orchestrate.database import connection_parameters
from orchestrate.lab.evaluation.evaluate import Metrics, flags_from_table, format_metrics, metrics, truth_from_table
from orchestrate.lab.generators import flowgen
from orchestrate.run.runner import Runner

EVENTS_TABLE = "events"
TARGET_RECALL = TARGET_PRECISION = 0.9


@dataclass(frozen=True)
class ScoringBenchOptions:
    flow_plan: flowgen.FlowPlan
    schema: str = "netflow_pca_bench_scoring"
    keep: bool = False


def verdict(row: Metrics) -> str:
    met = row.recall >= TARGET_RECALL and row.precision >= TARGET_PRECISION
    return f"{row.method}: recall {row.recall:.3f}, precision {row.precision:.3f} " + (
        "(targets met)" if met else f"(targets: at least {TARGET_RECALL} each, not met)"
    )


def run_scoring_bench(env: Mapping[str, str], options: ScoringBenchOptions) -> int:
    """Generate, build with both methods, print the figures; returns the build's exit code."""
    flow_plan, spec = options.flow_plan, options.flow_plan.spec
    parameters = connection_parameters(env)
    try:
        with psycopg2.connect(**parameters) as connection:
            written = flowgen.write(connection, options.schema, EVENTS_TABLE, flow_plan)
        print(f"Generated {written:,} flows of {spec.users} users over {spec.days} days "
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
        rows = [metrics(method, flags, truth) for method in ("residual", "loading")]
        print("\nFlagged (user, hour) pairs of anomalous_users against the injected bursts:\n")
        print(format_metrics(rows))
        print()
        for row in rows:
            print(verdict(row))
        return 0
    finally:
        if not options.keep:
            with psycopg2.connect(**parameters) as connection, connection.cursor() as cursor:
                cursor.execute(f"drop schema if exists {flowgen.quote_identifier(options.schema)} cascade")
