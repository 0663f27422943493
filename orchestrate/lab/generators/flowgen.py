"""Deterministic, streaming generator of realistic network-flow events, with ground truth.

Each user has an activity level (log-normal: a few users make most of the flows), a daily rhythm
of their own (office hours, evenings, nights or always on, shifted by up to two hours), a weekly
rhythm (office users are quiet at weekends, evening users busier), days away (a presence
probability and, for some, a holiday of several days), busy and quiet days, and over-dispersed
Poisson counts per hour. With anomalies on, the generator also injects

- individual bursts: extra flows for one user in one hour of one day, of various sizes, half of
  them on light users at night, which a good method must flag; and
- collective events that move many users at once and that a good method must NOT flag: a public
  holiday (a weekday that looks like a weekend), a network outage (two hours of near silence) and
  a company-wide software update at 10:00 (tens of extra flows for most users).

The events go into PostgreSQL with COPY from a stream that is generated one day and one hour at a
time, so memory does not grow with the number of events; the same seed always gives the same
events. The ground truth goes into a table beside them, `<table>_truth`. Command line:
`python -m orchestrate.lab.generators.flowgen --schema S --table T --users N --days D [--events E] [--seed S]`,
or `--preset evaluation` for the scoring's evaluation data set.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np

HOURS = 24
DAY_SECONDS = 86_400
# user types: (name, share of users, peak hours, peak width in hours, weekend factor)
USER_TYPES: tuple[tuple[str, float, tuple[float, ...], float, float], ...] = (
    ("office", 0.55, (10.0, 15.0), 2.5, 0.2),
    ("evening", 0.15, (20.5,), 2.5, 1.3),
    ("night", 0.10, (1.0,), 3.0, 1.0),
    ("always_on", 0.20, (13.0,), 8.0, 0.95),
)
WEEKDAY_FACTORS = np.array([1.05, 1.0, 1.0, 0.97, 0.88, 1.0, 1.0])  # Monday..Sunday, times type's weekend factor
ACTIVITY_SIGMA = 1.2  # log-normal spread of the users' daily volumes
DAY_SIGMA = 0.2  # log-normal spread of a user's busy and quiet days
CELL_SHAPE = 10.0  # gamma shape of the per-hour rate: counts are over-dispersed Poisson
VACATION_SHARE = 0.25
OUTAGE_HOURS = (14, 15)
OUTAGE_FACTOR = 0.03
UPDATE_HOUR = 10
UPDATE_SHARE_OTHERS = 0.5  # share of non-office users whose devices take the update
UPDATE_FLOWS = 30.0


@dataclass(frozen=True)
class FlowSpec:
    """What to generate. `events` is the expected number of flows before anomalies."""

    users: int = 300
    days: int = 35
    events: int = 1_000_000
    seed: int = 20240101
    start: date = date(2024, 1, 1)
    anomalies: bool = True
    bursts: int | None = None  # default: about one per 40 users, at least 4, at most 50
    subtle: int = 0  # one-day bursts of max(~20, 4-6x the usual count)
    lasting: int = 0  # bursts over 2-5 consecutive days, each day max(~20, 3-8x the usual count)
    poisson: bool = False  # plain Poisson counts instead of gamma-mixed (over-dispersed) ones

    def __post_init__(self) -> None:
        if self.users < 1 or self.days < 1 or self.events < 0:
            raise ValueError("users and days must be at least 1 and events at least 0")
        if min(self.bursts or 0, self.subtle, self.lasting) < 0:
            raise ValueError("bursts, subtle and lasting must be at least 0")

    @property
    def burst_count(self) -> int:
        if not self.anomalies:
            return 0
        return self.bursts if self.bursts is not None else int(np.clip(self.users // 40, 4, 50))


EVALUATION_PRESET = "evaluation"
DETECTION_PRESET = "detection"
PRESETS: dict[str, FlowSpec] = {
    # the scoring's evaluation data: a few hundred users, five weeks, a handful of bursts, collective events
    EVALUATION_PRESET: FlowSpec(users=300, days=35, events=1_000_000, seed=20240101, start=date(2024, 1, 1), bursts=10),
    "tiny": FlowSpec(users=20, days=14, events=20_000, seed=7, bursts=4),
    # the detection's data: the evaluation set with subtle and lasting bursts beside the large ones
    DETECTION_PRESET: FlowSpec(users=600, days=42, events=2_000_000, seed=20240102, start=date(2024, 1, 1), bursts=10, subtle=12, lasting=12),
}


@dataclass(frozen=True)
class Burst:
    user: int
    day: int  # the first day
    hour: int
    extra_flows: int  # on each day
    days: int = 1
    label: str = "burst"  # burst (large, one day), subtle (one day) or lasting (consecutive days)

    def covers(self, day: int) -> bool:
        return self.day <= day < self.day + self.days


@dataclass(frozen=True)
class CollectiveEvent:
    label: str  # holiday, outage, update
    day: int
    hours: tuple[int, ...]
    users_affected: int
    description: str


@dataclass(frozen=True)
class TruthRow:
    """One row of the ground-truth table; hour_of_day None means every hour of the day."""

    kind: str  # burst or collective
    label: str
    user_name: str | None
    day: date
    hour_of_day: int | None
    extra_flows: int | None
    users_affected: int
    description: str


@dataclass(frozen=True)
class Users:
    """Per-user parameters, arrays of length `users`."""

    daily_flows: np.ndarray  # expected flows on a present weekday, before the weekday factor
    profile: np.ndarray  # (users, 24) share of a day's flows in each hour, rows sum to 1
    weekly: np.ndarray  # (users, 7) factor per weekday
    presence: np.ndarray  # (users, 7) probability of being active on each weekday
    vacation: np.ndarray  # (users, 2) first and last day index of a holiday away, -1 if none
    office: np.ndarray  # bool: office type
    updated: np.ndarray  # bool: device takes the company-wide update


@dataclass(frozen=True)
class FlowPlan:
    spec: FlowSpec
    users: Users
    collective: tuple[CollectiveEvent, ...]
    bursts: tuple[Burst, ...]

    @property
    def name_width(self) -> int:
        return max(5, len(str(self.spec.users - 1)))

    def user_name(self, user: int) -> str:
        return f"u{user:0{self.name_width}d}"

    def day_date(self, day: int) -> date:
        return self.spec.start + timedelta(days=day)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


def _profiles(rng: np.random.Generator, kinds: np.ndarray) -> np.ndarray:
    """Each user's share of daily flows per hour: their type's peaks, shifted and widened a little,
    over a floor of background traffic (so even light users have a small night-time rate)."""
    users = kinds.size
    hours = np.arange(HOURS)[None, :]
    shift = rng.uniform(-2.0, 2.0, users)[:, None]
    stretch = rng.uniform(0.8, 1.25, users)[:, None]
    profile = np.zeros((users, HOURS))
    for index, (_, _, peaks, width, _) in enumerate(USER_TYPES):
        for peak in peaks:
            distance = (hours - peak - shift + 12.0) % 24.0 - 12.0
            profile += (kinds == index)[:, None] * np.exp(-0.5 * (distance / (width * stretch)) ** 2)
    profile /= profile.sum(axis=1, keepdims=True)
    floor = rng.uniform(0.01, 0.08, users)[:, None]
    return (1.0 - floor) * profile + floor / HOURS


def _users(spec: FlowSpec) -> Users:
    rng = _rng(spec.seed, 0)
    n = spec.users
    shares = np.array([share for _, share, _, _, _ in USER_TYPES])
    kinds = rng.choice(len(USER_TYPES), size=n, p=shares / shares.sum())
    weekend = np.array([factor for *_, factor in USER_TYPES])[kinds] * rng.lognormal(0.0, 0.3, n)
    weekly = np.tile(WEEKDAY_FACTORS, (n, 1))
    weekly[:, 5:] *= weekend[:, None]
    base_presence = rng.beta(8.0, 1.2, n)
    presence = np.tile(base_presence[:, None], (1, 7))
    office = kinds == 0
    presence[office, 5:] *= 0.5
    vacation = np.full((n, 2), -1)
    away = rng.random(n) < VACATION_SHARE
    length = rng.integers(3, 10, n)
    first = rng.integers(0, max(spec.days - 2, 1), n)
    vacation[away, 0] = first[away]
    vacation[away, 1] = first[away] + length[away] - 1
    daily = rng.lognormal(0.0, ACTIVITY_SIGMA, n)
    updated = office | (rng.random(n) < UPDATE_SHARE_OTHERS)
    profile = _profiles(rng, kinds)
    users = Users(daily, profile, weekly, presence, vacation, office, updated)
    return replace(users, daily_flows=daily * spec.events / max(_expected_total(spec, users), 1e-12))


def _weekdays(spec: FlowSpec) -> np.ndarray:
    return (spec.start.weekday() + np.arange(spec.days)) % 7


def _expected_total(spec: FlowSpec, users: Users) -> float:
    """Expected flows over the period without anomalies."""
    days = np.arange(spec.days)
    home = (users.vacation[:, :1] <= days) & (days <= users.vacation[:, 1:])
    weekdays = _weekdays(spec)
    per_user = (users.weekly[:, weekdays] * users.presence[:, weekdays] * ~home).sum(axis=1)
    return float((users.daily_flows * per_user).sum())


def _collective(spec: FlowSpec, users: Users) -> tuple[CollectiveEvent, ...]:
    """A holiday, an outage and the update, on distinct weekdays spread over the period."""
    if not spec.anomalies or spec.days < 7:
        return ()
    rng = _rng(spec.seed, 1)
    weekdays = _weekdays(spec)
    candidates = [day for day in range(spec.days) if weekdays[day] < 5]
    picked: list[int] = []
    for fraction in (0.4, 0.6, 0.8):
        around = [day for day in candidates if day not in picked and abs(day - fraction * spec.days) <= 3]
        pool = around or [day for day in candidates if day not in picked]
        if not pool:
            return ()
        picked.append(int(rng.choice(pool)))
    everyone = spec.users
    return (
        CollectiveEvent("holiday", picked[0], tuple(range(HOURS)), everyone, "public holiday: a weekday like a Sunday"),
        CollectiveEvent("outage", picked[1], OUTAGE_HOURS, everyone, f"network outage: {OUTAGE_FACTOR:.0%} of the usual flows"),
        CollectiveEvent(
            "update",
            picked[2],
            (UPDATE_HOUR,),
            int(users.updated.sum()),
            f"company-wide update at {UPDATE_HOUR}:00: about {UPDATE_FLOWS:.0f} extra flows per managed device",
        ),
    )


def _expected_cell(spec: FlowSpec, users: Users, user: int, day: int, hour: int) -> float:
    weekday = _weekdays(spec)[day]
    return float(users.daily_flows[user] * users.weekly[user, weekday] * users.profile[user, hour])


def _bursts(spec: FlowSpec, users: Users, collective: tuple[CollectiveEvent, ...]) -> tuple[Burst, ...]:
    """Bursts on distinct users: half on light users (the lightest 30%) at night (0:00-5:59), the
    rest on any user at any hour; never inside a collective event. The large ones: several times
    the user's usual count in that hour, and at least a few tens of flows; then the subtle ones
    (max(20-30, 4-6 times), one day) and the lasting ones (max(20-60, 3-8 times) on each of 2-5
    consecutive days). Each kind draws from its own stream: adding one kind moves no other."""
    kinds = (
        ("burst", min(spec.burst_count, spec.users), 2, (25, 150), (4.0, 20.0), (1, 1)),
        ("subtle", spec.subtle if spec.anomalies else 0, 6, (20, 30), (4.0, 6.0), (1, 1)),
        ("lasting", spec.lasting if spec.anomalies else 0, 7, (20, 60), (3.0, 8.0), (2, 5)),
    )
    busy = {(event.day, hour) for event in collective for hour in event.hours}
    light = np.argsort(users.daily_flows, kind="stable")[: max(1, int(0.3 * spec.users))]
    taken: set[int] = set()
    bursts: list[Burst] = []
    for label, count, stream, floor, factors, lengths in kinds:
        rng = _rng(spec.seed, stream)
        for index in range(min(count, spec.users - len(taken))):
            night = index % 2 == 0
            pool = np.setdiff1d(light if night else np.arange(spec.users), np.fromiter(taken, int, len(taken)))
            if pool.size == 0:
                pool = np.setdiff1d(np.arange(spec.users), np.fromiter(taken, int, len(taken)))
            user = int(rng.choice(pool))
            length = int(rng.integers(lengths[0], lengths[1] + 1)) if label == "lasting" else 1
            length = min(length, spec.days)
            while True:
                day = int(rng.integers(spec.days - length + 1))
                hour = int(rng.integers(0, 6)) if night else int(rng.integers(HOURS))
                if all((d, hour) not in busy for d in range(day, day + length)):
                    break
            typical = _expected_cell(spec, users, user, day, hour)
            factor = float(np.exp(rng.uniform(np.log(factors[0]), np.log(factors[1]))))
            extra = int(max(rng.integers(*floor), round(factor * typical)))
            taken.add(user)
            bursts.append(Burst(user, day, hour, extra, length, label))
    return tuple(bursts)


def plan(spec: FlowSpec) -> FlowPlan:
    """Everything but the per-day random draws: users, collective events, bursts."""
    users = _users(spec)
    collective = _collective(spec, users)
    return FlowPlan(spec, users, collective, _bursts(spec, users, collective))


def day_rates(flow_plan: FlowPlan, day: int) -> np.ndarray:
    """(users, 24) expected flows on one day, with presence, busy days and collective events
    drawn from that day's own random stream."""
    spec, users = flow_plan.spec, flow_plan.users
    rng = _rng(spec.seed, 3, day)
    weekday = int(_weekdays(spec)[day])
    events = {event.label: event for event in flow_plan.collective if event.day == day}
    like = 6 if "holiday" in events else weekday  # a holiday looks like a Sunday
    present = rng.random(spec.users) < users.presence[:, like]
    present &= ~((users.vacation[:, 0] <= day) & (day <= users.vacation[:, 1]))
    busy = rng.lognormal(-0.5 * DAY_SIGMA**2, DAY_SIGMA, spec.users)
    daily = users.daily_flows * users.weekly[:, like] * busy * present
    rates = daily[:, None] * users.profile
    if "outage" in events:
        rates[:, list(events["outage"].hours)] *= OUTAGE_FACTOR
    if "update" in events:
        rates[users.updated & present, UPDATE_HOUR] += UPDATE_FLOWS
    return rates


