"""The `netflow-pca` command: argument parsing only; the work is in `run`, `database` and `results`,
and for `bench` in the lab, which is imported only when a benchmark runs."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import psycopg2

from orchestrate.database import EmbeddedDatabase, uses_external_server
from orchestrate.results import export, report
from orchestrate.run.backend import choose_backend
from orchestrate.run.daily import recorded_run_kind
from orchestrate.run.options import (
    LOOKBACK_DAYS_LIMIT,
    DbtOptions,
    UsageError,
    dbt_vars,
    parse_hours,
    parse_run_date,
    parse_var_options,
    project_vars,
)
from orchestrate.run.runner import PROJECT_DIR, STATE_DIR, Runner, database_environment


class Parser(argparse.ArgumentParser):
    """Reports bad input as one line (and where to find help), not as usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


def _lookback_days(text: str) -> int:
    days = positive_int(text)
    if days > LOOKBACK_DAYS_LIMIT:
        raise argparse.ArgumentTypeError(f"'{text}' is more than {LOOKBACK_DAYS_LIMIT} days")
    return days


def _add_vars(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a dbt var, e.g. --var events_table=flow_log; may be repeated",
    )
    parser.add_argument("--vars", help="dbt vars as YAML or JSON, e.g. '{events_table: flow_log, timezone: UTC}'")


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help="dbt target in profiles.yml (default: the profile's own)")


def add_threads(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=positive_int, help="dbt threads (default: the profile's)")


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
    run.add_argument("--lookback-days", type=_lookback_days,
                     help=f"days of data up to the run date, at most {LOOKBACK_DAYS_LIMIT} (default 90)")
    run.add_argument("--full", action="store_true",
                     help="a full build, counting every day again, even where a daily run would do "
                     "(by default a run for the day after the last build with the same parameters is a daily run)")
    _add_vars(run)
    _add_target(run)
    add_threads(run)

    retry = commands.add_parser(
        "retry",
        help="resume a failed or interrupted run from the point of failure",
        description="Resumes a `run` or `demo` that did not finish: by default the latest started that "
        "has steps left, is not running in another process and was not stopped by a bad var (which a "
        "retry would replay); steps whose hours a later run has built are not resumed. It runs `dbt "
        "retry` for the invocation that failed (or, if it was interrupted, a build of its nodes that "
        "did not succeed), then the hours that never ran. Nothing that succeeded runs again.",
    )
    retry.add_argument("--run", metavar="RUN_ID", help="the run to resume (ids: --list, and the output of run)")
    retry.add_argument("--list", action="store_true", help="list the recorded runs and which one retry resumes")
    add_threads(retry)

    demo = commands.add_parser(
        "demo",
        help="run everything on the sample seeds and show the result",
        description="Loads the sample seeds, builds every hour and prints the result; with no PG* "
        "variable set it runs on the embedded PostgreSQL.",
    )
    _add_target(demo)
    add_threads(demo)

    docs = commands.add_parser(
        "docs",
        help="build the dbt docs site with the lineage graph",
        description="Builds the dbt docs site as one static file (static_index.html in dbt's "
        "target folder) and, with --serve, serves it. dbt compiles the models for it, so the "
        "events table the vars name must exist (after `netflow-pca demo`, the sample seed does).",
    )
    docs.add_argument("--serve", action="store_true", help="serve the site after building it")
    docs.add_argument("--port", type=positive_int, default=8080, help="port for --serve (default 8080)")
    _add_vars(docs)
    _add_target(docs)

    db = commands.add_parser(
        "db",
        help="the embedded PostgreSQL: start, stop, status",
        description="Starts, stops or shows the embedded PostgreSQL (data in .netflow_pca/pgdata) "
        "and prints its connection string and libpq variables.",
    )
    db.add_argument("action", choices=["start", "stop", "status"])

    bench = commands.add_parser(
        "bench",
        help="benchmarks: `bench pca` (speed of pca_sparse_train), `bench scoring` (recall and precision), "
        "`bench e2e` (the whole pipeline, the pandas route and the daily incremental run); "
        "`bench --help` for their options. They need the bench extra.",
        # the benchmarks' own parser, in the lab, reads the rest of the line (--help included)
        add_help=False,
    )
    bench.add_argument("argv", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _show_results(runner: Runner) -> None:
    # the manifest of the run's own invocations (runs at once each keep their own target folder)
    manifest_dir = runner.last_run.target_dir if runner.last_run else runner.target_dir
    files = export.write_run_files(export.runs_directory(runner.project_dir, runner.env), runner.env, report.Relations.of_build(manifest_dir))
    print(f"\n{files.results_text()}")


def _with_backend(env: dict[str, str], vars: dict[str, Any]) -> dict[str, Any]:
    """The vars with the PCA backend that `auto` will resolve to, where the runner is sure of it
    (orchestrate.run.backend), which it says."""
    backend = choose_backend(env, vars, project_vars(PROJECT_DIR))
    if backend is None:
        return vars
    print(backend.describe(), flush=True)
    return {**vars, **backend.vars}


def _run(args: argparse.Namespace) -> int:
    hours = parse_hours(args.hours)
    run_date = parse_run_date(args.run_date) if args.run_date else None
    extra = parse_var_options(args.var, args.vars, project_vars(PROJECT_DIR))
    vars = dbt_vars(run_date=run_date, lookback_days=args.lookback_days, extra=extra)
    with database_environment() as env:
        runner = Runner(env, options=DbtOptions(args.target, args.threads))
        kind = recorded_run_kind(
            runner.env, runner.previous_manifest_dir(), run_date, hours, vars, project_vars(PROJECT_DIR), full=args.full
        )
        print(kind.describe(), flush=True)
        code = runner.build(hours, _with_backend(runner.env, {**vars, **kind.vars}))
        if code == 0:
            _show_results(runner)
        return code


def _retry(args: argparse.Namespace) -> int:
    if args.list:
        print(Runner(dict(os.environ)).list_runs())
        return 0
    with database_environment() as env:
        runner = Runner(env, options=DbtOptions(threads=args.threads))
        code = runner.retry(args.run)
        if code == 0 and runner.last_run is not None:
            _show_results(runner)
        return code


def _demo(args: argparse.Namespace) -> int:
    with database_environment() as env:
        runner = Runner(env, options=DbtOptions(args.target, args.threads))
        code = runner.build(None, _with_backend(runner.env, {}))
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


def missing_requirements(extra: str) -> list[str]:
    """The distributions an extra of this package requires that are not installed (none known
    when the package itself is not installed)."""
    try:
        requirements = importlib.metadata.requires("netflow-pca") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    names = [re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0] for requirement in requirements if marker.search(requirement)]
    missing = []
    for name in names:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def _bench(args: argparse.Namespace) -> int:
    missing = missing_requirements("bench")
    if missing:
        raise UsageError(f"the benchmarks need the bench extra ({', '.join(missing)} missing): pip install -e '.[bench]'")
    from orchestrate.lab.bench import command  # the lab: loaded for this command only

    bench_args = command.parse_args(args.argv)
    with database_environment() as env:
        return command.run(bench_args, env)


COMMANDS = {"run": _run, "retry": _retry, "demo": _demo, "docs": _docs, "db": _db, "bench": _bench}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        args.argv += rest  # options before the benchmark's name, such as --help
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return COMMANDS[args.command](args)
    except (UsageError, LookupError, psycopg2.OperationalError) as error:
        message = " ".join(str(error).split())
        print(f"netflow-pca {args.command}: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
