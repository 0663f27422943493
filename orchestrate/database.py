"""Where dbt connects: the server the libpq variables name, or an embedded PostgreSQL.

With none of PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE set, the runner starts an embedded
PostgreSQL (the `pgserver` package) whose data lives in `.netflow_pca/pgdata` in the project, and
points the libpq variables at it; the next run finds the same data.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
EMBEDDED_DATABASE = "postgres"
EMBEDDED_USER = "postgres"

# pgserver asks platformdirs for a runtime folder, which warns where XDG_RUNTIME_DIR is unset
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def uses_external_server(environ: Mapping[str, str]) -> bool:
    """True when any libpq variable is set: then that server is used, never the embedded one."""
    return any(environ.get(name) for name in PG_VARIABLES)


def connection_parameters(environ: Mapping[str, str]) -> dict[str, str]:
    """psycopg2.connect() keyword arguments for the server the libpq variables name."""
    keys = {"PGHOST": "host", "PGPORT": "port", "PGUSER": "user", "PGPASSWORD": "password", "PGDATABASE": "dbname"}
    return {key: environ[name] for name, key in keys.items() if environ.get(name)}


@dataclass(frozen=True)
class EmbeddedStatus:
    running: bool
    data_dir: Path
    socket_dir: Path | None = None
    port: int | None = None

    @property
    def libpq_environment(self) -> dict[str, str]:
        """The libpq variables that point a client (dbt, psql, psycopg2) at this server."""
        if not self.running or self.socket_dir is None:
            return {}
        return {
            "PGHOST": str(self.socket_dir),
            "PGPORT": str(self.port or 5432),
            "PGUSER": EMBEDDED_USER,
            "PGDATABASE": EMBEDDED_DATABASE,
        }

    @property
    def connection_string(self) -> str:
        env = self.libpq_environment
        if not env:
            return ""
        return f"postgresql://{env['PGUSER']}@/{env['PGDATABASE']}?host={env['PGHOST']}&port={env['PGPORT']}"


class EmbeddedDatabase:
    """An embedded PostgreSQL 16 (pgserver) with its data in a folder of the project."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def status(self) -> EmbeddedStatus:
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir) if self.data_dir.exists() else None
        if info is None or not info.is_running() or info.status != "ready":
            return EmbeddedStatus(running=False, data_dir=self.data_dir)
        return EmbeddedStatus(True, self.data_dir, info.socket_dir, info.port)

    def start(self) -> EmbeddedStatus:
        """Start the server (creating its data folder on first use); a running one is reused."""
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgserver.get_server(self.data_dir, cleanup_mode=None)
        return self.status()

    def stop(self) -> bool:
        """Stop the server with a fast shutdown; False if it was not running."""
        import pgserver

        if not self.status().running:
            return False
        owner = "pgserver" if os.geteuid() == 0 else None
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=owner)
        return True

    @contextmanager
    def session(self) -> Iterator[EmbeddedStatus]:
        """The server for the length of a block: started if needed, and stopped afterwards
        only if this block started it, so a server started by `netflow-pca db start` stays up."""
        was_running = self.status().running
        status = self.start()
        try:
            yield status
        finally:
            if not was_running:
                self.stop()


@contextmanager
def server_environment(data_dir: Path) -> Iterator[None]:
    """With no libpq variable set, point this process, and the programs it starts, at the
    embedded PostgreSQL in data_dir, started if it is not running and left running (other
    processes may be using it), for the length of the block. Dagster's assets use it, as dbt
    reads the variables from the process's environment."""
    if uses_external_server(os.environ):
        yield
        return
    status = EmbeddedDatabase(data_dir).start()
    saved = {name: os.environ.get(name) for name in PG_VARIABLES}
    os.environ.update(status.libpq_environment)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
