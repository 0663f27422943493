"""Reference implementation, in numpy, of the anomaly scoring that the dbt marts implement in SQL.

The input is what `int_pca_input` holds: for each hour of the day a days x users matrix of flow
counts (absent = 0). Every step below is written as the SQL will do it: per-cell expressions,
per-(hour, user) and per-(hour, day) aggregates over the non-zero cells, one PCA fit per hour with
MADlib's `pca_sparse_train` semantics (`orchestrate.lab.reference.pca`), and sums of products of
cells with component entries.

Methods
- `loading` (the original): a user's score is the largest |entry| of their column across the
  components kept by `variance_target`; flagged above `loading_threshold`. Sign-independent.
- `zscore` (a baseline, not a pipeline method): each non-zero cell's robust z-score against the
  user's own median and MAD in that hour, on the variance-stabilised scale.
- `residual` (Lakhina, Crovella and Diot, SIGCOMM 2004, adapted): see `residual_scores`. Each
  hour is fitted alone (steps 1-7, `residual_fit`), then every hour's evidence is taken against
  counts corrected by the user's day across all hours (`whole_day_evidence`), so the hours are
  scored together.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from orchestrate.lab.reference.pca import Pca, fit_pca

ANSCOMBE_SHIFT = 0.375
MAD_TO_SIGMA = 1.4826
RUN_AT = 3.0
MAX_RUN_DAYS = 5
LINK_AT = 2.0  # days above this evidence join a flagged run to the runs beside it in what is reported (its first and last day)
CARRY_FROM = 1.0  # a day beside the reported run, above this evidence, is reported with it when it carries the run's excess
CARRY_SHARE = 0.5  # ...at least this share of the run's median excess (flows above the expected): nearer the run's level than the usual
RUN_ABOVE = 2.0  # a run left out of the level is above every other active day by this much (stabilised)
DISPERSION_FROM = 2.0  # the hour's over-dispersion is estimated on the users whose level is at least this many flows
LEAST_EXPECTED = 0.5  # the tail probability of a count is taken at no fewer expected flows than this
DAY_PRIOR_FLOWS = 10.0  # a user's day factor counts this many flows, expected and seen, besides theirs
SPREAD_PRIOR_DAYS = 5.0  # a user's spread around the day-corrected counts counts this many days at the pooled spread
AT_PREDICTION = 1e-9  # a residual (deviation units) no larger than this is rounding noise: the cell is at the prediction


@dataclass(frozen=True)
class HourMatrix:
    """One hour's days x users counts, rows and columns in the order of day_id and name_id."""

    hour: int
    days: tuple[date, ...]
    users: tuple[str, ...]
    counts: np.ndarray  # (len(days), len(users)) float

    @property
    def nonzero(self) -> np.ndarray:
        return self.counts > 0


@dataclass(frozen=True)
class Score:
    """A row of `user_outlier_scores`: a user's score in one hour with its evidence."""

    hour_of_day: int
    user_name: str
    method: str
    score: float
    flagged: bool
    component: int | None  # 1-based component that gave the score (loading)
    day: date | None  # day of the strongest evidence (residual, zscore)
    flow_count: int | None  # that day's count
    expected_count: float | None  # what the normal subspace predicted for it
    first_day: date | None = None  # residual: the first and last day of the run the score is of
    last_day: date | None = None


@dataclass(frozen=True)
class ResidualParams:
    """The residual method's settings (defaults argued in docs/scoring.md)."""

    min_active_days: int = 3  # fewer active days in the hour: no established level, compare with 0
    damp_at: float = 4.0  # damp cells more than this many robust SDs above the user's level
    collective_share: float = 0.05  # ...unless at least this share of the hour's users is, that day,
    collective_min_users: int = 3  # and at least this many
    max_extreme_days: int = 2  # ...and unless the user has more extreme episodes than this (a pattern)
    max_components: int = 20  # components requested from pca_sparse_train for the fit
    threshold: float = 5.25  # flag evidence above this (residual method: a standard normal z; zscore: robust SDs)
    run_at: float = RUN_AT  # consecutive days each above this evidence form a run, scored together
    max_run_days: int = MAX_RUN_DAYS  # a longer run is a change of level: scored by its best day alone


