"""Name → component registries.

Recipes name components (``family: {name: gmm}``); genloop resolves those names here and
nowhere else, so a recipe can never import an arbitrary path. Entries are
``"module:attribute"`` strings imported on first use, which keeps ``import genloop``
fast and lets heavy families (torch) stay optional.
"""

from __future__ import annotations

import importlib
from typing import Any

from genloop.errors import ConfigError

FAMILIES: dict[str, str] = {
    "categorical": "genloop.families.categorical:Categorical",
    "gaussian": "genloop.families.gaussian:Gaussian",
    "gmm": "genloop.families.gmm:GaussianMixture",
    "kde": "genloop.families.kde:KernelDensity",
    "vae": "genloop.families.vae:VAE",
    # text (token blocks)
    "ngram": "genloop.families.ngram:NGram",
    "causal_lm": "genloop.families.causal_lm:CausalLM",
}

SOURCES: dict[str, str] = {
    "gaussian": "genloop.data.synthetic:GaussianSource",
    "gmm": "genloop.data.synthetic:MixtureSource",
    "zipf": "genloop.data.synthetic:ZipfSource",
    "categorical": "genloop.data.synthetic:CategoricalSource",
    "wordfreq": "genloop.data.wordfreq_source:WordfreqSource",
    "sklearn": "genloop.data.sklearn_source:SklearnSource",
    "file": "genloop.data.files:FileSource",
    "digits": "genloop.data.digits:DigitsSource",
    # text: token blocks of a corpus
    "shakespeare": "genloop.data.text:ShakespeareSource",
    "text": "genloop.data.text:TextFileSource",
    # another source with a fraction of attacker samples planted in it
    "poison": "genloop.data.poison:PoisonSource",
    # a labelled text world: Shakespeare blocks (ham) and template messages (spam)
    "spam": "genloop.data.spam:SpamSource",
}

METRICS: dict[str, str] = {
    # discrete
    "support_size": "genloop.metrics.discrete:SupportSize",
    "states_lost": "genloop.metrics.discrete:StatesLost",
    "entropy": "genloop.metrics.discrete:Entropy",
    "total_variation": "genloop.metrics.discrete:TotalVariation",
    "kl": "genloop.metrics.discrete:KLDivergence",
    "tail_mass_retained": "genloop.metrics.discrete:TailMassRetained",
    "absorbed": "genloop.metrics.discrete:Absorbed",
    # continuous
    "mean_shift": "genloop.metrics.continuous:MeanShift",
    "variance": "genloop.metrics.continuous:Variance",
    "log_variance": "genloop.metrics.continuous:LogVariance",
    "covariance_logdet": "genloop.metrics.continuous:CovarianceLogDet",
    "w2": "genloop.metrics.continuous:Wasserstein2",
    "tail_mass": "genloop.metrics.continuous:TailMass",
    "heldout_loglik": "genloop.metrics.continuous:HeldoutLogLik",
    "gmm_l2": "genloop.metrics.continuous:MixtureL2",
    "component_std": "genloop.metrics.continuous:ComponentStd",
    # images (VAE on digits)
    "latent_spread": "genloop.metrics.images:LatentSpread",
    "digit_classes": "genloop.metrics.images:DigitClasses",
    "frechet_distance": "genloop.metrics.images:FrechetDistance",
    # text
    "heldout_perplexity": "genloop.metrics.text:HeldoutPerplexity",
    "sample_perplexity": "genloop.metrics.text:SamplePerplexity",
    "text_diversity": "genloop.metrics.text:TextDiversity",
    "lost_rare_words": "genloop.metrics.text:LostRareWords",
    "text_samples": "genloop.metrics.text:TextSamples",
    # curation
    "watermark_power": "genloop.metrics.watermark:WatermarkPower",
}

# curation filters: ``keep(batch) -> (mask, reasons)`` (genloop.curation.filters.base)
FILTERS: dict[str, str] = {
    "dedup": "genloop.curation.filters.dedup:Dedup",
    "quality": "genloop.curation.filters.quality:Quality",
    "verifier": "genloop.curation.filters.verifier:Verifier",
    "watermark": "genloop.curation.filters.watermark:WatermarkFilter",
    "detector": "genloop.curation.filters.detector:Detector",
    "label_noise": "genloop.curation.filters.label_noise:LabelNoise",
    "isolation": "genloop.curation.filters.isolation:Isolation",
}

BENCHES: dict[str, str] = {
    "collapse": "genloop.benches.collapse:BENCH",
    "dynamics": "genloop.benches.dynamics:BENCH",
    "seek": "genloop.benches.seek:BENCH",
}

_KINDS = {
    "family": FAMILIES,
    "source": SOURCES,
    "metric": METRICS,
    "filter": FILTERS,
    "bench": BENCHES,
}


def resolve(kind: str, name: str) -> Any:
    """Import and return the component registered as ``name`` under ``kind``.

    Raises
    ------
    ConfigError
        If the name is unknown (the message lists the known names).
    """
    table = _KINDS[kind]
    if name not in table:
        known = ", ".join(sorted(table))
        raise ConfigError(f"unknown {kind} {name!r}; known {kind} names: {known}")
    module_name, attribute = table[name].split(":")
    return getattr(importlib.import_module(module_name), attribute)