def day_counts(flow_plan: FlowPlan, day: int) -> np.ndarray:
    """(users, 24) flow counts of one day: over-dispersed Poisson around the day's rates, plus
    the bursts that fall on it. Deterministic per (seed, day), whatever else is generated."""
    rates = day_rates(flow_plan, day)
    rng = _rng(flow_plan.spec.seed, 4, day)
    if not flow_plan.spec.poisson:
        rates = rates * rng.gamma(CELL_SHAPE, 1.0 / CELL_SHAPE, rates.shape)
    counts = rng.poisson(rates)
    for burst in flow_plan.bursts:
        if burst.covers(day):
            counts[burst.user, burst.hour] += burst.extra_flows
    return counts


def count_tensor(flow_plan: FlowPlan) -> np.ndarray:
    """(24, days, users) flow counts: the 24 hourly days x users matrices (for small data sets)."""
    return np.stack([day_counts(flow_plan, day) for day in range(flow_plan.spec.days)]).transpose(2, 0, 1)


def _name_table(flow_plan: FlowPlan) -> np.ndarray:
    """(users, width + 2) bytes of 'u00042<TAB>' for each user."""
    names = [f"{flow_plan.user_name(user)}\t".encode() for user in range(flow_plan.spec.users)]
    return np.frombuffer(b"".join(names), dtype=np.uint8).reshape(flow_plan.spec.users, -1)


