"""The flow generator: deterministic, realistic in the ways scoring depends on, streaming, with truth."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pytest

from orchestrate.lab.evaluation.evaluate import cells_from_plan, cells_from_table
from orchestrate.lab.generators import flowgen
from orchestrate.tests.conftest import Database

TINY = flowgen.PRESETS["tiny"]
EVALUATION = flowgen.PRESETS[flowgen.EVALUATION_PRESET]


@pytest.fixture(scope="module")
def evaluation_plan() -> flowgen.FlowPlan:
    return flowgen.plan(EVALUATION)


@pytest.fixture(scope="module")
def evaluation_counts(evaluation_plan: flowgen.FlowPlan) -> np.ndarray:
    return flowgen.count_tensor(evaluation_plan)


def test_same_seed_same_events_other_seed_other_events() -> None:
    first = b"".join(flowgen.event_chunks(flowgen.plan(TINY)))
    again = b"".join(flowgen.event_chunks(flowgen.plan(TINY)))
    other = b"".join(flowgen.event_chunks(flowgen.plan(replace(TINY, seed=TINY.seed + 1))))
    assert first == again
    assert first != other


def test_days_come_from_their_own_streams() -> None:
    flow_plan = flowgen.plan(TINY)
    backwards = [flowgen.day_counts(flow_plan, day) for day in reversed(range(TINY.days))][::-1]
    assert np.array_equal(np.stack(backwards).transpose(2, 0, 1), flowgen.count_tensor(flow_plan))


def test_tensor_shape_and_volume(evaluation_counts: np.ndarray) -> None:
    assert evaluation_counts.shape == (24, EVALUATION.days, EVALUATION.users)
    assert 0.9 * EVALUATION.events < evaluation_counts.sum() < 1.15 * EVALUATION.events


def test_users_have_heavy_tailed_volumes_and_days_away(evaluation_counts: np.ndarray) -> None:
    per_user = np.sort(evaluation_counts.sum(axis=(0, 1)))[::-1]
    assert per_user[: EVALUATION.users // 10].sum() > 0.4 * per_user.sum()  # the top 10% make most flows
    per_user_day = evaluation_counts.sum(axis=0)  # days x users
    assert (per_user_day == 0).mean() > 0.05  # users absent on some days
    assert (per_user_day > 0).all(axis=0).any()  # and some present every day


def test_office_users_are_quiet_at_weekends_and_peak_in_the_day(evaluation_plan: flowgen.FlowPlan, evaluation_counts: np.ndarray) -> None:
    office = evaluation_plan.users.office
    weekdays = np.array([evaluation_plan.day_date(d).weekday() for d in range(EVALUATION.days)])
    daily = evaluation_counts.sum(axis=0)[:, office].sum(axis=1)
    assert daily[weekdays >= 5].mean() < 0.5 * daily[weekdays < 5].mean()
    hourly = evaluation_counts[:, :, office].sum(axis=(1, 2))
    assert hourly[9:17].sum() > 3 * hourly[list(range(0, 6)) + [22, 23]].sum()


def test_bursts_are_in_the_counts_on_distinct_users_half_at_night(evaluation_plan: flowgen.FlowPlan, evaluation_counts: np.ndarray) -> None:
    bursts = evaluation_plan.bursts
    assert len(bursts) == 10 and len({b.user for b in bursts}) == 10
    assert sum(b.hour < 6 for b in bursts) >= 5
    collective = {(event.day, hour) for event in evaluation_plan.collective for hour in event.hours}
    for burst in bursts:
        assert (burst.day, burst.hour) not in collective
        assert evaluation_counts[burst.hour, burst.day, burst.user] >= burst.extra_flows >= 25


def test_subtle_and_lasting_bursts_leave_the_large_ones_as_they_were(evaluation_plan: flowgen.FlowPlan) -> None:
    spec = replace(EVALUATION, subtle=6, lasting=6)
    flow_plan = flowgen.plan(spec)
    assert flow_plan.bursts[:10] == evaluation_plan.bursts
    subtle = [b for b in flow_plan.bursts if b.label == "subtle"]
    lasting = [b for b in flow_plan.bursts if b.label == "lasting"]
    assert len(subtle) == len(lasting) == 6 and len({b.user for b in flow_plan.bursts}) == 22
    assert all(b.days == 1 and b.extra_flows >= 20 for b in subtle)
    assert all(2 <= b.days <= 5 and b.day + b.days <= spec.days for b in lasting)
    collective = {(event.day, hour) for event in flow_plan.collective for hour in event.hours}
    burst = lasting[0]
    assert all((day, burst.hour) not in collective for b in lasting for day in range(b.day, b.day + b.days))
    counts = flowgen.count_tensor(flow_plan)[burst.hour, :, burst.user]
    assert (counts[burst.day : burst.day + burst.days] >= burst.extra_flows).all()
    rows = [row for row in flowgen.truth_rows(flow_plan) if row.label == "lasting" and row.user_name == flow_plan.user_name(burst.user)]
    assert [row.day for row in rows] == [flow_plan.day_date(burst.day + k) for k in range(burst.days)]


def test_poisson_counts_are_less_dispersed() -> None:
    spec = replace(TINY, users=60, days=21, events=200_000, anomalies=False)
    mixed, plain = (flowgen.count_tensor(flowgen.plan(replace(spec, poisson=poisson))) for poisson in (False, True))
    assert plain.var(axis=1).sum() < mixed.var(axis=1).sum()


def test_collective_events_move_many_users(evaluation_plan: flowgen.FlowPlan, evaluation_counts: np.ndarray) -> None:
    events = {event.label: event for event in evaluation_plan.collective}
    assert set(events) == {"holiday", "outage", "update"}
    assert len({event.day for event in events.values()}) == 3
    assert all(evaluation_plan.day_date(event.day).weekday() < 5 for event in events.values())
    update, outage = events["update"], events["outage"]
    at_ten = evaluation_counts[10][:, evaluation_plan.users.updated]
    others = np.delete(at_ten, update.day, axis=0)
    assert (at_ten[update.day] > np.median(others, axis=0) + 10).mean() > 0.5
    for hour in outage.hours:
        assert evaluation_counts[hour, outage.day].sum() < 0.1 * np.median(evaluation_counts[hour].sum(axis=1))


def test_truth_rows_list_bursts_then_collective_events(evaluation_plan: flowgen.FlowPlan) -> None:
    rows = flowgen.truth_rows(evaluation_plan)
    bursts = [row for row in rows if row.kind == "burst"]
    assert len(bursts) == 10 and all(row.user_name and row.hour_of_day is not None for row in bursts)
    holiday = [row for row in rows if row.label == "holiday"]
    assert len(holiday) == 1 and holiday[0].hour_of_day is None and holiday[0].user_name is None
    assert {row.hour_of_day for row in rows if row.label == "outage"} == set(flowgen.OUTAGE_HOURS)
    assert "holiday" in flowgen.format_truth(rows)


def test_without_anomalies_there_is_no_truth() -> None:
    flow_plan = flowgen.plan(replace(TINY, anomalies=False))
    assert flow_plan.bursts == () and flow_plan.collective == () and flowgen.truth_rows(flow_plan) == []


def test_rows_are_copy_text_in_time_order() -> None:
    flow_plan = flowgen.plan(TINY)
    lines = b"".join(flowgen.event_chunks(flow_plan)).decode().splitlines()
    users, times = zip(*(line.split("\t") for line in lines))
    assert len(lines) == flowgen.count_tensor(flow_plan).sum()
    assert set(users) <= {flow_plan.user_name(u) for u in range(TINY.users)}
    seconds = list(map(int, times))
    assert seconds == sorted(seconds)
    start = int(datetime(TINY.start.year, TINY.start.month, TINY.start.day, tzinfo=timezone.utc).timestamp())
    assert start <= seconds[0] and seconds[-1] < start + TINY.days * 86_400


def test_chunk_stream_reads_back_the_chunks_in_any_sizes() -> None:
    chunks = [b"abc", b"", b"defgh", b"i"]
    stream = flowgen.ChunkStream(chunks)
    pieces = []
    while piece := stream.read(2):
        pieces.append(piece)
    assert b"".join(pieces) == b"abcdefghi" and stream.bytes_read == 9


def _peak_bytes(spec: flowgen.FlowSpec) -> tuple[int, int]:
    tracemalloc.start()
    written = sum(len(chunk) for chunk in flowgen.event_chunks(flowgen.plan(spec)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return written, peak


def test_memory_does_not_grow_with_the_number_of_events() -> None:
    base = flowgen.FlowSpec(users=2000, days=7, events=100_000, seed=3, anomalies=False)
    small_bytes, small_peak = _peak_bytes(base)
    large_bytes, large_peak = _peak_bytes(replace(base, events=1_000_000))
    assert large_bytes > 8 * small_bytes
    # memory is the plan, one day's rates and one hour's events: ten times the events, not
    # ten times the memory, and far less than the text it streams
    assert large_peak < 2 * small_peak
    assert large_peak < large_bytes / 4


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        flowgen.FlowSpec(users=0)
    assert flowgen.main(["--users", "0", "--truth-only"]) == 2


def test_truth_only_prints_the_presets_truth(capsys: pytest.CaptureFixture[str]) -> None:
    assert flowgen.main(["--preset", "tiny", "--truth-only"]) == 0
    out = capsys.readouterr().out
    assert out.count("individual burst") == TINY.bursts and "holiday" in out


def test_write_streams_events_and_truth_into_postgres(db: Database, session_id: str) -> None:
    schema = f"nfpca_test_{session_id}_flowgen"
    flow_plan = flowgen.plan(TINY)
    try:
        with db.connect() as connection:
            written = flowgen.write(connection, schema, "events", flow_plan)
            assert sorted(cells_from_table(connection, schema, "events")) == sorted(cells_from_plan(flow_plan))
        assert written == flowgen.count_tensor(flow_plan).sum()
        truth = db.rows(f'select kind, label, user_name, day, hour_of_day, extra_flows from "{schema}".events_truth order by 1, 2, 4, 5, 3')
        expected = sorted(
            (r.kind, r.label, r.user_name, r.day, r.hour_of_day, r.extra_flows) for r in flowgen.truth_rows(flow_plan)
        )
        assert sorted(truth, key=str) == sorted(expected, key=str)
    finally:
        db.execute(f'drop schema if exists "{schema}" cascade')
