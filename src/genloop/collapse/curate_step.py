"""One generation's curation step of the sample loop: filter the incoming rows, refill.

The incoming rows of a generation are the model's samples (and, under ``mixing.policy:
fresh`` with ``curate: incoming``, the fresh real rows). The recipe's filters drop some of
them. Without ``refill`` the pool simply shrinks by what was dropped. With ``refill: R``
up to ``R`` extra rounds draw the same mix of candidates again (each round from its own
random streams), curate them, and add kept rows until the incoming part is back at its
planned size: scraping more of the web until the corpus is big enough. A round that
keeps more than is missing contributes a uniform random subset of its kept rows; the
rest (the *surplus*) is written to the ledger with ``in_pool`` False and no drop reason.

Round 0 uses exactly the streams the loop used before refills existed, so a run with
``refill: 0`` (the default) is bit-identical to one made without this option.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from genloop.core.errors import GenloopError
from genloop.core.rng import generator
from genloop.curation.filters.base import Batch, CurationContext, build_pipeline
from genloop.provenance.ledger import NOT_SEEN, Curated
from genloop.provenance.pool import REAL, Pool

# Curation hook: takes the candidate pool and the generation, returns the kept rows.
Curate = Callable[[Pool, int], Pool]

# Draws one round of candidates: draw(round) -> (model samples, fresh real rows or None).
Draw = Callable[[int], tuple[Pool, Pool | None]]


def identity_curation(candidates: Pool, generation: int) -> Pool:
    """Keep every candidate (the default until filters are configured)."""
    return candidates


def refill_purpose(purpose: str, round_: int) -> str:
    """The stream purpose of a refill round (round 0 keeps the plain purpose)."""
    return purpose if round_ == 0 else f"{purpose}.refill{round_}"


@dataclass
class RoundOutcome:
    """What one draw-and-filter round produced.

    Attributes
    ----------
    seen : int
        Rows that passed through the filters (or the hook).
    survivors : Pool
        The rows kept, in incoming order (synthetic and, when fresh rows go through the
        filters, real).
    fresh : Pool or None
        Fresh real rows that bypassed the filters (``curate: new``); ``None`` otherwise.
    curated : Curated or None
        Ids, verdicts and dropped rows for the ledger (``None`` for a Python hook).
    dropped_by : dict
        Filter name → rows it dropped.
    fresh_filtered : bool
        True when fresh real rows went through the filters (they are in ``survivors``).
    """

    seen: int
    survivors: Pool
    fresh: Pool | None
    curated: Curated | None
    dropped_by: dict[str, int] = field(default_factory=dict)
    fresh_filtered: bool = False


class Curation:
    """The recipe's filters (or a plain hook) applied to each generation's incoming rows.

    :meth:`step` returns the kept new rows, the kept fresh real rows, what the ledger
    needs (:class:`~genloop.provenance.ledger.Curated`) and the logged statistics.
    """

    def __init__(self, config, hook: Curate):
        self.pipeline = build_pipeline(config.curation) if config.curation else None
        self.hook = hook
        self.incoming = config.curate == "incoming"
        self.refill = int(getattr(config, "refill", 0))
        self.names = [f.name for f in self.pipeline.filters] if self.pipeline else []

    def prepare(self, context: CurationContext) -> None:
        if self.pipeline:
            self.pipeline.prepare(context)

    def zero_stats(self) -> dict[str, float]:
        """The logged statistics before any curation happened (generation 0's pool)."""
        stats = {"refill_rounds": 0.0} if self.refill else {}
        if not self.pipeline:
            return stats
        return {"curation_dropped_share": 0.0} | {f"dropped.{n}": 0.0 for n in self.names} | stats

    def fresh_through_filters(self, fresh_policy: bool) -> bool:
        """Whether the fresh real rows are filtered (and so drawn again by refills)."""
        return self.pipeline is not None and self.incoming and fresh_policy

    def filter_round(self, candidates: Pool, fresh: Pool | None, generation: int, model,
                     source, rng: np.random.Generator) -> RoundOutcome:
        """Pass one round's incoming rows through the filters (or the hook)."""
        if not self.pipeline:
            kept = self.hook(candidates, generation)
            return RoundOutcome(len(candidates), kept, fresh, None,
                                {"(hook)": len(candidates) - len(kept)})
        through_filters = self.incoming and fresh is not None
        incoming = Pool.concat([candidates, fresh]) if through_filters else candidates
        texts = None
        if getattr(source, "kind", None) == "text":
            texts = [source.decode(row) for row in incoming.X]
        ids = incoming.ids
        batch = Batch(X=incoming.X, origin=incoming.origin, ids=ids, generation=generation + 1,
                      rng=rng, texts=texts, model=model)
        kept, verdicts = self.pipeline.apply(batch)
        dropped_by = {n: int(np.count_nonzero((v != "") & (v != NOT_SEEN)))
                      for n, v in verdicts.items()}
        curated = Curated(ids=ids, verdicts=verdicts, dropped=incoming.take(np.flatnonzero(~kept)))
        return RoundOutcome(len(incoming), incoming.take(np.flatnonzero(kept)),
                            None if through_filters else fresh, curated, dropped_by,
                            through_filters)

    def step(self, draw: Draw, generation: int, model, source, seed: int):
        """Draw, curate and (with ``refill``) top up one generation's incoming rows.

        Parameters
        ----------
        draw : callable
            ``draw(round) -> (candidates, fresh)``; round 0 is the planned draw, later
            rounds draw from their own streams (:func:`refill_purpose`).
        generation : int
            The generation whose model wrote the candidates.
        model, source :
            Passed to the filters.
        seed : int
            The unit's seed (for the curation and refill streams).

        Returns
        -------
        new : Pool
            The kept model rows (and, for a hook, whatever it kept).
        fresh : Pool or None
            The kept (or unfiltered) fresh real rows.
        curated : Curated or None
            For the ledger: every round's ids and verdicts, dropped rows and surplus.
        stats : dict
            ``curation_dropped_share``, ``dropped.<filter>`` and ``refill_rounds``.
        """
        candidates, fresh = draw(0)
        first = self.filter_round(candidates, fresh, generation, model, source,
                                  generator(seed, generation, "curate"))
        planned = len(candidates) + (len(fresh) if first.fresh_filtered else 0)
        outcomes, surplus = [first], []
        kept = len(first.survivors)
        while kept < planned and len(outcomes) <= self.refill:
            round_ = len(outcomes)
            outcome = self.filter_round(*draw(round_), generation, model, source,
                                        generator(seed, generation, refill_purpose("curate",
                                                                                   round_)))
            missing = planned - kept
            if len(outcome.survivors) > missing:
                # A uniform subset, so the last round keeps the round's real/synthetic mix.
                rng = generator(seed, generation, refill_purpose("take", round_))
                chosen = np.zeros(len(outcome.survivors), dtype=bool)
                chosen[rng.choice(len(outcome.survivors), size=missing, replace=False)] = True
                surplus.append(outcome.survivors.take(np.flatnonzero(~chosen)))
                outcome.survivors = outcome.survivors.take(np.flatnonzero(chosen))
            outcomes.append(outcome)
            kept += len(outcome.survivors)
        return self._combine(outcomes, surplus)

    def _combine(self, outcomes: list[RoundOutcome], surplus: list[Pool]):
        first = outcomes[0]
        stats = {"refill_rounds": float(len(outcomes) - 1)} if self.refill else {}
        survivors = first.survivors
        if len(outcomes) > 1:
            survivors = Pool.concat([o.survivors for o in outcomes])
        if not self.pipeline:
            return survivors, first.fresh, None, stats
        total = max(sum(o.seen for o in outcomes), 1)
        dropped = {n: sum(o.dropped_by[n] for o in outcomes) for n in self.names}
        shares = {"curation_dropped_share": float(sum(o.seen - len(o.survivors) for o in
                                                     outcomes) - sum(map(len, surplus))) / total}
        shares |= {f"dropped.{n}": count / total for n, count in dropped.items()}
        curated = first.curated
        if len(outcomes) > 1:
            parts = [o.curated for o in outcomes]
            curated = Curated(
                ids=np.concatenate([c.ids for c in parts]),
                verdicts={n: np.concatenate([c.verdicts[n] for c in parts]) for n in self.names},
                dropped=Pool.concat([c.dropped for c in parts] + surplus),
            )
        if not first.fresh_filtered:
            return survivors, first.fresh, curated, shares | stats
        real = survivors.origin == REAL
        fresh = survivors.take(np.flatnonzero(real))
        return survivors.take(np.flatnonzero(~real)), fresh, curated, shares | stats

    def empty_pool_error(self, generation: int, stats: dict[str, float]) -> GenloopError:
        worst = max(self.names, key=lambda n: stats.get(f"dropped.{n}", 0.0), default="(hook)")
        return GenloopError(
            f"generation {generation + 1}: curation dropped every candidate and the pool would "
            f"be empty (filter {worst!r} dropped {stats.get(f'dropped.{worst}', 1.0):.0%})"
        )
