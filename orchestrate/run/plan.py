"""The record of runs, kept so that `netflow-pca retry` can resume a run from the point of failure.

A run of some hours is several dbt invocations (steps), one per hour; `dbt retry` alone only knows
the last one. So each run has an id and a folder of its own in the record: its plan (the steps,
their vars and statuses), dbt's target folder for its invocations, and, per step, the dbt run
results of its attempts merged into one `run_results.json` in dbt's own format. Runs side by side
(other hours, the CLI and Dagster) each write only their own folder, and hold a lock on it while
they run. Resuming a run means: for the first unfinished step, `dbt retry` if dbt recorded every
node of its last attempt, or a build of what did not succeed if the attempt was interrupted (dbt
writes only the nodes that finished before a Ctrl-C, so `dbt retry` would see nothing to do);
then the steps that never ran. A step stopped by a bad var is not resumed (a retry would replay
the var), nor one whose hours a later run has taken over. The decisions are pure functions;
`RunRecord` and `RunHistory` only read and write the files.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from orchestrate.run.options import ALL_HOURS

RESULTS_FILE = "run_results.json"
# what dbt reads to parse only the files that changed since (the manifest beside it for --state)
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
SAVED_PARSE_FILES = (PARTIAL_PARSE_FILE, "manifest.json")
# dbt node statuses that need no rerun; dbt retry reruns error, fail, skipped, runtime error and
# partial success, and so does resuming an interrupted step
DONE_STATUSES = ("success", "pass", "warn", "no-op")
# how the project's var validation (macros/vars/) begins every message about a bad value
BAD_VAR_PREFIX = "Invalid var "
# runs the record keeps besides those a retry can still resume
KEPT_RUNS = 10


class Status(str, Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    # dbt finished and recorded every node it selected: `dbt retry` resumes it
    FAILED = "failed"
    # interrupted, or stopped before recording its nodes: rerun what did not succeed
    INCOMPLETE = "incomplete"
    # stopped by a bad var or option, which a retry would replay
    REFUSED = "refused"
    # a run started later builds the same hours: resuming this one would undo it
    SUPERSEDED = "superseded"


DONE = frozenset({Status.SUCCEEDED, Status.SUPERSEDED})


class Resume(str, Enum):
    """How the next attempt of a step runs."""

    BUILD = "build"
    RETRY = "retry"
    BUILD_REMAINING = "build-remaining"


@dataclass(frozen=True)
class Step:
    """One dbt build: one hour of the day (None: all 24 at once) with its vars."""

    hour: int | None
    vars: dict[str, Any]
    seeds: bool
    status: Status = Status.PENDING
    attempts: int = 0
    # refused: dbt's message about the bad var; superseded: the id of the run that took it over
    reason: str | None = None

    @property
    def hours(self) -> frozenset[int]:
        return frozenset(ALL_HOURS if self.hour is None else {self.hour})


@dataclass(frozen=True)
class Plan:
    run_id: str
    started_at: str
    # where the run writes (dbt target, server, schema): only runs to the same place supersede
    destination: str
    steps: tuple[Step, ...]
    target: str | None = None
    threads: int | None = None

    def unfinished(self) -> list[int]:
        """Indices of the steps a retry runs: from the first one that is not done, those not done."""
        for first, step in enumerate(self.steps):
            if step.status not in DONE:
                return [index for index in range(first, len(self.steps)) if self.steps[index].status not in DONE]
        return []

    def refusal(self) -> str | None:
        """dbt's message about the bad var that stopped the run, if one did."""
        return next((step.reason or "a bad var" for step in self.steps if step.status is Status.REFUSED), None)

    def resumable(self) -> bool:
        return bool(self.unfinished()) and self.refusal() is None

    def taken_over_by(self) -> list[str]:
        """The ids of the later runs that took over steps of this one."""
        return sorted({step.reason for step in self.steps if step.status is Status.SUPERSEDED and step.reason})

    def with_step(self, index: int, step: Step) -> Plan:
        return replace(self, steps=(*self.steps[:index], step, *self.steps[index + 1 :]))

    def hours_text(self) -> str:
        """'all hours', 'hour 5' or 'hours 5, 6'."""
        hours = sorted({hour for step in self.steps for hour in step.hours})
        if len(hours) == len(ALL_HOURS):
            return "all hours"
        return ("hour " if len(hours) == 1 else "hours ") + ", ".join(map(str, hours))

    def started_text(self) -> str:
        return f"{datetime.fromisoformat(self.started_at).astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"

    def describe(self) -> str:
        """'run 20261204T144200Z-3fa9c1 (hours 5, 6; started 2026-12-04 14:42:00 UTC)'"""
        return f"run {self.run_id} ({self.hours_text()}; started {self.started_text()})"


