"""Running dbt invocations: the steps of a run, against the server the libpq variables name or
the embedded one, with the record that lets `retry` resume a run and a display of its progress.

The decisions (which invocations, which arguments) are pure functions; `Runner` only runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from filelock import Timeout

from orchestrate.database import EmbeddedDatabase, uses_external_server
from orchestrate.run.options import DbtOptions, UsageError, build_exclusions, builds_seeds, dbt_command, dbt_vars, hour_batches, project_vars
from orchestrate.run.plan import (
    DONE_STATUSES,
    RESULTS_FILE,
    Plan,
    Resume,
    RunHistory,
    RunRecord,
    Status,
    Step,
    choose_retry,
    describe_runs,
    is_bad_var,
    new_run_id,
    resume_action,
    step_status,
)
from orchestrate.run.progress import Progress

PROJECT_DIR = Path(__file__).resolve().parents[2]
STATE_DIR = PROJECT_DIR / ".netflow_pca"
# the environment that says where a run writes: the profile reads the server and schema from it
DESTINATION_VARIABLES = ("PGHOST", "PGPORT", "PGDATABASE", "NETFLOW_PCA_SCHEMA", "DBT_PROFILES_DIR")
ACTION_WORDS = {Resume.BUILD: "build", Resume.RETRY: "retry", Resume.BUILD_REMAINING: "build of the nodes that did not succeed"}


def run_destination(env: Mapping[str, str], target: str | None) -> str:
    """Where a run writes, as far as the runner can tell: the dbt target and the environment the
    profile reads. Only runs to the same destination can take over each other's hours."""
    return " ".join([f"target={target or ''}", *(f"{name}={env.get(name, '')}" for name in DESTINATION_VARIABLES)])


def plan_run(
    hours: Sequence[int] | None, vars: Mapping[str, Any], seeds: bool, options: DbtOptions, destination: str, started: datetime
) -> Plan:
    """The steps of a run: one build per hour (or one for all), the seed loaded by the first only."""
    steps = tuple(
        Step(hour=hour, vars=dbt_vars(hour, extra=vars), seeds=seeds and index == 0)
        for index, hour in enumerate(hour_batches(hours))
    )
    return Plan(
        run_id=new_run_id(started),
        started_at=started.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        destination=destination,
        steps=steps,
        target=options.target,
        threads=options.threads,
    )


def step_args(step: Step, action: Resume, state_dir: Path, options: DbtOptions) -> list[str]:
    """The dbt arguments of the next attempt of a step."""
    if action is Resume.RETRY:
        # dbt retry replays the failed attempt's own args and vars; only threads may change
        return dbt_command(["retry", "--state", str(state_dir)], options=DbtOptions(threads=options.threads))
    remaining: list[str] = []
    if action is Resume.BUILD_REMAINING:
        remaining = ["--exclude", *(f"result:{status}" for status in DONE_STATUSES), "--state", str(state_dir)]
    return dbt_command(["build", *build_exclusions(step.seeds), *remaining], step.vars, options)


def step_label(steps: Sequence[Step], index: int) -> str:
    """How the progress display names a step: 'all hours', 'hour 12' or 'hour 12 (2 of 3)'."""
    hour = steps[index].hour
    if hour is None:
        return "all hours"
    return f"hour {hour} ({index + 1} of {len(steps)})" if len(steps) > 1 else f"hour {hour}"


def dbt_executable() -> str:
    """The dbt installed beside this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def profiles_dir(project_dir: Path, environ: Mapping[str, str]) -> Path:
    """Where dbt should look for profiles.yml: the user's choice if they made one, else a copy of
    profiles.yml.example kept under .netflow_pca/, so that nobody has to write one to begin."""
    if environ.get("DBT_PROFILES_DIR"):
        return Path(environ["DBT_PROFILES_DIR"])
    if (project_dir / "profiles.yml").exists():
        return project_dir
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


class SignalForwarder:
    """While a run lasts, SIGINT or SIGTERM to the runner reaches dbt as one SIGINT, dbt's clean
    stop: it cancels its running queries (their transactions roll back) and writes the results of
    the nodes that finished. A second signal stops dbt at once with SIGTERM. dbt runs in a session
    of its own, so a Ctrl-C in the terminal reaches it only through here, exactly once."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._child: subprocess.Popen[str] | None = None
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> SignalForwarder:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._saved[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)

    def attach(self, child: subprocess.Popen[str] | None) -> None:
        self._child = child
        if child is not None and self.received is not None:
            child.send_signal(signal.SIGINT)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.received is None
        self.received = self.received or signum
        if self._child is not None and self._child.poll() is None:
            self._child.send_signal(signal.SIGINT if first else signal.SIGTERM)


