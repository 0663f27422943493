"""What a run produced, read back from the database for people to look at."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg2

from orchestrate.database import connection_parameters

PROJECT_NAME = "netflow_pca"


def relation_name(target_dir: Path, model: str) -> str:
    """The quoted relation a model was built into, as dbt's manifest records it."""
    manifest_path = target_dir / "manifest.json"
    try:
        nodes = json.loads(manifest_path.read_text())["nodes"]
        return str(nodes[f"model.{PROJECT_NAME}.{model}"]["relation_name"])
    except (OSError, KeyError, ValueError):
        raise LookupError(f"model {model} is not in {manifest_path}: run dbt first") from None


def query(environ: Mapping[str, str], sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one query, on the server the libpq variables name."""
    with psycopg2.connect(**connection_parameters(environ)) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        columns = [column.name for column in cursor.description or []]
        return columns, cursor.fetchall()


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric)
        ).rstrip()

    return "\n".join([line(columns), line(["-" * width for width in widths]), *(line(row) for row in cells)])


def pca_input_summary(target_dir: Path, environ: Mapping[str, str]) -> str:
    """Per hour of the day: the size of its sparse matrix and its busiest cell."""
    relation = relation_name(target_dir, "int_pca_input")
    columns, rows = query(environ, f"""
        select
            hour_of_day,
            max(day_id) as days,
            max(name_id) as users,
            count(*) as non_zero_cells,
            cast(sum(flow_count) as bigint) as flows,
            (array_agg(user_name || ' on ' || day || ': ' || flow_count
                       order by flow_count desc, user_name, day))[1] as busiest_cell
        from {relation}
        group by hour_of_day
        order by hour_of_day
    """)
    return format_table(columns, rows)
