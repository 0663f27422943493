"""Recall and precision of flagged (user, hour) pairs against a generator's ground truth.

The flags come from the numpy reference (`reference.scoring`) run on the hourly counts of an
events table, or from any table of flags with columns `hour_of_day`, `user_name`, `method` and
optionally `evidence_day` or `day` and `first_evidence_day` (the `anomalous_users` mart). The truth is the
`<table>_truth` table that flowgen writes beside the events.

    python -m orchestrate.lab.generators.flowgen --preset evaluation --schema eval --table evaluation
    python -m orchestrate.lab.evaluation.evaluate --schema eval --table evaluation
    python -m orchestrate.lab.evaluation.evaluate --schema eval --table evaluation --flags-table netflow_pca.anomalous_users
    python -m orchestrate.lab.evaluation.evaluate --generate --preset evaluation   # same data, generated in memory
    python -m orchestrate.lab.evaluation.evaluate --csv seeds/sample_flows.csv --hour 12
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from orchestrate.lab.generators import flowgen
from orchestrate.lab.reference.scoring import METHODS, ResidualParams, Score, hour_matrices, ranked_flags, score_hours

Cell = tuple[int, date, str, int]  # hour_of_day, day, user_name, flow_count


@dataclass(frozen=True)
class Truth:
    bursts: frozenset[tuple[str, int, date]]  # injected (user, hour, day), every day of a lasting burst
    collective: frozenset[tuple[date, int]]  # (day, hour) cells of collective events
    kinds: Mapping[tuple[str, int], str] = field(default_factory=dict)  # (user, hour): burst, subtle or lasting

    @property
    def pairs(self) -> frozenset[tuple[str, int]]:
        return frozenset((user, hour) for user, hour, _ in self.bursts)

    @property
    def first_days(self) -> dict[tuple[str, int], date]:
        first: dict[tuple[str, int], date] = {}
        for user, hour, day in self.bursts:
            first[(user, hour)] = min(day, first.get((user, hour), day))
        return first

    def of_kind(self, kind: str) -> Truth:
        """The truth with only the bursts of one kind (the collective events as they are)."""
        return Truth(
            frozenset(b for b in self.bursts if self.kinds.get(b[:2], "burst") == kind), self.collective, self.kinds
        )


@dataclass(frozen=True)
class Flag:
    method: str
    hour_of_day: int
    user_name: str
    day: date | None
    first_day: date | None = None  # the first day of the run flagged, when not the day itself


@dataclass(frozen=True)
class Metrics:
    method: str
    flagged: int  # distinct flagged (user, hour) pairs
    found: int  # of them injected
    injected: int
    right_day: int | None  # found pairs whose reported day is the injected one
    collective_flags: int | None  # flagged pairs, not injected, whose day and hour are a collective event's

    @property
    def recall(self) -> float:
        return self.found / self.injected if self.injected else float("nan")

    @property
    def precision(self) -> float:
        return self.found / self.flagged if self.flagged else float("nan")


def truth_from_rows(rows: Iterable[tuple[str, str, str | None, date, int | None]]) -> Truth:
    """From (kind, label, user_name, day, hour_of_day) rows of a truth table; hour None = all
    hours; a burst's label is its kind (burst, subtle or lasting)."""
    bursts: set[tuple[str, int, date]] = set()
    collective: set[tuple[date, int]] = set()
    kinds: dict[tuple[str, int], str] = {}
    for kind, label, user, day, hour in rows:
        if kind == "burst" and user is not None and hour is not None:
            bursts.add((user, hour, day))
            kinds[(user, hour)] = label
        elif kind == "collective":
            collective.update((day, h) for h in (range(24) if hour is None else (hour,)))
    return Truth(frozenset(bursts), frozenset(collective), kinds)


def truth_from_plan(flow_plan: flowgen.FlowPlan) -> Truth:
    return truth_from_rows((row.kind, row.label, row.user_name, row.day, row.hour_of_day) for row in flowgen.truth_rows(flow_plan))


