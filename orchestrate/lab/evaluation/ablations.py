"""Why each step of the residual method is there: the method with one remedy taken out at a time,
measured on generated data sets (docs/scoring.md). Research, not part of the pipeline:

    python -m orchestrate.lab.evaluation.ablations              # all variants, the default data sets
    python -m orchestrate.lab.evaluation.ablations --variants residual,no-damping --thresholds 6,7,8
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from orchestrate.lab.evaluation.evaluate import Flag, Metrics, cells_from_plan, metrics, truth_from_plan
from orchestrate.lab.generators import flowgen
from orchestrate.lab.reference.pca import Pca, fit_pca
from orchestrate.lab.reference.scoring import (
    HourMatrix,
    ResidualParams,
    anscombe,
    damped,
    deviations,
    hour_matrices,
    normal_components,
    residual_fit,
    residual_spread,
    subspace_residual,
    user_levels,
)

PARAMS = ResidualParams()


def _lakhina(fitted: np.ndarray, pca: Pca) -> int:
    """Lakhina et al.'s rule: the normal subspace ends at the first component whose projection
    has a day more than 3 standard deviations from its mean."""
    projections = (fitted - pca.column_mean) @ pca.components.T
    for k in range(projections.shape[1]):
        column = projections[:, k]
        if (np.abs(column - column.mean()) > 3 * column.std()).any():
            return k
    return projections.shape[1]


def _by_variance(target: float) -> Callable[[np.ndarray, Pca], int]:
    return lambda _, pca: int(np.searchsorted(np.cumsum(pca.proportion), target - 1e-12) + 1)


def _variant(
    hour: HourMatrix,
    transform: Callable[[np.ndarray], np.ndarray] = anscombe,
    absent_at_level: bool = True,
    damp: bool = True,
    rule: Callable[[np.ndarray, Pca], int] | None = None,
    spread: bool = True,
) -> np.ndarray:
    """The residual method's evidence with the given steps swapped out."""
    active = hour.nonzero
    stabilised = transform(hour.counts)
    levels = user_levels(stabilised, active, PARAMS.min_active_days)
    level = levels.level if absent_at_level else 0.0
    deviation = np.where(active, (stabilised - level) / levels.scale, 0.0)
    fitted = damped(deviation, PARAMS) if damp else deviation
    n, p = deviation.shape
    components = min(n - 1, p) if rule else min(PARAMS.max_components, max(n - 1, 1), p)
    pca = fit_pca(fitted, components)
    normal = rule(fitted, pca) if rule else normal_components(pca, n, p)
    residual = np.where(active, subspace_residual(deviation, pca, normal), 0.0)
    return residual / residual_spread(fitted, pca, normal, levels) if spread else residual


VARIANTS: dict[str, Callable[[HourMatrix], np.ndarray]] = {
    "residual": lambda hour: residual_fit(hour, PARAMS).evidence,
    "raw-counts": lambda hour: _variant(hour, transform=lambda counts: counts),
    "absent-as-0": lambda hour: _variant(hour, absent_at_level=False),
    "no-damping": lambda hour: _variant(hour, damp=False),
    "lakhina-3sd": lambda hour: _variant(hour, rule=_lakhina),
    "variance-0.9": lambda hour: _variant(hour, rule=_by_variance(0.9)),
    "variance-0.99": lambda hour: _variant(hour, rule=_by_variance(0.99)),
    "no-spread": lambda hour: _variant(hour, spread=False),
    "zscore": lambda hour: deviations(hour, PARAMS.min_active_days)[0],
}

EVALUATION = flowgen.PRESETS[flowgen.EVALUATION_PRESET]
DATA_SETS: dict[str, flowgen.FlowSpec] = {
    **{f"evaluation seed {seed}": replace(EVALUATION, seed=seed) for seed in (EVALUATION.seed, 1, 2, 3, 4)},
    "100 users x 21 days": flowgen.FlowSpec(users=100, days=21, events=200_000, seed=13, bursts=6),
    "500 users x 28 days": flowgen.FlowSpec(users=500, days=28, events=1_000_000, seed=201, bursts=12),
    "1000 users x 42 days": flowgen.FlowSpec(users=1000, days=42, events=3_000_000, seed=11, bursts=20),
    "2000 users x 90 days": flowgen.FlowSpec(users=2000, days=90, events=10_000_000, seed=202, bursts=30),
}


def evaluate_variant(variant: str, flow_plan: flowgen.FlowPlan, thresholds: Sequence[float]) -> list[Metrics]:
    truth = truth_from_plan(flow_plan)
    cells: list[tuple[float, Flag]] = []
    for hour in hour_matrices(cells_from_plan(flow_plan)):
        evidence = VARIANTS[variant](hour)
        for i, j in zip(*np.nonzero(hour.nonzero & (evidence > min(thresholds)))):
            cells.append((float(evidence[i, j]), Flag(variant, hour.hour, hour.users[j], hour.days[i])))
    return [metrics(variant, [flag for value, flag in cells if value > threshold], truth) for threshold in thresholds]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrate.lab.evaluation.ablations", description="The residual method with one step swapped out at a time.")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--thresholds", default="5,7,9", help="evidence thresholds (default 5,7,9)")
    parser.add_argument("--data-sets", default=",".join(DATA_SETS), help="comma-separated names (default all)")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    names = [n for n in args.data_sets.split(",") if n]
    if unknown := [v for v in variants if v not in VARIANTS] + [n for n in names if n not in DATA_SETS]:
        print(f"scoring_ablations: unknown {', '.join(unknown)}", file=sys.stderr)
        return 2
    thresholds = [float(t) for t in args.thresholds.split(",")]
    totals = {(v, t): [0, 0, 0, 0] for v in variants for t in thresholds}
    print(f"{'data set':<22} {'variant':<14} " + " ".join(f"{'t=' + format(t, 'g'):>28}" for t in thresholds))
    for name in names:
        flow_plan = flowgen.plan(DATA_SETS[name])
        for variant in variants:
            cells = []
            for threshold, m in zip(thresholds, evaluate_variant(variant, flow_plan, thresholds)):
                total = totals[(variant, threshold)]
                total[0] += m.found
                total[1] += m.flagged
                total[2] += m.injected
                total[3] += m.collective_flags or 0
                cells.append(f"{m.found:>3}/{m.injected:<3} of {m.flagged:>5} flagged, {m.collective_flags:>4} coll.")
            print(f"{name:<22} {variant:<14} " + " ".join(f"{c:>28}" for c in cells), flush=True)
    print()
    print(f"{'all data sets':<22} {'variant':<14} " + " ".join(f"{'t=' + format(t, 'g') + ': recall precision coll.':>34}" for t in thresholds))
    for variant in variants:
        cells = []
        for threshold in thresholds:
            found, flagged, injected, collective = totals[(variant, threshold)]
            cells.append(f"{found / injected:.3f} {found / flagged if flagged else float('nan'):9.3f} {collective:>6}")
        print(f"{'':<22} {variant:<14} " + " ".join(f"{c:>34}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
