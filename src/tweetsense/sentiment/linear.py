"""A TF-IDF + logistic regression model read from plain files and run with numpy alone.

A model directory holds ``model.json`` (format, labels, temperature, vocabulary, training facts)
and ``weights.npz`` (``idf``, ``coef``, ``intercept``: plain float arrays, read with
``allow_pickle=False``), so loading one can never execute code. Features are the binary n-gram
sets of :mod:`tweetsense.sentiment.features`, weighted by idf and L2-normalised; training builds
its matrix with the same :meth:`Vocabulary.encode`, so scoring sees exactly what training saw.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tweetsense.errors import BadInputError
from tweetsense.sentiment.features import char_hashes, normalize, word_grams
from tweetsense.sentiment.scores import CLASSES, softmax

FORMAT = "tweetsense.linear/1"
META_FILE = "model.json"
WEIGHTS_FILE = "weights.npz"


@dataclass
class Vocabulary:
    """Word n-grams by string, character n-grams by 64-bit hash; word features come first."""

    words: list[str]
    char_hashes: np.ndarray  # sorted uint64
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {g: i for i, g in enumerate(self.words)}
        self.char_hashes = np.asarray(self.char_hashes, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.words) + len(self.char_hashes)

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (document, feature) pairs of the known features of ``texts``, sorted."""
        normalized = [normalize(t) for t in texts]
        get = self._index.get
        word_ids = [[i for i in map(get, word_grams(*n)) if i is not None] for n in normalized]
        lengths = np.fromiter(map(len, word_ids), dtype=np.int64, count=len(texts))
        w_ids = np.fromiter(
            (i for ids in word_ids for i in ids), dtype=np.int64, count=int(lengths.sum())
        )
        w_doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        c_doc, hashes = char_hashes([n[0] for n in normalized])
        known = self.char_hashes
        if len(known):
            pos = np.searchsorted(known, hashes)
            pos[pos == len(known)] = 0
            hit = known[pos] == hashes
            c_ids, c_doc = pos[hit] + len(self.words), c_doc[hit]
        else:
            c_ids, c_doc = np.zeros(0, np.int64), np.zeros(0, np.int64)
        width = max(len(self), 1)
        keys = np.concatenate([w_doc, c_doc]) * width + np.concatenate([w_ids, c_ids])
        # Sorting and dropping repeats beats np.unique, whose hash table is slower here.
        keys.sort()
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys
        return keys // width, keys % width


@dataclass
class LinearModel:
    vocabulary: Vocabulary
    idf: np.ndarray  # (F,) float32
    coef: np.ndarray  # (F, 3) float32, columns in CLASSES order
    intercept: np.ndarray  # (3,) float32
    temperature: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.vocabulary)
        if self.idf.shape != (n,) or self.coef.shape != (n, 3) or self.intercept.shape != (3,):
            raise ValueError("weights do not match the vocabulary")

    def features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(document, feature, value) of the L2-normalised binary TF-IDF rows of ``texts``."""
        doc, ids = self.vocabulary.encode(texts)
        values = self.idf[ids].astype(np.float64)
        norms = np.sqrt(np.bincount(doc, weights=values * values, minlength=len(texts)))
        norms[norms == 0] = 1.0
        return doc, ids, values / norms[doc]

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated logits, shape (len(texts), 3)."""
        n_docs = len(texts)
        if n_docs == 0:
            return np.zeros((0, 3), dtype=np.float64)
        doc, ids, values = self.features(texts)
        contrib = self.coef[ids] * values[:, None]
        out = np.empty((n_docs, 3), dtype=np.float64)
        for c in range(3):
            out[:, c] = np.bincount(doc, weights=contrib[:, c], minlength=n_docs)
        return (out + self.intercept) / self.temperature

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities over CLASSES (negative, neutral, positive), rows summing to 1."""
        return softmax(self.logits(texts))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "labels": list(CLASSES),
            "temperature": self.temperature,
            "info": self.info,
            "words": self.vocabulary.words,
        }
        (directory / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez_compressed(
            directory / WEIGHTS_FILE,
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
            char_hashes=self.vocabulary.char_hashes,
        )

    @classmethod
    def load(cls, directory: Path) -> LinearModel:
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise BadInputError(
                f"{directory}: not a model directory (needs {META_FILE} and {WEIGHTS_FILE}); "
                "create one with `tweetsense train --data FILE.csv --out DIR`"
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            with np.load(weights_path, allow_pickle=False) as w:
                idf, coef, intercept = w["idf"], w["coef"], w["intercept"]
                hashes = w["char_hashes"]
        except (OSError, ValueError, KeyError) as exc:
            raise BadInputError(f"{directory}: model files are unreadable ({exc})") from None
        if meta.get("format") != FORMAT or tuple(meta.get("labels", ())) != CLASSES:
            raise BadInputError(
                f"{meta_path}: format {meta.get('format')!r} is not {FORMAT!r}; "
                "train the model again with this version of tweetsense"
            )
        try:
            vocabulary = Vocabulary(meta["words"], hashes)
            return cls(vocabulary, idf, coef, intercept, float(meta["temperature"]), meta["info"])
        except (KeyError, ValueError) as exc:
            raise BadInputError(f"{directory}: model files do not match ({exc})") from None
