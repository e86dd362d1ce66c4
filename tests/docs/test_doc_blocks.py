"""Every code block of README.md and docs/*.md runs as written (or in its declared quick form).

How a block is read
-------------------
* ``bash``: every line is a command (``\\`` continues a line, ``#`` starts a comment,
  ``a && b`` is two commands).
* ``console``: a transcript; lines starting with ``$ `` are commands, the rest is output
  (not compared: the figures come from the full-size command, the test runs its quick form).
  ``$ echo $?`` followed by ``N`` says the command before it exits ``N``.
* ``python``: executed; the blocks of one page share a namespace, in order.
* ``yaml``: a whole recipe (it has ``name:``) is resolved by genloop's config loader; a
  fragment is resolved as overrides of the recipe its ``recipe:`` directive names.
* ``sql``: run by ``genloop query`` over the runs the page's earlier blocks made.
* ``text``: output, trees and tables; not run. An untagged block fails the test, so every
  new block is a decision.

Each page runs in a fresh working directory, holding a few small files the pages refer to
by name (``real.csv``, ``synthetic.csv``, ``mine.csv``, ``my_data.parquet``, ``corpus.txt``,
``digits.csv``, ``samples.npy``),
so ``runs/`` there holds exactly the runs the page's own commands made. Placeholders name
those runs: ``RUN``/``RUN_DIR`` (the newest), ``RUN_A``/``RUN_B`` (the two newest),
``runs/<anything>`` or ``runs/prefix...`` (the newest entry of ``runs/`` starting with the
prefix), ``ID`` (a sample of the newest run's ledger), ``SHA256`` (the newest run's run-manifest
hash, which ``genloop run`` prints).

The quick form
--------------
Every ``genloop run``, ``sweep`` and ``audit`` command gets ``--quick`` (the recipe's own
small version; explicit ``--seeds``/``--set`` still apply), ``python benchmarks/X.py`` runs
with ``--quick``, ``pip install`` is skipped (CI installs) and ``pytest PATHS`` checks that
the paths exist. An HTML comment right before a block changes that::

    <!-- doc-test
    replace: --seeds 0..999 => --seeds 0..9
    skip: needs a GPU
    exit: 2
    full
    recipe: nature-gmm
    each-line
    -->

``replace: A => B`` edits the block's text (as often as given); ``skip`` names why the block
does not run; ``exit`` is the expected status of every command; ``full`` runs commands
without ``--quick``; ``recipe`` is the base of a yaml fragment; ``each-line`` reads a yaml
block as one fragment per line (alternatives).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = {"bash", "console", "python", "yaml", "sql", "text"}
QUICK_COMMANDS = {"run", "sweep", "audit"}
FENCE = re.compile(r"^```(\S*)\s*$")
DIRECTIVE = re.compile(r"<!--\s*doc-test\b(.*?)-->", re.S)


@dataclass
class Block:
    """One fenced code block of a page, with the directives written just before it."""

    page: Path
    line: int
    language: str
    text: str
    directives: dict[str, list[str]] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def directive(self, key: str) -> str | None:
        values = self.directives.get(key)
        return values[-1] if values else None


def read_directives(comment: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw in comment.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        key, _, value = line.partition(":")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def blocks_of(page: Path, text: str | None = None) -> list[Block]:
    """The fenced blocks of ``page`` (or of ``text``, read as that page)."""
    lines = (text if text is not None else page.read_text(encoding="utf-8")).splitlines()
    blocks, index = [], 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        # The directive comment ends on the last non-blank line before the fence.
        before = index - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        directives: dict[str, list[str]] = {}
        if before >= 0 and lines[before].rstrip().endswith("-->"):
            start = before
            while start > 0 and "<!--" not in lines[start]:
                start -= 1
            found = DIRECTIVE.search("\n".join(lines[start:before + 1]))
            if found:
                directives = read_directives(found.group(1))
        blocks.append(Block(page, index + 1, match.group(1), "\n".join(lines[index + 1:end]),
                            directives))
        index = end + 1
    return blocks


def edited(block: Block) -> str:
    text = block.text
    for rule in block.directives.get("replace", []):
        old, sep, new = rule.partition(" => ")
        assert sep, f"{block.where}: replace directive needs 'OLD => NEW', got {rule!r}"
        assert old in text, f"{block.where}: replace directive's {old!r} is not in the block"
        text = text.replace(old, new)
    return text


def commands_of(block: Block) -> list[tuple[str, int | None]]:
    """``(command line, expected exit status or None)`` for each command of a block.

    Continuation lines are joined; placeholders are filled and the line is split into words
    only when it runs, so that ``runs/<interrupted run>`` names a run that exists by then.
    """
    lines = edited(block).splitlines()
    if block.language == "console":
        picked, expect_next = [], False
        for line in lines:
            if line.startswith("$ "):
                picked.append(line[2:])
                expect_next = line.rstrip().endswith("\\")
            elif expect_next:
                picked.append(line)
                expect_next = line.rstrip().endswith("\\")
            elif picked and picked[-1].strip() == "echo $?" and line.strip().isdigit():
                picked[-1] = f"#exit {line.strip()}"
        lines = picked
    commands: list[tuple[str, int | None]] = []
    buffer = ""
    for line in lines:
        if line.startswith("#exit "):
            commands[-1] = (commands[-1][0], int(line.split()[1]))
            continue
        buffer = f"{buffer}\n{line}" if buffer else line
        if buffer.endswith("\\"):
            buffer = buffer[:-1]
            continue
        try:
            words = shlex.split(buffer, comments=True)
        except ValueError:  # an open quotation: the command goes on on the next line
            continue
        if words:
            commands.append((buffer, None))
        buffer = ""
    assert not buffer, f"{block.where}: unterminated command {buffer!r}"
    return commands


def split_words(line: str) -> list[list[str]]:
    """The words of each command of ``line`` (``a && b`` is two commands)."""
    words, found = shlex.split(line, comments=True), []
    while "&&" in words:
        cut = words.index("&&")
        found.append(words[:cut])
        words = words[cut + 1:]
    return [*found, words] if words else found


# ---------------------------------------------------------------------------------------
# The working directory of one page


def seed_files(workdir: Path) -> None:
    """The small files the pages name (real/synthetic tables, a corpus, the digits)."""
    from genloop.data.digits import real_digits

    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 3))
    pd.DataFrame(real, columns=["a", "b", "c"]).to_csv(workdir / "real.csv", index=False)
    pd.DataFrame(0.6 * rng.normal(size=(400, 3)), columns=["a", "b", "c"]).to_csv(
        workdir / "synthetic.csv", index=False)
    pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"]).to_csv(
        workdir / "heldout.csv", index=False)
    pd.DataFrame({"x": rng.normal(10.0, 3.0, 600), "y": rng.normal(0.0, 900.0, 600)}).to_csv(
        workdir / "mine.csv", index=False)
    pd.DataFrame({"x": rng.normal(size=800), "y": rng.exponential(size=800)}).to_parquet(
        workdir / "my_data.parquet")
    words = "the king and the queen of the land went to see a play about the sea".split()
    sentences = [" ".join(rng.choice(words, size=12)) + "." for _ in range(6000)]
    (workdir / "corpus.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    x, y = real_digits()
    frame = pd.DataFrame(x, columns=[f"p{i}" for i in range(x.shape[1])])
    frame["digit"] = y
    frame.to_csv(workdir / "digits.csv", index=False)
    np.save(workdir / "samples.npy", x[:300] + rng.normal(0, 0.5, size=x[:300].shape))


class Page:
    """Runs the blocks of one page, in order, in its own working directory."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.namespace: dict = {"__name__": "__doc_example__"}
        self.cli = CliRunner()

    # -- placeholders ------------------------------------------------------------------
    def entries(self) -> list[Path]:
        from genloop.store.catalog import list_runs

        runs = list_runs(self.workdir / "runs")
        return [Path(p) for p in runs["path"]]

    def newest(self, prefix: str = "") -> str:
        for path in self.entries():
            if path.name.startswith(prefix):
                return str(path.relative_to(self.workdir))
        raise AssertionError(f"no run under runs/ starts with {prefix!r} for a placeholder")

    def sample_id(self, command: str) -> str:
        """A sample of generation 1 of the newest run with a ledger (of the unit that
        ``--variant``/``--seed`` in ``command`` name, if they do)."""
        from genloop.provenance.ledger import load_ledger, unit_dirs

        named = re.search(r"--variant (\S+)", command), re.search(r"--seed (\d+)", command)
        for path in self.entries():
            for variant, seed in unit_dirs(path):
                if (named[0] and variant != named[0].group(1)) or \
                        (named[1] and seed != int(named[1].group(1))):
                    continue
                frame = load_ledger(path, variant, seed)
                pooled = frame[frame["in_pool"] & (frame["generation"] == 1)]
                return str(pooled["sample_id"].iloc[0])
        raise AssertionError("the placeholder ID needs a run with a ledger before it")

    def fill(self, text: str) -> str:
        text = re.sub(r"runs/([\w.%+=,-]*?)(?:<[^>\s]*(?: [^>\s]+)*>|\.\.\.)",
                      lambda m: self.newest(m.group(1)), text)
        if re.search(r"\bRUN_[AB]\b", text):
            entries = [str(p.relative_to(self.workdir)) for p in self.entries()]
            assert len(entries) >= 2, "RUN_A/RUN_B need two runs before them"
            text = re.sub(r"\bRUN_A\b", entries[1], text)
            text = re.sub(r"\bRUN_B\b", entries[0], text)
        if re.search(r"\bRUN(_DIR)?\b", text):
            text = re.sub(r"\bRUN(_DIR)?\b", self.newest(), text)
        if "SHA256" in text:  # the run-manifest hash `genloop run` prints at its end
            from genloop.provenance.manifest import file_sha256, run_manifest_path

            text = text.replace("SHA256", file_sha256(run_manifest_path(self.workdir /
                                                                        self.newest())))
        if re.search(r"(?<![\w-])ID\b", text):
            text = re.sub(r"(?<![\w-])ID\b", self.sample_id(text), text)
        return text

    # -- running -------------------------------------------------------------------------
    def run_block(self, block: Block) -> None:
        if block.directive("skip") is not None:
            return
        if block.language in ("bash", "console"):
            expected = block.directive("exit")
            for line, status in commands_of(block):
                want = status if status is not None else int(expected or 0)
                filled = self.fill(line)
                for argv in split_words(filled):
                    if argv[0] not in ("genloop", "python", "pip", "pytest"):
                        # a shell line (printf | dd ...): the shell runs it as written
                        argv = ["bash", "-c", filled]
                    self.run_command(block, argv, want, quick=block.directive("full") is None)
        elif block.language == "python":
            code = self.fill(edited(block))
            started = time.perf_counter()
            exec(compile(code, block.where, "exec"), self.namespace)
            print(f"{time.perf_counter() - started:7.1f} s  {block.where}  (python)")
        elif block.language == "yaml":
            self.check_yaml(block)
        elif block.language == "sql":
            self.run_command(block, ["genloop", "query", self.fill(edited(block))], 0,
                             quick=False)

    def run_command(self, block: Block, argv: list[str], want: int, quick: bool) -> None:
        started = time.perf_counter()
        try:
            self._run_command(block, argv, want, quick)
        finally:  # shown with -s: where a page's time goes
            print(f"{time.perf_counter() - started:7.1f} s  {block.where}  {shlex.join(argv)[:90]}")

    def _run_command(self, block: Block, argv: list[str], want: int, quick: bool) -> None:
        shown = f"{block.where}: `{shlex.join(argv)}`"
        program = argv[0]
        if program == "pip":
            return  # installing is CI's job (.ci/run); the test runs on the installed tree
        if program == "pytest" or argv[:3] == ["python", "-m", "pytest"]:
            for word in argv:
                if word.startswith("tests/"):
                    assert (ROOT / word).exists(), f"{shown}: {word} does not exist"
            return
        if program == "genloop":
            from genloop.cli import app

            args = argv[1:]
            if quick and args and args[0] in QUICK_COMMANDS and "--quick" not in args \
                    and "--resume" not in args:
                args.append("--quick")
            result = self.cli.invoke(app, args)
            status, output = result.exit_code, result.output
        else:
            if program == "python":
                # the shell would expand globs (runs/seekfull/*/); do it here
                argv = [sys.executable, *[expanded for word in argv[1:]
                                          for expanded in self.glob(word)]]
                if len(argv) > 1 and argv[1].startswith("benchmarks/"):
                    argv[1] = str(ROOT / argv[1])
                    if quick:
                        argv.append("--quick")
            # python, or ["bash", "-c", line] for a shell line
            done = subprocess.run(argv, cwd=self.workdir, capture_output=True, text=True,
                                  timeout=600)
            status, output = done.returncode, done.stdout + done.stderr
        assert status == want, (
            f"{shown} exited {status}, the page says {want}:\n{output[-3000:]}")

    def glob(self, word: str) -> list[str]:
        if "*" not in word:
            return [word]
        found = sorted(str(p.relative_to(self.workdir)) for p in self.workdir.glob(word))
        assert found, f"{word} matches nothing"
        return found

    def check_yaml(self, block: Block) -> None:
        from genloop.core.config import resolve

        text = edited(block)
        fragments = text.splitlines() if block.directive("each-line") is not None else [text]
        for fragment in fragments:
            if not fragment.strip() or fragment.lstrip().startswith("#"):
                continue
            raw = yaml.safe_load(fragment)
            assert isinstance(raw, dict), f"{block.where}: not a YAML mapping"
            base = block.directive("recipe")
            if "name" in raw and base is None:
                resolve(raw)
            else:
                assert base, (f"{block.where}: a yaml fragment needs a `recipe:` directive "
                              "naming the recipe it overrides")
                resolve(base, overrides=raw)


