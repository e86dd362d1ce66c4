"""Prioritised sampling by learning potential: one interface for tasks, examples and pools.

The sampler follows Prioritized Level Replay (Jiang, Grefenstette & Rocktäschel 2021):

1. every item (a task program, an example, a pool entry) has a **score** ``S_i``;
2. a **transform** turns scores into a distribution ``P_S``:
   rank ``h_i = 1 / rank(S_i)^(1/β)``, power ``h_i = S_i^(1/β)``,
   softmax ``h_i = exp(S_i / β)``, proportional ``h_i = S_i``; ``P_S = h / Σh``;
3. **staleness mixing**: ``P_replay = (1 − ρ)·P_S + ρ·P_C`` with
   ``P_C(i) = (c − C_i) / Σ_j (c − C_j)``, where ``c`` is the number of sampling rounds so
   far and ``C_i`` the round item ``i`` was last sampled;
4. **replay probability** ``p``: a draw replays a seen item from ``P_replay`` with
   probability ``p`` and explores an unseen item (uniformly) otherwise; when every item
   has been seen, every draw replays.

Scores (:class:`ScoreTracker`): ``uniform``; ``loss`` (latest mean loss);
``learning_progress`` (``|fast EMA − slow EMA|`` of held-out accuracy, Kanitscheider et al.
2021); ``tscl_slope`` (``|slope|`` of a least-squares line through the last ``window``
accuracies, TSCL's Window algorithm, Matiisen et al. 2019); ``disagreement`` / ``bald``
(mean ensemble uncertainty); ``novelty`` (distance to an :class:`Archive` of what was
sampled). :func:`mutate` is ACCEL's edit step (Parker-Holder et al. 2022): new programs
near high-scoring ones, so the task space grows.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError
from genloop.seek.task_space import make_program
from genloop.seek.tasks import MAX_BASE, TaskProgram

SCORES = ("uniform", "loss", "learning_progress", "tscl_slope", "disagreement", "bald", "novelty")
TRANSFORMS = ("rank", "power", "softmax", "proportional")


def transform_scores(scores, transform: str = "rank", temperature: float = 0.1) -> np.ndarray:
    """PLR's score → probability transforms.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Higher means "sample more". ``power`` and ``proportional`` need scores ≥ 0.
    transform : {"rank", "power", "softmax", "proportional"}
    temperature : float
        β > 0. Ranks are 1 for the highest score; tied scores share their average rank.

    Returns
    -------
    ndarray of shape (n,)
        Probabilities; uniform when every weight is zero (e.g. all scores 0 under power).
    """
    from scipy.stats import rankdata

    scores = np.asarray(scores, dtype=np.float64)
    if transform not in TRANSFORMS:
        raise ConfigError(f"transform={transform!r}; allowed: {', '.join(TRANSFORMS)}")
    if temperature <= 0:
        raise ConfigError(f"temperature={temperature}; must be > 0")
    if scores.ndim != 1 or len(scores) == 0 or not np.isfinite(scores).all():
        raise ConfigError(f"scores must be a non-empty finite 1-d array, got shape {scores.shape}")
    if transform == "rank":
        weights = 1.0 / rankdata(-scores, method="average") ** (1.0 / temperature)
    elif transform == "softmax":
        weights = np.exp((scores - scores.max()) / temperature)
    else:
        if scores.min() < 0:
            raise ConfigError(f"transform={transform!r} needs scores ≥ 0, got {scores.min():g}")
        weights = scores ** (1.0 / temperature) if transform == "power" else scores.copy()
    total = weights.sum()
    if total <= 0 or not np.isfinite(total):
        return np.full(len(scores), 1.0 / len(scores))
    return weights / total


def staleness_probabilities(last_sampled, now: int) -> np.ndarray:
    """``P_C(i) = (now − C_i) / Σ_j (now − C_j)``; uniform when all are fresh. Shape (n,)."""
    age = now - np.asarray(last_sampled, dtype=np.float64)
    if age.min() < 0:
        raise ConfigError(f"last_sampled holds rounds after now={now}")
    total = age.sum()
    return age / total if total > 0 else np.full(len(age), 1.0 / len(age))


def replay_distribution(scores, last_sampled, now, transform="rank", temperature=0.1,
                        staleness=0.1) -> np.ndarray:
    """``(1 − ρ)·P_S + ρ·P_C`` over seen items (ρ = ``staleness``). Shape (n,)."""
    if not 0.0 <= staleness <= 1.0:
        raise ConfigError(f"staleness={staleness}; allowed: [0, 1]")
    p_score = transform_scores(scores, transform, temperature)
    return (1.0 - staleness) * p_score + staleness * staleness_probabilities(last_sampled, now)


def window_slope(values) -> float:
    """Least-squares slope of ``values`` against 0, 1, 2, … (0 for fewer than 2 values)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return 0.0
    x = np.arange(len(values), dtype=np.float64)
    x -= x.mean()
    return float((x * (values - values.mean())).sum() / (x * x).sum())


