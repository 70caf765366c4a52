"""Fits the linear tweet model with scikit-learn (the `train` extra) and calibrates it.

Class-balanced logistic regression on binary TF-IDF n-grams (the matrix is built with the
runtime's own encoder); a single temperature fitted by
minimising log-loss on held-out tweets makes the probabilities calibrated without moving any
decision (dividing logits by a positive number keeps the argmax).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from tweetsense.errors import ConfigError
from tweetsense.sentiment.features import char_hashes, normalize, word_grams
from tweetsense.sentiment.linear import LinearModel, Vocabulary
from tweetsense.sentiment.scores import CLASSES as LABELS
from tweetsense.sentiment.scores import softmax

DEFAULT_C = 2.0
MIN_DF = 2
CHUNK = 5000


def _sklearn() -> Any:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ConfigError(
            "training needs scikit-learn; run: pip install 'tweetsense[train]'"
        ) from None


def label_ids(labels: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(LABELS)}
    return np.array([index[label] for label in labels], dtype=np.int64)


def build_vocabulary(texts: Sequence[str], min_df: int) -> tuple[Vocabulary, np.ndarray]:
    """The n-grams found in at least ``min_df`` texts, and their smoothed idf."""
    word_df: Counter[str] = Counter()
    hash_parts = []
    for start in range(0, len(texts), CHUNK):
        normalized = [normalize(t) for t in texts[start : start + CHUNK]]
        for n in normalized:
            word_df.update(word_grams(*n))
        doc, hashes = char_hashes([n[0] for n in normalized])
        pairs = np.unique(np.stack([doc.astype(np.uint64), hashes], axis=1), axis=0)
        hash_parts.append(pairs[:, 1])
    hashes, counts = np.unique(np.concatenate(hash_parts), return_counts=True)
    words = sorted(w for w, df in word_df.items() if df >= min_df)
    keep = counts >= min_df
    vocabulary = Vocabulary(words, hashes[keep])
    df = np.concatenate([np.array([word_df[w] for w in words], dtype=np.float64), counts[keep]])
    # scikit-learn's smoothed idf: ln((1 + n) / (1 + df)) + 1.
    idf = np.log((1 + len(texts)) / (1 + df)) + 1
    return vocabulary, idf.astype(np.float32)


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    c: float = DEFAULT_C,
    min_df: int = MIN_DF,
    soft: np.ndarray | None = None,
) -> LinearModel:
    """An uncalibrated model (temperature 1) trained on ``texts``.

    With ``soft`` (one row of negative/neutral/positive probabilities per text, from a teacher
    model) the model learns those distributions instead of ``labels``: each text counts once per
    label, weighted by its probability and by the class balance.
    """
    _sklearn()
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    y = label_ids(labels)
    if len(set(y.tolist())) < 2:
        raise ConfigError("training data: needs tweets of at least two labels")
    # On a small data set every n-gram may be rare; keep them rather than have no features.
    vocabulary, idf = build_vocabulary(texts, min(min_df, max(1, len(texts) // 50)))
    empty = np.zeros((len(vocabulary), 3), dtype=np.float32)
    featurizer = LinearModel(vocabulary, idf, empty, np.zeros(3, dtype=np.float32))
    rows, cols, vals = [], [], []
    for start in range(0, len(texts), CHUNK):
        doc, ids, values = featurizer.features(texts[start : start + CHUNK])
        rows.append(doc + start)
        cols.append(ids)
        vals.append(values)
    x = csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(texts), len(vocabulary)),
        dtype=np.float64,
    )
    if soft is None:
        clf = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, tol=1e-4)
        clf.fit(x, y)
    else:
        from scipy.sparse import vstack

        mass = soft.sum(axis=0)
        balance = len(texts) / (3 * np.maximum(mass, 1e-9))
        # Near-zero shares add rows but no signal.
        rows_of = [np.flatnonzero(soft[:, k] >= 0.02) for k in range(3)]
        x = vstack([x[r] for r in rows_of]).tocsr()
        y = np.concatenate([np.full(len(r), k) for k, r in enumerate(rows_of)])
        weight = np.concatenate([soft[r, k] * balance[k] for k, r in enumerate(rows_of)])
        clf = LogisticRegression(C=c, max_iter=2000, tol=1e-4)
        clf.fit(x, y, sample_weight=weight)
    coef = np.zeros((len(vocabulary), 3), dtype=np.float32)
    # A class absent from the training labels keeps zero weights and a very low bias.
    intercept = np.full(3, -30.0, dtype=np.float32)
    classes = list(clf.classes_)
    if len(classes) == 2:
        # Binary logistic regression: the first class is the zero-logit reference.
        intercept[classes[0]] = 0.0
        coef[:, classes[1]] = clf.coef_[0]
        intercept[classes[1]] = clf.intercept_[0]
    else:
        for j, cls in enumerate(classes):
            coef[:, cls] = clf.coef_[j]
            intercept[cls] = clf.intercept_[j]
    info = {"c": c, "min_df": min_df, "train_size": len(texts), "features": len(vocabulary)}
    return LinearModel(vocabulary, idf, coef, intercept, 1.0, info)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising log-loss of softmax(logits / T), by golden-section search."""

    def nll(t: float) -> float:
        p = softmax(logits / t)
        return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))

    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a = hi - ratio * (hi - lo)
        b = lo + ratio * (hi - lo)
        if nll(np.exp(a)) < nll(np.exp(b)):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def calibrate(model: LinearModel, texts: Sequence[str], labels: Sequence[str]) -> LinearModel:
    model.temperature = 1.0
    model.temperature = fit_temperature(model.logits(texts), label_ids(labels))
    return model
