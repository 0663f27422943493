"""Deterministic generator of the sample seed `seeds/sample_flows.csv`.

It reproduces the data of the original Luigi/MADlib demo: 13 users `a`..`m`, each with a random
800-2400 flows at uniform random times between 2017-01-01 and 2017-01-15 UTC, plus 300 extra
flows for user `a` between 12:00 and 13:00 UTC on 2017-01-12. Python's `random.Random` is used
because its stream is stable across Python versions, so the committed CSV can be regenerated
byte for byte: `python -m orchestrate.lab.generators.sample_data`.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from orchestrate.run.runner import PROJECT_DIR

SEED = 20170101
USERS = tuple("abcdefghijklm")
FLOWS_PER_USER = (800, 2400)
PERIOD = ("2017-01-01", "2017-01-15")
SPIKE_USER = "a"
SPIKE_FLOWS = 300
SPIKE_WINDOW = ("2017-01-12T12:00:00", "2017-01-12T13:00:00")
DEFAULT_PATH = PROJECT_DIR / "seeds" / "sample_flows.csv"


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp())


def sample_flows(seed: int = SEED) -> Iterator[tuple[str, int]]:
    """Yield (user_name, start_time) rows, sorted by time then user."""
    rng = random.Random(seed)
    start, end = (_epoch(day) for day in PERIOD)
    rows: list[tuple[str, int]] = []
    for user in USERS:
        flows = rng.randint(*FLOWS_PER_USER)
        rows.extend((user, rng.randrange(start, end)) for _ in range(flows))
    spike_start, spike_end = (_epoch(moment) for moment in SPIKE_WINDOW)
    rows.extend((SPIKE_USER, rng.randrange(spike_start, spike_end)) for _ in range(SPIKE_FLOWS))
    rows.sort(key=lambda row: (row[1], row[0]))
    return iter(rows)


def write_csv(path: Path = DEFAULT_PATH, seed: int = SEED) -> int:
    """Write the sample seed CSV and return the number of flows written."""
    count = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["user_name", "start_time"])
        for row in sample_flows(seed):
            writer.writerow(row)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    print(f"wrote {write_csv(args.output, args.seed)} flows to {args.output}")


if __name__ == "__main__":
    main()
