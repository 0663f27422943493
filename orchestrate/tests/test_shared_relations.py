"""The shared_view and shared_table materializations on real PostgreSQL: an unchanged relation is
left as it is (the same object, never locked), a changed one replaced, and runs at once that must
both rebuild it take turns. The project has no shared table of its own yet, so these tests build
one in a copy of the project; the staging view, a shared_view, is in test_concurrency.py too."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrate.run.options import dbt_command
from orchestrate.run.runner import PROJECT_DIR, dbt_executable
from orchestrate.tests.conftest import Database, Project

PROJECT_FILES = ("dbt_project.yml", "macros", "models", "seeds", "tests", "analyses")
# a small table of days whose rows and columns follow the vars, as a window model's would
SHARED_TABLE = """{{ config(materialized='shared_table') }}
select cast(day as date) as {{ var('day_column', 'day') }}
from generate_series(date '2024-01-01', date '2024-01-01' + {{ var('days', 3) }} - 1, interval '1 day') as day
"""


@pytest.fixture
def copied(project: Project, tmp_path: Path) -> Iterator[Path]:
    """A copy of the project with one shared_table model, `shared_days`."""
    copy = tmp_path / "project"
    for name in PROJECT_FILES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy(source, copy / name)
    (copy / "models" / "shared_days.sql").write_text(SHARED_TABLE)
    yield copy


def start(project: Project, copy: Path, vars: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [dbt_executable(), *dbt_command(["run", "--select", "shared_days"], vars), "--project-dir", str(copy)],
        env={**project.env, "DBT_TARGET_PATH": str(copy / "target" / str(time.monotonic_ns()))},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def build(project: Project, copy: Path, vars: dict[str, Any]) -> None:
    run = start(project, copy, vars)
    output = run.communicate(timeout=300)[0]
    assert run.returncode == 0, output[-4000:]


def identity(db: Database, schema: str) -> tuple[Any, ...]:
    """The table's object id and the transaction that wrote its catalog row, and its rows."""
    [(oid, xmin)] = db.rows(f"select oid, xmin::text from pg_class where oid = '\"{schema}\".shared_days'::regclass")
    return oid, xmin, db.rows(f'select * from "{schema}".shared_days order by 1')


def test_an_unchanged_shared_table_is_left_as_it_is_and_a_changed_one_replaced(project: Project, copied: Path) -> None:
    build(project, copied, {"days": 3})
    first = identity(project.db, project.schema)

    build(project, copied, {"days": 3})
    assert identity(project.db, project.schema) == first

    build(project, copied, {"days": 4})
    (oid, _, rows) = identity(project.db, project.schema)
    assert oid != first[0] and len(rows) == 4

    build(project, copied, {"days": 4, "day_column": "calendar_day"})
    assert project.db.rows(
        f"""select attname from pg_attribute where attrelid = '"{project.schema}".shared_days'::regclass and attnum > 0"""
    ) == [("calendar_day",)]


def test_runs_at_once_take_turns_on_a_shared_table(project: Project, copied: Path) -> None:
    build(project, copied, {"days": 3})
    relation = f'"{project.db.env["PGDATABASE"]}"."{project.schema}"."shared_days"'

    with project.db.connect() as holder, holder.cursor() as cursor:
        cursor.execute("select pg_advisory_xact_lock(hashtext(%s))", (relation,))
        runs = [start(project, copied, {"days": 5}) for _ in range(2)]
        deadline, waiting = time.monotonic() + 300, 0
        while time.monotonic() < deadline and all(run.poll() is None for run in runs):
            [(waiting,)] = project.db.rows(
                """select count(*) from pg_locks where locktype = 'advisory' and not granted and objsubid = 1
                     and objid::bigint = hashtext(%s)::bigint & 4294967295""",
                (relation,),
            )
            if waiting == 2:
                break
            time.sleep(0.5)
        assert waiting == 2, "\n\n".join(run.communicate()[0][-4000:] for run in runs)
    outputs = [run.communicate(timeout=300)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], "\n\n".join(output[-4000:] for output in outputs)
    assert len(identity(project.db, project.schema)[2]) == 5
