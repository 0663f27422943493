"""The numpy reference of the PCA: MADlib's semantics, the project's rules with the constants the
macros render, and its two routes agreeing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from orchestrate.lab.reference.pca import NO_VARIANCE, SIGN_TOLERANCE, ZERO_SHARE, Pca, fit_pca, kept_components, signed
from orchestrate.tests.conftest import Project

COMPILED = "Compiled inline node is:"


def test_the_rules_are_those_the_macros_render(project: Project) -> None:
    result = project.dbt("compile", "--inline", "{{ tojson(netflow_pca.pca_numerical_rules()) }}")
    assert result.returncode == 0, result.stdout[-3000:]
    rules = json.loads(result.stdout.split(COMPILED, 1)[1].strip().splitlines()[0])
    assert rules == {"no_variance": NO_VARIANCE, "zero_share": ZERO_SHARE, "sign_tolerance": SIGN_TOLERANCE}


# ---- the PCA, as MADlib defines it -------------------------------------------------------------


def test_fit_pca_has_madlib_semantics() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.poisson(3.0, (12, 30)).astype(float)
    pca = fit_pca(matrix, 0.9)
    covariance = np.cov(matrix, rowvar=False)
    eigenvalues = np.sort(np.linalg.eigvalsh(covariance))[::-1]
    k = int(np.searchsorted(np.cumsum(eigenvalues) / eigenvalues.sum(), 0.9) + 1)
    assert pca.std_dev.size == k
    assert np.allclose(pca.std_dev**2, eigenvalues[:k])
    assert np.allclose(pca.proportion, eigenvalues[:k] / eigenvalues.sum())
    assert np.allclose(pca.components @ pca.components.T, np.eye(k))
    assert np.allclose(pca.column_mean, matrix.mean(axis=0))
    largest = pca.components[np.arange(k), np.abs(pca.components).argmax(axis=1)]
    assert (largest > 0).all()
    assert fit_pca(matrix, 3).std_dev.size == 3


def test_fit_pca_of_one_day_has_no_components() -> None:
    assert fit_pca(np.ones((1, 5)), 0.99).std_dev.size == 0


def test_pca_dataclass_eigenvalues() -> None:
    pca = Pca(np.eye(2), np.array([2.0, 1.0]), np.array([0.8, 0.2]), np.zeros(2))
    assert np.allclose(pca.eigenvalues, [4.0, 1.0])


# ---- the project's rules -------------------------------------------------------------------------


def test_an_integer_counts_components_and_a_fraction_shares_variance() -> None:
    eigenvalues = np.array([6.0, 3.0, 1.0])
    assert kept_components(eigenvalues, 10.0, 1) == 1
    assert kept_components(eigenvalues, 10.0, 1.0) == 3
    assert kept_components(eigenvalues, 10.0, 0.9) == 2
    assert kept_components(eigenvalues, 10.0, np.int64(5)) == 3  # never above the rank


def test_components_without_variance_are_never_kept() -> None:
    eigenvalues = np.array([1.0, 1e-11, 0.0])
    assert kept_components(eigenvalues, 1.0, 3) == 1
    assert kept_components(eigenvalues, 1.0, 1.0) == 1


def test_rows_equal_up_to_rounding_have_no_variance() -> None:
    row = np.array([1e6, 2e6, 3e6])  # a raw sum of squares of 4.2e13 over three rows
    assert fit_pca(np.vstack([row, row, row + [0.0, 1.0, 0.0]]), 1.0).std_dev.size == 0
    assert fit_pca(np.vstack([row, row, row + [0.0, 100.0, 0.0]]), 1.0).std_dev.size == 1


def test_the_sign_goes_to_the_first_of_near_equal_largest_entries() -> None:
    near_tie = np.array([[-0.5, 0.5 * (1 + SIGN_TOLERANCE / 2), 0.1]])
    assert signed(near_tie)[0, 0] > 0
    clear = np.array([[-0.5, 0.5 * (1 + 2 * SIGN_TOLERANCE), 0.1]])
    assert signed(clear)[0, 1] > 0


@pytest.mark.parametrize("shape", [(12, 40), (40, 12)])
def test_the_gram_route_equals_the_svd_route(shape: tuple[int, int]) -> None:
    matrix = np.random.default_rng(6).poisson(4.0, shape).astype(float)
    exact, gram = fit_pca(matrix, 0.99), fit_pca(matrix, 0.99, route="gram")
    assert gram.components.shape == exact.components.shape
    assert np.allclose(gram.components, exact.components, atol=1e-8)
    assert np.allclose(gram.std_dev, exact.std_dev, rtol=1e-10)
    assert np.allclose(gram.proportion, exact.proportion, atol=1e-12)
