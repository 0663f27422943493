{#- The residual method of every hour end to end in numpy (docs/scoring.md, steps 1-8 and "The
    whole day"), for the plpython backend, in one call: each hour's evidence needs the other hours'
    expected counts. Its input, every user's cells of every hour, one bytea per user (user_cells,
    in the order of user_names): each cell one big-endian 64-bit integer (count << 32) | (hour <<
    16) | day offset, the day offset counted from first_day (days since 1970-01-01), so that SQL
    aggregates the cells by user alone (one hash on the name, no join to number the users) and
    numpy reads them without parsing text. names_in_order holds the same names in int_pca_input's
    name_id order (collate "C"): a user's number is their place in it. Per hour of row_hours, its
    rows (hour_days: the window's days as day numbers, int4send, in day_id order); a cell whose
    day is not one of its hour's rows is left out, as int_pca_input's join leaves it out. Each hour
    is fitted alone (steps 1-7, the same arithmetic as the set-based models int_residual_pca_input,
    int_residual_pca_components by pca_fit_numpy's rules, int_residual_pca_column_means and
    int_residual_user_components), one hour at a time, keeping per cell what the second pass
    needs; then each hour of scored_hours gets its evidence against the day-corrected counts and
    step 8. Every step but the PCA's own arithmetic works on the hour's active cells in user, day
    order (runs of consecutive days, per-user maxima and sums over segments), not on dense days x
    users matrices: an hour has 11-20% of its 90 x 20,000 cells at the bench's size, where the
    function took 6.7 s of CPU on the dense matrices against 3.8 s now, the same rows.
    Returns one row per hour of scored_hours with cells: the size of its normal subspace and, per
    user with flows in it (in name order), as the text of arrays (one formatted string per
    column: converting each value to a datum cost 2.4 s at 400,000 rows, six times as much): the
    user's number (1-based place in names_in_order), their score (their best run's), the day
    offsets of the run's first day, of its day of largest evidence and of its last day (with the
    runs joined to it through days above LINK_AT and the days beside them that carry its excess),
    packed as (first << 42) | (best << 21) | last, that best day's count and the day-corrected
    count expected. -#}
{% macro residual_scores_numpy_source() %}
returns table (hour_of_day integer, normal_components integer, user_ids text, day_offsets text, flow_counts text,
    scores text, expected_flow_counts text)
language plpython3u immutable parallel safe
as $pca$
{%- set rules = netflow_pca.pca_numerical_rules() %}
NO_VARIANCE, ZERO_SHARE = {{ rules.no_variance }}, {{ rules.zero_share }}
{{ netflow_pca.plpython_numpy_import() }}
{% raw -%}

SHIFT, MAD_TO_SIGMA = 0.375, 1.4826
DAY_PRIOR_FLOWS, SPREAD_PRIOR_DAYS = 10.0, 5.0
AT_PREDICTION = 1e-9  # a residual this small is rounding noise (a user whose counts are all alike): at the prediction
LINK_AT = 2.0  # days above this evidence join the best run to the runs beside it in what is reported
CARRY_FROM, CARRY_SHARE = 1.0, 0.5  # a day beside the reported run above this evidence, with this share of its median excess, is reported with it
row_hour_list = list(row_hours or ())
if len(row_hour_list) != len(hour_days or ()):
    plpy.error('pca_residual_scores_numpy: row_hours and hour_days differ in length')
if None in row_hour_list or len(set(row_hour_list)) != len(row_hour_list):
    plpy.error('pca_residual_scores_numpy: an hour is missing or given twice')
if first_day is None:
    plpy.error('pca_residual_scores_numpy: first_day is missing')
days_of_hour = {
    hour: np.frombuffer(days or b'', dtype='>i4').astype(np.int64) - first_day for hour, days in zip(row_hour_list, hour_days)
}
for hour, offsets in days_of_hour.items():
    if (np.diff(offsets) <= 0).any():
        plpy.error('pca_residual_scores_numpy: the days of hour %s are not in increasing order' % hour)
    if offsets.size and (offsets[0] < 0 or offsets[-1] >= 1 << 16):
        plpy.error('pca_residual_scores_numpy: a day of hour %s lies outside the 65,536 days from first_day' % hour)