class Archive:
    """Feature vectors of what was sampled, for novelty = mean distance to k nearest.

    Parameters
    ----------
    capacity : int
        Oldest entries are dropped beyond this many (a FIFO, as in novelty search).
    k : int
        Neighbours averaged.
    """

    def __init__(self, capacity: int = 1000, k: int = 5):
        if capacity < 1 or k < 1:
            raise ConfigError(f"archive capacity={capacity}, k={k}; both must be ≥ 1")
        self.capacity, self.k = int(capacity), int(k)
        self.entries: list[np.ndarray] = []

    def add(self, features) -> None:
        """Append rows of ``features`` (m, d) or one vector (d,)."""
        for row in np.atleast_2d(np.asarray(features, dtype=np.float64)):
            self.entries.append(row)
        del self.entries[: max(0, len(self.entries) - self.capacity)]

    def novelty(self, features) -> np.ndarray:
        """Mean Euclidean distance of each row of ``features`` (m, d) to its k nearest
        archive entries (fewer if the archive is smaller); +inf for an empty archive."""
        queries = np.atleast_2d(np.asarray(features, dtype=np.float64))
        if not self.entries:
            return np.full(len(queries), np.inf)
        stored = np.stack(self.entries)
        distances = np.linalg.norm(queries[:, None, :] - stored[None, :, :], axis=-1)
        k = min(self.k, len(stored))
        return np.sort(distances, axis=1)[:, :k].mean(axis=1)


class ScoreTracker:
    """Per-item score state, fed with observations after each round.

    Parameters
    ----------
    score : str
        One of :data:`SCORES`.
    fast, slow : float
        EMA rates of the learning-progress score (fast > slow).
    window : int
        Accuracies in TSCL's slope window.
    """

    def __init__(self, score="learning_progress", fast=0.5, slow=0.1, window=5):
        if score not in SCORES:
            raise ConfigError(f"score={score!r}; allowed: {', '.join(SCORES)}")
        if not 0.0 < slow < fast <= 1.0:
            raise ConfigError(f"EMA rates fast={fast}, slow={slow}; need 0 < slow < fast ≤ 1")
        if window < 2:
            raise ConfigError(f"window={window}; must be ≥ 2")
        self.score, self.fast_rate, self.slow_rate, self.window = score, fast, slow, window
        self.fast: dict[int, float] = {}
        self.slow: dict[int, float] = {}
        self.history: dict[int, list[float]] = {}
        self.latest: dict[int, float] = {}

    def observe(self, index: int, accuracy=None, loss=None, uncertainty=None) -> None:
        """Record one round's held-out measurements of item ``index``."""
        if accuracy is not None:
            accuracy = float(accuracy)
            # Both EMAs start at the first value, so progress starts at 0 (no free credit).
            fast = self.fast.get(index, accuracy)
            slow = self.slow.get(index, accuracy)
            self.fast[index] = fast + self.fast_rate * (accuracy - fast)
            self.slow[index] = slow + self.slow_rate * (accuracy - slow)
            self.history.setdefault(index, []).append(accuracy)
            del self.history[index][: -self.window]
        value = {"loss": loss, "disagreement": uncertainty, "bald": uncertainty}.get(self.score)
        if value is not None:
            self.latest[index] = float(value)

    def value(self, index: int) -> float:
        """The current score of ``index`` (0 before any observation)."""
        if self.score == "learning_progress":
            return abs(self.fast.get(index, 0.0) - self.slow.get(index, 0.0))
        if self.score == "tscl_slope":
            return abs(window_slope(self.history.get(index, [])))
        return self.latest.get(index, 0.0)


