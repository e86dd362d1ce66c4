"""genloop: multi-generation training loops — collapse, curation, seeking, dynamics.

The Python API mirrors the CLI::

    import genloop
    run = genloop.run("nature-gaussian", seeds=range(10), overrides={"n": 500})
    run.summary(); run.plot(); run.metrics
    genloop.load("runs/nature-gaussian__0-9__...")
    genloop.audit("real.csv", "synthetic.csv").to_html("audit.html")

Submodules are imported on first use so that ``import genloop`` stays fast.
"""

from __future__ import annotations

from genloop.core.version import __version__

__all__ = ["run", "load", "Run", "audit", "unlearn", "GenloopError", "__version__"]


def __getattr__(name: str):
    if name in ("run", "load", "Run", "unlearn"):
        from genloop import api

        return getattr(api, name)
    if name == "audit":
        import importlib

        # The package itself is callable (genloop.audit(real, synthetic, ...)): once any
        # submodule is imported Python binds the package to this name anyway.
        return importlib.import_module("genloop.audit")
    if name == "GenloopError":
        from genloop.core.errors import GenloopError

        return GenloopError
    raise AttributeError(f"module 'genloop' has no attribute {name!r}")
