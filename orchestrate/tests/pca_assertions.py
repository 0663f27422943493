"""The comparison of a fit read back from the database with the numpy reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from orchestrate.lab.reference.pca import Pca, largest_entries


def largest_entry_is_positive(vector: np.ndarray) -> bool:
    return bool(vector[largest_entries(vector[None, :])[0]] > 0)


def assert_fit_matches(
    rows: Sequence[tuple[int, Sequence[float], float, float]], column_mean: Sequence[float], expected: Pca
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
