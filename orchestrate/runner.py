"""Building and running dbt invocations: hours and dates become dbt `--vars`.

The decisions (which invocations, which vars, which arguments) are pure functions; `Runner`
only runs them, against the server the libpq variables name or the embedded one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from orchestrate.database import EmbeddedDatabase, uses_external_server

PROJECT_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = PROJECT_DIR / ".netflow_pca"
ALL_HOURS = tuple(range(24))


class UsageError(ValueError):
    """A bad option or value from the user, reported as one line, never as a traceback."""


def parse_hours(text: str) -> tuple[int, ...]:
    """Hours of the day from '12', '0-5,18' or 'all', sorted and without repeats."""
    if text.strip().lower() == "all":
        return ALL_HOURS
    hours: set[int] = set()
    for part in text.split(","):
        bounds = part.strip().split("-")
        if len(bounds) > 2 or not all(bound.strip().isdigit() for bound in bounds):
            raise UsageError(f"--hours: '{part.strip()}' is not an hour (0-23) or a range of hours like 0-5")
        first, last = int(bounds[0]), int(bounds[-1])
        if not 0 <= first <= last <= 23:
            raise UsageError(f"--hours: '{part.strip()}' is outside 0-23 or runs backwards")
        hours.update(range(first, last + 1))
    return tuple(sorted(hours))


def parse_run_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--run-date: '{text}' is not a date as YYYY-MM-DD") from None


def hour_batches(hours: Sequence[int] | None) -> list[int | None]:
    """One dbt invocation per hour, or a single one for all 24 (hour_id unset)."""
    if hours is None or tuple(sorted(set(hours))) == ALL_HOURS:
        return [None]
    return list(hours)


def dbt_vars(
    hour: int | None = None,
    run_date: date | None = None,
    lookback_days: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `--vars` of one invocation; unset values keep the project's defaults."""
    values: dict[str, Any] = dict(extra or {})
    if hour is not None:
        values["hour_id"] = hour
    if run_date is not None:
        values["run_date"] = run_date.isoformat()
    if lookback_days is not None:
        values["lookback_days"] = lookback_days
    return values


@dataclass(frozen=True)
class DbtOptions:
    """Arguments common to every dbt command of a run."""

    target: str | None = None
    threads: int | None = None
    extra_args: tuple[str, ...] = ()


def dbt_command(command: Sequence[str], vars: Mapping[str, Any] | None = None, options: DbtOptions = DbtOptions()) -> list[str]:
    """The argument list of one dbt command (without the executable)."""
    args = list(command)
    if vars:
        args += ["--vars", json.dumps(dict(vars), sort_keys=True)]
    if options.target:
        args += ["--target", options.target]
    if options.threads:
        args += ["--threads", str(options.threads)]
    return args + list(options.extra_args)


def dbt_executable() -> str:
    """The dbt installed beside this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def profiles_dir(project_dir: Path, environ: Mapping[str, str]) -> Path | None:
    """Where dbt should look for profiles.yml: the user's choice if they made one, else a copy of
    profiles.yml.example kept under .netflow_pca/, so that nobody has to write one to begin."""
    if environ.get("DBT_PROFILES_DIR") or (project_dir / "profiles.yml").exists():
        return None
    generated = project_dir / ".netflow_pca" / "profiles"
    generated.mkdir(parents=True, exist_ok=True)
    example = (project_dir / "profiles.yml.example").read_text()
    profile = generated / "profiles.yml"
    if not profile.exists() or profile.read_text() != example:
        profile.write_text(example)
    return generated


@contextmanager
def database_environment(environ: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """The environment for dbt: the libpq variables as given, or, with none set, those of the
    embedded PostgreSQL, which runs for the length of the block."""
    env = dict(os.environ if environ is None else environ)
    if uses_external_server(env):
        yield env
        return
    with EmbeddedDatabase(STATE_DIR / "pgdata").session() as status:
        yield {**env, **status.libpq_environment}


@dataclass
class Runner:
    """Runs dbt commands in the project with a given environment."""

    env: dict[str, str]
    project_dir: Path = PROJECT_DIR
    options: DbtOptions = field(default_factory=DbtOptions)

    def __post_init__(self) -> None:
        generated = profiles_dir(self.project_dir, self.env)
        if generated is not None:
            self.env = {**self.env, "DBT_PROFILES_DIR": str(generated)}

    @property
    def target_dir(self) -> Path:
        """Where dbt writes its artifacts (manifest, run results) for this environment."""
        return self.project_dir / self.env.get("DBT_TARGET_PATH", "target")

    def dbt(self, command: Sequence[str], vars: Mapping[str, Any] | None = None) -> int:
        """Run one dbt command, its output going to ours; returns dbt's exit code."""
        args = [dbt_executable(), *dbt_command(command, vars, self.options)]
        return subprocess.run(args, cwd=self.project_dir, env=self.env).returncode

    def build(self, hours: Sequence[int] | None, vars: Mapping[str, Any]) -> int:
        """`dbt build` for the given hours; stops at the first invocation that fails."""
        for hour in hour_batches(hours):
            code = self.dbt(["build"], {**vars, **dbt_vars(hour)})
            if code != 0:
                return code
        return 0
