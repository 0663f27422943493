"""Fixtures that run real dbt against the real PostgreSQL of this machine.

The server is the one the libpq variables name (default: postgres@127.0.0.1:5432/test). Every
test session builds into schemas of its own, named after the session and dropped at its end, and
keeps dbt's artifacts in a temporary folder, so that sessions can run side by side.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from dbt.cli.main import dbtRunner
from dbt_common.tests import enable_test_caching

from orchestrate.database import connection_parameters
from orchestrate.lab.generators.sample_data import DEFAULT_PATH as SAMPLE_CSV
from orchestrate.run.options import build_exclusions, builds_seeds, dbt_command, project_vars
from orchestrate.run.plan import PARTIAL_PARSE_FILE
from orchestrate.run.runner import PROJECT_DIR
from orchestrate.tests.models import HOURLY_MODELS, SET_BASED_RESIDUAL_MODELS

SERVER_DEFAULTS = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres", "PGDATABASE": "test"}
NETFLOW_PCA = str(Path(sys.executable).parent / "netflow-pca")
PROJECT_VARS = project_vars(PROJECT_DIR)


def run_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real `netflow-pca` command, as a user runs it."""
    return subprocess.run([NETFLOW_PCA, *args], env=dict(env), capture_output=True, text=True, timeout=900)


def parse_key(vars: Mapping[str, Any] | None, env: Mapping[str, str]) -> str:
    """A name for what dbt's saved parse depends on besides the project's files."""
    return hashlib.sha256(json.dumps([vars, env], sort_keys=True, default=str).encode()).hexdigest()[:16]


def server_environment() -> dict[str, str]:
    env = dict(os.environ)
    if not any(env.get(name) for name in SERVER_DEFAULTS):
        env.update(SERVER_DEFAULTS)
    return env


def within_rounding(value: Any) -> Any:
    """The value with its floats compared up to rounding, for comparing a model's rows across
    runs: a float sum over rows read in another physical order (a one-hour run rewrites its hour's
    rows at the end of the table) may differ in the last bit."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12, abs=1e-12)
    if isinstance(value, (list, tuple)):
        return type(value)(within_rounding(item) for item in value)
    return value


def rows_of_hours(
    project: Project, model: str, hours: Sequence[int], condition: str = "true", columns: str = "t.*"
) -> list[tuple[Any, ...]]:
    """The model's rows of those hours (or those columns of them), in a total order (whatever the
    model's columns)."""
    return project.db.rows(
        f'select {columns} from "{project.schema}"."{model}" t where hour_of_day = any(%s) and {condition}'
        f' order by row({columns})::text',
        (list(hours),),
    )


def assert_hour_rows_match(project: Project, reference: Project, model: str, hours: Sequence[int]) -> None:
    """The model's rows of those hours equal the reference's (a run of all hours) up to rounding."""
    assert rows_of_hours(project, model, hours) == within_rounding(rows_of_hours(reference, model, hours)), model


def assert_refused_for_other_hours(output: str, hours: str, difference: str) -> None:
    """The run of some hours stopped because its other hours were not built for it
    (check_other_hours_built), naming those hours and what differs."""
    assert "read its users' other hours, which have not been built for this run's window and parameters" in output, output[-4000:]
    assert f"hours {hours} {difference}" in output, output[-4000:]
    assert "run all hours first with these vars" in output


@dataclass
class Database:
    """A connection to the test server, for arranging data and reading results."""

    env: Mapping[str, str]

    def connect(self) -> Any:
        return psycopg2.connect(**connection_parameters(self.env))

    def execute(self, sql: str, params: Any = None) -> None:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def relation_exists(self, schema: str, name: str) -> bool:
        return bool(self.rows("select to_regclass(%s) is not null", (f'"{schema}"."{name}"',))[0][0])


@dataclass(frozen=True)
class DbtResult:
    returncode: int
    stdout: str


class InProcessDbt:
    """dbt's programmatic runner, which saves each invocation the seconds of starting Python and
    importing dbt. The environment of an invocation is set for its length only.

    With dbt's test caching, as dbt's own test fixtures turn it on (`dbt.tests.fixtures.project`):
    a full parse, which every new set of vars forces, parses the Jinja of dbt's and the project's
    macros again, most of its time, and the cache keeps each template's syntax tree by its exact
    text, so that only the parse of the same text is saved."""

    def __init__(self) -> None:
        enable_test_caching()
        self._messages: list[str] = []
        self._runner = dbtRunner(callbacks=[self._collect])

    def _collect(self, event: Any) -> None:
        if event.info.level in ("info", "warn", "error"):
            self._messages.append(event.info.msg)

    def __call__(self, args: list[str], env: Mapping[str, str]) -> DbtResult:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        self._messages = []
        try:
            result = self._runner.invoke([*args, "--project-dir", str(PROJECT_DIR)])
        finally:
            os.environ.clear()
            os.environ.update(saved)
        output = "\n".join(self._messages + ([str(result.exception)] if result.exception else []))
        return DbtResult(0 if result.success else 1, output)


