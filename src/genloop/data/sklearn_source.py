"""Real data bundled with scikit-learn: digits, wine, iris, breast cancer, diabetes.

These datasets ship inside the scikit-learn wheel, so they exist on every machine and
nothing is downloaded. The ``fetch_*`` datasets (California housing, Olivetti faces,
OpenML...) need the network and are refused by name.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError
from genloop.data.files import FiniteSource, select_columns

#: recipe name → scikit-learn loader; all read files inside the installed package
BUNDLED_DATASETS = {
    "breast_cancer": "load_breast_cancer",
    "diabetes": "load_diabetes",
    "digits": "load_digits",
    "iris": "load_iris",
    "wine": "load_wine",
}


def _loader(dataset: str):
    """The ``sklearn.datasets`` loader for a bundled dataset name, or a ConfigError."""
    import sklearn.datasets

    if not isinstance(dataset, str):
        raise ConfigError(f"source.dataset must be a dataset name, got {dataset!r}")
    name = dataset.removeprefix("load_")
    allowed = ", ".join(sorted(BUNDLED_DATASETS))
    if name in BUNDLED_DATASETS:
        return getattr(sklearn.datasets, BUNDLED_DATASETS[name])
    fetcher = name if name.startswith("fetch_") else f"fetch_{name}"
    if hasattr(sklearn.datasets, fetcher):
        raise ConfigError(
            f"source.dataset={dataset!r} needs a download (sklearn.datasets.{fetcher}) and "
            f"genloop never downloads at run time; bundled datasets: {allowed}"
        )
    raise ConfigError(f"source.dataset={dataset!r} is unknown; bundled datasets: {allowed}")


class SklearnSource(FiniteSource):
    """Rows of one of scikit-learn's bundled datasets, drawn without replacement.

    Parameters
    ----------
    dataset : {"digits", "wine", "iris", "breast_cancer", "diabetes"}, default "digits"
        The dataset (``digits``: 1,797 real 8x8 handwritten digits, 64 pixel features).
    columns : list of str or int, optional
        Features to keep, by name (``sklearn``'s ``feature_names``, e.g. ``"pixel_3_4"``,
        ``"petal length (cm)"``) or 0-based index; default all.
    standardize : bool, default False
        Z-score each kept feature with the full dataset's mean and standard deviation
        (constant features, such as digits' always-blank corner pixels, are only
        centred).

    Attributes
    ----------
    rows : ndarray of shape (n_rows, d)
        The (selected, possibly standardized) features, float64.
    feature_names : list of str
        Names of the kept features, shape ``(d,)``.
    target : ndarray of shape (n_rows,)
        The dataset's labels (class or regression target), aligned with ``rows``; see
        :meth:`draw_with_labels`.
    """

    kind = "vectors"

    def __init__(
        self,
        dataset: str = "digits",
        columns: list[str | int] | None = None,
        standardize: bool = False,
    ):
        if not isinstance(standardize, (bool, np.bool_)):
            raise ConfigError(f"source.standardize must be true or false, got {standardize!r}")
        bunch = _loader(dataset)()
        self.dataset = dataset.removeprefix("load_")
        self.name = f"sklearn dataset {self.dataset!r}"
        all_names = [str(name) for name in bunch.feature_names]
        # A column that does not exist is a recipe mistake here (the data is fixed).
        positions = select_columns(columns, all_names, self.name, error=ConfigError)
        self.feature_names = [all_names[i] for i in positions]
        rows = np.asarray(bunch.data, dtype=float)[:, positions]
        self.standardize = bool(standardize)
        if self.standardize:
            scale = rows.std(axis=0)
            scale[scale == 0] = 1.0  # constant feature: centring leaves it at 0, no NaN
            rows = (rows - rows.mean(axis=0)) / scale
        self.rows = rows
        self.target = np.asarray(bunch.target)

    def draw_with_labels(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` distinct rows ``(n, d)`` and their labels ``(n,)``.

        The rows equal :meth:`draw`'s for the same generator state.
        """
        indices = self.sample_indices(n, rng)
        return self.rows[indices], self.target[indices]

    def describe(self) -> str:
        scaled = ", standardized" if self.standardize else ""
        return (
            f"sklearn {self.dataset} (real, {self.n_rows} rows x "
            f"{len(self.feature_names)} features{scaled})"
        )
