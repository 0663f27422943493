"""The files of a run: the flagged users as CSV and JSON lines, and the HTML report, in
`runs/<run_date>/`. Each file is written whole or not at all (a temporary file, then a rename)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from orchestrate.results.report import ANOMALY_COLUMNS, Relations, anomalies, last_day, report_data
from orchestrate.results.report_html import CHART_LIMIT, render_report


@dataclass(frozen=True)
class RunFiles:
    """What one run wrote, and the rows it exported."""

    csv: Path
    jsonl: Path
    report: Path
    anomalies: list[dict[str, Any]]


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


def _csv_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """CSV with a header; NULL as an empty field, dates as YYYY-MM-DD."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ANOMALY_COLUMNS)
    writer.writerows([_csv_value(row[column]) for column in ANOMALY_COLUMNS] for row in rows)
    return buffer.getvalue()


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


def run_folder(runs_dir: Path, environ: Mapping[str, str], relations: Relations, run_date: date | None) -> tuple[date, Path]:
    """The run's date (the run_date var, else the last day of the input) and its folder."""
    day = run_date or last_day(environ, relations)
    if day is None:
        raise LookupError(f"{relations.pca_input} is empty: there is no run to export")
    return day, runs_dir / day.isoformat()


def write_run_files(runs_dir: Path, environ: Mapping[str, str], relations: Relations, run_date: date | None) -> RunFiles:
    """Export anomalous_users and write the report of a run that succeeded."""
    day, folder = run_folder(runs_dir, environ, relations, run_date)
    rows = anomalies(environ, relations)
    files = RunFiles(folder / "anomalous_users.csv", folder / "anomalous_users.jsonl", folder / "report.html", rows)
    write_atomically(files.csv, to_csv(rows))
    write_atomically(files.jsonl, to_jsonl(rows))
    write_atomically(files.report, render_report(report_data(environ, relations, day, rows, CHART_LIMIT)))
    return files
