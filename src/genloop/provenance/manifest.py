"""Per-generation manifests chained by hash, and the check that a run is intact.

Every generation of a unit (variant × seed) writes its pool data and its ledger, then a
manifest::

    {"format": 1, "unit": "default__seed000000", "generation": 7,
     "files": {"gen00007.pool.parquet": "<sha256>", "gen00007.ledger.parquet": "<sha256>"},
     "rows": {"gen00007.pool.parquet": 1000, "gen00007.ledger.parquet": 1000},
     "previous_manifest": "<sha256 of gen00006.manifest.json>"}

The ``previous_manifest`` hash makes the manifests a chain: changing a finished
generation's data changes its file hash (caught against its manifest); rewriting that
manifest to match changes the manifest's own hash (caught by the next generation).
:func:`verify` names the unit, generation and file of every mismatch.

What the chain cannot catch: a consistent rewrite of a generation *and every later
one* (there is no outside anchor), or the deletion of the last generations of a unit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from genloop.core.run_dir import atomic_write_text

FORMAT = 1


def generation_stem(generation: int) -> str:
    """The file-name stem of one generation (``gen00007``)."""
    return f"gen{generation:05d}"


def manifest_path(directory: Path, generation: int) -> Path:
    return Path(directory) / f"{generation_stem(generation)}.manifest.json"


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(directory: Path, unit: str, generation: int, rows: dict[str, int]) -> str:
    """Hash the generation's files and write its manifest, chained to the previous one.

    Parameters
    ----------
    directory : Path
        The unit's ledger folder.
    unit : str
        The unit id (recorded so that a manifest copied elsewhere is recognised).
    generation : int
    rows : dict
        File name (inside ``directory``) → its number of rows; every file listed is hashed.

    Returns
    -------
    str
        The sha256 of the manifest written.
    """
    directory = Path(directory)
    previous = None
    if generation > 0:
        # A missing predecessor is recorded as such; verify reports it.
        before = manifest_path(directory, generation - 1)
        previous = file_sha256(before) if before.is_file() else None
    manifest = {
        "format": FORMAT,
        "unit": unit,
        "generation": generation,
        "files": {name: file_sha256(directory / name) for name in sorted(rows)},
        "rows": {name: int(rows[name]) for name in sorted(rows)},
        "previous_manifest": previous,
    }
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    atomic_write_text(manifest_path(directory, generation), text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _num_rows(path: Path) -> int | None:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # a damaged file: its hash mismatch is the reported problem
        return None


def verify_unit(directory: Path, label: str) -> list[str]:
    """Problems of one unit's ledger folder (empty when intact).

    Parameters
    ----------
    directory : Path
        The unit's ledger folder.
    label : str
        How problems name the unit (e.g. ``"variant default, seed 3"``).
    """
    directory = Path(directory)
    problems: list[str] = []
    manifests = sorted(directory.glob("gen*.manifest.json"))
    generations = []
    for path in manifests:
        try:
            generations.append(int(path.name[3:8]))
        except ValueError:
            problems.append(f"{label}: unexpected file {path.name}")
    listed: set[str] = set()
    previous_sha = None
    for expected, generation in enumerate(sorted(generations)):
        where = f"{label}, generation {generation}"
        if generation != expected:
            problems.append(f"{label}, generation {expected}: manifest missing")
        path = manifest_path(directory, generation)
        listed.add(path.name)
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            files, rows = dict(manifest["files"]), dict(manifest["rows"])
            chained = manifest["previous_manifest"]
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(f"{where}: {path.name} is not a readable manifest")
            previous_sha = file_sha256(path)
            continue
        if manifest.get("generation") != generation:
            problems.append(f"{where}: {path.name} names generation {manifest.get('generation')}")
        if generation > 0 and chained != previous_sha:
            problems.append(
                f"{where}: {path.name} does not chain to generation {generation - 1}'s manifest "
                f"(generation {generation - 1}'s manifest was changed or replaced)"
            )
        for name, sha in files.items():
            listed.add(name)
            file = directory / name
            if not file.is_file():
                problems.append(f"{where}: {name} is missing")
            elif file_sha256(file) != sha:
                problems.append(f"{where}: {name} does not match its manifest (sha256 differs)")
            elif name in rows and _num_rows(file) != rows[name]:
                problems.append(f"{where}: {name} has {_num_rows(file)} rows, manifest says "
                                f"{rows[name]}")
        previous_sha = file_sha256(path)
    for stray in sorted(p.name for p in directory.glob("gen*.parquet")):
        if stray not in listed:
            problems.append(f"{label}, generation {stray[3:8].lstrip('0') or '0'}: {stray} is "
                            "in no manifest (an unfinished generation or an added file)")
    return problems
