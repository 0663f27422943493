"""`netflow-pca bench BENCHMARK`: the benchmarks' options and their dispatch. The command line
imports this module only when a benchmark runs, so the product never loads the lab."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace

from orchestrate.cli import Parser, add_threads, positive_int
from orchestrate.lab.bench import e2e, pca
from orchestrate.lab.bench.scoring import ScoringBenchOptions, run_scoring_bench
from orchestrate.lab.generators import flowgen
from orchestrate.run.options import UsageError


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a fraction in (0, 1]")
    return value


def _schema_name(text: str) -> str:
    if not re.fullmatch("[a-z_][a-z0-9_]{0,62}", text):
        raise argparse.ArgumentTypeError(f"'{text}' is not a lower-case schema name of letters, digits and _")
    return text


def _seeds(text: str) -> tuple[int, ...]:
    seeds = tuple(part.strip() for part in text.split(",") if part.strip())
    if not seeds or not all(seed.isascii() and seed.isdigit() for seed in seeds):
        raise argparse.ArgumentTypeError(f"expected comma-separated seeds (non-negative integers), got {text!r}")
    return tuple(int(seed) for seed in seeds)


def _backends(text: str) -> tuple[str, ...]:
    try:
        return pca.parse_backends(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="netflow-pca bench", description="Benchmarks, each on a scratch schema it drops afterwards; see the README.")
    benches = parser.add_subparsers(dest="bench", required=True, metavar="BENCHMARK", parser_class=Parser)

    defaults = pca.BenchOptions()
    pca_parser = benches.add_parser(
        "pca",
        help="time pca_sparse_train's backends against the floor and numpy",
        description="Fits random sparse hourly matrices with each backend and prints, in the same run, "
        "the floor (one scan of the input plus writing the output) and numpy's time.",
    )
    pca_parser.add_argument("--hours", type=positive_int, default=defaults.hours, help="matrices (default 24)")
    pca_parser.add_argument("--days", type=positive_int, default=defaults.days, help="rows of each (default 90)")
    pca_parser.add_argument("--users", type=positive_int, default=defaults.users, help="columns (default 20000)")
    pca_parser.add_argument("--density", type=_fraction, default=defaults.density, help="non-zero share (default 0.3)")
    pca_parser.add_argument("--variance", type=_fraction, default=defaults.variance, help="components_param (default 0.99)")
    pca_parser.add_argument("--backends", type=_backends, default=defaults.backends,
                            help="comma-separated, of plpython, sql, madlib (default all; those that cannot run are reported)")
    pca_parser.add_argument("--schema", type=_schema_name, default=defaults.schema, help="scratch schema, dropped after")
    pca_parser.add_argument("--keep", action="store_true", help="keep the scratch schema")

    scoring = benches.add_parser(
        "scoring",
        help="recall and precision of both scoring methods on generated data with injected bursts",
        description="Generates flow events with injected bursts and collective events (default: the "
        f"{flowgen.DETECTION_PRESET} preset, 600 users over six weeks with large, subtle and lasting bursts), builds the "
        "pipeline on them with both scoring methods, and prints the recall and precision of anomalous_users' "
        "(user, hour) pairs, per kind of burst; with --seeds, for each seed and over all.",
    )
    flowgen.add_spec_arguments(scoring)
    scoring.set_defaults(preset=flowgen.DETECTION_PRESET)
    scoring.add_argument("--seeds", type=_seeds, help="comma-separated generator seeds, one data set each (default: --seed's)")
    scoring.add_argument("--schema", type=_schema_name, default=ScoringBenchOptions.schema,
                         help="scratch schema for the events and the models, dropped after")
    scoring.add_argument("--keep", action="store_true", help="keep the scratch schema")

    e2e_defaults = e2e.E2eOptions()
    e2e_parser = benches.add_parser(
        "e2e",
        help="the whole pipeline against its floor and the same method in numpy, and the daily incremental run",
        description="Writes generated flow events into a scratch schema and times, on the same server and data: "
        "the floor (a bare group-by of the events, the median of three timings, and one scan of int_pca_input), "
        "`dbt build` of all hours (dbt's start-up and tests included) with each backend asked for, and its "
        "stages, the numpy route (the residual method, like for like), the pandas and scikit-learn route "
        "(loading only), and the daily incremental run (one more day, recount_days); prints the ratios and peak "
        "memory.",
    )
    e2e_parser.add_argument("--events", type=positive_int, default=e2e_defaults.events, help="flow events (default 10000000)")
    e2e_parser.add_argument("--users", type=positive_int, default=e2e_defaults.users, help="users (default 20000)")
    e2e_parser.add_argument("--days", type=positive_int, default=e2e_defaults.days, help="days, the lookback window (default 90)")
    e2e_parser.add_argument("--seed", type=positive_int, default=e2e_defaults.seed, help="generator seed")
    e2e_parser.add_argument("--recount-days", type=int, choices=range(0, 31), default=e2e_defaults.recount_days,
                            metavar="0-30", help="the var recount_days of the incremental run (default 1)")
    e2e_parser.add_argument("--backend", choices=(*e2e.BACKENDS, "both"), default=e2e_defaults.backends[0],
                            help="the PCA backend of the builds: plpython (default), sql, or both, one build each")
    add_threads(e2e_parser)
    e2e_parser.add_argument("--schema", type=_schema_name, default=e2e_defaults.schema,
                            help="scratch schema, dropped after (the builds go to <schema>_<backend>)")
    e2e_parser.add_argument("--keep", action="store_true", help="keep the scratch schema")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The benchmark and its options; bad ones stop here, before any database is started."""
    args = build_parser().parse_args(argv)
    if args.bench == "scoring":
        try:
            spec = flowgen.spec_from_args(args)
            args.flow_plans = tuple(flowgen.plan(replace(spec, seed=seed)) for seed in args.seeds or (spec.seed,))
        except ValueError as error:
            raise UsageError(f"bad data set: {error}") from None
    return args


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run the benchmark on the server env names; returns the command's exit code."""
    if args.bench == "scoring":
        return run_scoring_bench(env, ScoringBenchOptions(args.flow_plans, args.schema, args.keep))
    if args.bench == "e2e":
        try:
            backends = e2e.BACKENDS if args.backend == "both" else (args.backend,)
            return e2e.run_e2e(env, e2e.E2eOptions(
                args.events, args.users, args.days, args.seed, args.recount_days, args.threads, args.schema, args.keep,
                backends))
        except e2e.BenchFailed as error:
            print(f"netflow-pca bench e2e: {error}", file=sys.stderr)
            return 1
    options = pca.BenchOptions(args.hours, args.days, args.users, args.density, args.variance, args.backends,
                               args.schema, args.keep)
    return pca.run_bench(env, options)
