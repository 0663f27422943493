"""What the benchmarks measure and how they show it: a step's time and peak memory, the server's
memory sampled from /proc, and the report table with each time as a multiple of the floor."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from orchestrate.database import connection_parameters
from orchestrate.results.report import format_table


@dataclass(frozen=True)
class Measurement:
    """One measured step: wall seconds (None: it did not run) and the peak memory of the server
    processes and of the client (None: not measured)."""

    step: str
    seconds: float | None
    peak_bytes: int | None = None
    note: str = ""
    client_bytes: int | None = None


def _megabytes(size: int | None) -> str:
    return "" if size is None else f"{size / 2**20:,.0f} MB"


def format_report(measurements: Sequence[Measurement], floor_seconds: float) -> str:
    """The measurements as a table, each time also as a multiple of the floor; a column of the
    client's memory where any measurement has it."""
    with_client = any(m.client_bytes is not None for m in measurements)
    rows = [
        (
            m.step,
            "" if m.seconds is None else f"{m.seconds:.1f}",
            "" if m.seconds is None else f"{m.seconds / floor_seconds:.2f}",
            _megabytes(m.peak_bytes),
            *([_megabytes(m.client_bytes)] if with_client else []),
            m.note,
        )
        for m in measurements
    ]
    columns = ["step", "seconds", "x floor", "peak server memory", *(["peak client memory"] if with_client else []), "note"]
    return format_table(columns, rows)


def execute(environ: Mapping[str, str], sql: str) -> list[tuple[object, ...]]:
    with closing(psycopg2.connect(**connection_parameters(environ))) as connection, connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []


class ServerMemory:
    """Samples every 0.1 s the private memory (RssAnon in /proc) of the server processes whose
    current or last query mentions `marker` (a backend and its parallel workers), summed, and
    keeps the peak. peak_bytes stays None where the server's /proc is not readable here."""

    def __init__(self, environ: Mapping[str, str], marker: str) -> None:
        self.environ, self.marker = environ, marker
        self.peak_bytes: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ServerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        pids: set[int] = set()
        # not `with connection`, which opens a transaction, in which pg_stat_activity stays as it was
        with closing(psycopg2.connect(**connection_parameters(self.environ))) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                while not self._stop.wait(0.1):
                    cursor.execute(
                        "select pid from pg_stat_activity where pid <> pg_backend_pid() and query like %s",
                        (f"%{self.marker}%",),
                    )
                    pids.update(pid for (pid,) in cursor.fetchall())
                    sizes = [size for size in map(_private_bytes, pids) if size is not None]
                    if sizes:
                        self.peak_bytes = max(self.peak_bytes or 0, sum(sizes))


def _private_bytes(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return None