# ---------------------------------------------------------------------------------------
# The tests


def all_blocks() -> list[Block]:
    return [block for page in PAGES for block in blocks_of(page)]


def test_every_block_says_what_it_is():
    untagged = [f"{b.where} [{b.language or 'no language'}]" for b in all_blocks()
                if b.language not in LANGUAGES]
    assert not untagged, ("tag these blocks with one of "
                          f"{sorted(LANGUAGES)}: " + ", ".join(untagged))


def test_text_blocks_hold_no_commands():
    hidden = [b.where for b in all_blocks() if b.language == "text"
              and any(line.startswith(("$ ", "genloop ")) for line in b.text.splitlines())]
    assert not hidden, "commands in ```text blocks are not run; use console: " + ", ".join(hidden)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_blocks_run(page, tmp_path, monkeypatch):
    import copy

    from genloop.collapse.fast import simulator
    from genloop.core import registry

    blocks = blocks_of(page)
    if not any(b.language in ("bash", "console", "python", "yaml", "sql") for b in blocks):
        pytest.skip(f"{page.name} has no runnable block")
    seed_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    saved = copy.deepcopy(registry._KINDS)
    saved_simulators = list(simulator._SIMULATORS)
    runner = Page(tmp_path)
    try:
        for block in blocks:
            runner.run_block(block)
    finally:  # a page's example may register components; they must not leak
        for kind, table in saved.items():
            registry._KINDS[kind].clear()
            registry._KINDS[kind].update(table)
        simulator._SIMULATORS[:] = saved_simulators


