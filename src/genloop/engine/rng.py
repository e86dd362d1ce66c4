"""Re-export of :mod:`genloop.rng` for engine code (the streams live below the engine so
that families and data sources, which must not import the engine, can use them too)."""

from genloop.rng import as_generator, generator

__all__ = ["as_generator", "generator"]