class PrioritizedSampler:
    """PLR over a growing set of items: score → transform → staleness → replay.

    Parameters
    ----------
    score, transform, temperature, staleness, replay_prob
        See the module docstring; ``staleness`` is ρ, ``replay_prob`` is p.
    features : callable, optional
        ``features(index) -> (d,)`` vector of an item, for the ``novelty`` score.
    tracker_options : dict
        Passed to :class:`ScoreTracker` (``fast``, ``slow``, ``window``).
    """

    def __init__(self, score="learning_progress", transform="rank", temperature=0.1,
                 staleness=0.1, replay_prob=0.95, features=None, archive=None,
                 **tracker_options):
        if not 0.0 <= replay_prob <= 1.0:
            raise ConfigError(f"replay_prob={replay_prob}; allowed: [0, 1]")
        transform_scores([1.0], transform, temperature)  # validates transform and β
        replay_distribution([1.0], [0], 0, transform, temperature, staleness)
        self.tracker = ScoreTracker(score, **tracker_options)
        self.transform, self.temperature = transform, temperature
        self.staleness, self.replay_prob = staleness, replay_prob
        self.features, self.archive = features, archive or Archive()
        self.n_items, self.round = 0, 0
        self.seen: list[bool] = []
        self.last_sampled: list[int] = []

    def add_items(self, count: int = 1) -> None:
        """Grow the item set by ``count`` unseen items."""
        self.n_items += count
        self.seen += [False] * count
        self.last_sampled += [self.round] * count

    def scores(self) -> np.ndarray:
        """Current scores of every item, shape (n_items,)."""
        if self.tracker.score == "uniform":
            return np.zeros(self.n_items)
        if self.tracker.score == "novelty":
            if self.features is None:
                raise ConfigError("score=novelty needs a features function")
            feats = np.stack([self.features(i) for i in range(self.n_items)])
            novelty = self.archive.novelty(feats)
            return np.where(np.isfinite(novelty), novelty, 0.0)
        return np.array([self.tracker.value(i) for i in range(self.n_items)])

    def probabilities(self) -> np.ndarray:
        """The distribution one draw follows: replay mass on seen items, the rest uniform
        on unseen ones. Shape (n_items,)."""
        seen = np.array(self.seen, dtype=bool)
        probs = np.zeros(self.n_items)
        if seen.any():
            scores = self.scores()[seen]
            if self.tracker.score == "uniform":
                replay = np.full(seen.sum(), 1.0 / seen.sum())
            else:
                replay = replay_distribution(scores, np.array(self.last_sampled)[seen],
                                             self.round, self.transform, self.temperature,
                                             self.staleness)
            probs[seen] = replay * (self.replay_prob if (~seen).any() else 1.0)
        if (~seen).any():
            probs[~seen] = (1.0 - probs.sum()) / (~seen).sum()
        return probs

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` item indices for one round and advance the round counter.

        Returns
        -------
        ndarray of shape (n,), int64
        """
        if self.n_items == 0:
            raise ConfigError("the sampler has no items; add_items first")
        indices = rng.choice(self.n_items, size=n, p=self.probabilities())
        self.round += 1
        for index in np.unique(indices):
            self.seen[index] = True
            self.last_sampled[index] = self.round
            if self.features is not None:
                self.archive.add(self.features(int(index)))
        return indices.astype(np.int64)

    def observe(self, index: int, **measurements) -> None:
        """Feed held-out measurements (accuracy, loss, uncertainty) of item ``index``."""
        self.seen[index] = True
        self.tracker.observe(index, **measurements)


def program_features(program: TaskProgram) -> np.ndarray:
    """A numeric description of a program's parameters for novelty (shape (8,))."""
    params = program.params
    while params.get("kind") in ("random_targets", "noisy"):
        params = params.get("like") or params.get("program")
    kind = params.get("kind")
    return np.array([
        kind == "arithmetic", kind == "modular", kind == "sequence",
        params.get("base", 10) / MAX_BASE,
        params.get("n_digits", params.get("length", 0)) / 8.0,
        np.log10(params.get("p", 1)) / 3.0,
        {"+": 0.0, "-": 0.5, "*": 1.0}.get(params.get("op"), 0.0),
        program.flip_rate + program.random_labels,
    ], dtype=np.float64)


def _neighbours(value: int, limit: int) -> list[int]:
    """``value ± 1`` within ``[1, limit]``."""
    return [v for v in (value - 1, value + 1) if 1 <= v <= limit]


def mutate(program: TaskProgram, rng: np.random.Generator, bases=None) -> TaskProgram:
    """ACCEL-style edit: a nearby program (digits or length ±1, or another base; another
    operation for modular programs).

    The edit stays within the program's layout (so the learner's lengths still fit) and
    keeps random-target / noisy wrappers. ``bases`` limits base changes (default 2..16).
    """
    wrappers = []
    params = dict(program.params)
    while params.get("kind") in ("random_targets", "noisy"):
        wrappers.append(params)
        params = dict(params.get("like") or params.get("program"))
    layout, kind = program.layout, params["kind"]
    if kind == "arithmetic":
        limit = max(layout.arith_digits, params["n_digits"])
        bases = [b for b in (bases or range(2, MAX_BASE + 1)) if b != params["base"]]
        digits = _neighbours(params["n_digits"], limit)
        if bases and (not digits or rng.random() < 0.5):
            params["base"] = int(rng.choice(bases))
        elif digits:
            params["n_digits"] = int(rng.choice(digits))
    elif kind == "sequence":
        lengths = _neighbours(params["length"], max(layout.seq_length, params["length"]))
        if lengths:
            params["length"] = int(rng.choice(lengths))
    else:
        params["op"] = str(rng.choice([op for op in ("+", "-", "*") if op != params["op"]]))
    spec = params
    for wrapper in reversed(wrappers):
        key = "like" if wrapper["kind"] == "random_targets" else "program"
        spec = {**wrapper, key: spec}
    return make_program(spec, layout)
