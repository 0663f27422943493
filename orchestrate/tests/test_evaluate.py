"""Recall and precision against the ground truth, from the reference or from a table of flags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from orchestrate.lab.evaluation import evaluate
from orchestrate.lab.evaluation.ablations import CROSS_HOUR_VARIANTS, PARAMS, evaluate_variant
from orchestrate.lab.evaluation.evaluate import Flag, Truth, cells_from_plan, metrics, truth_from_rows
from orchestrate.lab.generators import flowgen
from orchestrate.lab.reference.scoring import HourMatrix, hour_matrices, residual_fit
from orchestrate.lab.generators.sample_data import DEFAULT_PATH as SAMPLE_CSV
from orchestrate.tests.conftest import Database

D1, D2, D3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)
TRUTH = truth_from_rows(
    [
        ("burst", "burst", "u1", D1, 3),
        ("burst", "burst", "u2", D2, 14),
        ("collective", "holiday", None, D3, None),  # a holiday: every hour of the day
        ("collective", "update", None, D2, 10),
    ]
)


def test_truth_rows_expand_whole_days() -> None:
    assert TRUTH.pairs == {("u1", 3), ("u2", 14)}
    assert (D3, 0) in TRUTH.collective and (D3, 23) in TRUTH.collective and (D2, 10) in TRUTH.collective
    assert (D2, 11) not in TRUTH.collective


def test_metrics_count_pairs_days_and_collective_flags() -> None:
    flags = [
        Flag("residual", 3, "u1", D1),  # found, right day
        Flag("residual", 3, "u1", D2),  # the same pair again: counted once
        Flag("residual", 14, "u2", D1),  # found, wrong day
        Flag("residual", 5, "u9", D3),  # false, on the holiday
        Flag("residual", 10, "u8", D2),  # false, on the update
        Flag("residual", 7, "u7", D1),  # false
        Flag("other", 3, "u1", D1),  # another method
    ]
    m = metrics("residual", flags, TRUTH)
    assert (m.flagged, m.found, m.injected, m.right_day, m.collective_flags) == (5, 2, 2, 1, 2)
    assert m.recall == 1.0 and m.precision == pytest.approx(0.4)


def test_metrics_per_kind_and_a_lasting_burst_on_its_first_day() -> None:
    truth = truth_from_rows(
        [
            ("burst", "subtle", "u1", D1, 3),
            ("burst", "lasting", "u2", D1, 14),
            ("burst", "lasting", "u2", D2, 14),
            ("burst", "lasting", "u3", D2, 5),
            ("burst", "lasting", "u3", D3, 5),
        ]
    )
    flags = [
        Flag("residual", 14, "u2", D2, D1),  # found from its first day, D2 its best
        Flag("residual", 5, "u3", D3, D3),  # found, wrong first day
        Flag("residual", 7, "u7", D1),  # false
    ]
    overall, lasting, subtle = evaluate.metrics_by_kind("residual", flags, truth)
    assert (overall.found, overall.injected, overall.flagged, overall.right_day) == (2, 3, 3, 1)
    assert (lasting.method, lasting.found, lasting.injected, lasting.flagged, lasting.right_day) == ("residual/lasting", 2, 2, 3, 1)
    assert (subtle.found, subtle.injected, subtle.flagged) == (0, 1, 1)


def test_metrics_without_days_leave_day_figures_out() -> None:
    m = metrics("loading", [Flag("loading", 3, "u1", None), Flag("loading", 4, "u1", None)], TRUTH)
    assert (m.found, m.flagged, m.right_day, m.collective_flags) == (1, 2, None, None)
    assert "-" in evaluate.format_metrics([m])


def test_metrics_of_nothing() -> None:
    m = metrics("residual", [], Truth(frozenset(), frozenset()))
    assert m.flagged == 0 and m.recall != m.recall  # nan: nothing to find


def test_flags_from_a_table_with_or_without_day(db: Database, session_id: str) -> None:
    schema = f"nfpca_test_{session_id}_evaluate"
    db.execute(f'create schema "{schema}"')
    try:
        db.execute(
            f'create table "{schema}".with_day (hour_of_day int, user_name text, method text, evidence_day date, rank int, first_evidence_day date)'
        )
        db.execute(
            f"insert into \"{schema}\".with_day values (3, 'u1', 'residual', '2024-01-02', 1, '2024-01-01'),"
            " (3, 'u1', 'residual', '2024-01-02', 1, '2024-01-01')"
        )
        db.execute(f'create table "{schema}".without_day (hour_of_day int, user_name text, method text)')
        db.execute(f"insert into \"{schema}\".without_day values (3, 'u1', 'loading')")
        with db.connect() as connection:
            assert evaluate.flags_from_table(connection, f"{schema}.with_day") == [Flag("table:residual", 3, "u1", D2, D1)]
            assert evaluate.flags_from_table(connection, f"{schema}.without_day") == [Flag("table:loading", 3, "u1", None)]
    finally:
        db.execute(f'drop schema if exists "{schema}" cascade')


def test_command_prints_the_figures_of_a_generated_data_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main(["--generate", "--preset", "tiny", "--methods", "residual,loading"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["method", "flagged", "found", "injected", "recall"]
    assert [line.split()[0] for line in lines[2:]] == ["residual", "loading"]


def test_command_ranks_a_first_in_hour_12_of_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main(["--csv", str(SAMPLE_CSV), "--hour", "12", "--methods", "residual"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == [["12", "residual", "1", "a", rows[0][4], "2017-01-12", "303", rows[0][7], "-"]]


def test_command_refuses_unknown_methods(capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main(["--generate", "--preset", "tiny", "--methods", "pca"]) == 2
    assert "unknown method" in capsys.readouterr().err


def test_busy_day_variant_expects_more_of_a_user_busy_all_day() -> None:
    """ablations' busy-day: the same subtle burst scores less on a day its user is three times
    as busy in every other hour; cells at or below the prediction keep the method's evidence."""
    busy_day = CROSS_HOUR_VARIANTS["busy-day"]
    flow_plan = flowgen.plan(flowgen.FlowSpec(users=60, days=21, events=600_000, seed=4, bursts=0, subtle=2))
    burst = flow_plan.bursts[0]
    user, day = flow_plan.user_name(burst.user), flow_plan.day_date(burst.day)
    hours = hour_matrices(cells_from_plan(flow_plan))
    busier = []
    for hour in hours:
        counts = hour.counts.copy()
        if hour.hour != burst.hour and user in hour.users and day in hour.days:
            counts[hour.days.index(day), hour.users.index(user)] *= 3
        busier.append(replace(hour, counts=counts))
    index = [hour.hour for hour in hours].index(burst.hour)
    at = hours[index]
    usual, busy = busy_day(hours)[index].evidence, busy_day(busier)[index].evidence
    cell = (at.days.index(day), at.users.index(user))
    assert usual[cell] > PARAMS.run_at
    assert busy[cell] < usual[cell] - 1
    fit = residual_fit(at, PARAMS)
    below = at.nonzero & (fit.residual <= 0)
    assert below.any()
    np.testing.assert_allclose(usual[below], fit.evidence[below])