def new_run_id(now: datetime) -> str:
    """A run's id: when it started (UTC, so ids sort by start) and a random suffix."""
    return f"{now.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def step_status(exit_code: int, interrupted: bool, recorded: bool, refused: bool = False) -> Status:
    """The status of a step after an attempt; `recorded`: dbt wrote run results for it;
    `refused`: dbt stopped on a bad var."""
    if exit_code == 0:
        return Status.SUCCEEDED
    if refused and not interrupted:
        return Status.REFUSED
    if interrupted or not recorded:
        return Status.INCOMPLETE
    return Status.FAILED


def is_bad_var(cause: str | None) -> bool:
    """Whether what stopped dbt is a bad var: the project's var validation raises those before
    anything runs, and a retry would replay the same vars."""
    return cause is not None and cause.strip().startswith(BAD_VAR_PREFIX)


def resume_action(step: Step, has_results: bool) -> Resume:
    """How to run a step next: from scratch, with `dbt retry`, or building what did not succeed."""
    if not has_results or step.status in (Status.PENDING, Status.SUCCEEDED):
        return Resume.BUILD
    return Resume.RETRY if step.status is Status.FAILED else Resume.BUILD_REMAINING


def mark_superseded(plan: Plan, others: Sequence[Plan]) -> Plan:
    """The plan with each unfinished step that a run started later, writing to the same place,
    also builds (a step of it covers the step's hours) marked superseded: resuming it would put
    the older run's results over the newer one's."""
    later = [other for other in others if other.destination == plan.destination and other.started_at > plan.started_at]
    for index in plan.unfinished():
        step = plan.steps[index]
        newer = [other.run_id for other in later if any(step.hours <= theirs.hours for theirs in other.steps)]
        if newer:
            plan = plan.with_step(index, replace(step, status=Status.SUPERSEDED, reason=min(newer)))
    return plan


@dataclass(frozen=True)
class RetryChoice:
    """The run a retry resumes (None: nothing to resume, `reason` says why), and the others that
    a retry could resume if named."""

    plan: Plan | None
    reason: str
    others: tuple[Plan, ...] = ()
    # later runs a plain retry passes over, each with why: running, or stopped by a bad var
    passed_over: tuple[tuple[Plan, str], ...] = ()


def choose_retry(plans: Sequence[Plan], running: Iterable[str], named: str | None = None) -> RetryChoice:
    """The run `retry` resumes: the one named, else the latest started of those that are not
    running, have steps left, were not stopped by a bad var and are not wholly superseded.
    Raises LookupError when the named run cannot be resumed."""
    running = set(running)
    marked = [mark_superseded(plan, plans) for plan in plans]
    candidates = sorted(
        (plan for plan in marked if plan.run_id not in running and plan.resumable()), key=lambda plan: plan.started_at
    )
    if named is not None:
        chosen = next((plan for plan in marked if plan.run_id == named), None)
        if chosen is None:
            known = ", ".join(plan.run_id for plan in marked[-5:])
            raise LookupError(f"no run {named} is recorded (the latest: {known}); `netflow-pca retry --list` lists them")
        if chosen.run_id in running:
            raise LookupError(f"{chosen.describe()} is still running: wait for it to end")
        if chosen.refusal() is not None:
            raise LookupError(f"{chosen.describe()} stopped on a bad var, which a retry would replay: "
                              f"{chosen.refusal()}; start a new run with a corrected value")
        others = tuple(plan for plan in candidates if plan.run_id != named)
        if not chosen.unfinished():
            return RetryChoice(None, _nothing_left(chosen, ""), others)
        return RetryChoice(chosen, "", others)
    if candidates:
        chosen = candidates[-1]
        passed_over = tuple(
            (plan, "is still running" if plan.run_id in running else "stopped on a bad var (a retry would replay it)")
            for plan in marked
            if plan.started_at > chosen.started_at and (plan.run_id in running or plan.refusal() is not None)
        )
        return RetryChoice(chosen, "", tuple(candidates[:-1]), passed_over)
    latest = max(marked, key=lambda plan: plan.started_at)
    if latest.run_id in running:
        return RetryChoice(None, f"the last {latest.describe()} is still running, and no other run is left unfinished")
    if latest.refusal() is not None:
        return RetryChoice(None, f"the last {latest.describe()} stopped on a bad var, which a retry would replay "
                                 f"({latest.refusal()}): start a new run with a corrected value")
    return RetryChoice(None, _nothing_left(latest, "the last "))


