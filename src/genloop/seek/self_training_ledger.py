"""The provenance ledger of a self-training run: every answer, who wrote it, who let it in.

One Parquet file per seed, ``ledger.parquet`` in the seed's artifact directory, one row
per labelled seed example and per candidate answer of every round. The columns the
collapse ledger also has (:mod:`genloop.provenance.ledger`) mean the same here:

``sample_id``
    ``seed/p<j>`` for seed examples, ``r<round>/p<j>/a<i>`` for answer ``i`` to problem
    ``j`` of a round.
``generation``
    The round whose pool the row is a candidate for (0: the seed set).
``origin``
    ``real`` for true labels (seed set, ``oracle`` admission), ``gen:<k>`` for an answer
    written by the model trained through round ``k``.
``model_id``
    ``<variant>/seed<s>/gen<k>`` for model answers, ``""`` for true labels.
``parent_id``
    The problem the row answers (``r<round>/p<j>``; ``""`` for seed examples).
``content_hash``
    :func:`genloop.provenance.hashing.content_hashes` of the problem and answer tokens.
``in_pool``
    Whether the row was admitted into the training pool of its round.
``filter.<name>``
    Per admission filter: ``""`` kept, the reason it dropped the row, ``"-"`` not seen.

and self-training adds ``correct`` (ground truth, never shown to the admission rule
except through the verifier), ``confidence`` (the learner's probability of the answer;
NaN for true labels), ``digits`` (operand length), ``problem`` and ``answer`` (readable,
most significant digit first).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genloop.provenance.ledger import NOT_SEEN

LEDGER_FILE = "ledger.parquet"
_DIGIT_CHARS = "0123456789abcdef"


def _number(tokens: np.ndarray) -> str:
    """A least-significant-first digit slot (``PAD`` above the number) as a string."""
    from genloop.seek.tasks import MAX_BASE

    digits = [int(t) for t in tokens if 0 <= t < MAX_BASE]
    return "".join(_DIGIT_CHARS[d] for d in reversed(digits)) or "?"


def describe_problems(inputs: np.ndarray) -> np.ndarray:
    """Readable ``a op b`` of arithmetic inputs (tasks layout): object array of shape (n,)."""
    from genloop.seek.tasks import OP_TOKENS

    ops = {token: op for op, token in OP_TOKENS.items()}
    width = (inputs.shape[1] - 3) // 2
    text = [
        f"{_number(row[1 : 1 + width])}{ops.get(int(row[1 + width]), '?')}"
        f"{_number(row[2 + width : 2 + 2 * width])}"
        for row in inputs
    ]
    return np.array(text, dtype=object)


def describe_answers(answers: np.ndarray) -> np.ndarray:
    """Readable answers (most significant digit first): object array of shape (n,)."""
    return np.array([_number(row) for row in answers], dtype=object)


class SelfTrainingLedger:
    """Collects one seed's ledger rows round by round and writes them as Parquet.

    Parameters
    ----------
    path : Path
        The Parquet file to (re)write.
    variant : str
        The recipe variant, for model ids.
    seed : int
        The run seed, for model ids.
    filter_names : list of str
        The admission filters, one ``filter.<name>`` column each.
    """

    def __init__(self, path: Path, variant: str, seed: int, filter_names=()):
        self.path = Path(path)
        self.variant, self.seed = variant, int(seed)
        self.filter_names = list(filter_names)
        self._parts: list[dict] = []

    def add(self, generation: int, ids, inputs, answers, *, model_round: int, parent_ids,
            in_pool, correct, confidence, verdicts=None) -> None:
        """Record one round's candidates (or the seed set, ``generation=0``).

        Parameters
        ----------
        generation : int
            The round whose pool these rows are candidates for.
        ids, parent_ids : sequence of str, shape (m,)
        inputs : ndarray of shape (m, input_len)
        answers : ndarray of shape (m, output_len)
        model_round : int
            The round through which the answering model was trained; ``-1`` for true labels.
        in_pool, correct : ndarray of bool, shape (m,)
        confidence : ndarray of float, shape (m,)
        verdicts : dict, optional
            Filter name → reasons of shape (m,) (:meth:`Pipeline.apply`).
        """
        from genloop.provenance.hashing import content_hashes
        from genloop.seek.self_training_problems import operand_digits

        m = len(ids)
        real = model_round < 0
        part = {
            "sample_id": np.asarray(ids, dtype=object),
            "generation": np.full(m, generation, dtype=np.int64),
            "origin": np.full(m, "real" if real else f"gen:{model_round}", dtype=object),
            "model_id": np.full(
                m, "" if real else f"{self.variant}/seed{self.seed}/gen{model_round}",
                dtype=object,
            ),
            "parent_id": np.asarray(parent_ids, dtype=object),
            "content_hash": content_hashes(np.concatenate([inputs, answers], axis=1)),
            "in_pool": np.asarray(in_pool, dtype=bool),
        }
        for name in self.filter_names:
            given = (verdicts or {}).get(name)
            part[f"filter.{name}"] = (
                np.full(m, NOT_SEEN, dtype=object) if given is None
                else np.asarray(given, dtype=object)
            )
        part |= {
            "correct": np.asarray(correct, dtype=bool),
            "confidence": np.asarray(confidence, dtype=np.float64),
            "digits": operand_digits(inputs).astype(np.int64),
            "problem": describe_problems(inputs),
            "answer": describe_answers(answers),
        }
        self._parts.append(part)

    def write(self) -> Path:
        """Write every row recorded so far (atomically) and return the path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from genloop.core.run_dir import atomic_write_with

        columns = {k: np.concatenate([p[k] for p in self._parts]) for k in self._parts[0]}
        table = pa.table({k: pa.array(v.tolist() if v.dtype == object else v)
                          for k, v in columns.items()})
        atomic_write_with(self.path, lambda tmp: pq.write_table(table, tmp, store_schema=False))
        return self.path