def _subtle_burst_evidence(
    hours: list[HourMatrix], change: Callable[[HourMatrix, np.ndarray, int, int], None], user: str, day: date, hour_of_day: int
) -> dict[str, float]:
    """busy-day's and whole-day's evidence on the burst cell after `change(hour, counts, user
    column, burst row or -1)` edits each hour's counts of the burst's user."""
    changed = []
    for hour in hours:
        counts = hour.counts.copy()
        if user in hour.users:
            change(hour, counts, hour.users.index(user), hour.days.index(day) if day in hour.days else -1)
        changed.append(replace(hour, counts=counts))
    index = [hour.hour for hour in hours].index(hour_of_day)
    cell = (hours[index].days.index(day), hours[index].users.index(user))
    return {name: float(CROSS_HOUR_VARIANTS[name](changed)[index].evidence[cell]) for name in ("busy-day", "whole-day")}


def test_whole_day_variant_sees_a_weekly_rhythm_and_an_empty_day_across_hours() -> None:
    """ablations' whole-day against busy-day, on one subtle burst: a weekly rhythm of the user's
    own (every hour of their Saturdays 2.5 times as busy) widens busy-day's spread and lowers the
    burst's evidence, not whole-day's, whose spread is around the day-corrected counts; and the
    burst on a day the user is otherwise absent is far stronger evidence for whole-day (their
    usual hours stayed empty: a low day factor), about the same for busy-day."""
    flow_plan = flowgen.plan(flowgen.FlowSpec(users=60, days=28, events=600_000, seed=4, bursts=0, subtle=2))
    burst = flow_plan.bursts[1]
    user, day = flow_plan.user_name(burst.user), flow_plan.day_date(burst.day)
    hours = hour_matrices(cells_from_plan(flow_plan))

    def as_is(hour: HourMatrix, counts: np.ndarray, column: int, row: int) -> None:
        pass

    def busy_saturdays(hour: HourMatrix, counts: np.ndarray, column: int, row: int) -> None:
        saturdays = [i for i, when in enumerate(hour.days) if when.weekday() == 5]
        counts[saturdays, column] = np.round(counts[saturdays, column] * 2.5)

    def away_but_the_burst(hour: HourMatrix, counts: np.ndarray, column: int, row: int) -> None:
        if hour.hour != burst.hour and row >= 0:
            counts[row, column] = 0

    assert day.weekday() != 5
    usual = _subtle_burst_evidence(hours, as_is, user, day, burst.hour)
    rhythm = _subtle_burst_evidence(hours, busy_saturdays, user, day, burst.hour)
    away = _subtle_burst_evidence(hours, away_but_the_burst, user, day, burst.hour)
    assert rhythm["busy-day"] < usual["busy-day"] - 0.75
    assert rhythm["whole-day"] > usual["whole-day"] - 0.5
    assert away["whole-day"] > usual["whole-day"] + 5
    assert abs(away["busy-day"] - usual["busy-day"]) < 1


def test_uncarried_days_variant_reports_a_lasting_burst_from_a_later_day() -> None:
    """ablations' uncarried-days against the method: the same flags, but a lasting burst whose
    first 4 days are under LINK_AT (test_scoring's seed 1 with 10 lasting bursts: u00035 in hour 12)
    is reported from its first day only with the days that carry its run's excess."""
    spec = replace(flowgen.PRESETS[flowgen.EVALUATION_PRESET], users=120, days=28, events=400_000, seed=1, subtle=3, lasting=10)
    flow_plan = flowgen.plan(spec)
    method = evaluate_variant("residual", flow_plan, [PARAMS.threshold])[(PARAMS.threshold, "lasting")]
    uncarried = evaluate_variant("uncarried-days", flow_plan, [PARAMS.threshold])[(PARAMS.threshold, "lasting")]
    assert (method.found, method.flagged) == (uncarried.found, uncarried.flagged)
    assert method.right_day == uncarried.right_day + 1 == method.found
