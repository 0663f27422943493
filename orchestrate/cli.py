"""The `netflow-pca` command: argument parsing only; the work is in runner, database, report."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

import psycopg2

from orchestrate import bench, bench_e2e, export, flowgen, report
from orchestrate.database import EmbeddedDatabase, uses_external_server
from orchestrate.scoring_bench import ScoringBenchOptions, run_scoring_bench
from orchestrate.runner import (
    PROJECT_DIR,
    STATE_DIR,
    DbtOptions,
    Runner,
    UsageError,
    database_environment,
    dbt_vars,
    parse_hours,
    parse_run_date,
    parse_var_options,
    project_vars,
)


class Parser(argparse.ArgumentParser):
    """Reports bad input as one line (and where to find help), not as usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


def _add_vars(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a dbt var, e.g. --var events_table=flow_log; may be repeated",
    )
    parser.add_argument("--vars", help="dbt vars as YAML or JSON, e.g. '{events_table: flow_log, timezone: UTC}'")


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


def _backends(text: str) -> tuple[str, ...]:
    try:
        return bench.parse_backends(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help="dbt target in profiles.yml (default: the profile's own)")


def _add_threads(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=_positive_int, help="dbt threads (default: the profile's)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="netflow-pca",
        description="Find erratic network users with one PCA per hour of the day, inside PostgreSQL.",
        epilog="Connection: the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE; "
        "with none set, an embedded PostgreSQL in .netflow_pca/ is used.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    run = commands.add_parser(
        "run",
        help="dbt build for some or all hours of the day",
        description="dbt build for all hours in one invocation, or for the given hours one by one; "
        "exits non-zero when any model or test failed. The run is recorded so that "
        "`netflow-pca retry` can resume it.",
    )
    run.add_argument("--hours", default="all", help="hours of the day: 12, 0-5,18 or all (default)")
    run.add_argument("--run-date", help="last day of data to use, YYYY-MM-DD (default: the last in the data)")
    run.add_argument("--lookback-days", type=_positive_int, help="days of data up to the run date (default 90)")
    _add_vars(run)
    _add_target(run)
    _add_threads(run)

    retry = commands.add_parser(
        "retry",
        help="resume the last failed or interrupted run from the point of failure",
        description="Resumes the last `run` or `demo`: `dbt retry` for the invocation that failed "
        "(or, if it was interrupted, a build of its nodes that did not succeed), then the hours "
        "that never ran. Nothing that succeeded runs again.",
    )
    _add_threads(retry)

    demo = commands.add_parser(
        "demo",
        help="run everything on the sample seeds and show the result",
        description="Loads the sample seeds, builds every hour and prints the result; with no PG* "
        "variable set it runs on the embedded PostgreSQL.",
    )
    _add_target(demo)
    _add_threads(demo)

    docs = commands.add_parser(
        "docs",
        help="build the dbt docs site with the lineage graph",
        description="Builds the dbt docs site as one static file (static_index.html in dbt's "
        "target folder) and, with --serve, serves it. dbt compiles the models for it, so the "
        "events table the vars name must exist (after `netflow-pca demo`, the sample seed does).",
    )
    docs.add_argument("--serve", action="store_true", help="serve the site after building it")
    docs.add_argument("--port", type=_positive_int, default=8080, help="port for --serve (default 8080)")
    _add_vars(docs)
    _add_target(docs)

    db = commands.add_parser(
        "db",
        help="the embedded PostgreSQL: start, stop, status",
        description="Starts, stops or shows the embedded PostgreSQL (data in .netflow_pca/pgdata) "
        "and prints its connection string and libpq variables.",
    )
    db.add_argument("action", choices=["start", "stop", "status"])

    benches = commands.add_parser(
        "bench",
        help="benchmarks: `bench pca` (speed of pca_sparse_train), `bench scoring` (recall and precision), "
        "`bench e2e` (the whole pipeline, the pandas route and the daily incremental run)",
        description="Benchmarks, each on a scratch schema it drops afterwards; see the README.",
    ).add_subparsers(dest="bench", required=True, metavar="BENCHMARK", parser_class=Parser)

    defaults = bench.BenchOptions()
    pca = benches.add_parser(
        "pca",
        help="time pca_sparse_train's backends against the floor and numpy",
        description="Fits random sparse hourly matrices with each backend and prints, in the same run, "
        "the floor (one scan of the input plus writing the output) and numpy's time.",
    )
    pca.add_argument("--hours", type=_positive_int, default=defaults.hours, help="matrices (default 24)")
    pca.add_argument("--days", type=_positive_int, default=defaults.days, help="rows of each (default 90)")
    pca.add_argument("--users", type=_positive_int, default=defaults.users, help="columns (default 20000)")
    pca.add_argument("--density", type=_fraction, default=defaults.density, help="non-zero share (default 0.3)")
    pca.add_argument("--variance", type=_fraction, default=defaults.variance, help="components_param (default 0.99)")
    pca.add_argument("--backends", type=_backends, default=defaults.backends,
                     help="comma-separated, of plpython, sql, madlib (default all; those that cannot run are reported)")
    pca.add_argument("--schema", type=_schema_name, default=defaults.schema, help="scratch schema, dropped after")
    pca.add_argument("--keep", action="store_true", help="keep the scratch schema")

    scoring = benches.add_parser(
        "scoring",
        help="recall and precision of both scoring methods on generated data with injected bursts",
        description="Generates flow events with injected bursts and collective events (default: the "
        "issue4 preset, 300 users over five weeks), builds the pipeline on them with both scoring "
        "methods, and prints the recall and precision of anomalous_users' (user, hour) pairs.",
    )
    flowgen.add_spec_arguments(scoring)
    scoring.set_defaults(preset="issue4")
    scoring.add_argument("--schema", type=_schema_name, default=ScoringBenchOptions.schema,
                         help="scratch schema for the events and the models, dropped after")
    scoring.add_argument("--keep", action="store_true", help="keep the scratch schema")

    e2e_defaults = bench_e2e.E2eOptions()
    e2e = benches.add_parser(
        "e2e",
        help="the whole pipeline against its floor and pandas, and the daily incremental run",
        description="Writes generated flow events into a scratch schema and times, on the same server and data: "
        "the floor (a bare group-by of the events and one scan of int_pca_input), `dbt build` of all hours "
        "(dbt's start-up included) and its stages, the pandas and scikit-learn route, and the daily incremental "
        "run (one more day, recount_days); prints the ratios and peak memory.",
    )
    e2e.add_argument("--events", type=_positive_int, default=e2e_defaults.events, help="flow events (default 10000000)")
    e2e.add_argument("--users", type=_positive_int, default=e2e_defaults.users, help="users (default 20000)")
    e2e.add_argument("--days", type=_positive_int, default=e2e_defaults.days, help="days, the lookback window (default 90)")
    e2e.add_argument("--seed", type=_positive_int, default=e2e_defaults.seed, help="generator seed")
    e2e.add_argument("--recount-days", type=int, choices=range(0, 31), default=e2e_defaults.recount_days,
                     metavar="0-30", help="the var recount_days of the incremental run (default 1)")
    _add_threads(e2e)
    e2e.add_argument("--schema", type=_schema_name, default=e2e_defaults.schema, help="scratch schema, dropped after")
    e2e.add_argument("--keep", action="store_true", help="keep the scratch schema")
    return parser