@dataclass
class Runner:
    """Runs dbt commands in the project with a given environment."""

    env: dict[str, str]
    project_dir: Path = PROJECT_DIR
    options: DbtOptions = field(default_factory=DbtOptions)
    output: TextIO = field(default_factory=lambda: sys.stdout)
    # the record of the run that build or retry ran last
    last_run: RunRecord | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.env = {**self.env, "DBT_PROFILES_DIR": str(profiles_dir(self.project_dir, self.env))}

    @property
    def target_dir(self) -> Path:
        """Where dbt writes its artifacts (manifest, run results) for this environment."""
        return self.project_dir / self.env.get("DBT_TARGET_PATH", "target")

    @property
    def history(self) -> RunHistory:
        """The record of the runs made with this target folder, which `retry` resumes."""
        return RunHistory(self.target_dir / "netflow_pca")

    def dbt(self, command: Sequence[str], vars: Mapping[str, Any] | None = None) -> int:
        """Run one dbt command, its output going to ours; returns dbt's exit code."""
        args = [dbt_executable(), *dbt_command(command, vars, self.options)]
        return subprocess.run(args, cwd=self.project_dir, env=self.env).returncode

    def build(self, hours: Sequence[int] | None, vars: Mapping[str, Any]) -> int:
        """`dbt build` for the given hours, one invocation per hour, recorded for `retry`."""
        seeds = builds_seeds(vars, project_vars(self.project_dir))
        destination = run_destination(self.env, self.options.target)
        plan = plan_run(hours, vars, seeds, self.options, destination, datetime.now(timezone.utc))
        record = self.history.record(plan.run_id)
        record.directory.mkdir(parents=True)
        with record.lock():
            record.save(plan)
            self.history.prune()
            self.history.seed_parse(record, plan)
            return self._run(record, plan)

    def retry(self, run_id: str | None = None) -> int:
        """Resume a run from the point of failure (the one named, else the latest started that
        has steps left and is not running); what succeeded is not run again."""
        history = self.history
        plans = history.plans()
        if not plans:
            raise UsageError(f"no run is recorded in {history.directory}: start one with netflow-pca run")
        choice = choose_retry(plans, history.running(plans), run_id)
        for later, why in choice.passed_over:
            self._say(f"Passing over the later {later.describe()}, which {why}.")
        for other in choice.others:
            self._say(f"Also unfinished: {other.describe()}; `netflow-pca retry --run {other.run_id}` resumes it.")
        if choice.plan is None:
            self._say(f"{choice.reason[0].upper()}{choice.reason[1:]}: nothing to retry.")
            return 0
        record = history.record(choice.plan.run_id)
        try:
            with record.lock().acquire(timeout=0):
                self._say(f"Resuming {choice.plan.describe()}.")
                for index, step in enumerate(choice.plan.steps):
                    if step.status is Status.SUPERSEDED:
                        self._say(f"[{step_label(choice.plan.steps, index)}] taken over by the later run {step.reason}: not resumed")
                return self._run(record, replace(choice.plan, threads=self.options.threads or choice.plan.threads))
        except Timeout:
            raise UsageError(f"{choice.plan.describe()} has just been resumed by another process") from None

    def list_runs(self) -> str:
        """The recorded runs, one a line, saying which one `retry` would resume."""
        plans = self.history.plans()
        return describe_runs(plans, self.history.running(plans)) if plans else f"No run is recorded in {self.history.directory}."

    def _run(self, record: RunRecord, plan: Plan) -> int:
        options = DbtOptions(plan.target, plan.threads)
        self.last_run = record
        record.save(plan)
        code = 0
        with SignalForwarder() as signals:
            for index in plan.unfinished():
                if signals.received is not None:
                    break
                step = plan.steps[index]
                code, status, reason = self._attempt(record, plan, index, options, signals)
                plan = plan.with_step(index, replace(step, status=status, attempts=step.attempts + 1, reason=reason))
                record.save(plan)
                if status is not Status.SUCCEEDED:
                    break
        if signals.received is not None:
            self._say(f"Interrupted; `netflow-pca retry` resumes the run ({plan.run_id}) where it stopped.")
            return 128 + signals.received
        if plan.refusal() is not None:
            self._say(f"Stopped by a bad var or option ({plan.refusal()}); a retry would replay it: "
                      "start a new run with a corrected value.")
            return code or 2
        if plan.unfinished():
            log = self.project_dir / self.env.get("DBT_LOG_PATH", "logs") / "dbt.log"
            self._say(f"Failed; the full log is in {log}. Mend the cause, then `netflow-pca retry` "
                      f"(it resumes the latest unfinished run; `--run {plan.run_id}` names this one).")
            return code or 1
        return 0

    def _attempt(
        self, record: RunRecord, plan: Plan, index: int, options: DbtOptions, signals: SignalForwarder
    ) -> tuple[int, Status, str | None]:
        """Run the next attempt of a step, showing its progress and recording its results."""
        step, label = plan.steps[index], step_label(plan.steps, index)
        action = resume_action(step, record.has_results(index))
        self._say(f"[{label}] dbt {ACTION_WORDS[action]}")
        started = time.monotonic()
        progress = Progress()
        process = subprocess.Popen(
            [dbt_executable(), *step_args(step, action, record.step_dir(index), options)],
            cwd=self.project_dir,
            env={**self.env, "DBT_LOG_FORMAT": "json", "DBT_TARGET_PATH": str(record.target_dir)},
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        signals.attach(process)
        assert process.stdout is not None
        for line in process.stdout:
            self._show(progress, line)
        code = process.wait()
        signals.attach(None)
        results = self._results_of(record.target_dir, progress.invocation_id)
        if results is not None:
            record.record_attempt(index, step.attempts + 1, results)
        interrupted = signals.received is not None or progress.keyboard_interrupt
        status = step_status(code, interrupted, recorded=results is not None, refused=is_bad_var(progress.cause))
        self._say(f"[{label}] {status.value}: {progress.summary()} ({time.monotonic() - started:.1f} s)")
        if status is not Status.SUCCEEDED and progress.cause:
            self._say(f"[{label}] stopped by: {progress.cause}")
        return code, status, progress.cause if status is Status.REFUSED else None

    def _show(self, progress: Progress, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            self._say(line.rstrip())
            return
        for kept in progress.feed(event):
            self._say(kept)
        if self.output.isatty():
            self.output.write(f"\r\x1b[K{progress.status_line()}")
            self.output.flush()

    def _results_of(self, target_dir: Path, invocation_id: str | None) -> dict[str, Any] | None:
        """dbt's run results, if the invocation wrote them (an interrupted parse writes none)."""
        path = target_dir / RESULTS_FILE
        if invocation_id is None or not path.exists():
            return None
        results = json.loads(path.read_text())
        return dict(results) if results.get("metadata", {}).get("invocation_id") == invocation_id else None

    def _say(self, text: str) -> None:
        if self.output.isatty():
            self.output.write("\r\x1b[K")
        print(text, file=self.output, flush=True)

    # --- daily operation: the run's kind, from the builds of earlier runs -------------------

    def previous_manifest_dir(self) -> Path | None:
        """The target folder of the latest recorded run to the same destination (target, server
        and schema) that dbt wrote a manifest into: its manifest names the relation of
        pipeline_runs, where the builds are recorded. None before any such run."""
        destination = run_destination(self.env, self.options.target)
        for plan in reversed(self.history.plans()):
            target_dir = self.history.record(plan.run_id).target_dir
            if plan.destination == destination and (target_dir / "manifest.json").exists():
                return target_dir
        return None