def metrics(method: str, flags: Iterable[Flag], truth: Truth, kind: str | None = None) -> Metrics:
    """With a kind (burst, subtle, lasting): the bursts of that kind found, among the flags of
    them and the false ones (the flags of the other kinds left out). The right day of a burst
    is its first: the flag's first_day, or its day."""
    flags = [flag for flag in flags if flag.method == method]
    if kind is not None:
        flags = [f for f in flags if truth.kinds.get((f.user_name, f.hour_of_day), kind) == kind]
        truth = truth.of_kind(kind)
    pairs = {(flag.user_name, flag.hour_of_day) for flag in flags}
    found = pairs & truth.pairs
    has_days = any(flag.day is not None for flag in flags) or not flags
    right_day = collective = None
    if has_days:
        first_days = truth.first_days
        right_day = len(
            {(f.user_name, f.hour_of_day) for f in flags if first_days.get((f.user_name, f.hour_of_day)) == (f.first_day or f.day)}
        )
        collective = len(
            {(f.user_name, f.hour_of_day) for f in flags if (f.day, f.hour_of_day) in truth.collective} - truth.pairs
        )
    label = method if kind is None else f"{method}/{kind}"
    return Metrics(label, len(pairs), len(found), len(truth.pairs), right_day, collective)


def metrics_by_kind(method: str, flags: Sequence[Flag], truth: Truth) -> list[Metrics]:
    """The method's figures over every burst, then per kind present in the truth (when several)."""
    kinds = sorted(set(truth.kinds.values()))
    return [metrics(method, flags, truth)] + ([metrics(method, flags, truth, kind) for kind in kinds] if len(kinds) > 1 else [])


def flags_from_scores(scores: Iterable[Score]) -> list[Flag]:
    return [Flag(s.method, s.hour_of_day, s.user_name, s.day, s.first_day) for s in scores if s.flagged]


def format_metrics(rows: Sequence[Metrics]) -> str:
    header = f"{'method':<17} {'flagged':>7} {'found':>5} {'injected':>8} {'recall':>7} {'precision':>9} {'right day':>9} {'collective':>10}"
    lines = [header, "-" * len(header)]
    for m in rows:
        right = "-" if m.right_day is None else str(m.right_day)
        collective = "-" if m.collective_flags is None else str(m.collective_flags)
        lines.append(
            f"{m.method:<17} {m.flagged:>7} {m.found:>5} {m.injected:>8} {m.recall:>7.3f} {m.precision:>9.3f} {right:>9} {collective:>10}"
        )
    return "\n".join(lines)


def format_ranking(scores: Iterable[Score], hours: Iterable[int], top: int) -> str:
    """The ranked flagged users of the given hours, as `anomalous_users` will hold them."""
    wanted = set(hours)
    lines = [f"{'hour':>4} {'method':<9} {'rank':>4} {'user':<10} {'score':>8} {'day':<10} {'flows':>6} {'expected':>8} {'component':>9}"]
    for score, rank in ranked_flags(s for s in scores if s.hour_of_day in wanted):
        if rank <= top:
            day = score.day.isoformat() if score.day else "-"
            flows = "-" if score.flow_count is None else str(score.flow_count)
            expected = "-" if score.expected_count is None else f"{score.expected_count:.1f}"
            component = "-" if score.component is None else str(score.component)
            lines.append(f"{score.hour_of_day:>4} {score.method:<9} {rank:>4} {score.user_name:<10} {score.score:>8.3f} {day:<10} {flows:>6} {expected:>8} {component:>9}")
    return "\n".join(lines)


# ---- sources -------------------------------------------------------------------------------


def _relation(text: str) -> str:
    """'schema.table' or 'table', quoted."""
    return ".".join(flowgen.quote_identifier(part) for part in text.split(".", 1))


def cells_from_plan(flow_plan: flowgen.FlowPlan) -> Iterator[Cell]:
    """Hourly counts of a generated data set without a database (what the GROUP BY gives)."""
    for day in range(flow_plan.spec.days):
        counts = flowgen.day_counts(flow_plan, day)
        when = flow_plan.day_date(day)
        for user, hour in zip(*counts.nonzero()):
            yield int(hour), when, flow_plan.user_name(int(user)), int(counts[user, hour])


def cells_from_csv(path: Path) -> list[Cell]:
    """Hourly counts (UTC) of a CSV of user_name,start_time (epoch seconds), like the seed."""
    totals: dict[tuple[int, date, str], int] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            moment = datetime.fromtimestamp(int(row["start_time"]), timezone.utc)
            key = (moment.hour, moment.date(), row["user_name"])
            totals[key] = totals.get(key, 0) + 1
    return [(hour, day, user, count) for (hour, day, user), count in totals.items()]