def _show_results(runner: Runner) -> None:
    files = export.write_run_files(export.runs_directory(runner.project_dir, runner.env), runner.env, report.Relations.of_build(runner.target_dir))
    print(f"\n{files.results_text()}")


def _run(args: argparse.Namespace) -> int:
    hours = parse_hours(args.hours)
    run_date = parse_run_date(args.run_date) if args.run_date else None
    extra = parse_var_options(args.var, args.vars, project_vars(PROJECT_DIR))
    vars = dbt_vars(run_date=run_date, lookback_days=args.lookback_days, extra=extra)
    with database_environment() as env:
        runner = Runner(env, options=DbtOptions(args.target, args.threads))
        code = runner.build(hours, vars)
        if code == 0:
            _show_results(runner)
        return code


def _retry(args: argparse.Namespace) -> int:
    with database_environment() as env:
        runner = Runner(env, options=DbtOptions(threads=args.threads))
        code = runner.retry()
        if code == 0:
            _show_results(runner)
        return code


def _demo(args: argparse.Namespace) -> int:
    with database_environment() as env:
        runner = Runner(env, options=DbtOptions(args.target, args.threads))
        code = runner.build(None, {})
        if code == 0:
            _show_results(runner)
            _print_connection(env)
        return code


def _print_connection(env: dict[str, str]) -> None:
    """Where the demo's tables are, and how to query them."""
    schema = env.get("NETFLOW_PCA_SCHEMA", "netflow_pca")
    if uses_external_server(os.environ):
        where = f"on the server the PG* variables name (database {env.get('PGDATABASE', '')})"
        connect = "psql"
    else:
        where = f"in the embedded PostgreSQL, data in {STATE_DIR / 'pgdata'} (the demo stops it again if it started it)"
        connect = "netflow-pca db start   # starts it and prints the export PG... lines for psql; db stop stops it"
    print(
        f"\nThe tables are in schema {schema} {where}. To query them:\n"
        f"  {connect}\n"
        f"  select * from {schema}.anomalous_users;   -- also {schema}.pipeline_runs, {schema}.user_outlier_scores"
    )