@dataclass
class Project:
    """The dbt project built into one schema of the test server."""

    schema: str
    env: dict[str, str]
    db: Database
    invoke: InProcessDbt

    @property
    def target_dir(self) -> Path:
        return Path(self.env["DBT_TARGET_PATH"])

    @property
    def runs_dir(self) -> Path:
        return Path(self.env["NETFLOW_PCA_RUNS_PATH"])

    def dbt(self, *command: str, vars: Mapping[str, Any] | None = None) -> DbtResult:
        """Run dbt in this process; the result has its returncode and its log as stdout.

        dbt parses the whole project again whenever the vars or the environment differ from its
        last invocation's (a few seconds each). Tests that alternate between vars would pay that
        every time, so the parse each (vars, environment) left is kept and put back before an
        invocation with the same ones: dbt then parses as if they had been the last."""
        current = self.target_dir / PARTIAL_PARSE_FILE
        saved = self.target_dir.with_name("saved_parses") / f"{parse_key(vars, self.env)}.msgpack"
        if saved.exists():
            self.target_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(saved, current)
        else:
            # another state's parse, useless here; gone, so that a file afterwards is this one's
            current.unlink(missing_ok=True)
        result = self.invoke(dbt_command(command, vars), self.env)
        if current.exists():
            saved.parent.mkdir(exist_ok=True)
            shutil.copyfile(current, saved)
        return result

    def try_build(
        self, vars: Mapping[str, Any] | None = None, options: Sequence[str] = (), unit_tests: bool = False
    ) -> DbtResult:
        """`dbt build` with those options, leaving out what a run leaves out: dbt's unit tests
        unless asked (they check the SQL on fixed rows, the same in every build: `built_project`
        runs them) and the sample seed unless the vars read it (loading it takes seconds)."""
        exclusions = build_exclusions(builds_seeds(vars or {}, PROJECT_VARS), unit_tests)
        return self.dbt("build", *options, *exclusions, vars=vars)

    def build(self, vars: Mapping[str, Any] | None = None, options: Sequence[str] = (), unit_tests: bool = False) -> DbtResult:
        """try_build, which must succeed."""
        result = self.try_build(vars, options, unit_tests)
        assert result.returncode == 0, result.stdout[-6000:]
        return result

    def table(self, model: str, order_by: str = "1") -> list[tuple[Any, ...]]:
        return self.db.rows(f'select * from "{self.schema}"."{model}" order by {order_by}')

    def hourly_models(self) -> list[str]:
        """HOURLY_MODELS that this schema holds: all but the set-based residual models, which a
        build of the plpython route (a run where auto resolves to it) leaves out."""
        present = {name for (name,) in self.db.rows(
            "select table_name from information_schema.tables where table_schema = %s", (self.schema,))}
        missing = [model for model in HOURLY_MODELS if model not in present]
        assert set(missing) <= set(SET_BASED_RESIDUAL_MODELS), missing
        return [model for model in HOURLY_MODELS if model in present]

    def hour_fingerprints(self, model: str) -> dict[int, str]:
        """Per hour: a digest of its rows together with their physical place and writing
        transaction, so that a row rewritten with equal values still shows."""
        rows = self.db.rows(f"""
            select hour_of_day, md5(string_agg(ctid::text || ':' || xmin::text || ':' || t::text, ',' order by t::text))
            from "{self.schema}"."{model}" t
            group by hour_of_day
        """)
        return dict(rows)

    def load_sample_events(self, table: str = "events", time_expression: str = "start_time") -> dict[str, str]:
        """An events table of the test's own holding the sample flows, loaded with COPY (faster
        than building the seed); returns the vars that point the pipeline at it."""
        self.db.execute(f'create schema if not exists "{self.schema}"')
        with self.db.connect() as connection, connection.cursor() as cursor:
            cursor.execute("create temporary table sample (user_name text, start_time bigint)")
            with SAMPLE_CSV.open() as handle:
                cursor.copy_expert("copy sample from stdin with (format csv, header true)", handle)
            cursor.execute(
                f'create table "{self.schema}"."{table}" as select user_name, {time_expression} as start_time from sample'
            )
        return {"events_table": table}


@pytest.fixture(scope="session")
def server_env() -> dict[str, str]:
    return server_environment()


@pytest.fixture(scope="session")
def db(server_env: dict[str, str]) -> Database:
    return Database(server_env)


@pytest.fixture(scope="session")
def session_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def invoke_dbt() -> InProcessDbt:
    return InProcessDbt()


def _project(db: Database, server_env: dict[str, str], schema: str, tmp: Path, invoke: InProcessDbt) -> Iterator[Project]:
    profiles = tmp / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_DIR / "profiles.yml.example", profiles / "profiles.yml")
    env = {
        **server_env,
        "NETFLOW_PCA_SCHEMA": schema,
        "DBT_PROFILES_DIR": str(profiles),
        "DBT_TARGET_PATH": str(tmp / "target"),
        "DBT_LOG_PATH": str(tmp / "logs"),
        "NETFLOW_PCA_RUNS_PATH": str(tmp / "runs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    try:
        yield Project(schema, env, db, invoke)
    finally:
        db.execute(f'drop schema if exists "{schema}" cascade')


@pytest.fixture(scope="session")
def built_project(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt
) -> Iterator[Project]:
    """The whole pipeline built once on the sample seeds, unit tests included; tests must not
    change it."""
    tmp = tmp_path_factory.mktemp("built")
    for project in _project(db, server_env, f"nfpca_test_{session_id}_built", tmp, invoke_dbt):
        project.build(unit_tests=True)
        yield project


@pytest.fixture(scope="session")
def last_good(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt
) -> Iterator[Project]:
    """The pipeline built on a copy of the sample events (`events`): the last good run that bad
    input and faults must keep. Tests may run it again on the same events, never change them."""
    tmp = tmp_path_factory.mktemp("last_good")
    for project in _project(db, server_env, f"nfpca_test_{session_id}_last_good", tmp, invoke_dbt):
        project.build(project.load_sample_events())
        yield project


@pytest.fixture
def project(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path: Path, invoke_dbt: InProcessDbt
) -> Iterator[Project]:
    """An empty schema of its own for a test that changes what is built."""
    schema = f"nfpca_test_{session_id}_{uuid.uuid4().hex[:6]}"
    yield from _project(db, server_env, schema, tmp_path, invoke_dbt)