def _format_rows(names: np.ndarray, users: np.ndarray, seconds: np.ndarray) -> bytes:
    """COPY text rows 'user<TAB>epoch<LF>' built as one byte matrix (epochs have 10 digits)."""
    digits = (seconds[:, None] // 10 ** np.arange(9, -1, -1, dtype=np.int64)) % 10 + ord("0")
    rows = np.empty((users.size, names.shape[1] + 11), dtype=np.uint8)
    rows[:, : names.shape[1]] = names[users]
    rows[:, names.shape[1] : -1] = digits
    rows[:, -1] = ord("\n")
    return rows.tobytes()


def event_chunks(flow_plan: FlowPlan, days: range | None = None) -> Iterator[bytes]:
    """The events as COPY text, one chunk per (day, hour), in time order; flows in an hour are at
    uniform random seconds. Memory is one day's count matrix and one hour's events. `days` (day
    indexes, default all) picks some days; each day's events are the same whichever are picked."""
    names = _name_table(flow_plan)
    epoch0 = int(datetime.combine(flow_plan.spec.start, datetime.min.time(), timezone.utc).timestamp())
    if not 10**9 <= epoch0 < epoch0 + flow_plan.spec.days * DAY_SECONDS < 10**10:
        raise ValueError("start must be between 2001-09-09 and 2286-11-20 (10-digit epoch seconds)")
    for day in range(flow_plan.spec.days) if days is None else days:
        counts = day_counts(flow_plan, day)
        rng = _rng(flow_plan.spec.seed, 5, day)
        for hour in range(HOURS):
            column = counts[:, hour]
            users = np.repeat(np.arange(column.size), column)
            if users.size == 0:
                continue
            seconds = epoch0 + day * DAY_SECONDS + hour * 3600 + rng.integers(0, 3600, users.size)
            order = np.argsort(seconds, kind="stable")
            yield _format_rows(names, users[order], seconds[order])


class ChunkStream(io.RawIOBase):
    """A read-only file over an iterator of byte chunks, for psycopg2's `copy_expert`."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_read += size
        return size


def truth_rows(flow_plan: FlowPlan) -> list[TruthRow]:
    """The injected bursts (one row per day; label burst, subtle or lasting), then the collective
    events (one row per hour; holiday: all hours)."""
    rows = [
        TruthRow(
            "burst", b.label, flow_plan.user_name(b.user), flow_plan.day_date(day), b.hour, b.extra_flows, 1,
            "individual burst" if b.days == 1 else f"lasting burst, day {day - b.day + 1} of {b.days}",
        )
        for b in sorted(flow_plan.bursts, key=lambda b: (b.hour, b.day, b.user))
        for day in range(b.day, b.day + b.days)
    ]
    for event in flow_plan.collective:
        hours: tuple[int | None, ...] = (None,) if len(event.hours) == HOURS else event.hours
        rows.extend(
            TruthRow("collective", event.label, None, flow_plan.day_date(event.day), hour, None, event.users_affected, event.description)
            for hour in hours
        )
    return rows


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


TRUTH_COLUMNS = "kind, label, user_name, day, hour_of_day, extra_flows, users_affected, description"


def write(connection: Any, schema: str, table: str, flow_plan: FlowPlan, days: range | None = None) -> int:
    """(Re)create `schema.table (user_name text, start_time bigint)` and `schema.table_truth`,
    stream the events in with one COPY, and return the number of events written. `days` (day
    indexes, default all) writes only some days' events; `append` adds others later."""
    events, truth = qualified(schema, table), qualified(schema, f"{table}_truth")
    with connection.cursor() as cursor:
        cursor.execute(f"create schema if not exists {quote_identifier(schema)}")
        cursor.execute(f"drop table if exists {events}, {truth}")
        cursor.execute(f"create table {events} (user_name text not null, start_time bigint not null)")
        written = _copy_events(cursor, events, flow_plan, days)
        cursor.execute(
            f"create table {truth} (kind text not null, label text not null, user_name text, day date not null, "
            "hour_of_day integer, extra_flows bigint, users_affected integer not null, description text not null)"
        )
        rows = truth_rows(flow_plan)
        if rows:
            values = ",".join(cursor.mogrify("(%s,%s,%s,%s,%s,%s,%s,%s)", tuple(vars(row).values())).decode() for row in rows)
            cursor.execute(f"insert into {truth} ({TRUTH_COLUMNS}) values {values}")
    connection.commit()
    return written


def append(connection: Any, schema: str, table: str, flow_plan: FlowPlan, days: range) -> int:
    """Stream the events of `days` (day indexes) into the existing events table with one COPY, as
    a day's new flows arrive; returns the number of events written."""
    with connection.cursor() as cursor:
        written = _copy_events(cursor, qualified(schema, table), flow_plan, days)
    connection.commit()
    return written


def _copy_events(cursor: Any, events: str, flow_plan: FlowPlan, days: range | None) -> int:
    stream = ChunkStream(event_chunks(flow_plan, days))
    cursor.copy_expert(f"copy {events} (user_name, start_time) from stdin", stream, size=1 << 20)
    return int(cursor.rowcount)


def format_truth(rows: Iterable[TruthRow]) -> str:
    lines = [f"{'kind':<10} {'label':<8} {'user':<8} {'day':<10} {'hour':>4} {'extra':>6} {'users':>6}  description"]
    for row in rows:
        hour = "all" if row.hour_of_day is None else str(row.hour_of_day)
        extra = "" if row.extra_flows is None else str(row.extra_flows)
        lines.append(
            f"{row.kind:<10} {row.label:<8} {row.user_name or '*':<8} {row.day.isoformat():<10} {hour:>4} {extra:>6} "
            f"{row.users_affected:>6}  {row.description}"
        )
    return "\n".join(lines)


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that describe a data set, shared with `orchestrate.lab.evaluation.evaluate`."""
    parser.add_argument("--preset", choices=sorted(PRESETS), help="start from a named data set; other options override it")
    parser.add_argument("--users", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--events", type=int, help="expected number of flows before anomalies")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--start", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    parser.add_argument("--bursts", type=int, help="number of injected individual bursts")
    parser.add_argument("--subtle", type=int, help="number of subtle one-day bursts (max(~20, 4-6x the usual count))")
    parser.add_argument("--lasting", type=int, help="number of bursts over 2-5 consecutive days")
    parser.add_argument("--poisson", action="store_true", help="plain Poisson counts (default: over-dispersed)")
    parser.add_argument("--no-anomalies", action="store_true", help="no bursts and no collective events")


def spec_from_args(args: argparse.Namespace) -> FlowSpec:
    base = PRESETS[args.preset] if args.preset else FlowSpec()
    names = ("users", "days", "events", "seed", "start", "bursts", "subtle", "lasting")
    changes: dict[str, Any] = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.poisson:
        changes["poisson"] = True
    if args.no_anomalies:
        changes["anomalies"] = False
    return replace(base, **changes)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrate.lab.generators.flowgen",
        description="Write realistic flow events (and their ground truth) into PostgreSQL; the PG* variables name the server.",
    )
    parser.add_argument("--schema", default="flows", help="schema of the events table (default flows)")
    parser.add_argument("--table", default="events", help="events table; the truth goes to <table>_truth (default events)")
    add_spec_arguments(parser)
    parser.add_argument("--truth-only", action="store_true", help="print the ground truth, write nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        spec = spec_from_args(args)
    except ValueError as error:
        print(f"flowgen: {error}", file=sys.stderr)
        return 2
    flow_plan = plan(spec)
    if not args.truth_only:
        import psycopg2

        with psycopg2.connect("") as connection:
            written = write(connection, args.schema, args.table, flow_plan)
        print(f"wrote {written} events of {spec.users} users over {spec.days} days to {args.schema}.{args.table}")
    print(format_truth(truth_rows(flow_plan)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
