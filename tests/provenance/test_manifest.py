"""Hash-chained manifests: an intact run verifies, and a changed byte is found (tier 1)."""

from __future__ import annotations

import json

import genloop
from genloop.provenance.ledger import verify
from genloop.provenance.manifest import file_sha256

RECIPE = {
    "name": "manifest-test", "bench": "collapse", "seeds": "0..1", "engine": "samples",
    "family": {"name": "gaussian"}, "source": {"name": "gaussian", "dim": 1},
    "n": 20, "generations": 4, "holdout": 20, "metrics": ["log_variance"],
}


def run(tmp_path):
    return genloop.run(RECIPE, out=tmp_path / "r")


def unit(r, seed=1):
    return r.path / "ledger" / f"default__seed{seed:06d}"


def flip_byte(path, at):
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_intact_run_verifies_and_one_changed_byte_names_its_generation(tmp_path):
    r = run(tmp_path)
    assert verify(r.path) == []
    target = unit(r) / "gen00002.pool.parquet"
    flip_byte(target, len(target.read_bytes()) // 2)
    problems = verify(r.path)
    assert problems == ["variant default, seed 1, generation 2: gen00002.pool.parquet does not "
                        "match its manifest (sha256 differs)"]


def test_rewriting_the_manifest_to_match_breaks_the_chain_at_the_next_generation(tmp_path):
    r = run(tmp_path)
    ledger = unit(r, 0) / "gen00003.ledger.parquet"
    flip_byte(ledger, 10)
    manifest_file = unit(r, 0) / "gen00003.manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["files"]["gen00003.ledger.parquet"] = file_sha256(ledger)
    manifest_file.write_text(json.dumps(manifest))
    problems = verify(r.path)
    assert len(problems) == 1
    assert problems[0].startswith("variant default, seed 0, generation 4: gen00004.manifest.json "
                                  "does not chain to generation 3's manifest")


def test_missing_and_unlisted_files_are_problems_the_first_of_each_unit(tmp_path):
    r = run(tmp_path)
    (unit(r) / "gen00001.ledger.parquet").unlink()
    (unit(r, 0) / "gen00004.manifest.json").unlink()
    assert verify(r.path) == [
        "variant default, seed 0, generation 4: gen00004.ledger.parquet is in no manifest "
        "(an unfinished generation or an added file)",
        "variant default, seed 1, generation 1: gen00001.ledger.parquet is missing",
    ]


def test_manifests_are_chained_from_generation_zero(tmp_path):
    r = run(tmp_path)
    first = json.loads((unit(r) / "gen00000.manifest.json").read_text())
    second = json.loads((unit(r) / "gen00001.manifest.json").read_text())
    assert first["previous_manifest"] is None
    assert second["previous_manifest"] == file_sha256(unit(r) / "gen00000.manifest.json")
    assert first["rows"] == {"gen00000.ledger.parquet": 20, "gen00000.pool.parquet": 20}