def hour_matrices(cells: Iterable[tuple[int, date, str, int]]) -> list[HourMatrix]:
    """Build the 24 matrices from (hour_of_day, day, user_name, flow_count) rows, as
    `int_pca_input` does: days and users ranked within each hour (users in byte order)."""
    by_hour: dict[int, list[tuple[date, str, int]]] = {}
    for hour, day, user, count in cells:
        if count:
            by_hour.setdefault(hour, []).append((day, user, count))
    matrices = []
    for hour in sorted(by_hour):
        rows = by_hour[hour]
        days = tuple(sorted({day for day, _, _ in rows}))
        users = tuple(sorted({user for _, user, _ in rows}, key=lambda name: name.encode()))
        day_index = {day: i for i, day in enumerate(days)}
        user_index = {user: j for j, user in enumerate(users)}
        counts = np.zeros((len(days), len(users)))
        for day, user, count in rows:
            counts[day_index[day], user_index[user]] += count
        matrices.append(HourMatrix(hour, days, users, counts))
    return matrices


def anscombe(counts: np.ndarray) -> np.ndarray:
    """Variance-stabilised counts, shifted so that 0 stays 0 (and the matrix stays sparse):
    2 (sqrt(x + 3/8) - sqrt(3/8)). The shift is a per-column constant, which centring removes."""
    return 2.0 * (np.sqrt(counts + ANSCOMBE_SHIFT) - np.sqrt(ANSCOMBE_SHIFT))


def inverse_anscombe(values: np.ndarray) -> np.ndarray:
    return np.maximum(values / 2.0 + np.sqrt(ANSCOMBE_SHIFT), 0.0) ** 2 - ANSCOMBE_SHIFT


# ---- loading -------------------------------------------------------------------------------