BROKEN_PAGE = """
```bash
genloop recipes
genloop run nature-gausian --quick
```
"""


def test_a_broken_example_fails(tmp_path, monkeypatch):
    """The runner is not a rubber stamp: a misspelt recipe in a block fails the page."""
    monkeypatch.chdir(tmp_path)
    (block,) = blocks_of(ROOT / "README.md", BROKEN_PAGE)
    assert block.language == "bash"
    with pytest.raises(AssertionError, match="nature-gausian.*exited 2"):
        Page(tmp_path).run_block(block)


def test_directives_and_transcripts_are_read():
    page = """
<!-- doc-test
replace: 0..999 => 0..1
exit: 1
-->
```console
$ genloop run nature-gaussian --seeds 0..999 \\
      --variant mle
  some output
$ genloop ledger verify runs/x
$ echo $?
1
```
"""
    (block,) = blocks_of(ROOT / "README.md", page)
    assert block.directive("exit") == "1"
    assert [(split_words(line), status) for line, status in commands_of(block)] == [
        ([["genloop", "run", "nature-gaussian", "--seeds", "0..1", "--variant", "mle"]], None),
        ([["genloop", "ledger", "verify", "runs/x"]], 1),
    ]
    assert split_words("pip install -e . && genloop demo  # a comment") == [
        ["pip", "install", "-e", "."], ["genloop", "demo"]]
