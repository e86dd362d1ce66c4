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

Every chain ends in the run manifest, ``ledger/run.manifest.json`` (written when the run
finishes and after each resume): the config's hash, the units that keep a ledger, and
per finished unit its number of generations and its last manifest's hash. So deleting a
unit's last generations, adding a forged one, rewriting the last one, moving, copying or
deleting a unit's folder are caught too. What no file inside the run can catch: a
consistent rewrite of everything, run manifest included. Against that, keep the run
manifest's sha256 (``genloop run`` prints it) and pass it to
``genloop ledger verify RUN --expect SHA256``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from genloop.core.run_dir import LEDGER_DIR, atomic_write_text

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


def _unit_problem(directory: Path, label: str, recorded: dict | None) -> str | None:
    """The first problem of one unit's ledger folder, or None when it is intact."""
    generations = []
    for path in sorted(directory.glob("gen*.manifest.json")):
        try:
            generations.append(int(path.name[3:8]))
        except ValueError:
            return f"{label}: unexpected file {path.name}"
    listed: set[str] = set()
    previous_sha = None
    for generation in range(max(generations, default=-1) + 1):
        # In generation order, and only the first problem: what follows a missing or
        # changed generation (a broken chain link, its now unlisted files) is its echo.
        where = f"{label}, generation {generation}"
        path = manifest_path(directory, generation)
        if not path.is_file():
            return f"{where}: manifest missing"
        listed.add(path.name)
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            files, rows = dict(manifest["files"]), dict(manifest["rows"])
            chained, unit = manifest["previous_manifest"], manifest["unit"]
        except (OSError, ValueError, KeyError, TypeError):
            return f"{where}: {path.name} is not a readable manifest"
        if unit != directory.name:
            return (f"{where}: {path.name} belongs to unit {unit}, not {directory.name} "
                    "(a ledger folder moved, copied or swapped)")
        if manifest.get("generation") != generation:
            return f"{where}: {path.name} names generation {manifest.get('generation')}"
        if generation > 0 and chained != previous_sha:
            return (f"{where}: {path.name} does not chain to generation {generation - 1}'s "
                    f"manifest (generation {generation - 1}'s manifest was changed or replaced)")
        for name, sha in files.items():
            listed.add(name)
            file = directory / name
            if not file.is_file():
                return f"{where}: {name} is missing"
            if file_sha256(file) != sha:
                return f"{where}: {name} does not match its manifest (sha256 differs)"
            if name in rows and _num_rows(file) != rows[name]:
                return f"{where}: {name} has {_num_rows(file)} rows, manifest says {rows[name]}"
        previous_sha = file_sha256(path)
    for stray in sorted(p.name for p in directory.glob("gen*.parquet")):
        if stray not in listed:
            return (f"{label}, generation {stray[3:8].lstrip('0') or '0'}: {stray} is in no "
                    "manifest (an unfinished generation or an added file)")
    if recorded is not None:
        count = len(generations)
        if count != recorded.get("generations"):
            return (f"{label}: {count} generation(s), the run manifest records "
                    f"{recorded.get('generations')} (generations removed or added)")
        if previous_sha != recorded.get("last_manifest"):
            return (f"{label}, generation {count - 1}: {manifest_path(directory, count - 1).name} "
                    "is not the one the run manifest records (the generation was rewritten)")
    return None


def verify_unit(directory: Path, label: str, recorded: dict | None = None) -> list[str]:
    """The first problem of one unit's ledger folder, as a list (empty when intact).

    Checks, in generation order from 0: every manifest exists, is readable, names this
    folder's unit and its generation, chains to the previous manifest, and every file it
    lists has its hash and row count; then that no pool or ledger file lies outside the
    manifests; then, given the unit's entry in the run manifest, that the unit has as
    many generations as recorded and ends in the recorded manifest. Only the first
    problem is reported: a missing generation breaks the next link too, and that second
    line would only repeat the first.

    Parameters
    ----------
    directory : Path
        The unit's ledger folder.
    label : str
        How problems name the unit (e.g. ``"variant default, seed 3"``).
    recorded : dict, optional
        The unit's entry in the run manifest (``generations``, ``last_manifest``).
    """
    problem = _unit_problem(Path(directory), label, recorded)
    return [] if problem is None else [problem]


# --- the run manifest: the end of every unit's chain -------------------------------------

RUN_MANIFEST = "run.manifest.json"


def run_manifest_path(run_dir: Path) -> Path:
    """Where a run's run manifest lives (``ledger/run.manifest.json``)."""
    return Path(run_dir) / LEDGER_DIR / RUN_MANIFEST


def unit_record(directory: Path) -> dict:
    """A unit's entry in the run manifest: its number of generations and last manifest."""
    generations = sorted(Path(directory).glob("gen*.manifest.json"))
    return {"generations": len(generations),
            "last_manifest": file_sha256(generations[-1]) if generations else None}


def write_run_manifest(run_dir: Path, config_sha256: str, planned: list[str],
                       finished: list[str]) -> str:
    """Write the run manifest, which closes every unit's manifest chain.

    A unit's own chain shows that no generation was changed, but not that none was
    removed at its end, nor that the folder belongs to this run. The run manifest records,
    when the run finishes (and again after each resume), the config's hash, the units
    that keep a ledger (``planned``), and for each finished one its number of
    generations and the sha256 of its last manifest.

    Parameters
    ----------
    run_dir : Path
    config_sha256 : str
        :func:`genloop.core.run_dir.config_digest` of the run's config.
    planned : list of str
        Every unit of the run that keeps a ledger.
    finished : list of str
        Those among ``planned`` that finished (their ledger is complete).

    Returns
    -------
    str
        The sha256 of the run manifest (what ``genloop ledger verify --expect`` takes).
    """
    root = Path(run_dir) / LEDGER_DIR
    manifest = {
        "format": FORMAT,
        "config_sha256": config_sha256,
        "planned": sorted(planned),
        "units": {unit: unit_record(root / unit) for unit in sorted(finished)},
    }
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    atomic_write_text(run_manifest_path(run_dir), text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_run_manifest(run_dir: Path) -> dict | None:
    """The run manifest as a mapping; None when absent; an empty mapping when unreadable."""
    path = run_manifest_path(run_dir)
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ok = isinstance(manifest, dict) and isinstance(manifest.get("units"), dict)
    return manifest if ok else {}
