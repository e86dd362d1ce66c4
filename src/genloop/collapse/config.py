"""The collapse recipe's typed config.

Components are named in recipes (``family: {name: gmm, n_components: 2}``) and built
through :func:`genloop.core.registry.build`, which binds the keys beside ``name`` to the
registered class's real ``__init__`` signature.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from genloop.collapse.forget import MAX_FORGET, parse_sample_id
from genloop.collapse.policy import MixingConfig
from genloop.core.bench import BenchConfig
from genloop.core.errors import ConfigError
from genloop.core.registry import (
    ComponentSpec,
    as_spec,
    build_family,
    build_metric,
    build_source,
)
from genloop.data.synthetic import MAX_ROWS


class CollapseConfig(BenchConfig):
    """Keys of a collapse recipe (besides the common name/description/seeds/quick)."""

    # the model family refitted every generation
    family: ComponentSpec
    # where generation 0's real data comes from
    source: ComponentSpec
    # rows in each generation's pool (the paper's M or N)
    n: int = Field(100, ge=2, le=MAX_ROWS)
    # generations after generation 0
    generations: int = Field(100, ge=0)
    # held-out real rows for likelihood and tail metrics
    holdout: int = Field(1000, ge=0, le=MAX_ROWS)
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
    # sample ids to run without, as if they had never been in the data (genloop unlearn
    # sets it; docs/unlearning.md): real records leave every draw, generated rows their
    # generation's candidates. Runs on the sample loop.
    forget: list[str] = Field(default_factory=list, max_length=MAX_FORGET)

    @field_validator("forget")
    @classmethod
    def _sample_ids(cls, value: list[str]) -> list[str]:
        for sample_id in value:
            parse_sample_id(sample_id)  # a ValueError names the id and the form
        if len(set(value)) != len(value):
            raise ValueError("forget lists a sample id twice")
        return value

    @field_validator("metrics", "curation", mode="before")
    @classmethod
    def _names_to_specs(cls, value: Any) -> Any:
        return [as_spec(v) for v in value] if isinstance(value, list) else value

    @field_validator("ledger", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `on`/`off` as a boolean
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @field_validator("family", "source", mode="before")
    @classmethod
    def _name_to_spec(cls, value: Any) -> Any:
        return as_spec(value)

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
        if self.forget:
            if self.engine in ("exact", "batched"):
                raise ConfigError(
                    f"engine: {self.engine} cannot forget rows (it draws none); use engine: "
                    "samples or auto"
                )
            if source.kind == "categorical" and any("-gr-" in i for i in self.forget):
                raise ValueError(
                    "forget: a real categorical row cannot be forgotten on its own: its "
                    "content is a state every row in that state shares"
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