def cells_from_table(connection: Any, schema: str, table: str) -> list[Cell]:
    """One GROUP BY over the events (user_name, start_time in epoch seconds), in UTC, as
    `int_hourly_counts` buckets them."""
    sql = f"""
        select cast(extract(hour from at) as integer), cast(at as date), user_name, count(*)
        from (select user_name, to_timestamp(start_time) at time zone 'UTC' as at
              from {flowgen.qualified(schema, table)}) events
        group by 1, 2, 3
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [(int(h), d, str(u), int(c)) for h, d, u, c in cursor.fetchall()]


def truth_from_table(connection: Any, schema: str, table: str) -> Truth:
    with connection.cursor() as cursor:
        cursor.execute(f"select kind, label, user_name, day, hour_of_day from {flowgen.qualified(schema, table)}")
        return truth_from_rows(cursor.fetchall())


def flags_from_table(connection: Any, relation: str, method_prefix: str = "table:") -> list[Flag]:
    """Flags from a table with hour_of_day, user_name, method and, if it has them, the day of
    the evidence (`evidence_day`, as in the anomalous_users mart, or `day`) and the first day of
    its run (`first_evidence_day`); each method named with the prefix, to tell them from the
    reference's."""
    with connection.cursor() as cursor:
        cursor.execute(f"select * from {_relation(relation)} limit 0")
        columns = {column.name for column in cursor.description}
        day = next((name for name in ("evidence_day", "day") if name in columns), "null::date")
        first_day = "first_evidence_day" if "first_evidence_day" in columns else "null::date"
        cursor.execute(f"select distinct method, hour_of_day, user_name, {day}, {first_day} from {_relation(relation)}")
        return [Flag(f"{method_prefix}{m}", int(h), str(u), d, f) for m, h, u, d, f in cursor.fetchall()]


# ---- command line --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrate.lab.evaluation.evaluate",
        description="Recall and precision of flagged (user, hour) pairs against a generator's ground truth.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", help="events table written by orchestrate.lab.generators.flowgen (truth in <table>_truth)")
    source.add_argument("--generate", action="store_true", help="generate the data set in memory (no database)")
    source.add_argument("--csv", type=Path, help="events CSV (user_name,start_time), no truth: prints the ranking")
    parser.add_argument("--schema", default="flows", help="schema of --table (default flows)")
    flowgen.add_spec_arguments(parser)  # with --generate: the data set, as for orchestrate.lab.generators.flowgen
    parser.add_argument("--methods", default=",".join(METHODS), help=f"reference methods to run (default {','.join(METHODS)})")
    parser.add_argument(
        "--flags-table", help="with --table: also evaluate the flags in this table (schema.table: hour_of_day, user_name, method, evidence_day)"
    )
    parser.add_argument("--threshold", type=float, default=ResidualParams.threshold, help="residual and zscore threshold")
    parser.add_argument("--hour", type=int, help="print the ranked flagged users of this hour (always done for --csv)")
    parser.add_argument("--top", type=int, default=10, help="with --hour: how many (default 10)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if unknown := sorted(set(methods) - set(METHODS)):
        print(f"evaluate: unknown method(s) {', '.join(unknown)}; use {', '.join(METHODS)}", file=sys.stderr)
        return 2
    truth: Truth | None = None
    extra_flags: list[Flag] = []
    if args.generate:
        try:
            flow_plan = flowgen.plan(flowgen.spec_from_args(args))
        except ValueError as error:
            print(f"evaluate: {error}", file=sys.stderr)
            return 2
        cells: list[Cell] = list(cells_from_plan(flow_plan))
        truth = truth_from_plan(flow_plan)
    elif args.csv:
        cells = cells_from_csv(args.csv)
    else:
        import psycopg2

        with psycopg2.connect("") as connection:
            cells = cells_from_table(connection, args.schema, args.table)
            truth = truth_from_table(connection, args.schema, f"{args.table}_truth")
            if args.flags_table:
                extra_flags = flags_from_table(connection, args.flags_table)
    params = replace(ResidualParams(), threshold=args.threshold)
    scores = score_hours(hour_matrices(cells), methods, params)
    if truth is not None:
        flags = flags_from_scores(scores)
        rows = [row for method in methods for row in metrics_by_kind(method, flags, truth)]
        rows += [row for method in sorted({f.method for f in extra_flags}) for row in metrics_by_kind(method, extra_flags, truth)]
        print(format_metrics(rows))
    if args.hour is not None or truth is None:
        print(format_ranking(scores, range(24) if args.hour is None else (args.hour,), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
