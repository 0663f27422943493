"""The scoring marts on real PostgreSQL: the sample's planted anomaly, and every score equal to
the numpy reference (orchestrate/lab/reference/scoring.py) on a generated data set."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import psycopg2
import pytest

from orchestrate.lab.evaluation.evaluate import cells_from_plan
from orchestrate.lab.generators import flowgen
from orchestrate.lab.reference.scoring import (
    ResidualParams,
    best_runs,
    consecutive_days,
    hour_matrices,
    residual_fit,
    score_hours,
    whole_day_evidence,
)
from orchestrate.tests.conftest import Project, within_rounding


def anomalies(project: Project, hour: int) -> list[tuple[Any, ...]]:
    return project.db.rows(
        f'select method, anomaly_rank, user_name, evidence_day from "{project.schema}".anomalous_users'
        " where hour_of_day = %s order by method, anomaly_rank",
        (hour,),
    )


def test_the_default_method_flags_only_user_a_in_hour_12_on_the_spike_day(built_project: Project) -> None:
    flagged = built_project.db.rows(
        f'select hour_of_day, method, anomaly_rank, user_name, evidence_day, flow_count from "{built_project.schema}".anomalous_users'
    )
    assert flagged == [(12, "residual", 1, "a", date(2017, 1, 12), 303)]


def test_both_methods_rank_user_a_first_in_hour_12(project: Project) -> None:
    project.build(vars={**project.load_sample_events(), "scoring_method": "both"})
    top = {method: (user, day) for method, rank, user, day in anomalies(project, 12) if rank == 1}
    assert top == {"residual": ("a", date(2017, 1, 12)), "loading": ("a", None)}


def _numpy_scores(project: Project, cells: list[tuple[int, str]], names: list[str]) -> list[tuple[Any, ...]]:
    """pca_residual_scores_numpy on one hour (12) of one-flow cells (day 1 to 3, user) over 3 days,
    with the default parameters: each user's cells in one bytea, as int_residual_scores packs them,
    the users numbered by their places in names; each scored user's name, through their number."""
    by_user: dict[str, list[int]] = {}
    for day, user in cells:
        by_user.setdefault(user, []).append((1 << 32) | (12 << 16) | (day - 1))
    users = sorted(by_user, reverse=True)  # in any order: names numbers them
    return project.db.rows(
        f'select scored.hour_of_day, names.user_name from "{project.schema}".pca_residual_scores_numpy(%s, %s, %s,'
        " 19000, array[12], array[%s], array[12], 3, 4, 0.05, 3, 2, 20, 3, 5) as scored"
        " cross join unnest(cast(scored.user_ids as integer[])) as scored_users (user_id)"
        " inner join unnest(cast(%s as text[])) with ordinality as names (user_name, user_id)"
        " on names.user_id = scored_users.user_id order by names.user_name",
        (
            users,
            [psycopg2.Binary(struct.pack(f">{len(by_user[user])}q", *by_user[user])) for user in users],
            names,
            psycopg2.Binary(struct.pack(">3i", 19000, 19001, 19002)),
            names,
        ),
    )


def test_the_numpy_scores_name_the_users_by_their_numbers(built_project: Project) -> None:
    cells = [(day, user) for user in ("b", "c") for day in (1, 2, 3)]
    assert _numpy_scores(built_project, cells, ["a", "b", "c"]) == [(12, "b"), (12, "c")]


def test_the_numpy_scores_refuse_a_cell_given_twice(built_project: Project) -> None:
    with pytest.raises(psycopg2.Error, match="a \\(day, user\\) cell comes more than once"):
        _numpy_scores(built_project, [(1, "a"), (2, "a"), (1, "a")], ["a"])


def test_the_numpy_scores_refuse_a_user_without_a_number(built_project: Project) -> None:
    with pytest.raises(psycopg2.Error, match="a user of user_names is not in names_in_order"):
        _numpy_scores(built_project, [(1, "a"), (2, "a"), (3, "b")], ["a"])


