"""What pca_sparse_train must produce, computed with numpy's SVD of the dense centred matrix, and
the comparison of a fit read back from the database with it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# the project's numerical rules (macros/pca/pca_numerical_rules.sql)
NO_VARIANCE, ZERO_SHARE, SIGN_TOLERANCE = 1e-12, 1e-10, 1e-9


@dataclass(frozen=True)
class Fit:
    components: np.ndarray  # kept x p
    std_dev: np.ndarray
    proportion: np.ndarray
    column_mean: np.ndarray


def dense(cells: Iterable[tuple[int, int, float]], n: int, p: int) -> np.ndarray:
    """The n x p matrix of 1-based (row, column, value) cells; absent cells are zeros."""
    x = np.zeros((n, p))
    for row, column, value in cells:
        x[row - 1, column - 1] = value
    return x


def reference_fit(x: np.ndarray, components: int | None = None, variance: float | None = None) -> Fit:
    """MADlib's PCA of x with the project's rules, through numpy's SVD."""
    n = x.shape[0]
    mean = x.mean(axis=0)
    centred = x - mean
    total = float((centred**2).sum())
    if n < 2 or total <= NO_VARIANCE * float((x**2).sum()):
        return Fit(np.zeros((0, x.shape[1])), np.zeros(0), np.zeros(0), mean)
    _, sigma, vt = np.linalg.svd(centred, full_matrices=False)
    eigenvalues = sigma**2
    rank = int(np.count_nonzero(eigenvalues > ZERO_SHARE * total))
    if components is not None:
        kept = min(components, rank)
    else:
        assert variance is not None
        kept = min(rank, 1 + int(np.count_nonzero(np.cumsum(eigenvalues) < variance * total)))
    return Fit(vt[:kept], sigma[:kept] / np.sqrt(n - 1), eigenvalues[:kept] / total, mean)


def largest_entry_is_positive(vector: np.ndarray) -> bool:
    magnitude = np.abs(vector)
    return bool(vector[np.argmax(magnitude >= (1 - SIGN_TOLERANCE) * magnitude.max())] > 0)


def assert_fit_matches(
    rows: Sequence[tuple[int, Sequence[float], float, float]], column_mean: Sequence[float], expected: Fit
) -> None:
    """rows: (row_id, principal_components, std_dev, proportion) of one group, by row_id.
    Components equal up to sign within 1e-8 of their largest entry, std_dev within 1e-10
    relative, proportion within 1e-10; each component's largest entry positive."""
    assert [row[0] for row in rows] == list(range(1, len(expected.std_dev) + 1)), "kept a different number of components"
    for (_, vector, std_dev, proportion), reference, reference_std, reference_proportion in zip(
        rows, expected.components, expected.std_dev, expected.proportion
    ):
        got = np.asarray(vector)
        assert got.shape == reference.shape
        aligned = reference if float(got @ reference) >= 0 else -reference
        assert np.abs(got - aligned).max() <= 1e-8 * np.abs(reference).max()
        assert largest_entry_is_positive(got)
        assert abs(std_dev - reference_std) <= 1e-10 * reference_std
        assert abs(proportion - reference_proportion) <= 1e-10
    assert np.abs(np.asarray(column_mean) - expected.column_mean).max() <= 1e-12 * max(1.0, np.abs(expected.column_mean).max())