def _docs(args: argparse.Namespace) -> int:
    vars = parse_var_options(args.var, args.vars, project_vars(PROJECT_DIR))
    with database_environment() as env:
        runner = Runner(env, options=DbtOptions(args.target))
        # dbt colours its output only for a terminal; elsewhere escape codes are noise
        colours = [] if sys.stdout.isatty() else ["--no-use-colors"]
        code = runner.dbt([*colours, "docs", "generate", "--static"], vars)
        if code == 0:
            print(f"\nDocs site: {runner.target_dir / 'static_index.html'}")
        if code == 0 and args.serve:
            code = runner.dbt(["docs", "serve", "--port", str(args.port), "--no-browser"])
        return code


def _db(args: argparse.Namespace) -> int:
    if uses_external_server(os.environ):
        print("A PG* variable is set, so the embedded database is not used.", file=sys.stderr)
    database = EmbeddedDatabase(STATE_DIR / "pgdata")
    if args.action == "start":
        status = database.start()
    elif args.action == "stop":
        print("stopped" if database.stop() else "not running")
        return 0
    else:
        status = database.status()
    if not status.running:
        print(f"not running (data in {status.data_dir})")
        return 0
    print(f"running, data in {status.data_dir}")
    print(f"connection: {status.connection_string}")
    for name, value in status.libpq_environment.items():
        print(f"export {name}={value}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    with database_environment() as env:
        if args.bench == "scoring":
            try:
                flow_plan = flowgen.plan(flowgen.spec_from_args(args))
            except ValueError as error:
                raise UsageError(f"bad data set: {error}") from None
            return run_scoring_bench(env, ScoringBenchOptions(flow_plan, args.schema, args.keep))
        if args.bench == "e2e":
            return bench_e2e.run_e2e(env, bench_e2e.E2eOptions(
                args.events, args.users, args.days, args.seed, args.recount_days, args.threads, args.schema, args.keep))
        options = bench.BenchOptions(args.hours, args.days, args.users, args.density, args.variance, args.backends,
                                     args.schema, args.keep)
        return bench.run_bench(env, options)


COMMANDS = {"run": _run, "retry": _retry, "demo": _demo, "docs": _docs, "db": _db, "bench": _bench}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, LookupError, psycopg2.OperationalError, bench_e2e.BenchFailed) as error:
        message = " ".join(str(error).split())
        print(f"netflow-pca {args.command}: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