names = list(names_in_order or ())
everyone = len(names)
place = {name: number for number, name in enumerate(names)}
if None in place or len(place) != everyone:
    plpy.error('pca_residual_scores_numpy: a user has no name, or a name comes twice in names_in_order')
given_names, given_cells = list(user_names or ()), list(user_cells or ())
if len(given_names) != len(given_cells):
    plpy.error('pca_residual_scores_numpy: user_names and user_cells differ in length')
if len(set(given_names)) != len(given_names):
    plpy.error('pca_residual_scores_numpy: a user is given twice in user_names')
numbers = np.array([place.get(name, -1) for name in given_names], dtype=np.int64)
if (numbers < 0).any():
    plpy.error('pca_residual_scores_numpy: a user of user_names is not in names_in_order')
sizes = np.array([len(cells or b'') for cells in given_cells], dtype=np.int64)
if (sizes % 8).any():
    plpy.error('pca_residual_scores_numpy: a user\'s cells are not whole 8-byte integers')
scored = set(scored_hours or ())

def split_cells():
    """Every user's cells (each (count << 32) | (hour << 16) | day offset, big-endian) cut into
    each hour's: its rows (the cells whose day is one of the hour's, as int_pca_input windows
    them), user numbers (0-based places in names_in_order) and counts, in small types. Within an
    hour, in user, day order (each user's days of the hour in a row: runs of consecutive days are
    neighbouring cells), by a mark per (user, day) of the hour, not an argsort of the cells. A pass
    over the hours' 16-bit numbers per hour, not a sort of them: the sort's 64-bit permutation of
    every cell, with a native copy of the cells, held 90 MB more at 5.8 million cells."""
    packed = np.frombuffer(b''.join(cells or b'' for cells in given_cells), dtype='>i8')
    people = np.repeat(numbers.astype(np.int32), sizes // 8)
    hour_of_cell = (packed >> 16).astype(np.int16)  # the low 16 bits above the day offset
    if packed.size and (hour_of_cell.min() < 0 or hour_of_cell.max() > 23):
        plpy.error('pca_residual_scores_numpy: a cell has an hour outside 0 to 23')
    hours = {}
    for hour in range(24):
        offsets = days_of_hour.get(hour)
        if offsets is None:
            continue
        taken = np.flatnonzero(hour_of_cell == hour)
        if not taken.size:
            continue
        cells = packed[taken]
        # each day offset's row in the hour (-1: not a day of the hour's matrix)
        row_of_offset = np.full(1 << 16, -1, dtype=np.int32)
        row_of_offset[offsets] = np.arange(offsets.size, dtype=np.int32)
        rows = row_of_offset[cells & 0xFFFF]
        kept = rows >= 0
        if not kept.all():
            rows, taken, cells = rows[kept], taken[kept], cells[kept]
        if not rows.size:
            continue
        key = people[taken].astype(np.int64) * offsets.size + rows
        marked = np.zeros(everyone * offsets.size, dtype=bool)
        marked[key] = True
        place_of_key = np.empty(marked.size, dtype=np.int32)
        place_of_key[key] = np.arange(key.size, dtype=np.int32)
        order = place_of_key[np.flatnonzero(marked)]
        if order.size != key.size:
            plpy.error('pca_residual_scores_numpy: a (day, user) cell comes more than once')
        hours[hour] = (rows[order], people[taken[order]], (cells[order] >> 32).astype(np.int32))
    return hours

cells_of_hour = split_cells()
hour_list = sorted(cells_of_hour)

def ints(values):
    return '{' + ','.join(map(str, values.tolist())) + '}'

def floats(values):
    return '{' + ','.join(map(repr, values.tolist())) + '}'

def inverse_anscombe(value):
    return np.maximum(value / 2 + np.sqrt(SHIFT), 0) ** 2 - SHIFT

def anscombe(value):
    return 2 * (np.sqrt(value + SHIFT) - np.sqrt(SHIFT))

def run_ids(within, follows):
    """Each cell of within (cells in user, day order; follows: the cell is its user's day after
    the cell before) numbered by its run of consecutive days (from 1, user by user), 0 outside
    runs; the runs' lengths (0 for the outside); the cells that start a run."""
    starts = within.copy()
    starts[1:] &= ~(follows[1:] & within[:-1])
    ids = np.cumsum(starts) * within
    length = np.bincount(ids, minlength=int(starts.sum()) + 1)
    length[0] = 0
    return ids, length, starts

def first_max(values, firsts, columns):
    """Per user (cells in user, day order, firsts: each user's first cell), the cell of their
    largest value, the earliest of equals."""
    at = np.flatnonzero(values == np.maximum.reduceat(values, firsts)[columns])
    return at[np.flatnonzero(np.diff(columns[at], prepend=-1))]

def read_hour(k):
    """Hour k's days (offsets from first_day), and its cells' rows, user numbers (0-based) and counts."""
    rows, people, counts = cells_of_hour[hour_list[k]]
    return days_of_hour[hour_list[k]], rows.astype(np.int64), people.astype(np.int64), counts.astype(np.float64)

def fit_hour(n, rows, people, counts):
    """Steps 1-7 of one hour from its cells in user, day order (its users: the distinct people, in
    order), the dense days x users matrices for the PCA alone; what the second pass needs, per
    cell and per user."""
    firsts = np.flatnonzero(np.diff(people, prepend=-1))
    users_of_hour = people[firsts]
    p = users_of_hour.size
    users = np.arange(p)
    days = np.diff(firsts, append=rows.size)
    columns = np.repeat(users, days)
    follows = np.zeros(rows.size, dtype=bool)
    follows[1:] = (columns[1:] == columns[:-1]) & (rows[1:] == rows[:-1] + 1)

    # step 1: Anscombe
    stabilised = anscombe(counts)

    # the baseline: the active days but a user's longest run of 2 to 2 x max_run_days consecutive
    # active days (the earliest of equals) when it holds at least half of them and at most half the
    # days, and its mean is more than 2 above every other active day
    ids, length, _ = run_ids(np.ones(rows.size, dtype=bool), follows)
    cell_length = length[ids]
    cell_length[cell_length > 2 * max_run_days] = 0
    longest = first_max(cell_length, firsts, columns)
    run_length = cell_length[longest]
    in_run = ids == ids[longest][columns]
    run_mean = np.bincount(columns, np.where(in_run, stabilised, 0.0), p) / np.maximum(run_length, 1)
    outside = np.maximum.reduceat(np.where(in_run, -np.inf, stabilised), firsts)
    dominant = (run_length >= 2) & (2 * run_length >= days) & (2 * run_length <= n) & (run_mean > outside + 2)
    in_baseline = ~(in_run & dominant[columns])
    baseline_days = np.bincount(columns[in_baseline], minlength=p)

    # each user's median over their baseline days (0 without them): the users grouped by their
    # number of baseline days, up to 8, 16, 32 or more, and per group a users x days matrix of the
    # values, as wide as the group's most, +inf beyond a user's, each user's row sorted. One matrix
    # as wide as the hour took 3 times as long to sort, half the users having 4 to 12 of its 90 days
    baseline = np.flatnonzero(in_baseline)
    owner = columns[baseline]
    place = np.arange(baseline.size) - (np.cumsum(baseline_days) - baseline_days)[owner]
    groups = []
    narrower = 0
    for width in (8, 16, 32, max(n, 32)):
        group = (baseline_days > narrower) & (baseline_days <= width)
        narrower = width
        members = np.flatnonzero(group)
        if members.size:
            slot = np.cumsum(group) - 1
            taken = np.flatnonzero(group[owner])
            middle = slot[members] * width + (baseline_days[members] - 1) // 2
            groups.append((members, width, baseline[taken], slot[owner[taken]] * width + place[taken], middle, middle + (baseline_days[members] + 1) % 2))

    def column_medians(values):
        median = np.zeros(p)
        for members, width, cells, at, low, high in groups:
            ordered = np.full((members.size, width), np.inf)
            ordered.ravel()[at] = values[cells]
            ordered.sort(axis=1)
            ordered = ordered.ravel()
            median[members] = (ordered[low] + ordered[high]) / 2
        return median

    # steps 2-3: each user's level and spread over their baseline days, the deviations
    median = column_medians(stabilised)
    established = baseline_days >= min_active_days
    level = np.where(established, median, 0.0)
    scale = np.where(established, np.maximum(MAD_TO_SIGMA * column_medians(np.abs(stabilised - median[columns])), 1.0), 1.0)
    deviation = (stabilised - level[columns]) / scale[columns]

    # step 4: individual extremes damped to the level, unless collective or recurring (more extreme
    # episodes than max_extreme_days, or one longer than max_run_days)
    extreme = deviation > damp_at
    collective = np.bincount(rows[extreme], minlength=n) >= max(collective_min_users, collective_share * p)
    ids, length, starts = run_ids(extreme, follows)
    recurring = (np.bincount(columns, starts, p) > max_extreme_days) | (np.bincount(columns, length[ids] > max_run_days, p) > 0)
    damped = extreme & ~collective[rows] & ~recurring[columns]
    fitted_cells = np.where(damped, 0.0, deviation)
    fitted = np.zeros((n, p))
    fitted[rows, columns] = fitted_cells

    # step 5: the PCA of the damped deviations, as pca_fit_numpy fits it
    mean = fitted.mean(axis=0)
    centred = fitted - mean
    total = float(np.einsum('ij,ij->', centred, centred))
    eigenvalues, u = np.zeros(0), np.zeros((min(n, p), 0))  # the Gram matrix's side: days, or users when fewer
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

    # step 7's parts: the hour's over-dispersion phi (a count of mean mu has a stabilised variance
    # of about 1 + phi mu), the median of (scale^2 - 1) / mu over the users whose level is at least
    # 2 flows; the user's residual spread (per active day), at least the pooled sqrt(1 + phi mu);
    # the days' scores on the normal subspace. Kept per hour, not per cell: the second pass
    # computes each cell's prediction again from them (cell_predictions), so that every hour's
    # cells need not stay in memory as floats
    level_flows = inverse_anscombe(level)
    dispersed = level_flows >= 2
    phi = float(np.median((scale[dispersed] ** 2 - 1) / level_flows[dispersed])) if dispersed.any() else 0.0
    pooled = np.sqrt(1 + phi * level_flows) / scale
    captured = (basis ** 2 * variance[:normal]).sum(axis=1)
    column_variance = (np.bincount(columns, fitted_cells ** 2, p) - n * mean ** 2) / max(n - 1, 1)
    spread = np.maximum(np.sqrt(np.maximum(column_variance - captured, 0) * n / np.maximum(days, 1)), pooled)
    # the days' scores on the undamped deviations
    centred[rows[damped], columns[damped]] = deviation[damped] - mean[columns[damped]]
    fit = dict(
        users=users_of_hour, columns=columns.astype(np.int32), firsts=firsts, follows=follows, kept=~damped, level=level, scale=scale,
        mean=mean, basis=basis, day_scores=centred @ basis, spread=spread, level_flows=level_flows, phi=phi,
        normal=normal,
    )
    # what each user adds to their expected flows of a day in this hour: an active cell its e (at
    # least 0), an empty one their level as a count times their share of active days (0 without an
    # established level)
    at_level = np.where(established, np.maximum(level_flows, 0) * (days / max(n, 1)), 0.0)
    # users x days, as expected_of_day lies
    own = np.empty((p, n))
    own[...] = at_level[:, None]
    own[columns, rows] = np.maximum(cell_predictions(fit, rows, counts)[0], 0)
    return fit, own

def cell_predictions(fit, rows, counts):
    """Per active cell of an hour: the count the normal subspace expects (e, the inverse Anscombe
    of level + scale (m + projection)) and the residual, deviation - m - projection."""
    columns = fit['columns']
    level, scale = fit['level'][columns], fit['scale'][columns]
    fitted_part = fit['mean'][columns] + (fit['day_scores'][rows] * fit['basis'][columns]).sum(axis=1)
    residual = (anscombe(counts) - level) / scale - fitted_part
    return inverse_anscombe(level + scale * fitted_part), residual

def moment_dispersion(counts, expected, columns, level_flows):
    """phi by the method of moments: per user, the sum over their cells of (x - e)^2 - e over that
    of e^2; the median over the users at 2 flows or more (0 without them)."""
    excess = np.bincount(columns, (counts - expected) ** 2 - expected, level_flows.size)
    squares = np.bincount(columns, expected ** 2, level_flows.size)
    users = (level_flows >= 2) & (squares > 0)
    return float(np.median(excess[users] / squares[users])) if users.any() else 0.0

# first pass: every hour's fit, and each user's flows and expected flows of each day across hours
all_days = np.unique(np.concatenate([*days_of_hour.values(), np.zeros(0, dtype=np.int64)]))
# users x days (a user's days side by side), addressed by one flat index per cell
flows_of_day = np.zeros(everyone * all_days.size)
expected_of_day = np.zeros((everyone, all_days.size))
fits = []
for k in range(len(hour_list)):
    day_offsets, rows, people, counts = read_hour(k)
    fit, own = fit_hour(day_offsets.size, rows, people, counts)
    day_index = np.searchsorted(all_days, day_offsets)
    flows_of_day[people * all_days.size + day_index[rows]] += counts
    if day_index.size and day_index[-1] - day_index[0] == day_index.size - 1:
        expected_of_day[fit['users'], day_index[0]:day_index[-1] + 1] += own
    else:
        expected_of_day[np.ix_(fit['users'], day_index)] += own
    fits.append(fit)
expected_of_day = expected_of_day.ravel()

# second pass, the hours scored: each active cell's evidence against its expected count times its
# user's day factor from the other hours, (flows + 10) / (expected + 10); the hour's phi shrunk by
# the share of the cells' excess variance the factor explains; above the prediction, the count's
# upper tail z (negative binomial of the corrected mean, at least 0.5, and shape 1 / phi; Paulson's
# approximation of F; at least 0) times pooled / spread (at most 1), the user's spread taken
# around the corrected counts over their other undamped cells with 5 more days at the pooled one.
# The rows are yielded hour by hour (a generator: not every hour's rows in memory at once).
for k, hour in enumerate(hour_list):
    if hour not in scored:
        continue
    fit = fits[k]
    day_offsets, rows, people, counts = read_hour(k)
    columns, level_flows = fit['columns'], fit['level_flows']
    n, p = day_offsets.size, fit['users'].size
    user_day = people * all_days.size + np.searchsorted(all_days, day_offsets)[rows]
    expected, residual = cell_predictions(fit, rows, counts)
    factor = (flows_of_day[user_day] - counts + DAY_PRIOR_FLOWS) / (expected_of_day[user_day] - np.maximum(expected, 0) + DAY_PRIOR_FLOWS)
    corrected = expected * factor
    explained = moment_dispersion(counts, corrected, columns, level_flows) / max(moment_dispersion(counts, expected, columns, level_flows), 1e-6)
    phi = max(fit['phi'] * explained, 0.0)
    pooled = np.sqrt(1 + phi * level_flows)[columns]
    kept = fit['kept']
    squares = np.where(kept, (anscombe(counts) - anscombe(np.maximum(corrected, 0))) ** 2, 0.0)
    others = np.bincount(columns, squares, p)[columns] - squares + SPREAD_PRIOR_DAYS * pooled ** 2
    spread = np.sqrt(others / (np.bincount(columns, kept, p)[columns] - kept + SPREAD_PRIOR_DAYS))
    flows = np.maximum(counts, 1.0)
    tail_a, tail_b = 1 / (9 * flows), phi / 9
    ratio = np.cbrt(np.maximum(corrected, 0.5) / flows)
    tail = ((1 - tail_a) - (1 - tail_b) * ratio) / np.sqrt(tail_a + tail_b * ratio ** 2)
    evidence = np.where(
        residual > AT_PREDICTION, np.maximum(tail, 0) * np.minimum(pooled / spread, 1.0), residual / fit['spread'][columns],
    )

    # step 8: each user's best run of consecutive days above run_at, scored max(best day,
    # sum / sqrt(days)) up to max_run_days long (by its best day beyond); a day alone when the user
    # has no run. Reported with the runs joined to it through consecutive days above LINK_AT (from
    # the first day above run_at to the last) and the days beside them that carry its excess; the
    # best day the largest evidence within. On the active cells alone, in user, day order (an
    # empty day breaks every run): a user's cells from one to another are the days between
    firsts, follows = fit['firsts'], fit['follows']
    cell = np.arange(rows.size)
    above = evidence > run_at
    ids, length, _ = run_ids(above, follows)
    total = np.bincount(ids[above], evidence[above], length.size)
    peak = np.full(length.size, -np.inf)
    np.maximum.at(peak, ids[above], evidence[above])
    run_score = np.maximum(peak, np.where(length <= max_run_days, total / np.sqrt(np.maximum(length, 1)), -np.inf))
    cell_score = np.where(above, run_score[ids], evidence)
    start = first_max(cell_score, firsts, columns)
    chosen = ids[start]
    in_run = chosen > 0
    stretch, _, _ = run_ids(evidence > min(LINK_AT, run_at), follows)
    chosen_stretch = np.where(in_run, stretch[start], 0)[columns]
    joined = above & (stretch == chosen_stretch) & (chosen_stretch > 0)
    first_cell = np.minimum(start, np.minimum.reduceat(np.where(joined, cell, rows.size), firsts))
    last_cell = np.where(in_run, np.maximum.reduceat(np.where(joined, cell, -1), firsts), start)
    # grown by the consecutive days beside it that carry the run's excess: above CARRY_FROM, with at
    # least CARRY_SHARE of the median excess (flows above the corrected count) of its days above run_at
    within = (cell >= first_cell[columns]) & (cell <= last_cell[columns])
    excess = counts - corrected
    typical = np.full(p, np.inf)
    taken = np.flatnonzero(within & above & in_run[columns])
    taken = taken[np.lexsort((excess[taken], columns[taken]))]
    some = np.flatnonzero(np.diff(columns[taken], prepend=-1))
    many = np.diff(some, append=taken.size)
    typical[columns[taken[some]]] = (excess[taken[some + (many - 1) // 2]] + excess[taken[some + many // 2]]) / 2
    grown, _, _ = run_ids(within | ((evidence > CARRY_FROM) & (excess >= CARRY_SHARE * typical[columns])), follows)
    reported = (grown == grown[first_cell][columns]) & in_run[columns]
    first_cell = np.where(in_run, np.minimum.reduceat(np.where(reported, cell, rows.size), firsts), first_cell)
    last_cell = np.where(in_run, np.maximum.reduceat(np.where(reported, cell, -1), firsts), last_cell)
    best = first_max(np.where((cell >= first_cell[columns]) & (cell <= last_cell[columns]), evidence, -np.inf), firsts, columns)
    # as the text of arrays: converting each value to a datum costs more than formatting them all
    yield (
        hour, fit['normal'], ints(fit['users'] + 1),
        ints((day_offsets[rows[first_cell]] << 42) | (day_offsets[rows[best]] << 21) | day_offsets[rows[last_cell]]),
        ints(counts[best].astype(np.int64)), floats(cell_score[start]), floats(corrected[best]),
    )
{%- endraw %}
$pca$
{% endmacro %}