def _nothing_left(plan: Plan, which: str) -> str:
    if plan.taken_over_by():
        return f"what {plan.describe()} left unfinished was built since by run {', '.join(plan.taken_over_by())}"
    return f"{which}{plan.describe()} finished"


def runs_to_prune(plans: Sequence[Plan], running: Iterable[str], keep: int = KEPT_RUNS) -> list[str]:
    """Ids of the runs the record forgets: beyond the `keep` latest started, those that are not
    running and that a retry could not resume (finished, refused or superseded). A resumable run
    is kept whatever its age; there is at most one per set of hours, as a later run of the same
    hours supersedes it."""
    running = set(running)
    by_start = sorted(plans, key=lambda plan: plan.started_at, reverse=True)
    return [
        plan.run_id
        for plan in by_start[keep:]
        if plan.run_id not in running and not mark_superseded(plan, plans).resumable()
    ]


def parse_to_reuse(plans: Sequence[Plan], running: Iterable[str], new: Plan) -> str | None:
    """The id of the run whose saved parse (dbt's partial_parse.msgpack, in its target folder) the
    new run's first invocation should start from, so that dbt parses only what changed instead of
    the whole project: among the earlier runs to the same destination that are not running (whose
    files are whole), the latest whose last attempted invocation had the same vars (dbt parses
    everything again when the vars change), else the latest."""
    running = set(running)
    earlier = sorted(
        (plan for plan in plans
         if plan.run_id != new.run_id and plan.run_id not in running and plan.destination == new.destination
         and plan.target == new.target and any(step.attempts for step in plan.steps)),
        key=lambda plan: plan.started_at,
        reverse=True,
    )
    for plan in earlier:
        if [step for step in plan.steps if step.attempts][-1].vars == new.steps[0].vars:
            return plan.run_id
    return earlier[0].run_id if earlier else None


def describe_runs(plans: Sequence[Plan], running: Iterable[str]) -> str:
    """The recorded runs, latest first, one a line: id, start, hours and state; the run a plain
    `retry` resumes is marked."""
    running = set(running)
    resumed = choose_retry(plans, running).plan
    lines = []
    for plan in sorted(plans, key=lambda plan: plan.started_at, reverse=True):
        marker = "  <- `netflow-pca retry` resumes this" if resumed and resumed.run_id == plan.run_id else ""
        lines.append(f"{plan.run_id}  {plan.started_text()}  {plan.hours_text()}: {_state(mark_superseded(plan, plans), running)}{marker}")
    return "\n".join(lines)


def _state(plan: Plan, running: set[str]) -> str:
    if plan.run_id in running:
        return "running"
    if plan.refusal() is not None:
        return f"refused ({plan.refusal()})"
    unfinished = plan.unfinished()
    taken_over = f"; taken over by run {', '.join(plan.taken_over_by())}" if plan.taken_over_by() else ""
    if not unfinished:
        return ("done" if taken_over else "succeeded") + taken_over
    step = plan.steps[unfinished[0]]
    where = "all hours" if step.hour is None else f"hour {step.hour}"
    state = "stopped before" if step.status is Status.PENDING else f"{step.status.value} at"
    return f"{state} {where}{taken_over}"


