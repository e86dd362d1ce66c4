"""The seek bench: can a learner choose or make its own training data and keep improving?

Two experiments behind one config (:class:`SeekConfig`, ``experiment:`` chooses):

* ``curriculum`` — a PLR-style sampler (:mod:`~genloop.seek.samplers`) picks which
  task programs (:mod:`~genloop.seek.tasks`) a learner
  (:mod:`~genloop.seek.learners`) trains on, by learning progress, loss,
  uncertainty or novelty; ``generation`` is the round. :mod:`~genloop.seek.analysis`
  turns a run into samples-to-target and the speed-up over uniform sampling.
* ``self_training`` — the learner trains on its own answers, filtered by a verifier
  (:mod:`~genloop.seek.self_training`, problems in :mod:`~genloop.seek.problems`); its
  pools go to the run's provenance ledger (``ledger_plan``).

Torch is imported only when a learner is built.
"""

from __future__ import annotations

from genloop.core.bench import Bench
from genloop.seek.config import SeekConfig
from genloop.seek.plots import plot
from genloop.seek.run import ledger_plan, run_seed


def checks(metrics, variants) -> list[str]:
    """Samples to target per sampler and the speed-up over uniform (curriculum runs)."""
    # Imported here so that ``python -m genloop.seek.analysis`` does not find its module
    # already imported by the package (runpy warns about that).
    from genloop.seek.analysis import summary_lines

    return summary_lines(metrics)


BENCH = Bench(name="seek", config_model=SeekConfig, run_seed=run_seed, plot=plot,
              ledger_plan=ledger_plan, checks=checks)

__all__ = ["BENCH", "SeekConfig", "ledger_plan", "plot", "run_seed"]