def loadings(components: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the largest |entry| across the components, and which component (0-based).
    Absolute values, so a component's arbitrary sign never changes a score."""
    magnitude = np.abs(components)
    return magnitude.max(axis=0), magnitude.argmax(axis=0)


def loading_scores(hour: HourMatrix, variance_target: float = 0.99, threshold: float = 0.1) -> list[Score]:
    """The original method on the raw-count PCA of the hour."""
    pca = fit_pca(hour.counts, variance_target)
    if pca.components.shape[0] == 0:
        return []
    score, best = loadings(pca.components)
    return [
        Score(hour.hour, user, "loading", float(score[j]), bool(score[j] > threshold), int(best[j]) + 1, None, None, None)
        for j, user in enumerate(hour.users)
    ]


# ---- per-user levels: the variance-stabilised deviations both residual and zscore start from --


@dataclass(frozen=True)
class UserLevels:
    """Per user of one hour: the active days (the days with flows), and the median and robust
    spread of the variance-stabilised counts over the baseline days: the active days but, when
    it holds at least half of them (and no more than half of the hour's days), the user's
    longest run of 2 to 2 x max_run_days consecutive active days (the earliest of equals) if its
    mean is more than RUN_ABOVE above every other active day (a burst lasting several days on a
    rarely active user, with a usual day or two beside it, must not become their level; an
    intermittent user's few days of usual activity stay in it); (0, 1) with fewer baseline days than min_active_days (no
    established level: activity is compared with none)."""

    active_days: np.ndarray
    baseline_days: np.ndarray
    level: np.ndarray
    scale: np.ndarray


def _column_medians(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Median of each column over the cells in mask (0 for an empty column)."""
    counts = mask.sum(axis=0)
    ordered = np.sort(np.where(mask, values, np.inf), axis=0)
    columns = np.arange(values.shape[1])
    low = ordered[np.maximum((counts - 1) // 2, 0), columns]
    high = ordered[np.maximum(counts // 2, 0), columns]
    return np.where(counts > 0, (low + high) / 2.0, 0.0)


def run_starts(above: np.ndarray, consecutive: np.ndarray) -> np.ndarray:
    """Cells of `above` (days x users) that begin a run: the day before (consecutive[i]: row i
    is the day after row i - 1) is not above, or is not the previous day."""
    before = np.zeros_like(above)
    before[1:] = above[:-1] & consecutive[1:, None]
    return above & ~before


def run_ids(above: np.ndarray, consecutive: np.ndarray) -> tuple[np.ndarray, int]:
    """Each cell of `above` numbered by its run (from 1, user by user, days in order), 0 outside
    runs; and how many runs."""
    n, p = above.shape
    starts = run_starts(above, consecutive)
    return np.where(above, np.cumsum(starts.T.ravel()).reshape(p, n).T, 0), int(starts.sum())


def baseline_days(active: np.ndarray, consecutive: np.ndarray, max_run_days: int, stabilised: np.ndarray) -> np.ndarray:
    """The cells a user's level is taken from (see UserLevels)."""
    ids, runs = run_ids(active, consecutive)
    length = np.bincount(ids.ravel(), minlength=runs + 1)
    length[0] = 0
    cell_length = np.where(length[ids] <= 2 * max_run_days, length[ids], 0)
    longest = cell_length.argmax(axis=0)  # the first day of the earliest longest run
    users = np.arange(active.shape[1])
    run_length = cell_length[longest, users]
    candidate = ids[longest, users]
    in_run = ids == candidate[None, :]
    run_mean = np.where(in_run, stabilised, 0.0).sum(axis=0) / np.maximum(run_length, 1)
    outside = np.where(active & ~in_run, stabilised, -np.inf).max(axis=0)
    dominant = (
        (run_length >= 2) & (2 * run_length >= active.sum(axis=0)) & (2 * run_length <= active.shape[0])
        & (run_mean > outside + RUN_ABOVE)
    )
    return active & ~(in_run & dominant[None, :])


def user_levels(stabilised: np.ndarray, active: np.ndarray, min_active_days: int, baseline: np.ndarray | None = None) -> UserLevels:
    """`baseline` (default: the active cells) is where the level and spread come from."""
    baseline = active if baseline is None else baseline
    days = baseline.sum(axis=0)
    established = days >= min_active_days
    median = _column_medians(stabilised, baseline)
    mad = _column_medians(np.abs(stabilised - median), baseline)
    level = np.where(established, median, 0.0)
    scale = np.where(established, np.maximum(MAD_TO_SIGMA * mad, 1.0), 1.0)
    return UserLevels(active.sum(axis=0), days, level, scale)


def deviations(hour: HourMatrix, min_active_days: int, max_run_days: int | None = None) -> tuple[np.ndarray, UserLevels]:
    """Each active cell's deviation from its user's level in units of the user's spread,
    (t - level) / scale; inactive cells stay 0, i.e. "at the user's level": an absence is no
    evidence, and the matrix stays as sparse as the counts. With max_run_days, the level
    leaves out a dominant short run (UserLevels)."""
    active = hour.nonzero
    stabilised = anscombe(hour.counts)
    baseline = None if max_run_days is None else baseline_days(active, consecutive_days(hour.days), max_run_days, stabilised)
    levels = user_levels(stabilised, active, min_active_days, baseline)
    return np.where(active, (stabilised - levels.level) / levels.scale, 0.0), levels


def expected_counts(deviation: np.ndarray, levels: UserLevels) -> np.ndarray:
    """Counts that correspond to a deviation: inverse Anscombe of level + scale * deviation."""
    return inverse_anscombe(levels.level + levels.scale * deviation)


# ---- zscore baseline -----------------------------------------------------------------------


def _best_cells(hour: HourMatrix, evidence: np.ndarray, method: str, threshold: float, expected: np.ndarray) -> list[Score]:
    """One Score per user: the day of their largest evidence among their active days."""
    masked = np.where(hour.nonzero, evidence, -np.inf)
    best = masked.argmax(axis=0)
    scores = []
    for j, user in enumerate(hour.users):
        i = int(best[j])
        value = float(masked[i, j])
        scores.append(
            Score(hour.hour, user, method, value, value > threshold, None, hour.days[i], int(hour.counts[i, j]), float(expected[i, j]))
        )
    return scores


def zscore_scores(hour: HourMatrix, params: ResidualParams = ResidualParams()) -> list[Score]:
    """Per-user robust z-score of each active cell, (t - median) / (1.4826 MAD): no PCA."""
    deviation, levels = deviations(hour, params.min_active_days)
    expected = np.broadcast_to(expected_counts(np.zeros(1), levels), deviation.shape)
    return _best_cells(hour, deviation, "zscore", params.threshold, expected)


# ---- residual --------------------------------------------------------------------------------


def damped(deviation: np.ndarray, params: ResidualParams, consecutive: np.ndarray | None = None) -> np.ndarray:
    """The matrix fed to the PCA: the deviations, with each individual extreme (a cell above
    damp_at) set to 0, the user's level, so that it cannot shape the normal subspace. A cell is
    not individual, and stays, when its day is collective (at least collective_share of the
    hour's users, and at least collective_min_users, are extreme that day) or when its user has
    more than max_extreme_days extreme episodes (runs of consecutive extreme days: a recurring
    pattern, such as busy weekends, and not one burst lasting several days) or one longer than
    max_run_days (a change of level). `consecutive` (per row: the day after the previous row)
    defaults to every row."""
    extreme = deviation > params.damp_at
    needed = max(params.collective_min_users, params.collective_share * deviation.shape[1])
    collective_day = extreme.sum(axis=1) >= needed
    if consecutive is None:
        consecutive = np.ones(deviation.shape[0], dtype=bool)
    ids, runs = run_ids(extreme, consecutive)
    length = np.bincount(ids.ravel(), minlength=runs + 1)
    length[0] = 0
    episodes = run_starts(extreme, consecutive).sum(axis=0)
    recurring_user = (episodes > params.max_extreme_days) | (length[ids] > params.max_run_days).any(axis=0)
    return np.where(extreme & ~collective_day[:, None] & ~recurring_user[None, :], 0.0, deviation)


def normal_components(pca: Pca, rows: int, columns: int) -> int:
    """How many leading components form the normal subspace: each in turn while its variance
    exceeds omega(beta)^2 times the mean variance of the components from it on, where omega is
    Gavish and Donoho's (2014) hard threshold for singular values in noise of unknown level and
    beta the matrix's aspect ratio. The mean of the remaining variance comes from std_dev and
    proportion (total = std_dev^2 / proportion), so only the leading components are needed."""
    rank = min(rows - 1, columns)
    if pca.std_dev.size == 0 or rank < 1 or pca.proportion[0] <= 0:
        return 0
    beta = rank / max(rows - 1, columns)
    omega = 0.56 * beta**3 - 0.95 * beta**2 + 1.82 * beta + 1.43
    remaining = pca.eigenvalues[0] / pca.proportion[0]
    for k in range(min(pca.std_dev.size, rank)):
        if pca.eigenvalues[k] <= omega**2 * remaining / (rank - k):
            return k
        remaining -= pca.eigenvalues[k]
    return min(pca.std_dev.size, rank)


@dataclass(frozen=True)
class ResidualFit:
    """Everything the residual method computes for one hour, for the report and the tests."""

    pca: Pca  # of the damped deviations
    normal: int  # components in the normal subspace
    levels: UserLevels
    deviation: np.ndarray  # (n, p) step 3's deviations, 0 on inactive cells
    fitted: np.ndarray  # (n, p) the deviations with individual extremes damped: what the PCA was fitted on
    phi: float  # the hour's over-dispersion
    residual: np.ndarray  # (n, p) active cells' deviation minus the normal subspace's prediction
    spread: np.ndarray  # (p,) per-user residual SD per active day (Q-statistic of one variable)
    evidence: np.ndarray  # per active cell, 0 elsewhere: a count's tail z (above the prediction), or residual / spread
    expected: np.ndarray  # counts the normal subspace predicted for each cell


def subspace_residual(values: np.ndarray, pca: Pca, normal: int) -> np.ndarray:
    """Each row (day) centred by the fit's column means, minus its projection on the first
    `normal` components: x - m - sum_k ((x - m) . v_k) v_k. The day's score on component k is a
    sum over the day's non-zero cells minus the constant m . v_k. Independent of the signs."""
    basis = pca.components[:normal]
    centred = values - pca.column_mean
    return centred - (centred @ basis.T) @ basis


def dispersion(levels: UserLevels) -> float:
    """The hour's over-dispersion phi, pooled over its users: a count of mean mu has a variance
    of about mu + phi mu^2 (negative binomial, shape 1 / phi), so its stabilised value one of
    about 1 + phi mu. The median, over the users whose level is at least DISPERSION_FROM
    flows, of (scale^2 - 1) / mu (0 when there is none): robust to the users whose own MAD
    is off by chance, and to the few with bursts or a rhythm of their own."""
    mu = inverse_anscombe(levels.level)
    users = mu >= DISPERSION_FROM
    return float(np.median((levels.scale[users] ** 2 - 1) / mu[users])) if users.any() else 0.0


def pooled_spread(levels: UserLevels, phi: float) -> np.ndarray:
    """Per user, the stabilised spread the hour's count model gives at their level:
    sqrt(1 + phi mu), in deviation units (over the user's scale)."""
    return np.sqrt(1 + phi * inverse_anscombe(levels.level)) / levels.scale


def residual_spread(fitted: np.ndarray, pca: Pca, normal: int, levels: UserLevels, floor: np.ndarray | None = None) -> np.ndarray:
    """Per user, the standard deviation of an active cell's residual: the Q-statistic's
    variance of one variable, sum over the components outside the normal subspace of
    lambda_k v_k[u]^2 = var(column u of the fitted matrix) - sum over the normal ones, taken
    per active day (the inactive days sit at the level and add nothing), and never below
    `floor` (default one unit of Poisson noise, 1 / scale): a user's own spread, from 20 to 60
    days, is sometimes much too small by chance."""
    n = fitted.shape[0]
    basis = pca.components[:normal]
    column_variance = ((fitted - pca.column_mean) ** 2).sum(axis=0) / max(n - 1, 1)
    variance = np.maximum(column_variance - (pca.eigenvalues[:normal, None] * basis**2).sum(axis=0), 0.0)
    return np.maximum(np.sqrt(variance * n / np.maximum(levels.active_days, 1)), 1.0 / levels.scale if floor is None else floor)


def tail_z(counts: np.ndarray, expected: np.ndarray, phi: float) -> np.ndarray:
    """How far in the upper tail a count lies, as a standard normal z: P(X >= x) for X negative
    binomial of mean mu (the expected count, at least LEAST_EXPECTED) and shape 1 / phi
    (Poisson at phi 0), which is P(F(2x, 2 / phi) <= mu / x), by Paulson's normal approximation
    of F in closed form. The Anscombe scale understates how unlikely a large count is on a
    light user (+20 on 3 usual flows: 5.8 where the Poisson tail says 7.0)."""
    x = np.maximum(counts, 1.0)
    a, b = 1.0 / (9.0 * x), phi / 9.0
    f = np.cbrt(np.maximum(expected, LEAST_EXPECTED) / x)
    return ((1 - a) - (1 - b) * f) / np.sqrt(a + b * f**2)


def consecutive_days(days: Sequence[date]) -> np.ndarray:
    """Per row, whether its day follows the previous row's day."""
    ordinals = np.array([day.toordinal() for day in days], dtype=np.int64)
    return np.concatenate([[False], np.diff(ordinals) == 1]) if ordinals.size else np.zeros(0, dtype=bool)


def count_evidence(hour: HourMatrix, residual: np.ndarray, spread: np.ndarray, pooled: np.ndarray, expected: np.ndarray, phi: float) -> np.ndarray:
    """Step 7's evidence on each active cell: above the normal subspace's prediction, the
    count's tail z under the hour's count model (at least 0, so that the evidence is
    continuous where the residual changes sign), times pooled / spread (at most 1: a user more
    variable than the model has less evidence); at or below it, residual / spread."""
    above = np.maximum(tail_z(hour.counts, expected, phi), 0.0) * pooled / spread
    return np.where(hour.nonzero, np.where(residual > 0, above, residual / spread), 0.0)


def residual_fit(hour: HourMatrix, params: ResidualParams = ResidualParams()) -> ResidualFit:
    active = hour.nonzero
    deviation, levels = deviations(hour, params.min_active_days, params.max_run_days)
    fitted = damped(deviation, params, consecutive_days(hour.days))
    n, p = deviation.shape
    pca = fit_pca(fitted, min(params.max_components, max(n - 1, 1), p))
    normal = normal_components(pca, n, p)
    residual = np.where(active, subspace_residual(deviation, pca, normal), 0.0)
    phi = dispersion(levels)
    pooled = pooled_spread(levels, phi)
    spread = residual_spread(fitted, pca, normal, levels, pooled)
    expected = expected_counts(deviation - residual, levels)
    evidence = count_evidence(hour, residual, spread, pooled, expected, phi)
    return ResidualFit(pca, normal, levels, deviation, fitted, phi, residual, spread, evidence, expected)


# ---- the whole day: each hour's evidence against counts corrected by the user's day ---------


def moment_dispersion(counts: np.ndarray, expected: np.ndarray, active: np.ndarray, mu: np.ndarray) -> float:
    """phi by the method of moments: per user, the sum over active cells of (x - e)^2 - e over
    that of e^2; the median over the users at DISPERSION_FROM flows or more (0 without them)."""
    excess = np.where(active, (counts - expected) ** 2 - expected, 0.0).sum(axis=0)
    scale = np.where(active, expected**2, 0.0).sum(axis=0)
    users = (mu >= DISPERSION_FROM) & (scale > 0)
    return float(np.median(excess[users] / scale[users])) if users.any() else 0.0


def day_expected(hour: HourMatrix, fit: ResidualFit, params: ResidualParams, whole_day: bool = True, empty_at_level: bool = True) -> np.ndarray:
    """What each cell adds to its user's expected flows of the day: an active cell its expected
    count (at least 0); with whole_day also an empty one, the user's level as a count (with
    empty_at_level: no day term, so a port sums it per user and stays sparse; without it, the
    normal subspace's prediction there) times the share of the hour's days the user is active in
    it (0 without an established level), so that a day whose usual hours stayed empty has a low
    factor. Without whole_day (variant busy-day) an empty cell adds nothing."""
    if not whole_day:
        return np.where(hour.nonzero, fit.expected, 0.0)
    predicted = np.maximum(expected_counts(fit.deviation - subspace_residual(fit.deviation, fit.pca, fit.normal), fit.levels), 0.0)
    empty = np.maximum(inverse_anscombe(fit.levels.level), 0.0)[None, :] if empty_at_level else predicted
    established = fit.levels.baseline_days >= params.min_active_days
    share = np.where(established, fit.levels.active_days / len(hour.days), 0.0)
    return np.where(hour.nonzero, predicted, empty * share)


def whole_day_ratio(hour: HourMatrix, fit: ResidualFit, corrected: np.ndarray, phi: float) -> np.ndarray:
    """Per cell, pooled / spread (at most 1) with the user's spread taken around the
    day-corrected expected counts, from their other days: the root mean square of
    t(x) - t(corrected) (Anscombe) over the user's active cells the fit did not damp but this
    one, with SPREAD_PRIOR_DAYS more days at the pooled spread sqrt(1 + phi mu). A weekly
    rhythm of the user's own moves all their hours of a day, so the factor takes it out; what
    is left is the variability of this hour alone. Leaving the cell out keeps a burst on a user
    the fit does not damp (a recurring pattern) from widening its own spread."""
    kept = hour.nonzero & (fit.fitted == fit.deviation)
    pooled = np.sqrt(1 + phi * inverse_anscombe(fit.levels.level))
    squares = np.where(kept, (anscombe(hour.counts) - anscombe(np.maximum(corrected, 0.0))) ** 2, 0.0)
    others = squares.sum(axis=0) - squares + SPREAD_PRIOR_DAYS * pooled**2
    spread = np.sqrt(others / (kept.sum(axis=0) - kept + SPREAD_PRIOR_DAYS))
    return np.minimum(pooled / spread, 1.0)


@dataclass(frozen=True)
class DayCorrected:
    """One hour's evidence against the day-corrected counts (`whole_day_evidence`)."""

    evidence: np.ndarray  # (n, p) per active cell, 0 elsewhere
    expected: np.ndarray  # (n, p) the counts the evidence is taken against: the fit's times the day factor
    phi: float  # the hour's over-dispersion once the day factor is taken out


def whole_day_evidence(
    hours: Sequence[HourMatrix], fits: Sequence[ResidualFit], params: ResidualParams = ResidualParams(),
    whole_day: bool = True, empty_at_level: bool = True,
) -> Iterator[DayCorrected]:
    """Each hour's evidence, hour by hour, with each cell's expected count times its user's day factor from the
    other hours of that day, (flows + a) / (expected + a) with a = DAY_PRIOR_FLOWS (busy and
    quiet days move all of a user's hours; a burst is in one, which its own factor leaves out),
    the expected flows of a day counting the user's empty cells too (`day_expected`), and the
    hour's phi shrunk by the share of the cells' excess variance the factor explains (method of
    moments before and after). Above the normal subspace's prediction (by more than
    AT_PREDICTION: a user whose counts are all alike has residuals of rounding noise, whose sign
    would otherwise choose between a tail z against a corrected count and 0): step 7's tail z at the
    corrected count and phi, times pooled / spread with the spread taken around the corrected
    counts (`whole_day_ratio`); at or below it, step 7's residual / spread. Days and users are
    matched across hours by date and name. `whole_day=False` is the variant busy-day (empty cells
    count nothing, pooled / spread is step 7's at the shrunk phi), `empty_at_level=False` the
    variant whole-day (empty cells at the normal subspace's prediction)."""
    days = sorted({day for hour in hours for day in hour.days})
    users = sorted({user for hour in hours for user in hour.users})
    day_index = {day: i for i, day in enumerate(days)}
    user_index = {user: j for j, user in enumerate(users)}
    flows = np.zeros((len(days), len(users)))
    expected = np.zeros_like(flows)
    owns = []
    for hour, fit in zip(hours, fits):
        cells = np.ix_([day_index[day] for day in hour.days], [user_index[user] for user in hour.users])
        own = day_expected(hour, fit, params, whole_day, empty_at_level)
        flows[cells] += hour.counts
        expected[cells] += own
        owns.append((cells, own))
    for hour, fit, (cells, own) in zip(hours, fits, owns):
        factor = (flows[cells] - hour.counts + DAY_PRIOR_FLOWS) / (expected[cells] - own + DAY_PRIOR_FLOWS)
        corrected = fit.expected * factor
        mu = inverse_anscombe(fit.levels.level)
        explained = moment_dispersion(hour.counts, corrected, hour.nonzero, mu) / max(
            moment_dispersion(hour.counts, fit.expected, hour.nonzero, mu), 1e-6
        )
        phi = max(fit.phi * explained, 0.0)
        ratio = whole_day_ratio(hour, fit, corrected, phi) if whole_day else pooled_spread(fit.levels, phi) / fit.spread
        above = np.maximum(tail_z(hour.counts, corrected, phi), 0.0) * ratio
        evidence = np.where(hour.nonzero, np.where(fit.residual > AT_PREDICTION, above, fit.residual / fit.spread), 0.0)
        yield DayCorrected(evidence, corrected, phi)


@dataclass(frozen=True)
class Runs:
    """Per user of one hour: the best run of consecutive days, each with evidence above run_at
    (a day alone when none is), scored max(best day, sum / sqrt(days)) while it is at most
    max_run_days long and by its best day beyond (a change of level, not a burst). Reported
    (first, last, best): the run with the runs joined to it through consecutive days above
    link_at, from the first day above run_at to the last, and the largest evidence within; with
    the cells' excess (flows above the day-corrected expected count), grown by the consecutive
    days beside it that carry the run's excess (`carried_days`)."""

    score: np.ndarray  # (p,)
    best: np.ndarray  # (p,) row of the run's largest evidence
    first: np.ndarray  # (p,) rows of the run's first and last day
    last: np.ndarray


def best_runs(
    evidence: np.ndarray, active: np.ndarray, consecutive: np.ndarray, params: ResidualParams, link_at: float = LINK_AT,
    excess: np.ndarray | None = None,
) -> Runs:
    n, p = evidence.shape
    masked = np.where(active, evidence, -np.inf)
    above = active & (evidence > params.run_at)
    run_id, runs = run_ids(above, consecutive)
    ids = run_id[above]
    total = np.bincount(ids, evidence[above], runs + 1)
    length = np.bincount(ids, minlength=runs + 1)
    rows = np.broadcast_to(np.arange(n)[:, None], (n, p))
    first = np.full(runs + 1, n)
    np.minimum.at(first, ids, rows[above])
    last = np.zeros(runs + 1, dtype=np.int64)
    np.maximum.at(last, ids, rows[above])
    peak = np.full(runs + 1, -np.inf)
    np.maximum.at(peak, ids, evidence[above])
    joint = np.where(length <= params.max_run_days, total / np.sqrt(np.maximum(length, 1)), -np.inf)
    run_score = np.maximum(peak, joint)
    # each cell's candidate score: its run's, or its own outside runs; the best per user, the
    # earliest of ties
    cell_score = np.where(above, run_score[run_id], masked)
    best_start = cell_score.argmax(axis=0)
    users = np.arange(p)
    chosen = run_id[best_start, users]
    in_run = chosen > 0
    first_row = np.where(in_run, first[chosen], best_start)
    last_row = np.where(in_run, last[chosen], best_start)
    # a burst with a day under run_at within it is one flag from its first day above run_at
    # (not from the later run that scores best): the runs joined to the best one through days above link_at (or run_at when
    # lower: then none) are reported with it, the score unchanged
    linked = active & (evidence > min(link_at, params.run_at))
    stretch, _ = run_ids(linked, consecutive)
    chosen_stretch = np.where(in_run, stretch[first_row, users], 0)
    joined = above & (stretch == chosen_stretch) & (chosen_stretch > 0)
    first_row = np.minimum(first_row, np.where(joined, rows, n).min(axis=0))
    last_row = np.maximum(last_row, np.where(joined, rows, -1).max(axis=0))
    if excess is not None:
        first_row, last_row = carried_days(evidence, active, consecutive, params, excess, in_run, first_row, last_row)
    # the best day reported: the largest evidence from the first day to the last, the earliest of ties
    within = (rows >= first_row) & (rows <= last_row)
    best = np.where(within, masked, -np.inf).argmax(axis=0)
    return Runs(cell_score[best_start, users], best, first_row, last_row)


def carried_days(
    evidence: np.ndarray, active: np.ndarray, consecutive: np.ndarray, params: ResidualParams, excess: np.ndarray,
    in_run: np.ndarray, first_row: np.ndarray, last_row: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The reported run's first and last row, grown by the consecutive days beside it whose
    evidence exceeds CARRY_FROM and whose excess is at least CARRY_SHARE of the median excess of
    the run's days above run_at: a lasting burst adds about the same flows every day, so a day
    whose count is nearer the run's level than the expected is part of it, even when its own
    evidence is low (its expected count high: a busy weekday before a burst's weekend, or a user
    whose spread lowers every day's evidence); a usual noisy day before a one-day burst has a
    small excess beside the burst's. Users without a run (a day alone) keep it."""
    n, p = evidence.shape
    rows = np.broadcast_to(np.arange(n)[:, None], (n, p))
    within = (rows >= first_row) & (rows <= last_row)
    run_days = within & active & (evidence > params.run_at)
    typical = np.full(p, np.inf)
    typical[in_run] = np.nanmedian(np.where(run_days[:, in_run], excess[:, in_run], np.nan), axis=0)
    carries = active & (evidence > CARRY_FROM) & (excess >= CARRY_SHARE * typical)
    grown, _ = run_ids(within | carries, consecutive)
    users = np.arange(p)
    reported = (grown == grown[first_row, users]) & in_run
    return np.where(in_run, np.where(reported, rows, n).min(axis=0), first_row), np.where(
        in_run, np.where(reported, rows, -1).max(axis=0), last_row
    )


def residual_scores(hours: Sequence[HourMatrix], params: ResidualParams = ResidualParams()) -> list[Score]:
    """The subspace method (see docs/scoring.md), every hour together: each hour fitted alone
    (`residual_fit`), its evidence taken against the counts its users' whole days correct
    (`whole_day_evidence`); a user's score in an hour is that of their best run of consecutive
    days with high evidence (a day alone: its evidence); the day is the run's best, with its count
    and the day-corrected count expected, and the run's first and last day."""
    fits = [residual_fit(hour, params) for hour in hours]
    scores = []
    for hour, corrected in zip(hours, whole_day_evidence(hours, fits, params)):
        runs = best_runs(
            corrected.evidence, hour.nonzero, consecutive_days(hour.days), params, excess=hour.counts - corrected.expected
        )
        for j, user in enumerate(hour.users):
            i, value = int(runs.best[j]), float(runs.score[j])
            scores.append(
                Score(
                    hour.hour, user, "residual", value, value > params.threshold, None, hour.days[i], int(hour.counts[i, j]),
                    float(corrected.expected[i, j]), hour.days[int(runs.first[j])], hour.days[int(runs.last[j])],
                )
            )
    return scores


METHODS = ("residual", "loading", "zscore")


def score_hours(
    matrices: Sequence[HourMatrix],
    methods: Sequence[str] = METHODS,
    params: ResidualParams = ResidualParams(),
    variance_target: float = 0.99,
    loading_threshold: float = 0.1,
) -> list[Score]:
    """Every method's scores of every hour; the residual method scores the hours together."""
    if unknown := [method for method in methods if method not in METHODS]:
        raise ValueError(f"unknown method '{unknown[0]}': use one of {', '.join(METHODS)}")
    scores: list[Score] = residual_scores(matrices, params) if "residual" in methods else []
    for hour in matrices:
        if "loading" in methods:
            scores += loading_scores(hour, variance_target, loading_threshold)
        if "zscore" in methods:
            scores += zscore_scores(hour, params)
    return scores


def ranked_flags(scores: Iterable[Score]) -> list[tuple[Score, int]]:
    """The flagged scores with their rank (1 = highest score) within (hour, method): the
    `anomalous_users` mart."""
    flagged = sorted((s for s in scores if s.flagged), key=lambda s: (s.method, s.hour_of_day, -s.score, s.user_name))
    ranked: list[tuple[Score, int]] = []
    for score in flagged:
        previous = ranked[-1][0] if ranked else None
        same_group = previous is not None and (previous.method, previous.hour_of_day) == (score.method, score.hour_of_day)
        ranked.append((score, ranked[-1][1] + 1 if same_group else 1))
    return ranked
