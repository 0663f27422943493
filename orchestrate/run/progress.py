"""A compact progress display of one dbt invocation, read from dbt's `--log-format json` events.

`Progress.feed` takes one event and returns the lines worth keeping on screen: each model or seed
as it finishes, and dbt's account of every failure and error. `status_line` is the live line a
terminal shows between them (done of total, the node running), `summary` the closing count.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrate.run.plan import BAD_VAR_PREFIX

RESULT_EVENTS = frozenset({"LogModelResult", "LogSeedResult", "LogSnapshotResult", "LogTestResult", "LogNodeResult"})
# dbt's end-of-run account of what went wrong, one event per line of it
DETAIL_EVENTS = frozenset({"RunResultFailure", "RunResultError", "RunResultErrorNoMessage", "RunResultWarning", "CheckNodeTestFailure"})
LISTED_TYPES = frozenset({"model", "seed", "snapshot"})
OK_STATUSES = frozenset({"success", "pass", "no-op"})
FAILED_STATUSES = frozenset({"error", "fail", "runtime error", "partial success"})
NOUNS = {"model": "model", "seed": "seed", "snapshot": "snapshot", "test": "test", "unit_test": "test"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# a line of dbt's errors that names where it went wrong, not what
ERROR_HEADING = re.compile(r"(\w+ )*(Error|Failure|Warning)( in \S+ \S+ \(.*\))?:?$|Encountered an error:?$")
# the Jinja call stack and the path of the compiled SQL, which follow dbt's messages
_TRACE = re.compile(r"\s*(> (in|called by) |compiled code at )")


def _is_trace(line: str) -> bool:
    return bool(_TRACE.match(line))


def _plain(text: str) -> str:
    return ANSI.sub("", text).rstrip()


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class Progress:
    """What one dbt invocation has done so far."""

    total: int = 0
    finished: int = 0
    running: str = ""
    keyboard_interrupt: bool = False
    invocation_id: str | None = None
    # what first went wrong, in dbt's words
    cause: str | None = None
    _heading: str | None = None
    # the cause is the heading of a failed test whose message has not been read yet
    _first_failure_open: bool = False
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def feed(self, event: Mapping[str, Any]) -> list[str]:
        info, data = event.get("info", {}), event.get("data", {})
        name = info.get("name", "")
        self.invocation_id = self.invocation_id or info.get("invocation_id")
        node = data.get("node_info", {})
        if name == "LogStartLine":
            self.total = int(data.get("total") or self.total)
            self.running = node.get("node_name", "")
        elif name in RESULT_EVENTS or name == "SkippingDetails":
            return self._finished(name, data, node)
        elif name == "EndOfRunSummary":
            self.keyboard_interrupt = bool(data.get("keyboard_interrupt"))
        elif name in DETAIL_EVENTS and _plain(info.get("msg", "")):
            lines = [line for line in _plain(info["msg"]).splitlines() if not _is_trace(line)]
            self._note_cause(lines)
            return [f"  {line}" for line in lines]
        elif name == "JinjaLogWarning" and _plain(info.get("msg", "")):
            # the project's own warnings: events left out of the window, an hour without variance
            return [f"  warning: {line}" for line in _plain(info["msg"]).splitlines() if line.strip()]
        elif name == "MainEncounteredError" and _plain(str(data.get("exc", ""))):
            lines = [line for line in _plain(str(data["exc"])).splitlines() if line.strip() and not _is_trace(line)]
            self._note_cause(lines)
            return [f"  dbt: {line}" for line in lines]
        return []

    def _note_cause(self, lines: list[str]) -> None:
        """Keep what first went wrong: a failed test's heading, or the first line of an error's
        message after its heading (which names only the node); but when that failed test's own
        message names a bad var (a data test that found the window of run_date empty), the bad
        var, since a retry would replay it."""
        for line in (line.strip() for line in lines if line.strip()):
            if ERROR_HEADING.match(line):
                self._heading = line
                if line.startswith("Failure in "):
                    self._first_failure_open = self.cause is None
                    self.cause = self.cause or line
            elif line.startswith(BAD_VAR_PREFIX) and self._first_failure_open:
                self.cause = line
                self._first_failure_open = False
            elif self.cause is None and self._heading is not None and "Error" in self._heading:
                self.cause = line

    def _finished(self, name: str, data: Mapping[str, Any], node: Mapping[str, Any]) -> list[str]:
        resource_type = node.get("resource_type") or data.get("resource_type", "")
        status = "skipped" if name == "SkippingDetails" else node.get("node_status", "")
        if status in ("", "None"):
            # unit test results carry their status in the event, not in the node
            status = str(data.get("status", ""))
        self.finished += 1
        self.total = int(data.get("total") or self.total)
        self.counts[(NOUNS.get(resource_type, resource_type), status)] += 1
        node_name = node.get("node_name") or data.get("node_name", "")
        if resource_type in LISTED_TYPES and status != "skipped":
            seconds = float(data.get("execution_time") or 0)
            return [f"  {self.finished}/{self.total} {node_name} {status} ({seconds:.1f} s)"]
        if status in FAILED_STATUSES or status == "warn":
            return [f"  {self.finished}/{self.total} {node_name} {status.upper()}"]
        return []

    def status_line(self) -> str:
        return f"  {self.finished}/{self.total or '?'} done, running {self.running}" if self.running else ""

    def summary(self) -> str:
        """'3 models, 29 tests ok; 1 test failed; 12 skipped' for what finished."""
        parts = []
        for verb, statuses in (("ok", OK_STATUSES), ("warned", frozenset({"warn"})), ("failed", FAILED_STATUSES)):
            by_noun: Counter[str] = Counter()
            for (noun, status), count in self.counts.items():
                if status in statuses:
                    by_noun[noun] += count
            if by_noun:
                parts.append(", ".join(_counted(count, noun) for noun, count in sorted(by_noun.items())) + f" {verb}")
        skipped = sum(count for (_, status), count in self.counts.items() if status == "skipped")
        if skipped:
            parts.append(f"{skipped} skipped")
        return "; ".join(parts) or "nothing ran"
