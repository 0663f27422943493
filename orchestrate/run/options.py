"""The command's options as dbt arguments: hours, dates and vars parsed and checked, and the
argument list of a dbt command. Pure functions, tested without dbt."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

ALL_HOURS = tuple(range(24))
SAMPLE_SEED = "sample_flows"
# vars the runner sets from its own options, because it splits a run into hours
OPTION_VARS = {"hour_id": "--hours", "run_date": "--run-date", "lookback_days": "--lookback-days"}
# the largest lookback_days the project's var validation accepts (macros/vars/run_vars.sql)
LOOKBACK_DAYS_LIMIT = 36600
# dbt renders every string var as Jinja, where {{ run_query(...) }} runs SQL
JINJA_DELIMITERS = ("{{", "{%", "{#")


class UsageError(ValueError):
    """A bad option or value from the user, reported as one line, never as a traceback."""


def parse_hours(text: str) -> tuple[int, ...]:
    """Hours of the day from '12', '0-5,18' or 'all', sorted and without repeats."""
    if text.strip().lower() == "all":
        return ALL_HOURS
    hours: set[int] = set()
    for part in text.split(","):
        bounds = part.strip().split("-")
        if len(bounds) > 2 or not all(bound.strip().isascii() and bound.strip().isdigit() for bound in bounds):
            raise UsageError(f"--hours: '{part.strip()}' is not an hour (0-23) or a range of hours like 0-5")
        first, last = int(bounds[0]), int(bounds[-1])
        if not 0 <= first <= last <= 23:
            raise UsageError(f"--hours: '{part.strip()}' is outside 0-23 or runs backwards")
        hours.update(range(first, last + 1))
    return tuple(sorted(hours))


def parse_run_date(text: str, option: str = "--run-date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: '{text}' is not a date as YYYY-MM-DD") from None


def project_vars(project_dir: Path) -> dict[str, Any]:
    """The vars the project declares in dbt_project.yml, with their defaults."""
    return dict(yaml.safe_load((project_dir / "dbt_project.yml").read_text()).get("vars") or {})


def _scalar(option: str, name: str, value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{option}: the value of {name} must be a finite number, not {value}")
    if isinstance(value, str) and any(delimiter in value for delimiter in JINJA_DELIMITERS):
        # dbt renders a var's value as a template before any macro of the project sees it
        raise UsageError(f"{option}: the value of {name} holds Jinja ({', '.join(JINJA_DELIMITERS)}), which dbt would run")
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise UsageError(f"{option}: the value of {name} must be a single value, not {type(value).__name__}")
    return value


def parse_var_options(assignments: Sequence[str], vars_text: str | None, known: Mapping[str, Any]) -> dict[str, Any]:
    """dbt vars from `--vars '{timezone: Europe/Berlin}'` and repeated `--var key=value` (which win),
    each value read as YAML as dbt reads `--vars`. Only the project's vars are accepted, and not
    those the runner sets from its own options; dbt itself validates the values."""
    given: list[tuple[str, str, Any]] = []
    if vars_text is not None:
        try:
            mapping = yaml.safe_load(vars_text)
        except yaml.YAMLError:
            raise UsageError(f"--vars: '{vars_text}' is not YAML or JSON") from None
        if not isinstance(mapping, dict):
            raise UsageError(f"--vars: expected a mapping like '{{timezone: Europe/Berlin}}', got '{vars_text}'")
        given += [("--vars", str(name), value) for name, value in mapping.items()]
    for assignment in assignments:
        name, equals, text = assignment.partition("=")
        if not equals or not name.strip():
            raise UsageError(f"--var: '{assignment}' is not key=value")
        try:
            given.append(("--var", name.strip(), yaml.safe_load(text)))
        except yaml.YAMLError:
            raise UsageError(f"--var: the value of {name.strip()} is not a YAML value: '{text}'") from None
    values: dict[str, Any] = {}
    for option, name, value in given:
        if name in OPTION_VARS:
            raise UsageError(f"{option}: set {name} with {OPTION_VARS[name]}")
        if name not in known:
            raise UsageError(f"{option}: the project has no var '{name}'; its vars are {', '.join(sorted(known))}")
        values[name] = _scalar(option, name, value)
    return values


def builds_seeds(vars: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    """True when the events are the sample seed (as in the demo): then the run loads it first;
    pointed at a real events table, a run leaves the seed out of the target schema."""
    effective = {**defaults, **vars}
    return effective.get("events_table") == SAMPLE_SEED and not effective.get("events_schema")


def build_exclusions(reads_seed: bool, unit_tests: bool = False) -> list[str]:
    """The `dbt build` arguments that leave out what a run leaves out: dbt's unit tests, which check
    the SQL on fixed rows, not the data (CI runs them; dbt advises leaving them out of production
    runs: about 4 s of a build, whatever the data's size), and the sample seed unless the run reads it."""
    excluded = [*([] if unit_tests else ["unit_test"]), *([] if reads_seed else ["seed"])]
    return ["--exclude-resource-type", *excluded] if excluded else []


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


# characters YAML's reader refuses raw, or reads as a line break, inside a JSON string
_NOT_YAML_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def vars_argument(vars: Mapping[str, Any]) -> str:
    """The text of dbt's `--vars`, which dbt reads as YAML: JSON (a subset of YAML), with
    characters outside the basic plane kept as they are, because YAML reads a JSON surrogate
    pair as two broken characters, and the characters YAML refuses raw escaped as \\uXXXX."""
    text = json.dumps(dict(vars), sort_keys=True, ensure_ascii=False)
    return _NOT_YAML_PRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def dbt_command(command: Sequence[str], vars: Mapping[str, Any] | None = None, options: DbtOptions = DbtOptions()) -> list[str]:
    """The argument list of one dbt command (without the executable)."""
    args = list(command)
    if vars:
        args += ["--vars", vars_argument(vars)]
    if options.target:
        args += ["--target", options.target]
    if options.threads:
        args += ["--threads", str(options.threads)]
    return args
