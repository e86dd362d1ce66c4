"""Name → component registries.

Recipes name components (``family: {name: gmm}``); genloop resolves those names here and
nowhere else, so a recipe can never import an arbitrary path. Entries are
``"module:attribute"`` strings imported on first use, which keeps ``import genloop``
fast and lets heavy families (torch) stay optional.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from genloop.core.errors import ConfigError, GenloopError

FAMILIES: dict[str, Any] = {
    "categorical": "genloop.families.categorical:Categorical",
    "gaussian": "genloop.families.gaussian:Gaussian",
    "gmm": "genloop.families.gmm:GaussianMixture",
    "kde": "genloop.families.kde:KernelDensity",
    "vae": "genloop.families.vae:VAE",
    # text (token blocks)
    "ngram": "genloop.families.ngram:NGram",
    "causal_lm": "genloop.families.causal_lm:CausalLM",
}

SOURCES: dict[str, Any] = {
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

METRICS: dict[str, Any] = {
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
    "gmm_l2sq_gen0": "genloop.metrics.continuous:MixtureL2SquaredToStart",
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
FILTERS: dict[str, Any] = {
    "dedup": "genloop.curation.filters.dedup:Dedup",
    "quality": "genloop.curation.filters.quality:Quality",
    "verifier": "genloop.curation.filters.verifier:Verifier",
    "watermark": "genloop.curation.filters.watermark:WatermarkFilter",
    "detector": "genloop.curation.filters.detector:Detector",
    "label_noise": "genloop.curation.filters.label_noise:LabelNoise",
    "isolation": "genloop.curation.filters.isolation:Isolation",
}

BENCHES: dict[str, Any] = {
    "collapse": "genloop.collapse.bench:BENCH",
    "dynamics": "genloop.dynamics:BENCH",
    "seek": "genloop.seek:BENCH",
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
    entry = table[name]
    if not isinstance(entry, str):
        return entry  # registered as an object (register(kind, name, SomeClass))
    module_name, attribute = entry.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def register(kind: str, name: str, target: Any, *, replace: bool = False) -> None:
    """Make ``target`` available to recipes as ``{name: <name>}`` under ``kind``.

    This is how a plugin adds a family, source, metric, filter or bench without editing
    genloop: recipes still name components, never import paths.

    Parameters
    ----------
    kind : {"family", "source", "metric", "filter", "bench"}
    name : str
        The name recipes use.
    target : class, object or str
        The component (a class; for ``bench`` a :class:`~genloop.core.bench.Bench`), or
        a ``"module:attribute"`` string imported on first use. An object registered at
        run time lives in this process only: serial runs see it; the local pool (spawned
        workers) and Ray need the ``"module:attribute"`` form (and the
        module importable there).
    replace : bool, default False
        Allow redefining an existing name (otherwise a :class:`ConfigError`).
    """
    if kind not in _KINDS:
        raise ConfigError(f"unknown component kind {kind!r}; known: {', '.join(_KINDS)}")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ConfigError(f"{kind} name {name!r} must be letters, digits, '_' or '-'")
    table = _KINDS[kind]
    if name in table and not replace and table[name] != target:
        raise ConfigError(
            f"{kind} {name!r} is already registered; pass replace=True to redefine it"
        )
    table[name] = target


class ComponentSpec(BaseModel):
    """``{name: ..., <parameters>}``: a registered component and its keyword arguments."""

    model_config = ConfigDict(extra="allow")
    name: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def as_spec(value: Any) -> Any:
    """A bare name (``"w2"``) as ``{"name": "w2"}``; anything else unchanged."""
    return {"name": value} if isinstance(value, str) else value


def init_parameters(cls: type) -> list[str]:
    """The parameters a recipe may give a component class: its ``__init__``'s, without self."""
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def bind(kind: str, spec: ComponentSpec, cls: type, extra: dict | None = None) -> Any:
    """Instantiate ``cls`` with the spec's parameters, checked against its signature."""
    params = spec.params | (extra or {})
    allowed = init_parameters(cls)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{kind}.{unknown[0]} is not a parameter of {kind} {spec.name!r}; allowed: "
            f"{', '.join(allowed) or '(none)'}"
        )
    try:
        obj = cls(**params)
    except GenloopError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{kind} {spec.name!r}: {exc}") from None
    if hasattr(obj, "_validate_params") and hasattr(obj, "_parameter_constraints"):
        try:
            obj._validate_params()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{kind} {spec.name!r}: {exc}") from None
    return obj


def build_source(spec: ComponentSpec):
    """The reference source named by ``spec``."""
    return bind("source", spec, resolve("source", spec.name))


def build_family(spec: ComponentSpec, source) -> Any:
    """An unfitted estimator of the family named by ``spec``, sized for ``source``."""
    cls = resolve("family", spec.name)
    extra = {}
    # A categorical model must know every state of the truth, including the ones its
    # training data lacks: those are exactly the states collapse loses.
    if getattr(cls, "kind", "vectors") != source.kind:
        raise ConfigError(
            f"family {spec.name!r} models {cls.kind} data but source {source.describe()} "
            f"gives {source.kind} data"
        )
    # Sizes the source knows (categorical states, a text vocabulary) fill the family
    # parameter of the same name unless the recipe sets it.
    parameters = inspect.signature(cls.__init__).parameters
    for size in ("n_states", "vocab_size"):
        value = getattr(source, size, None)
        if size in parameters and value:
            extra[size] = spec.params.get(size, value)
    return bind("family", spec, cls, extra)


def build_metric(spec: ComponentSpec):
    """The metric named by ``spec``."""
    return bind("metric", spec, resolve("metric", spec.name))


def build(kind: str, spec: ComponentSpec | dict | str, **extra: Any) -> Any:
    """The component registered as ``spec.name`` under ``kind``, bound to its signature.

    Parameters
    ----------
    kind : {"family", "source", "metric", "filter", "bench"}
        Which registry to look the name up in.
    spec : ComponentSpec, dict or str
        ``{name: ..., <parameters>}`` as a recipe writes it, or a bare name.
    **extra
        Parameters added to the spec's own; on a clash ``extra`` wins, so callers merge
        defaults with the spec first (as :func:`build_family` does).

    Raises
    ------
    ConfigError
        If the name is unknown or a parameter is not one of the class's.
    """
    if not isinstance(spec, ComponentSpec):
        spec = ComponentSpec.model_validate(as_spec(spec))
    return bind(kind, spec, resolve(kind, spec.name), extra or None)
