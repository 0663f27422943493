"""The Dagster side of a run's results: the export and the report as an asset downstream of
anomalous_users, whose materialisation carries what the run found, and the database the
assets use when no PG* variable is set (the embedded PostgreSQL of the command line)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import MetadataValue

from orchestrate.database import PG_VARIABLES, EmbeddedDatabase, uses_external_server
from orchestrate.export import RunFiles
from orchestrate.report import build_line, markdown_table, ranked
from orchestrate.runner import STATE_DIR

TOP_ANOMALIES = 10


@contextmanager
def server_environment() -> Iterator[None]:
    """With no PG* variable set, point this process, and the dbt it starts, at the embedded
    PostgreSQL that `netflow-pca` uses, started if it is not running and left running (other
    runs may be using it), for the length of the block."""
    if uses_external_server(os.environ):
        yield
        return
    status = EmbeddedDatabase(STATE_DIR / "pgdata").start()
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


def run_files_metadata(files: RunFiles) -> dict[str, Any]:
    """What a materialisation of the run's files shows in Dagster's UI."""
    build = files.provenance.latest
    return {
        "rows": MetadataValue.int(len(files.anomalies)),
        "flagged_users": MetadataValue.int(len({row["user_name"] for row in files.anomalies})),
        "flagged_by_method": MetadataValue.json({summary.method: summary.flagged for summary in files.summaries}),
        "top_anomalies": MetadataValue.md(markdown_table(ranked(files.anomalies, files.summaries), TOP_ANOMALIES)),
        "describes": MetadataValue.text(build_line(build)),
        "dbt_invocation": MetadataValue.text(build.invocation_id),
        "report": MetadataValue.path(str(files.report)),
        "export_csv": MetadataValue.path(str(files.csv)),
        "export_jsonl": MetadataValue.path(str(files.jsonl)),
    }
