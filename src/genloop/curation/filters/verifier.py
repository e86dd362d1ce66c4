"""``verifier``: keep the rows a check accepts (arithmetic answers, bounds, non-empty text).

In Python a check is any callable ``check(batch, **check_args)`` returning a bool array
of shape ``(n,)`` (True = accepted) or a pair ``(accepted, reasons)``. Recipes are data
and never name code, so there a check is the NAME of a function registered here with
:func:`register_check`; the built-ins are:

``finite``
    every value of a vector row is finite (no NaN or ±inf).
``in_bounds`` (``lower``, ``upper``)
    every value of a row lies in ``[lower, upper]`` (either bound may be omitted).
``nonempty``
    a text row has a non-blank decoded text (``batch.texts``) or at least one token.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from genloop.core.errors import ConfigError, DataError
from genloop.curation.filters.base import KEPT, Batch, Filter

Check = Callable[..., object]

_CHECKS: dict[str, Check] = {}


def register_check(name: str, check: Check, replace: bool = False) -> None:
    """Make ``check`` available to recipes as ``{name: verifier, check: <name>}``.

    Parameters
    ----------
    name : str
    check : callable
        ``check(batch, **check_args) -> accepted`` or ``(accepted, reasons)``, where
        ``accepted`` is a bool array of shape ``(n,)`` and ``reasons`` a str array of
        shape ``(n,)`` (read only where a row is rejected).
    replace : bool, default False
        Allow replacing a check registered under the same name.
    """
    if not callable(check):
        raise ConfigError(f"register_check({name!r}): the check must be callable")
    if name in _CHECKS and not replace and _CHECKS[name] is not check:
        raise ConfigError(f"verifier check {name!r} is already registered (pass replace=True)")
    _CHECKS[name] = check


def registered_checks() -> list[str]:
    """The names recipes may use as ``check``."""
    return sorted(_CHECKS)


def _flat_rows(batch: Batch, check: str) -> np.ndarray:
    """The batch's values as floats, one row per sample: shape (n, d)."""
    try:
        return np.asarray(batch.X, dtype=float).reshape(len(batch), -1)
    except (TypeError, ValueError):
        raise DataError(f"verifier check {check!r} needs numeric rows of equal length") from None


def finite(batch: Batch):
    """Vector rows whose every value is finite."""
    ok = np.isfinite(_flat_rows(batch, "finite")).all(axis=1)
    return ok, np.where(ok, KEPT, "non-finite value")


def in_bounds(batch: Batch, lower: float | None = None, upper: float | None = None):
    """Rows whose every value lies in ``[lower, upper]`` (NaN is out of bounds)."""
    rows = _flat_rows(batch, "in_bounds")
    low = -np.inf if lower is None else float(lower)
    high = np.inf if upper is None else float(upper)
    # NaN compares false both ways, so it fails the check.
    ok = ((rows >= low) & (rows <= high)).all(axis=1)
    reasons = np.full(len(batch), KEPT, dtype=object)
    for i in np.flatnonzero(~ok):
        bad = rows[i][~((rows[i] >= low) & (rows[i] <= high))][0]
        reasons[i] = f"value {bad:.3g} outside [{low:g}, {high:g}]"
    return ok, reasons


def nonempty(batch: Batch):
    """Text rows with a non-blank decoded text, or (without texts) at least one token."""
    if batch.texts is not None:
        ok = np.array([bool(t.strip()) for t in batch.texts], dtype=bool)
    else:
        ok = np.array([len(np.atleast_1d(row)) > 0 for row in batch.X], dtype=bool)
    return ok, np.where(ok, KEPT, "empty text")


for _name, _check in (("finite", finite), ("in_bounds", in_bounds), ("nonempty", nonempty)):
    register_check(_name, _check)


class Verifier(Filter):
    """Keep the rows a check accepts.

    Parameters
    ----------
    check : str or callable
        A registered check name (recipes) or a callable (Python API);
        see :func:`register_check` for its signature.
    check_args : dict, optional
        Keyword arguments for the check (``{lower: -3, upper: 3}`` for ``in_bounds``),
        validated against its signature.
    miss_rate, false_alarm_rate : float, default 0
        Imperfection knobs (see :class:`~genloop.curation.filters.base.Filter`).
    """

    name = "verifier"

    def __init__(self, check="finite", check_args=None, miss_rate=0.0, false_alarm_rate=0.0):
        super().__init__(miss_rate=miss_rate, false_alarm_rate=false_alarm_rate)
        if isinstance(check, str):
            if check not in _CHECKS:
                raise ConfigError(
                    f"verifier.check {check!r} is not a registered check; known: "
                    f"{', '.join(registered_checks())}"
                )
            self.check_name, self._check = check, _CHECKS[check]
        elif callable(check):
            self.check_name, self._check = getattr(check, "__name__", "check"), check
        else:
            raise ConfigError(f"verifier.check must be a check name or a callable, got {check!r}")
        self.check = check
        self.check_args = dict(check_args or {})
        self._validate_check_args()

    def _validate_check_args(self) -> None:
        try:
            parameters = inspect.signature(self._check).parameters
        except (TypeError, ValueError):  # builtins without a signature: nothing to check
            return
        if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return
        allowed = list(parameters)[1:]  # the first parameter is the batch
        unknown = sorted(set(self.check_args) - set(allowed))
        if unknown:
            raise ConfigError(
                f"verifier.check_args.{unknown[0]} is not a parameter of check "
                f"{self.check_name!r}; allowed: {', '.join(allowed) or '(none)'}"
            )

    def decide(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        result = self._check(batch, **self.check_args)
        if isinstance(result, tuple) and len(result) == 2:
            accepted, why = result
        else:
            accepted, why = result, None
        accepted = np.asarray(accepted)
        if accepted.shape != (len(batch),) or accepted.dtype.kind != "b":
            raise ConfigError(
                f"verifier check {self.check_name!r} must return a bool array of shape "
                f"({len(batch)},), got {accepted.dtype} of shape {accepted.shape}"
            )
        reasons = np.full(len(batch), f"rejected by {self.check_name}", dtype=object)
        if why is not None:
            why = np.asarray(why, dtype=object)
            if why.shape != (len(batch),):
                raise ConfigError(
                    f"verifier check {self.check_name!r} returned {why.shape} reasons for "
                    f"{len(batch)} rows"
                )
            # A rejected row with an empty reason still says who rejected it.
            given = np.array([bool(r) for r in why], dtype=bool)
            reasons[given] = why[given]
        reasons[accepted] = KEPT
        return accepted, reasons
