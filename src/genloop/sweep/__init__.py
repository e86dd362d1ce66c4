"""Sweeps: grids × seeds on a local process pool or Ray, aggregated per sweep directory."""

from genloop.sweep.directory import Sweep, is_sweep
from genloop.sweep.sweep import run_sweep

__all__ = ["Sweep", "is_sweep", "run_sweep"]
