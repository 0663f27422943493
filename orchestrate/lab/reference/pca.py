"""The numpy reference of the project's PCA: MADlib's `pca_sparse_train` of a dense matrix with
the project's numerical rules (`pca_numerical_rules()` in the macros, which a test holds these
constants to), the one definition that the tests, the scoring reference and `bench pca` use.

MADlib's semantics: columns centred by their mean over all rows, the components the right
singular vectors by decreasing singular value, std_dev = singular value / sqrt(rows - 1),
proportion = the component's share of the variance; an integer components_param keeps that many
components, a fraction in (0, 1] the fewest whose cumulative proportion reaches it. The rules on
top: a matrix whose centred sum of squares is at most NO_VARIANCE of its raw one has no
components; a component with at most ZERO_SHARE of the variance is never kept; each component's
sign makes its largest-magnitude entry (the first within SIGN_TOLERANCE of the largest) positive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

NO_VARIANCE, ZERO_SHARE, SIGN_TOLERANCE = 1e-12, 1e-10, 1e-9


@dataclass(frozen=True)
class Pca:
    """One fit in MADlib's output layout: the kept components as rows, signs fixed."""

    components: np.ndarray  # (kept, p)
    std_dev: np.ndarray  # (kept,)
    proportion: np.ndarray  # (kept,)
    column_mean: np.ndarray  # (p,)

    @property
    def eigenvalues(self) -> np.ndarray:
        return self.std_dev**2


def dense(cells: Iterable[tuple[int, int, float]], n: int, p: int) -> np.ndarray:
    """The n x p matrix of 1-based (row, column, value) cells; absent cells are zeros."""
    x = np.zeros((n, p))
    for row, column, value in cells:
        x[row - 1, column - 1] = value
    return x


def is_count(components_param: float) -> bool:
    """MADlib reads an integer components_param as a number of components (so 1 keeps one) and
    a fraction as a share of the variance (so 1.0 keeps them all)."""
    return isinstance(components_param, (int, np.integer)) and not isinstance(components_param, bool)


def kept_components(eigenvalues: np.ndarray, total: float, components_param: float) -> int:
    """How many of the decreasing eigenvalues (of the centred matrix's Gram matrix; `total` is
    their sum) a fit keeps: never one with at most ZERO_SHARE of the total."""
    rank = int(np.count_nonzero(eigenvalues > ZERO_SHARE * total))
    if is_count(components_param):
        return min(int(components_param), rank)
    return min(rank, 1 + int(np.count_nonzero(np.cumsum(eigenvalues) < components_param * total)))


def largest_entries(components: np.ndarray) -> np.ndarray:
    """Per row, the index of its largest-magnitude entry: the first within SIGN_TOLERANCE of the
    largest, so that near-ties pick the same entry whatever the rounding."""
    magnitude = np.abs(components)
    return np.argmax(magnitude >= (1 - SIGN_TOLERANCE) * magnitude.max(axis=1, keepdims=True), axis=1)


def signed(components: np.ndarray) -> np.ndarray:
    """The components with each one's largest entry positive."""
    if not components.shape[0]:
        return components
    largest = components[np.arange(components.shape[0]), largest_entries(components)]
    return components * np.where(largest < 0, -1.0, 1.0)[:, None]


def _spectrum(centred: np.ndarray, route: Literal["svd", "gram"]) -> tuple[np.ndarray, np.ndarray]:
    """The decreasing eigenvalues of the centred matrix's Gram matrix (its squared singular
    values) and the corresponding right singular vectors as rows, unsigned. `svd` is the exact
    route; `gram` decomposes the smaller Gram matrix as the PL/Python fit does (faster, and less
    accurate for components far smaller than the largest)."""
    n, p = centred.shape
    if route == "svd":
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        return singular**2, vt
    if n <= p:
        eigenvalues, u = np.linalg.eigh(centred @ centred.T)
        eigenvalues, u = eigenvalues[::-1], u[:, ::-1]
        positive = eigenvalues > 0
        vectors = (centred.T @ u[:, positive]) / np.sqrt(eigenvalues[positive])
        return eigenvalues[positive], vectors.T
    eigenvalues, v = np.linalg.eigh(centred.T @ centred)
    return eigenvalues[::-1], v[:, ::-1].T


def fit_pca(x: np.ndarray, components_param: float, route: Literal["svd", "gram"] = "svd") -> Pca:
    """The PCA of the dense matrix x with MADlib's semantics and the project's rules."""
    n, p = x.shape
    mean = x.mean(axis=0)
    centred = x - mean
    total = float(np.einsum("ij,ij->", centred, centred))
    if n < 2 or total <= NO_VARIANCE * float(np.einsum("ij,ij->", x, x)):
        return Pca(np.zeros((0, p)), np.zeros(0), np.zeros(0), mean)
    eigenvalues, vectors = _spectrum(centred, route)
    kept = kept_components(eigenvalues, total, components_param)
    return Pca(signed(vectors[:kept]), np.sqrt(eigenvalues[:kept] / (n - 1)), eigenvalues[:kept] / total, mean)
