{#- The residual method of one hour end to end in numpy (docs/scoring.md, steps 1-8), for the
    plpython backend: the hour's cells come in once, their day_id and flow count each as one
    bytea of big-endian integers (int4send, int8send: read without parsing text) and each cell's
    user name, all in the same order. The users' columns are int_pca_input's name_id, numbered
    here: Python orders str by code point, which is the bytewise order of collate "C" in UTF-8.
    Every step runs on the dense days x users matrix, the same arithmetic as the set-based models
    int_residual_pca_input, int_residual_pca_components (pca_fit_numpy's rules),
    int_residual_pca_column_means and int_residual_scores' SQL. Returns, per user (name_id, and the
    name, so that the scores need no join back through the cells), their score (their best run's,
    docs/scoring.md), the day of the run's largest evidence with its count and expected count, the
    run's first and last day, and the size of the hour's normal subspace. -#}
{% macro residual_scores_numpy_source() %}
returns table (name_id integer, user_name text, day_id integer, score double precision, flow_count bigint,
    expected_flow_count double precision, first_day_id integer, last_day_id integer, normal_components integer)
language plpython3u immutable parallel safe
as $pca$
{%- set rules = netflow_pca.pca_numerical_rules() %}
NO_VARIANCE, ZERO_SHARE = {{ rules.no_variance }}, {{ rules.zero_share }}
{% raw -%}
import numpy as np

SHIFT, MAD_TO_SIGMA = 0.375, 1.4826
cell_names = list(cell_users or ())
rows = np.frombuffer(cell_day_ids or b'', dtype='>i4').astype(np.int64) - 1
counts = np.frombuffer(cell_counts or b'', dtype='>i8').astype(np.float64)
if not rows.size == counts.size == len(cell_names):
    plpy.error('pca_residual_scores_numpy: cell_day_ids, cell_counts and cell_users differ in length')
if None in cell_names:
    plpy.error('pca_residual_scores_numpy: a cell has no user')
ranked = sorted(set(cell_names))
column_of = {name: column for column, name in enumerate(ranked)}
n, p = row_dim, len(ranked)
columns = np.fromiter((column_of[name] for name in cell_names), dtype=np.int64, count=len(cell_names))
if rows.size and (rows.min() < 0 or rows.max() >= n):
    plpy.error('pca_residual_scores_numpy: a cell lies outside row_dim')
days = np.bincount(columns, minlength=p)
x = np.zeros((n, p))
x[rows, columns] = counts
active = np.zeros((n, p), dtype=bool)
active[rows, columns] = True
if int(active.sum()) != rows.size:
    plpy.error('pca_residual_scores_numpy: a (day, user) cell comes more than once')
users = np.arange(p)
names = np.array(ranked, dtype=object)

def run_ids(above):
    """Each cell of above numbered by its run of consecutive days (from 1, user by user), 0
    outside runs; the runs' lengths (0 for the outside); the cells that start a run."""
    starts = above.copy()
    starts[1:] &= ~above[:-1]
    # numbered user after user: each user's count of starts so far plus the starts of the users
    # before (a cumulative sum down the days, not over a transposed copy), 0 outside runs
    ids = np.cumsum(starts, axis=0)
    if n:
        ids += np.cumsum(ids[-1]) - ids[-1]
    ids *= above
    length = np.bincount(ids.ravel(), minlength=int(starts.sum()) + 1)
    length[0] = 0
    return ids, length, starts

# step 1: Anscombe
stabilised = 2 * (np.sqrt(counts + SHIFT) - np.sqrt(SHIFT))
t = np.zeros((n, p))
t[rows, columns] = stabilised

# the baseline: the active days but a user's longest run of 2 to 2 x max_run_days consecutive
# active days (the earliest of equals) when it holds at least half of them and at most half the
# days, and its mean is more than 2 above every other active day
ids, length, _ = run_ids(active)
cell_length = length[ids]
cell_length[cell_length > 2 * max_run_days] = 0
longest = cell_length.argmax(axis=0)
run_length = cell_length[longest, users]
in_run = ids == ids[longest, users]
run_mean = np.where(in_run, t, 0.0).sum(axis=0) / np.maximum(run_length, 1)
outside = np.where(active & ~in_run, t, -np.inf).max(axis=0)
dominant = (run_length >= 2) & (2 * run_length >= days) & (2 * run_length <= n) & (run_mean > outside + 2)
in_baseline = ~(in_run & dominant)[rows, columns]
baseline_days = np.bincount(columns[in_baseline], minlength=p)

def column_medians(values):
    """Each user's median over their baseline days, from the cells sorted by user, then value
    (the sparse cells, not the dense matrix), those outside the baseline after them. The key
    user x 2 top + value (top + value outside the baseline), top = max + 1, orders them so in
    one argsort: values are at least 0, and float64 keeps them to 1e-9 at 1e7 users' worth of key."""
    if not values.size:
        return np.zeros(p)
    top = float(values.max()) + 1
    ordered = values[np.argsort(columns * 2 * top + np.where(in_baseline, values, top + values))]
    first = np.cumsum(days) - days
    low, high = (
        ordered[np.minimum(np.maximum(first + k, 0), ordered.size - 1)]
        for k in ((baseline_days - 1) // 2, baseline_days // 2)
    )
    return np.where(baseline_days > 0, (low + high) / 2, 0.0)

# steps 2-3: each user's level and spread over their baseline days, the deviations
median = column_medians(stabilised)
established = baseline_days >= min_active_days
level = np.where(established, median, 0.0)
scale = np.where(established, np.maximum(MAD_TO_SIGMA * column_medians(np.abs(stabilised - median[columns])), 1.0), 1.0)
deviation = np.zeros((n, p))
deviation[rows, columns] = (stabilised - level[columns]) / scale[columns]

# step 4: individual extremes damped to the level, unless collective or recurring (more extreme
# episodes than max_extreme_days, or one longer than max_run_days)
extreme = active & (deviation > damp_at)
collective = extreme.sum(axis=1) >= max(collective_min_users, collective_share * p)
ids, length, starts = run_ids(extreme)
recurring = (starts.sum(axis=0) > max_extreme_days) | (length[ids] > max_run_days).any(axis=0)
fitted = np.where(extreme & ~collective[:, None] & ~recurring[None, :], 0.0, deviation)

# step 5: the PCA of the damped deviations, as pca_fit_numpy fits it
mean = fitted.mean(axis=0)
centred = fitted - mean
total = float(np.einsum('ij,ij->', centred, centred))
eigenvalues, u = np.zeros(0), np.zeros((n, 0))
if n >= 2 and total > NO_VARIANCE * float(np.einsum('ij,ij->', fitted, fitted)):
    eigenvalues, u = np.linalg.eigh(centred @ centred.T if n <= p else centred.T @ centred)
    eigenvalues, u = eigenvalues[::-1], u[:, ::-1]
    rank = int(np.count_nonzero(eigenvalues > ZERO_SHARE * total))
    kept = min(max(min(max_components, n - 1), 1), rank)
    eigenvalues, u = eigenvalues[:kept], u[:, :kept]

# step 6: the normal subspace, Gavish and Donoho's threshold on the variances
variance = eigenvalues / max(n - 1, 1)
proportion = np.minimum(1.0, eigenvalues / total) if eigenvalues.size else eigenvalues
spectrum_rank = min(n - 1, p)
beta = spectrum_rank / max(n - 1, p, 1)
omega_squared = (0.56 * beta ** 3 - 0.95 * beta ** 2 + 1.82 * beta + 1.43) ** 2
normal = eigenvalues.size
if normal:
    remaining = variance[0] / proportion[0]
    for k in range(eigenvalues.size):
        if not (k < spectrum_rank and variance[k] > omega_squared * remaining / (spectrum_rank - k)):
            normal = k
            break
        remaining -= variance[k]
if n <= p:
    basis = centred.T @ (u[:, :normal] / np.sqrt(eigenvalues[:normal]))
else:
    basis = u[:, :normal]

# step 7: each active cell's evidence. The hour's over-dispersion phi (a count of mean mu has a
# stabilised variance of about 1 + phi mu): the median of (scale^2 - 1) / mu over the users whose
# level is at least 2 flows. The user's residual spread (per active day) is at least the pooled
# sqrt(1 + phi mu); above the normal subspace's prediction, the evidence is the count's upper tail
# z (negative binomial of the predicted mean, at least 0.5, and shape 1 / phi; Paulson's
# approximation of F; at least 0, continuous where the residual changes sign) times pooled / spread;
# at or below it, residual / spread
def inverse_anscombe(value):
    return np.maximum(value / 2 + np.sqrt(SHIFT), 0) ** 2 - SHIFT

level_flows = inverse_anscombe(level)
dispersed = level_flows >= 2
phi = float(np.median((scale[dispersed] ** 2 - 1) / level_flows[dispersed])) if dispersed.any() else 0.0
pooled = np.sqrt(1 + phi * level_flows) / scale
day_scores = (deviation - mean) @ basis
projection = day_scores @ basis.T
captured = (basis ** 2 * variance[:normal]).sum(axis=1)
column_variance = ((fitted ** 2).sum(axis=0) - n * mean ** 2) / max(n - 1, 1)
spread = np.maximum(np.sqrt(np.maximum(column_variance - captured, 0) * n / np.maximum(days, 1)), pooled)
# on the active cells only (the inactive have no evidence), then in place in the days x users
cell_mean, cell_projection, cell_spread = mean[columns], projection[rows, columns], spread[columns]
residual = deviation[rows, columns] - cell_mean - cell_projection
cell_expected = inverse_anscombe(level[columns] + scale[columns] * (cell_mean + cell_projection))
flows = np.maximum(counts, 1.0)
tail_a, tail_b = 1 / (9 * flows), phi / 9
ratio = np.cbrt(np.maximum(cell_expected, 0.5) / flows)
tail = ((1 - tail_a) - (1 - tail_b) * ratio) / np.sqrt(tail_a + tail_b * ratio ** 2)
evidence = np.full((n, p), -np.inf)
evidence[rows, columns] = np.where(residual > 0, np.maximum(tail, 0) * pooled[columns] / cell_spread, residual / cell_spread)
expected_all = np.zeros((n, p))
expected_all[rows, columns] = cell_expected

# each user's best run of consecutive days above run_at, scored max(best day, sum / sqrt(days))
# up to max_run_days long (by its best day beyond); a day alone when the user has no run
above = evidence > run_at
ids, length, _ = run_ids(above)
total = np.bincount(ids[above], evidence[above], length.size)
peak = np.full(length.size, -np.inf)
np.maximum.at(peak, ids[above], evidence[above])
run_score = np.maximum(peak, np.where(length <= max_run_days, total / np.sqrt(np.maximum(length, 1)), -np.inf))
cell_score = np.where(above, run_score[ids], evidence)
start = cell_score.argmax(axis=0)
chosen = ids[start, users]
day_rows = np.broadcast_to(np.arange(n)[:, None], (n, p))
last_row = np.where(chosen > 0, np.where(ids == chosen, day_rows, -1).max(axis=0), start)
best = np.where((day_rows >= start) & (day_rows <= last_row), evidence, -np.inf).argmax(axis=0)
expected = expected_all[best, users]
keep = days > 0
return zip(
    (users[keep] + 1).tolist(), names[keep].tolist(), (best[keep] + 1).tolist(), cell_score[start, users][keep].tolist(),
    x[best, users][keep].astype(np.int64).tolist(), expected[keep].tolist(), (start[keep] + 1).tolist(),
    (last_row[keep] + 1).tolist(), [normal] * int(keep.sum()),
)
{%- endraw %}
$pca$
{% endmacro %}
