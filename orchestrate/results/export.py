"""The files of a run: the flagged users as CSV and JSON lines, and the HTML report, in a
folder of the run's own under `runs/`, with `runs/latest` pointing at the last. Each file is
written whole or not at all (a temporary file, then a rename)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from orchestrate.results.report import (
    ANOMALY_COLUMNS,
    MethodSummary,
    Provenance,
    Relations,
    anomalies,
    method_summaries,
    provenance,
    report_data,
    results_text,
    with_novelty,
)
from orchestrate.results.report_html import CHART_LIMIT, render_report


@dataclass(frozen=True)
class RunFiles:
    """What one run wrote, and the rows it exported."""

    csv: Path
    jsonl: Path
    report: Path
    anomalies: list[dict[str, Any]]
    provenance: Provenance
    summaries: list[MethodSummary]

    def results_text(self, top: int = 10) -> str:
        """What the run found and where its files are, for a terminal."""
        return (
            f"{results_text(self.provenance, self.summaries, self.anomalies, top)}\n\n"
            f"Flagged users: {self.csv}\n               {self.jsonl}\nReport: {self.report}\n"
            f"({self.report.parent.parent / LATEST} points at this folder)"
        )


def write_atomically(path: Path, text: str) -> None:
    """Replace path with text in one rename: a reader sees the old file or the new, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


# OWASP's advice against formula injection: a text cell starting with one of these is read by a
# spreadsheet as a formula (or as one after stripping the tab or line break), so it gets a
# leading ' that makes it text
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")
# text columns, which come from the data; the numbers are the export's own
TEXT_COLUMNS = frozenset({"user_name", "method"})
# a field holding any of these is quoted: the separator, the quote, and every control character
_NEEDS_QUOTES = re.compile('[,"\x00-\x1f\x7f-\x9f\u2028\u2029]')


def csv_field(column: str, value: Any) -> str:
    """One CSV field: NULL empty, a date as YYYY-MM-DD, a number as Python writes it, text
    neutralised for spreadsheets and quoted (quotes doubled) when it holds a separator, a quote
    or any control character, so that a bare carriage return cannot end a row."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if column in TEXT_COLUMNS and text.startswith(FORMULA_STARTS):
        text = "'" + text
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """CSV (RFC 4180 with \n line ends) with a header, every field by csv_field."""
    lines = [",".join(ANOMALY_COLUMNS)]
    lines += [",".join(csv_field(column, row[column]) for column in ANOMALY_COLUMNS) for row in rows]
    return "".join(line + "\n" for line in lines)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value.isoformat() if isinstance(value, date) else value


def to_jsonl(rows: Sequence[Mapping[str, Any]]) -> str:
    """One JSON object a row, keys in column order; a non-finite number (not JSON) as null."""
    return "".join(
        json.dumps({column: _json_value(row[column]) for column in ANOMALY_COLUMNS}, ensure_ascii=False) + "\n"
        for row in rows
    )


LATEST = "latest"


def runs_directory(project_dir: Path, environ: Mapping[str, str]) -> Path:
    """Where the runs' folders go: NETFLOW_PCA_RUNS_PATH (relative to the project), default runs/."""
    return project_dir / environ.get("NETFLOW_PCA_RUNS_PATH", "runs")

# characters of a table's name kept in a folder's name
_FOLDER_UNSAFE = re.compile("[^A-Za-z0-9_.-]+")


def folder_name(found: Provenance) -> str:
    """The folder of a run's files: the day the results are of, the events table, and a digest
    of what else makes them distinct (the source, its columns, the time zone, the window's
    length, the methods' settings, the other vars given), so that runs on another table, or
    with other settings, keep their own files; a rerun of the same replaces them."""
    if found.day is None or found.latest.window_last_day is None:
        build = found.latest
        window = f"run_date {build.run_date}" if build.run_date else "the last day of the data"
        raise LookupError(
            f"The window holds no data ({build.lookback_days} days up to {window}, in {build.source_relation}):"
            " there is nothing to export"
        )
    settings = found.latest.settings
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
    table = _FOLDER_UNSAFE.sub("_", found.latest.source_relation.rsplit(".", 1)[-1].strip('"'))[:40].strip("_.") or "events"
    return f"{found.day.isoformat()}_{table}_{digest}"


def point_latest(runs_dir: Path, folder: Path) -> Path:
    """Make runs/latest a symbolic link to the folder, replaced in one rename."""
    link = runs_dir / LATEST
    temporary = runs_dir / f".{LATEST}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(folder.name, target_is_directory=True)
    os.replace(temporary, link)
    return link


def write_run_files(runs_dir: Path, environ: Mapping[str, str], relations: Relations) -> RunFiles:
    """Export anomalous_users and write the report of the build the marts hold now, into a
    folder of their own, and point runs/latest at it."""
    found = provenance(environ, relations)
    folder = runs_dir / folder_name(found)
    rows = with_novelty(environ, relations, anomalies(environ, relations))
    data = report_data(environ, relations, found, rows, CHART_LIMIT)
    summaries = method_summaries(rows, data.hours, found.latest.scoring_methods)
    files = RunFiles(folder / "anomalous_users.csv", folder / "anomalous_users.jsonl", folder / "report.html", rows, found, summaries)
    write_atomically(files.csv, to_csv(rows))
    write_atomically(files.jsonl, to_jsonl(rows))
    write_atomically(files.report, render_report(data))
    point_latest(runs_dir, folder)
    return files
