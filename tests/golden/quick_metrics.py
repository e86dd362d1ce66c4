"""Golden digests of every recipe's ``--quick`` metrics, and of the fast engines' runs.

A digest is the sha256 of a run's long-format metrics table in a canonical order (variant,
seed, generation, metric) with the values' float64 bytes, so two digests are equal exactly
when the runs' metrics are bit-identical. ``tests/test_recipes_smoke.py`` recomputes them;
after an *intended* change of a protocol or of the random streams, regenerate them with::

    python tests/golden/quick_metrics.py --write            # every case
    python tests/golden/quick_metrics.py --write nature-gmm  # cases whose name starts so

and say in the commit why the numbers moved.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

GOLDEN = Path(__file__).with_name("quick_metrics.json")

# (case name, recipe, overrides): every recipe's --quick run as shipped, plus the fast
# engines forced where `auto` might choose otherwise.
FAST_CASES = [
    ("nature-gaussian@exact", "nature-gaussian", {"engine": "exact"}),
    ("nature-discrete@exact", "nature-discrete", {"engine": "exact"}),
    ("nature-gmm@batched", "nature-gmm", {"engine": "batched"}),
]


def cases() -> list[tuple[str, str, dict]]:
    from genloop.core.config import known_recipes

    return [(name, name, {}) for name in sorted(known_recipes())] + FAST_CASES


def digest(frame) -> dict:
    """sha256 of the metrics in canonical order, and the row count."""
    import numpy as np

    frame = frame.astype({"variant": str, "metric": str})
    frame = frame.sort_values(["variant", "seed", "generation", "metric"], kind="stable")
    h = hashlib.sha256()
    for column in ("variant", "metric"):
        h.update("\x1f".join(frame[column].tolist()).encode())
    for column in ("seed", "generation"):
        h.update(frame[column].to_numpy(dtype=np.int64).tobytes())
    h.update(frame["value"].to_numpy(dtype=np.float64).tobytes())
    return {"sha256": h.hexdigest(), "rows": len(frame)}


def compute(name: str, recipe: str, overrides: dict, root: Path) -> dict:
    import genloop

    run = genloop.run(recipe, quick=True, overrides=overrides or None, out=root / name.replace("@", "_"))
    return digest(run.metrics)


def main(argv: list[str]) -> int:
    write = "--write" in argv
    prefixes = [a for a in argv if not a.startswith("--")]
    stored = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, recipe, overrides in cases():
            if prefixes and not any(name.startswith(p) for p in prefixes):
                continue
            value = compute(name, recipe, overrides, Path(tmp))
            same = stored.get(name) == value
            failures += not same
            print(f"{name:32s} {value['rows']:>8d} rows  {'same' if same else 'CHANGED'}")
            if write:
                stored[name] = value
    if write:
        GOLDEN.write_text(json.dumps(dict(sorted(stored.items())), indent=1) + "\n")
    return 0 if write or not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