# seed 18 with 10 lasting bursts: one of them (u00060 in hour 0) dips under run_at on its second
# day, and is reported from its first day only with the run joined to the one after it; seed 1 with
# 10: one (u00035 in hour 12, 308 flows more on each of 5 days) has its first 4 days under LINK_AT,
# and is reported from its first day only with the days that carry its run's excess
@pytest.mark.parametrize(("seed", "lasting"), [(5, 4), (18, 10), (1, 10)], ids=["seed-5", "joined-runs", "carried-days"])
@pytest.mark.parametrize("backend", ["plpython", "sql"])  # the residual method in numpy, and set-based
def test_user_outlier_scores_equal_the_reference(project: Project, backend: str, seed: int, lasting: int) -> None:
    spec = replace(flowgen.PRESETS[flowgen.EVALUATION_PRESET], users=120, days=28, events=400_000, seed=seed, subtle=3, lasting=lasting)
    flow_plan = flowgen.plan(spec)
    with project.db.connect() as connection:
        flowgen.write(connection, project.schema, "events", flow_plan)
    project.build(vars={"events_table": "events", "scoring_method": "both", "pca_backend": backend})

    matrices = hour_matrices(cells_from_plan(flow_plan))
    # every hour of the generated window has flows on every day, so the reference's per-hour
    # matrices have the rows the marts' fits have
    assert {len(hour.days) for hour in matrices} == {28}
    expected = {(s.hour_of_day, s.user_name, s.method): s for s in score_hours(matrices, ("residual", "loading"), ResidualParams())}
    # each day's evidence and expected count, against the counts corrected by the user's whole day
    by_day: dict[tuple[int, str], dict[date, tuple[float, float]]] = {}
    fits = [residual_fit(hour, ResidualParams()) for hour in matrices]
    joined = 0  # flagged users whose reported run has runs joined to it
    carried = 0  # flagged users whose reported run has days beside it that carry its excess
    for hour, corrected in zip(matrices, whole_day_evidence(matrices, fits, ResidualParams())):
        evidence = np.where(hour.nonzero, corrected.evidence, -np.inf)
        runs = best_runs(corrected.evidence, hour.nonzero, consecutive_days(hour.days), ResidualParams())
        alone = best_runs(corrected.evidence, hour.nonzero, consecutive_days(hour.days), ResidualParams(), link_at=np.inf)
        grown = best_runs(
            corrected.evidence, hour.nonzero, consecutive_days(hour.days), ResidualParams(), excess=hour.counts - corrected.expected
        )
        moved = (runs.first != alone.first) | (runs.last != alone.last)
        joined += int((moved & (runs.score > ResidualParams().threshold)).sum())
        moved = (grown.first != runs.first) | (grown.last != runs.last)
        carried += int((moved & (runs.score > ResidualParams().threshold)).sum())
        for j, user in enumerate(hour.users):
            by_day[(hour.hour, user)] = {day: (evidence[i, j], corrected.expected[i, j]) for i, day in enumerate(hour.days)}
    rows = project.db.rows(
        f'select hour_of_day, user_name, method, score, is_anomalous, evidence_day, evidence_component, flow_count,'
        f' expected_flow_count, first_evidence_day, last_evidence_day from "{project.schema}".user_outlier_scores'
    )
    assert {row[:3] for row in rows} == expected.keys()
    for hour, user, method, score, is_anomalous, day, component, flow_count, expected_count, first_day, last_day in rows:
        reference = expected[(hour, user, method)]
        key = (hour, user, method)
        assert score == pytest.approx(reference.score, rel=1e-6, abs=1e-6), key
        assert is_anomalous == reference.flagged, key
        if method == "loading":
            assert component == reference.component, key
        else:
            # the best run's best day (days tied to rounding may come in either order) and its bounds
            day_evidence, day_expected = by_day[(hour, user)][day]
            assert day_evidence == pytest.approx(by_day[(hour, user)][reference.day][0], rel=1e-9, abs=1e-9), key
            assert expected_count == pytest.approx(day_expected, rel=1e-6, abs=1e-6), key
            if day == reference.day:
                assert (first_day, last_day) == (reference.first_day, reference.last_day), key
            else:  # days alone, tied
                assert first_day == last_day == day and reference.first_day == reference.last_day, key
    residual = [s for s in expected.values() if s.method == "residual"]
    assert any(s.flagged for s in residual)
    assert joined == (seed == 18)
    assert bool(carried) == (seed == 1)
    # the lasting bursts are reported once each, from their first day to their last
    lasting = {(plan_burst.hour, flow_plan.user_name(plan_burst.user)): plan_burst for plan_burst in flow_plan.bursts if plan_burst.days > 1}
    found = [s for s in residual if s.flagged and (s.hour_of_day, s.user_name) in lasting]
    assert found and all(s.last_day > s.first_day == flow_plan.day_date(lasting[(s.hour_of_day, s.user_name)].day) for s in found)


@pytest.mark.parametrize("backend", ["plpython", "sql"])
def test_a_one_hour_run_scores_its_hour_as_the_run_of_all_hours(project: Project, backend: str) -> None:
    # each hour's evidence needs the other hours' cells: a run of hour 12 reads them from
    # int_hourly_counts as the run of all hours left them
    vars = {**project.load_sample_events(), "pca_backend": backend}
    query = f'select * from "{project.schema}".int_residual_scores where hour_of_day = 12 order by user_name'
    project.build(vars)
    all_hours = project.db.rows(query)
    project.build({**vars, "hour_id": 12})
    one_hour = project.db.rows(query)
    assert len(one_hour) == len(all_hours) == 13
    assert one_hour == [tuple(within_rounding(value) for value in row) for row in all_hours]
