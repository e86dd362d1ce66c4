"""The collapse loop's typed config, and building components from it.

Components are named in recipes (``family: {name: gmm, n_components: 2}``). The keys
beside ``name`` are bound to the registered class's real ``__init__`` signature, so a
mistyped parameter is an error that lists the parameters that exist.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from genloop.benches.base import BenchConfig
from genloop.engine.mixing import MixingConfig
from genloop.errors import ConfigError, GenloopError


class ComponentSpec(BaseModel):
    """``{name: ..., <parameters>}``: a registered component and its keyword arguments."""

    model_config = ConfigDict(extra="allow")
    name: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def _as_spec(value: Any) -> Any:
    # Recipes may name a metric by a bare string.
    return {"name": value} if isinstance(value, str) else value


class CollapseConfig(BenchConfig):
    """Keys of a collapse recipe (besides the common name/description/seeds/quick)."""

    # the model family refitted every generation
    family: ComponentSpec
    # where generation 0's real data comes from
    source: ComponentSpec
    # rows in each generation's pool (the paper's M or N)
    n: int = Field(100, ge=2)
    # generations after generation 0
    generations: int = Field(100, ge=0)
    # held-out real rows for likelihood and tail metrics
    holdout: int = Field(1000, ge=0)
    # how each pool mixes original, previous and new data
    mixing: MixingConfig = MixingConfig()
    # metrics measured every generation (names or {name, params})
    metrics: list[ComponentSpec] = Field(default_factory=list)
    # auto | exact | batched | samples: which simulator runs (auto: fastest exact one)
    engine: Literal["auto", "exact", "batched", "samples"] = "auto"
    # generations whose model (and a sample of the pool) are saved for density figures
    snapshots: list[int] = Field(default_factory=list)
    # stop a seed once a categorical model is a single state (nothing can change then)
    stop_when_absorbed: bool = False
    # this variant's model capacity (e.g. mixture components), for collapse-vs-capacity plots
    capacity: float | None = None
    # seconds between resume checkpoints within a seed (finished seeds are always kept)
    checkpoint_seconds: float = Field(2.0, ge=0)
    # filters applied in order to each generation's candidates (names or {name, params});
    # non-empty curation runs on the sample loop
    curation: list[ComponentSpec] = Field(default_factory=list)
    # which rows pass through the filters: "new" model samples only, or "incoming" = the
    # new samples plus the fresh real rows of the `fresh` policy (false alarms hit real data)
    curate: Literal["new", "incoming"] = "new"
    # extra draw rounds when filters dropped rows: each round draws the same mix again
    # (model samples; fresh real rows too under `curate: incoming`), curates it and tops the
    # incoming rows up to their planned size (0: dropped rows are not replaced)
    refill: int = Field(0, ge=0)
    # provenance ledger (docs/curation.md): auto = on for the sample loop unless the run
    # would write more than ~20,000 ledger files; the fast engines never keep one
    ledger: Literal["auto", "on", "off"] = "auto"

    @field_validator("metrics", "curation", mode="before")
    @classmethod
    def _names_to_specs(cls, value: Any) -> Any:
        return [_as_spec(v) for v in value] if isinstance(value, list) else value

    @field_validator("ledger", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `on`/`off` as a boolean
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @field_validator("family", "source", mode="before")
    @classmethod
    def _name_to_spec(cls, value: Any) -> Any:
        return _as_spec(value)

    @model_validator(mode="after")
    def _check_components(self) -> CollapseConfig:
        # Build everything once so a bad parameter fails at load time, not mid-run.
        source = build_source(self.source)
        build_family(self.family, source)
        for spec in self.metrics:
            metric = build_metric(spec)
            if source.kind not in metric.kinds:
                raise ValueError(
                    f"metric {spec.name!r} applies to {', '.join(metric.kinds)} data, but "
                    f"source {self.source.name!r} gives {source.kind} data"
                )
        if self.curation:
            from genloop.curation.filters.base import build_pipeline

            build_pipeline(self.curation)
            if self.engine in ("exact", "batched"):
                raise ConfigError(
                    f"engine: {self.engine} cannot curate (curation needs the sample loop); "
                    "use engine: samples or auto"
                )
        return self


def _bind(kind: str, spec: ComponentSpec, cls: type, extra: dict | None = None) -> Any:
    """Instantiate ``cls`` with the spec's parameters, checked against its signature."""
    params = spec.params | (extra or {})
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
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
    from genloop.registry import resolve

    return _bind("source", spec, resolve("source", spec.name))


def build_family(spec: ComponentSpec, source) -> Any:
    """An unfitted estimator of the family named by ``spec``, sized for ``source``."""
    from genloop.registry import resolve

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
    return _bind("family", spec, cls, extra)


def build_metric(spec: ComponentSpec):
    """The metric named by ``spec``."""
    from genloop.registry import resolve

    return _bind("metric", spec, resolve("metric", spec.name))
