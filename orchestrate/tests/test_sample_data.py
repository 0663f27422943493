"""The committed sample seed is what the generator makes, and holds the original demo's data."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from orchestrate.lab.generators.sample_data import DEFAULT_PATH, write_csv


def test_committed_seed_is_the_generators_output(tmp_path: Path) -> None:
    regenerated = tmp_path / "sample_flows.csv"
    write_csv(regenerated)
    assert regenerated.read_bytes() == DEFAULT_PATH.read_bytes()


def test_seed_has_thirteen_users_and_the_spike_of_user_a() -> None:
    with DEFAULT_PATH.open() as handle:
        rows = [(row["user_name"], int(row["start_time"])) for row in csv.DictReader(handle)]
    moments = [(user, datetime.fromtimestamp(start, timezone.utc)) for user, start in rows]
    assert sorted({user for user, _ in rows}) == list("abcdefghijklm")
    assert all(datetime(2017, 1, 1, tzinfo=timezone.utc) <= at < datetime(2017, 1, 15, tzinfo=timezone.utc) for _, at in moments)
    spike_hour = Counter(user for user, at in moments if at.date().isoformat() == "2017-01-12" and at.hour == 12)
    assert spike_hour["a"] >= 300
    per_user = Counter(user for user, _ in rows)
    assert all(800 <= count <= 2400 for user, count in per_user.items() if user != "a")
    assert 1100 <= per_user["a"] <= 2700
