"""The record of a run, kept so that `netflow-pca retry` can resume it from the point of failure.

A run of some hours is several dbt invocations (steps), one per hour; `dbt retry` alone only knows
the last one. So each run writes its plan (the steps, their vars and statuses) and, per step, the
dbt run results of its attempts merged into one `run_results.json` in dbt's own format. Resuming
then means: for the first unfinished step, `dbt retry` if dbt recorded every node of its last
attempt, or a build of what did not succeed if the attempt was interrupted (dbt writes only the
nodes that finished before a Ctrl-C, so `dbt retry` would see nothing to do); then the steps that
never ran. The decisions are pure functions; `RunRecord` only reads and writes the files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

RESULTS_FILE = "run_results.json"
# dbt node statuses that need no rerun; dbt retry reruns error, fail, skipped, runtime error and
# partial success, and so does resuming an interrupted step
DONE_STATUSES = ("success", "pass", "warn", "no-op")


class Status(str, Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    # dbt finished and recorded every node it selected: `dbt retry` resumes it
    FAILED = "failed"
    # interrupted, or stopped before recording its nodes: rerun what did not succeed
    INCOMPLETE = "incomplete"


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


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    target: str | None = None
    threads: int | None = None

    def unfinished(self) -> list[int]:
        """Indices of the steps a retry runs: from the first one that has not succeeded on."""
        for index, step in enumerate(self.steps):
            if step.status is not Status.SUCCEEDED:
                return list(range(index, len(self.steps)))
        return []

    def with_step(self, index: int, step: Step) -> Plan:
        return replace(self, steps=(*self.steps[:index], step, *self.steps[index + 1 :]))


def step_status(exit_code: int, interrupted: bool, recorded: bool) -> Status:
    """The status of a step after an attempt; `recorded`: dbt wrote run results for it."""
    if exit_code == 0:
        return Status.SUCCEEDED
    if interrupted or not recorded:
        return Status.INCOMPLETE
    return Status.FAILED


def resume_action(step: Step, has_results: bool) -> Resume:
    """How to run a step next: from scratch, with `dbt retry`, or building what did not succeed."""
    if not has_results or step.status in (Status.PENDING, Status.SUCCEEDED):
        return Resume.BUILD
    return Resume.RETRY if step.status is Status.FAILED else Resume.BUILD_REMAINING


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
    """The files of the last run: `plan.json` and one folder of run results per step."""

    directory: Path

    @property
    def plan_path(self) -> Path:
        return self.directory / "plan.json"

    def step_dir(self, index: int) -> Path:
        return self.directory / f"step-{index:02d}"

    def start(self, plan: Plan) -> None:
        """Forget the previous run and record a new one."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.save(plan)

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