def merge_results(previous: Mapping[str, Any] | None, latest: Mapping[str, Any]) -> dict[str, Any]:
    """Run results of all attempts of a step in dbt's format: each node's latest result, and the
    latest attempt's metadata and args (which `dbt retry` replays)."""
    by_node = {result["unique_id"]: result for result in (previous or {}).get("results", [])}
    by_node.update({result["unique_id"]: result for result in latest["results"]})
    return {**latest, "results": list(by_node.values())}


def plan_to_json(plan: Plan) -> str:
    return json.dumps(asdict(plan), indent=2, default=str)


def plan_from_json(text: str) -> Plan:
    data = json.loads(text)
    steps = tuple(Step(**{**step, "status": Status(step["status"])}) for step in data.pop("steps"))
    return Plan(steps=steps, **data)


@dataclass(frozen=True)
class RunRecord:
    """The files of one run: `plan.json`, dbt's target folder, one folder of run results per step,
    and the lock its runner holds."""

    directory: Path

    @property
    def plan_path(self) -> Path:
        return self.directory / "plan.json"

    @property
    def target_dir(self) -> Path:
        """dbt's target folder for the run's invocations (manifest, run results, compiled SQL)."""
        return self.directory / "target"

    def lock(self) -> FileLock:
        """Held by the process that runs or resumes the run; `acquire(timeout=0)` fails while one does."""
        return FileLock(self.directory / "lock")

    def is_running(self) -> bool:
        try:
            with self.lock().acquire(timeout=0):
                return False
        except Timeout:
            return True

    def step_dir(self, index: int) -> Path:
        return self.directory / f"step-{index:02d}"

    def save(self, plan: Plan) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.plan_path.with_suffix(".tmp")
        temporary.write_text(plan_to_json(plan))
        temporary.replace(self.plan_path)

    def load(self) -> Plan | None:
        return plan_from_json(self.plan_path.read_text()) if self.plan_path.exists() else None

    def has_results(self, index: int) -> bool:
        return (self.step_dir(index) / RESULTS_FILE).exists()

    def record_attempt(self, index: int, attempt: int, results: Mapping[str, Any]) -> None:
        """Keep an attempt's run results and fold them into the step's merged results."""
        directory = self.step_dir(index)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"attempt-{attempt}.json").write_text(json.dumps(results))
        merged_path = directory / RESULTS_FILE
        previous = json.loads(merged_path.read_text()) if merged_path.exists() else None
        merged_path.write_text(json.dumps(merge_results(previous, results)))


@dataclass(frozen=True)
class RunHistory:
    """The record of every run in one dbt target folder: `runs/<run id>/`."""

    directory: Path

    def record(self, run_id: str) -> RunRecord:
        return RunRecord(self.directory / "runs" / run_id)

    def plans(self) -> list[Plan]:
        """Every recorded run, by start (a folder without a plan is a run starting now)."""
        records = sorted((self.directory / "runs").glob("*/plan.json"))
        return sorted((plan for path in records if (plan := RunRecord(path.parent).load())), key=lambda p: p.started_at)

    def running(self, plans: Iterable[Plan]) -> set[str]:
        return {plan.run_id for plan in plans if self.record(plan.run_id).is_running()}

    def seed_parse(self, record: RunRecord, plan: Plan) -> None:
        """Copy into the new run's target folder the saved parse and manifest of the run that
        parse_to_reuse names, each through a temporary file; nothing when there is none."""
        plans = self.plans()
        source = parse_to_reuse(plans, self.running(plans), plan)
        if source is None:
            return
        record.target_dir.mkdir(parents=True, exist_ok=True)
        for name in SAVED_PARSE_FILES:
            saved = self.record(source).target_dir / name
            if saved.exists():
                temporary = record.target_dir / f"{name}.tmp"
                shutil.copyfile(saved, temporary)
                temporary.replace(record.target_dir / name)

    def prune(self) -> None:
        """Forget the runs `runs_to_prune` names, each under its lock so that no retry starts it meanwhile."""
        plans = self.plans()
        for run_id in runs_to_prune(plans, self.running(plans)):
            record = self.record(run_id)
            try:
                with record.lock().acquire(timeout=0):
                    shutil.rmtree(record.directory, ignore_errors=True)
            except Timeout:
                continue
