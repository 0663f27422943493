"""The numpy reference of the scoring methods: small hand-made matrices with known answers, the
sample seed, and the targets on the generated evaluation data set."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from orchestrate.lab.evaluation.evaluate import cells_from_csv, cells_from_plan, flags_from_scores, metrics, truth_from_plan
from orchestrate.lab.generators import flowgen
from orchestrate.lab.generators.sample_data import DEFAULT_PATH as SAMPLE_CSV
from orchestrate.lab.reference.pca import fit_pca
from orchestrate.lab.reference.scoring import (
    HourMatrix,
    ResidualParams,
    _column_medians,
    baseline_days,
    best_runs,
    damped,
    hour_matrices,
    inverse_anscombe,
    anscombe,
    dispersion,
    loadings,
    normal_components,
    ranked_flags,
    residual_fit,
    residual_spread,
    residual_scores,
    score_hours,
    subspace_residual,
    tail_z,
    user_levels,
    zscore_scores,
)

DAYS = tuple(date(2024, 1, 1) + timedelta(days=d) for d in range(28))


def poisson_hour(rng: np.random.Generator, days: int = 28, users: int = 40) -> np.ndarray:
    rates = rng.lognormal(1.5, 1.0, users)
    return rng.poisson(np.tile(rates, (days, 1))).astype(float)


def as_hour(counts: np.ndarray) -> HourMatrix:
    return HourMatrix(12, DAYS[: counts.shape[0]], tuple(f"u{j:02d}" for j in range(counts.shape[1])), counts)


# ---- loading -------------------------------------------------------------------------------


def test_loading_scores_do_not_depend_on_component_signs() -> None:
    rng = np.random.default_rng(2)
    components = np.linalg.qr(rng.normal(size=(20, 4)))[0].T
    flipped = components * np.array([1, -1, -1, 1])[:, None]
    assert np.array_equal(loadings(components)[0], loadings(flipped)[0])
    assert np.array_equal(loadings(components)[1], loadings(flipped)[1])
    assert np.allclose(loadings(components)[0], np.abs(components).max(axis=0))


# ---- per-user levels -----------------------------------------------------------------------


def test_column_medians_use_the_masked_cells_only() -> None:
    values = np.array([[1.0, 5.0], [9.0, 0.0], [3.0, 7.0], [100.0, 6.0]])
    mask = np.array([[True, True], [True, False], [True, True], [False, True]])
    assert np.allclose(_column_medians(values, mask), [3.0, 6.0])
    assert np.allclose(_column_medians(values, np.zeros_like(mask)), [0.0, 0.0])


def test_user_levels_need_enough_active_days() -> None:
    stabilised = np.array([[2.0, 0.0], [4.0, 9.0], [3.0, 0.0], [10.0, 1.0]])
    levels = user_levels(stabilised, stabilised > 0, min_active_days=3)
    assert list(levels.active_days) == [4, 2]
    assert levels.level[0] == 3.5 and levels.scale[0] == pytest.approx(max(1.4826 * 1.0, 1.0))
    assert levels.level[1] == 0.0 and levels.scale[1] == 1.0  # two active days: no level yet


def test_anscombe_keeps_zero_and_inverts() -> None:
    counts = np.array([0.0, 1.0, 5.0, 300.0])
    assert anscombe(counts)[0] == 0.0
    assert np.allclose(inverse_anscombe(anscombe(counts)), counts)


# ---- residual: the pieces ------------------------------------------------------------------


def test_normal_subspace_counts_the_components_above_the_noise() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(size=(40, 300))
    days, users = rng.normal(size=(40, 2)), rng.normal(size=(2, 300))
    signal = 3.0 * days @ users
    for matrix, expected in ((noise, 0), (noise + signal, 2)):
        pca = fit_pca(matrix, 20)
        assert normal_components(pca, *matrix.shape) == expected


def test_subspace_residual_is_sign_free_and_removes_the_subspace() -> None:
    rng = np.random.default_rng(4)
    matrix = rng.normal(size=(15, 25))
    pca = fit_pca(matrix, 5)
    flipped = replace(pca, components=-pca.components)
    assert np.allclose(subspace_residual(matrix, pca, 3), subspace_residual(matrix, flipped, 3))
    assert np.allclose(subspace_residual(matrix, pca, 3) @ pca.components[:3].T, 0.0)
    assert np.allclose(subspace_residual(matrix, pca, 0), matrix - matrix.mean(axis=0))


def test_residual_spread_is_the_variance_outside_the_normal_subspace() -> None:
    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(30, 8))
    full = fit_pca(matrix, 7)
    levels = user_levels(np.ones_like(matrix), np.ones_like(matrix, dtype=bool), 3)
    spread = residual_spread(matrix, full, 2, levels)
    outside = (full.eigenvalues[2:, None] * full.components[2:] ** 2).sum(axis=0)
    assert np.allclose(spread, np.maximum(np.sqrt(outside), 1.0))


def _exact_tail_z(count: int, mean: float, phi: float) -> float:
    """The upper-tail z of P(X >= count), X negative binomial (Poisson at phi 0), summed term
    by term on the log scale; the normal quantile by bisection."""
    j = np.arange(count, count + 4000, dtype=float)
    if phi == 0:
        log_terms = j * math.log(mean) - mean - np.array([math.lgamma(v + 1) for v in j])
    else:
        k = 1 / phi
        log_terms = np.array([math.lgamma(v + k) - math.lgamma(k) - math.lgamma(v + 1) for v in j])
        log_terms += k * math.log(k / (k + mean)) + j * math.log(mean / (k + mean))
    log_tail = float(np.logaddexp.reduce(log_terms))
    low, high = -10.0, 40.0
    for _ in range(100):
        middle = (low + high) / 2
        log_normal_tail = math.log(max(math.erfc(middle / math.sqrt(2)) / 2, 1e-300))
        low, high = (middle, high) if log_normal_tail > log_tail else (low, middle)
    return low


@pytest.mark.parametrize("phi", [0.0, 0.1, 0.3])
def test_tail_z_follows_the_exact_count_tail(phi: float) -> None:
    for mean, count in ((3.0, 12), (3.3, 23), (1.0, 8), (17.0, 60), (60.0, 150), (100.0, 160)):
        exact = _exact_tail_z(count, mean, phi)
        approximate = float(tail_z(np.array([float(count)]), np.array([mean]), phi)[0])
        assert approximate == pytest.approx(exact, abs=0.05 + 0.03 * abs(exact)), (mean, count, phi)


def test_the_tail_z_of_a_light_users_burst_exceeds_its_anscombe_z() -> None:
    """+20 on 3 usual flows: Anscombe 5.5, the Poisson tail beyond 6.5."""
    assert float(tail_z(np.array([23.0]), np.array([3.0]), 0.0)[0]) > float(anscombe(np.array(23.0)) - anscombe(np.array(3.0))) + 1


def test_dispersion_is_zero_for_poisson_counts_and_grows_with_over_dispersion() -> None:
    rng = np.random.default_rng(3)
    estimates = []
    for phi in (0.0, 0.1, 0.3):
        mean = rng.lognormal(1.5, 1.0, 400)
        rates = mean * rng.gamma(1 / phi, phi, (60, 400)) if phi else np.tile(mean, (60, 1))
        counts = rng.poisson(rates).astype(float)
        estimates.append(dispersion(user_levels(anscombe(counts), counts > 0, 3)))
    assert estimates[0] < 0.02
    assert 0.04 < estimates[1] < 0.15 and 0.15 < estimates[2] < 0.45


# ---- residual and zscore on hand-made data -------------------------------------------------


def test_residual_flags_an_individual_burst_on_its_day() -> None:
    counts = poisson_hour(np.random.default_rng(6))
    counts[17, 5] += 80
    flagged = [s for s in residual_scores([as_hour(counts)]) if s.flagged]
    assert [(s.user_name, s.day) for s in flagged] == [("u05", DAYS[17])]
    assert flagged[0].flow_count == counts[17, 5] and flagged[0].expected_count < counts[17, 5] / 4


def test_a_collective_surge_is_flagged_by_zscore_but_not_by_residual() -> None:
    rng = np.random.default_rng(7)
    counts = poisson_hour(rng, users=120)
    surge = rng.random(120) < 0.7  # a company-wide update on day 9
    counts[9, surge] += rng.poisson(30, surge.sum())
    zscore = {s.user_name for s in zscore_scores(as_hour(counts)) if s.flagged}
    residual = {s.user_name for s in residual_scores([as_hour(counts)]) if s.flagged}
    assert len(zscore) > 20
    assert residual == set()


def test_a_burst_too_large_for_the_fit_is_damped_out_of_it() -> None:
    counts = poisson_hour(np.random.default_rng(8), days=14, users=13)
    counts[11, 0] += 300  # the sample seed's shape: one huge burst in a small matrix
    fit = residual_fit(as_hour(counts))
    assert fit.evidence[11, 0] > 20
    assert fit.evidence.max() == fit.evidence[11, 0]
    undamped = fit_pca(np.where(counts > 0, anscombe(counts), 0.0), 5)
    assert np.abs(undamped.components[0, 0]) > 0.9  # without damping it would be the first axis
    assert np.abs(fit.pca.components[0, 0]) < 0.5 and fit.normal == 0


# ---- bursts over several days ------------------------------------------------------------------


def test_a_dominant_short_run_is_left_out_of_the_level() -> None:
    active = np.zeros((20, 4), dtype=bool)
    active[[2, 9, 10, 11], 0] = True  # a run of 3 of 4 active days: left out
    active[[2, 5, 9, 10, 11, 15], 1] = True  # 3 of 6: left out, 3 baseline days remain
    active[:, 2] = True  # active every day: one run longer than 2 x max_run_days, kept
    active[[2, 9, 10, 11], 3] = True  # as the first, but the run is no higher than the other day: kept
    stabilised = np.where(active, 1.0, 0.0)
    stabilised[9:12, :2] = 8.0
    stabilised[9:12, 3] = 2.0
    baseline = baseline_days(active, np.ones(20, dtype=bool), 5, stabilised)
    assert list(baseline.sum(axis=0)) == [1, 3, 20, 4]
    assert not baseline[9:12, :2].any()


def test_extreme_episodes_not_days_make_a_pattern() -> None:
    deviation = np.zeros((21, 3))
    deviation[[4, 5, 6], 0] = 9.0  # one burst over three consecutive days: damped
    deviation[[3, 10, 17], 1] = 9.0  # the same weekday three times: a pattern, kept
    deviation[2:9, 2] = 9.0  # seven consecutive days, longer than a burst lasts: a change of level, kept
    fitted = damped(deviation, ResidualParams())
    assert not fitted[:, 0].any()
    assert (fitted[:, 1:] == deviation[:, 1:]).all()


def test_consecutive_moderate_days_add_up_but_scattered_ones_do_not() -> None:
    evidence = np.zeros((21, 2))
    evidence[[7, 8, 9], 0] = 5.0  # 15 / sqrt(3) = 8.7
    evidence[[3, 10, 17], 1] = 5.0  # a week apart: each day alone
    evidence[12, 0] = 6.0
    runs = best_runs(evidence, np.ones((21, 2), dtype=bool), np.ones(21, dtype=bool), ResidualParams())
    assert runs.score[0] == pytest.approx(15 / np.sqrt(3)) and (runs.first[0], runs.last[0], runs.best[0]) == (7, 9, 7)
    assert runs.score[1] == 5.0 and (runs.first[1], runs.last[1], runs.best[1]) == (3, 3, 3)
    gap = np.ones(21, dtype=bool)
    gap[8] = False  # day 8 does not follow day 7 (a day without flows in the hour between them)
    assert best_runs(evidence, np.ones((21, 2), dtype=bool), gap, ResidualParams()).score[0] == pytest.approx(10 / np.sqrt(2))


def test_runs_joined_through_days_above_link_at_are_reported_together_with_the_score_unchanged() -> None:
    evidence = np.zeros((21, 3))
    evidence[[4, 5, 6, 7, 8], 0] = [4.2, 2.1, 2.4, 5.5, 5.4]  # a burst dipping under run_at: reported from day 4
    evidence[[3, 5, 6], 1] = [2.5, 6.0, 5.0]  # a day above link_at before the run, none above run_at: not reported
    evidence[[4, 5, 6, 7], 2] = [6.5, 1.5, 5.0, 5.0]  # a day under link_at between runs: the later run alone
    active = np.ones((21, 3), dtype=bool)
    runs = best_runs(evidence, active, np.ones(21, dtype=bool), ResidualParams())
    unlinked = best_runs(evidence, active, np.ones(21, dtype=bool), ResidualParams(), link_at=np.inf)
    np.testing.assert_array_equal(runs.score, unlinked.score)
    assert runs.score[0] == pytest.approx(10.9 / np.sqrt(2))
    assert [(int(runs.first[j]), int(runs.last[j]), int(runs.best[j])) for j in range(3)] == [(4, 8, 7), (5, 6, 5), (6, 7, 6)]
    assert (unlinked.first[0], unlinked.last[0], unlinked.best[0]) == (7, 8, 7)
    gap = np.ones(21, dtype=bool)
    gap[5] = False  # day 5 does not follow day 4: the runs are not joined
    assert best_runs(evidence, active, gap, ResidualParams()).first[0] == 7


def test_days_beside_the_run_that_carry_its_excess_are_reported_with_it_the_score_unchanged() -> None:
    evidence, excess = np.zeros((21, 5)), np.zeros((21, 5))
    # a lasting burst whose first two days and last are under run_at (a busy weekday raised their
    # expected counts): about 40 more flows each day, reported from day 4 to day 8
    evidence[[3, 4, 5, 6, 7, 8], 0] = [0.5, 1.5, 2.4, 5.5, 5.4, 1.8]
    excess[[3, 4, 5, 6, 7, 8], 0] = [2, 40, 45, 42, 44, 38]
    # a one-day burst after a usual noisy day (2.68, 20 flows more where the burst has 100): alone
    evidence[[9, 10], 1], excess[[9, 10], 1] = [2.68, 8.0], [20, 100]
    # a day with the run's excess but evidence under CARRY_FROM: not reported
    evidence[[9, 10], 2], excess[[9, 10], 2] = [0.8, 8.0], [90, 100]
    # no run (every day under run_at): a day alone, whatever its neighbours' excess
    evidence[[9, 10], 3], excess[[9, 10], 3] = [2.5, 2.9], [100, 100]
    # a carried day before a one-day run: reported with it, but not once a gap separates them
    evidence[[9, 10], 4], excess[[9, 10], 4] = [1.5, 8.0], [100, 100]
    active = np.ones((21, 5), dtype=bool)
    runs = best_runs(evidence, active, np.ones(21, dtype=bool), ResidualParams())
    carried = best_runs(evidence, active, np.ones(21, dtype=bool), ResidualParams(), excess=excess)
    np.testing.assert_array_equal(carried.score, runs.score)
    np.testing.assert_array_equal(carried.best, runs.best)
    assert (runs.first[0], runs.last[0]) == (6, 7)
    assert [(int(carried.first[j]), int(carried.last[j])) for j in range(4)] == [(4, 8), (10, 10), (10, 10), (10, 10)]
    assert (carried.first[4], carried.last[4]) == (9, 10)
    gap = np.ones(21, dtype=bool)
    gap[10] = False
    gapped = best_runs(evidence, active, gap, ResidualParams(), excess=excess)
    assert (gapped.first[4], gapped.last[4]) == (10, 10)


def test_a_lasting_burst_on_a_rare_user_is_flagged_once_from_its_first_day() -> None:
    rng = np.random.default_rng(10)
    counts = poisson_hour(rng, users=60)
    counts[:, 7] = 0
    counts[[3, 20], 7] = 1  # usually one flow on two days
    counts[[11, 12, 13], 7] = 30  # then 30 a day for three days
    flagged = [s for s in residual_scores([as_hour(counts)]) if s.flagged]
    assert [(s.user_name, s.first_day, s.last_day) for s in flagged] == [("u07", DAYS[11], DAYS[13])]


def test_a_burst_in_one_hour_is_flagged_but_a_day_busy_in_every_hour_is_not() -> None:
    rng = np.random.default_rng(11)
    rates = rng.lognormal(1.5, 1.0, 40)
    rates[5] = 6.0
    usual = [rng.poisson(np.tile(rates, (28, 1))).astype(float) for _ in range(6)]

    def scored(busy_hours: range) -> set[tuple[int, str, date]]:
        hours = []
        for hour, counts in enumerate(usual):
            counts = counts.copy()
            if hour in busy_hours:
                counts[12, 5] += 30
            hours.append(HourMatrix(hour, DAYS, as_hour(counts).users, counts))
        return {(s.hour_of_day, s.user_name, s.day) for s in residual_scores(hours) if s.flagged}

    assert scored(range(1)) == {(0, "u05", DAYS[12])}
    assert scored(range(6)) == set()  # the user's whole day is busier: the day factor expects it


def test_absent_days_are_no_evidence() -> None:
    counts = poisson_hour(np.random.default_rng(9))
    counts[3:10, 2] = 0  # a heavy user away for a week
    fit = residual_fit(as_hour(counts))
    assert (fit.evidence[3:10, 2] == 0).all()
    assert not any(s.flagged for s in residual_scores([as_hour(counts)]))


# ---- the sample seed and the evaluation data ------------------------------------------------


@pytest.fixture(scope="module")
def sample_scores() -> list:
    return score_hours(hour_matrices(cells_from_csv(SAMPLE_CSV)))


def test_on_the_sample_both_methods_rank_a_first_in_hour_12(sample_scores: list) -> None:
    ranked = [(score.method, score.user_name, score.day, rank) for score, rank in ranked_flags(sample_scores) if score.hour_of_day == 12]
    assert ("loading", "a", None, 1) in ranked
    assert ("residual", "a", date(2017, 1, 12), 1) in ranked


def test_on_the_sample_residual_flags_nothing_else(sample_scores: list) -> None:
    flagged = {(s.user_name, s.hour_of_day) for s in sample_scores if s.method == "residual" and s.flagged}
    assert flagged == {("a", 12)}


@pytest.mark.parametrize("seed", [flowgen.PRESETS[flowgen.EVALUATION_PRESET].seed, 101])
def test_evaluation_targets_on_generated_data(seed: int) -> None:
    flow_plan = flowgen.plan(replace(flowgen.PRESETS[flowgen.EVALUATION_PRESET], seed=seed))
    truth = truth_from_plan(flow_plan)
    flags = flags_from_scores(score_hours(hour_matrices(cells_from_plan(flow_plan))))
    residual, loading, zscore = (metrics(method, flags, truth) for method in ("residual", "loading", "zscore"))
    assert residual.recall >= 0.9 and residual.precision >= 0.9
    assert residual.collective_flags == 0 and residual.right_day == residual.found
    assert loading.precision < 0.01  # the original method flags most users
    assert zscore.collective_flags and zscore.collective_flags > 20  # the baseline flags collective events


def test_default_params_are_the_documented_ones() -> None:
    assert ResidualParams() == ResidualParams(3, 4.0, 0.05, 3, 2, 20, 5.25, 3.0, 5)


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        score_hours([as_hour(np.ones((3, 3)))], ["nope"])
