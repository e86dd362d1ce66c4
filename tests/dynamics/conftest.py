"""Shared helpers for the dynamics bench tests: a fake runner context."""

from __future__ import annotations

import pandas as pd
import pytest

from genloop.core.bench import SeedContext


class Recorder:
    """Collects ``log(generation, {metric: value})`` calls as long-format rows."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.rows: list[tuple[int, int, str, float]] = []

    def __call__(self, generation, values):
        self.rows += [(int(generation), self.seed, k, float(v)) for k, v in values.items()]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["generation", "seed", "metric", "value"])


@pytest.fixture
def make_context(tmp_path):
    """``make_context(seed) -> (SeedContext, Recorder)`` with a tmp artifact directory."""

    def make(seed: int = 0):
        recorder = Recorder(seed)
        artifact_dir = tmp_path / f"seed{seed}"
        artifact_dir.mkdir()
        return SeedContext(seed=seed, log=recorder, artifact_dir=artifact_dir), recorder

    return make


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny full-batch models run fastest on one thread of this shared 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
