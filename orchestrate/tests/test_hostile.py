"""Hostile parameters, property-based: no var or command-line option, whatever its value, runs SQL
of its own or writes outside the target schema.

The runner's own parsing is checked on many examples (pure functions, no database). dbt is
checked on fewer: each example sets some vars to drawn values and runs the staging model, which
stops at the validation (parse time, then the on-run-start hook against the catalog) or, for a
value that passes, builds the view with it. The run is made by a superuser role of the test's
own, so that privileges hide nothing, and what it owns is compared before and after: nothing may
appear outside its schema, the table `x` that injections aim at must stay, and no role may appear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from dbt.config.utils import parse_cli_vars
from hypothesis import strategies as st

from orchestrate.cli import build_parser
from orchestrate.lab.bench.command import build_parser as bench_parser
from orchestrate.run.options import (
    JINJA_DELIMITERS,
    OPTION_VARS,
    UsageError,
    dbt_command,
    parse_hours,
    parse_run_date,
    parse_var_options,
)
from orchestrate.tests.conftest import PROJECT_VARS, Database, InProcessDbt, Project, _project

# pieces of SQL, quoting, Jinja and control characters that injections are made of
FRAGMENTS = [
    "'", '"', ";", "--", "/*", "*/", "$$", "$1", "\\", "\x00", "\n", "\x7f", " ", ")", "(", ",", "=",
    "drop table x", "select pg_sleep(5)", "pg_catalog.", "public.", "{{ ", " }}", "{% ", " %}", "{#", "e'\\x27",
    "UTC", "12", "2017-01-14", "0.5", "user_name", "start_time", "Ü", "🙂", "",
]
hostile_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=6).map("".join)
scalars = st.one_of(
    hostile_text, st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(), st.dates()
)
any_value = st.one_of(scalars, st.lists(scalars, max_size=2), st.dictionaries(hostile_text, scalars, max_size=2))


@settings(max_examples=300, deadline=None)
@given(name=st.one_of(st.sampled_from(sorted(PROJECT_VARS)), hostile_text), text=hostile_text)
def test_var_option_is_refused_or_yields_a_known_var_passed_as_one_argument(name: str, text: str) -> None:
    try:
        values = parse_var_options([f"{name}={text}"], None, PROJECT_VARS)
    except UsageError as error:
        assert str(error).startswith("--var:")
        return
    assert set(values) <= set(PROJECT_VARS) - set(OPTION_VARS)
    assert all(value is None or isinstance(value, (str, int, float, bool)) for value in values.values())
    args = dbt_command(["build"], values)
    assert args[:2] == ["build", "--vars"] and len(args) == 3
    # one argument, which dbt reads back as exactly these values
    assert parse_cli_vars(args[2]) == values


def test_jinja_in_a_var_is_refused_before_dbt_renders_it() -> None:
    for option, assignments, text in [("--var", ["events_table=x{{ run_query('drop table x') }}"], None),
                                      ("--vars", [], "{events_table: '{% do run_query(\"drop table x\") %}'}")]:
        with pytest.raises(UsageError, match=f"^{option}: the value of events_table holds Jinja"):
            parse_var_options(assignments, text, PROJECT_VARS)


@settings(max_examples=300, deadline=None)
@given(mapping=st.dictionaries(st.one_of(st.sampled_from(sorted(PROJECT_VARS)), hostile_text), any_value, max_size=4))
def test_vars_option_is_refused_or_yields_known_scalar_vars(mapping: dict[str, Any]) -> None:
    text = json.dumps(mapping, default=str)
    try:
        values = parse_var_options([], text, PROJECT_VARS)
    except UsageError as error:
        assert str(error).startswith("--vars:")
        return
    assert set(values) <= set(PROJECT_VARS) - set(OPTION_VARS)
    assert all(value is None or isinstance(value, (str, int, float, bool)) for value in values.values())


@settings(max_examples=300, deadline=None)
@given(hours=hostile_text, run_date=hostile_text, number=hostile_text, schema=hostile_text)
@example(hours="²", run_date="", number="²", schema="")  # a digit to str.isdigit, not to int()
def test_command_line_options_reaching_sql_are_refused_or_well_formed(hours: str, run_date: str, number: str, schema: str) -> None:
    try:
        assert set(parse_hours(hours)) <= set(range(24))
    except UsageError as error:
        assert str(error).startswith("--hours:")
    try:
        assert isinstance(parse_run_date(run_date), date)
    except UsageError as error:
        assert str(error).startswith("--run-date:")
    for parser, argv, attribute, well_formed in [
        (build_parser, ["run", "--lookback-days", number], "lookback_days", lambda value: isinstance(value, int) and value >= 1),
        (build_parser, ["run", "--threads", number], "threads", lambda value: isinstance(value, int) and value >= 1),
        (bench_parser, ["pca", "--schema", schema], "schema", lambda value: re.fullmatch("[a-z_][a-z0-9_]{0,62}", value)),
    ]:
        try:
            parsed = parser().parse_args(argv)
        except SystemExit as stop:
            assert stop.code == 2
            continue
        assert well_formed(getattr(parsed, attribute))


# vars that reach SQL, with values that pass validation (the hostile names exist in the fixture)
SQL_VARS = ["hour_id", "run_date", "lookback_days", "variance_target", "loading_threshold", "pca_backend",
            "pca_functions_schema", "madlib_schema", "timezone", "events_schema", "events_table", "user_column", "time_column"]
HOSTILE_TABLE = "flows; drop table x; --"
HOSTILE_USER = "user) from pg_authid; --"
HOSTILE_TIME = "at $$; delete from x; /*"


@pytest.fixture(scope="module")
def hostile_target(
    db: Database, server_env: dict[str, str], session_id: str, tmp_path_factory: pytest.TempPathFactory, invoke_dbt: InProcessDbt
) -> Iterator[Project]:
    """A superuser role of its own owning the target schema; the events under hostile names in a
    schema it does not own; the table `x`."""
    role = f"nfpca_test_{session_id}_hostile"
    events_schema = f"{role} $1; drop table x; --"
    db.execute(f'create role "{role}" superuser login; create schema "{role}" authorization "{role}"')
    for project in _project(db, {**server_env, "PGUSER": role}, role, tmp_path_factory.mktemp("hostile"), invoke_dbt):
        db.execute(f'create table "{role}".x as select 1 as kept; alter table "{role}".x owner to "{role}"')
        db.execute(f'create schema "{events_schema}"')
        db.execute(f"""create table "{events_schema}"."{HOSTILE_TABLE}" ("{HOSTILE_USER}" text, "{HOSTILE_TIME}" bigint);
                       insert into "{events_schema}"."{HOSTILE_TABLE}" values ('a', 1484222400), ('b', 1484226000)""")
        try:
            yield project
        finally:
            db.execute(f'drop schema if exists "{events_schema}" cascade; drop owned by "{role}"; drop role if exists "{role}"')


def valid_values(name: str, events_schema: str) -> st.SearchStrategy[Any]:
    return {
        "hour_id": st.integers(0, 23),
        "run_date": st.just("2017-01-12"),
        "lookback_days": st.integers(1, 400),
        "variance_target": st.sampled_from([0.5, 1.0, 3]),
        "loading_threshold": st.sampled_from([0.1, 2]),
        "pca_backend": st.sampled_from(["auto", "madlib", "plpython", "sql"]),
        "timezone": st.sampled_from(["UTC", "Asia/Kolkata", "America/Argentina/Buenos_Aires"]),
        "events_schema": st.just(events_schema),
        "events_table": st.just(HOSTILE_TABLE),
        "user_column": st.just(HOSTILE_USER),
        "time_column": st.just(HOSTILE_TIME),
    }.get(name, hostile_text)


def ownership(db: Database, role: str) -> dict[str, Any]:
    """What the role owns outside its schema, whether x is whole, and the roles there are (except
    other test sessions')."""
    owned = db.rows(
        """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where c.relowner = to_regrole(%(quoted)s) and n.nspname not in (%(role)s, 'pg_toast') and n.nspname not like 'pg\\_%%temp\\_%%'
           union all
           select n.nspname, p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where p.proowner = to_regrole(%(quoted)s) and n.nspname <> %(role)s
           union all
           select nspname, '' from pg_namespace where nspowner = to_regrole(%(quoted)s) and nspname <> %(role)s
           order by 1, 2""",
        {"quoted": f'"{role}"', "role": role},
    )
    roles = db.rows(
        "select rolname from pg_roles where rolname not like 'nfpca\\_test\\_%%' or rolname like %s order by 1",
        (role.rsplit("_", 1)[0] + "%",),
    )
    return {"owned elsewhere": owned, "x": db.rows(f'select * from "{role}".x'), "roles": roles}


# each example is a dbt invocation of a few seconds: no shrinking, which would run hundreds
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(data=st.data())
def test_no_var_runs_sql_of_its_own_or_writes_outside_the_target_schema(hostile_target: Project, data: st.DataObject) -> None:
    events_schema = f"{hostile_target.schema} $1; drop table x; --"
    names = data.draw(st.lists(st.sampled_from(SQL_VARS), min_size=1, max_size=3, unique=True), label="vars")
    drawn = {name: data.draw(st.one_of(any_value, valid_values(name, events_schema)), label=name) for name in names}
    # on the hostile events unless drawn otherwise, so that every value that passes reaches SQL;
    # as the runner passes them: JSON, dates as their text, without Jinja (refused by the runner,
    # because dbt renders a var's text as a template before the project's validation sees it)
    events = {"events_schema": events_schema, "events_table": HOSTILE_TABLE, "user_column": HOSTILE_USER, "time_column": HOSTILE_TIME}
    vars = json.loads(json.dumps({**events, **drawn}, default=str))
    assume(not any(delimiter in json.dumps(vars) for delimiter in JINJA_DELIMITERS))
    before = ownership(hostile_target.db, hostile_target.schema)

    result = hostile_target.dbt("run", "--select", "stg_flows__events", vars=vars)

    if result.returncode != 0:
        named = [name for name in names if f"Invalid var {name}" in result.stdout]
        missing_events = re.search(r"does not exist( \(there is no schema [^)]*\))?: check the vars events_schema", result.stdout) and (
            {"events_schema", "events_table"} & set(names))
        assert named or missing_events, result.stdout[-3000:]
    assert ownership(hostile_target.db, hostile_target.schema) == before == {**before, "x": [(1,)]}
