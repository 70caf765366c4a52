"""`tweetsense train`: fit on most of a user's tweets, calibrate and measure on the rest, save."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tweetsense.sentiment.dataset import Labelled
from tweetsense.sentiment.metrics import expected_calibration_error, report
from tweetsense.sentiment.training import DEFAULT_C, calibrate, fit, label_ids

HOLDOUT = 0.1
# Below this many tweets a held-out tenth is too small to fit a temperature on.
MIN_FOR_HOLDOUT = 50
SEED = 0


def split(y: np.ndarray, fraction: float, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, held-out) row indices; the same data always splits the same way."""
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        held.append(rows[: round(len(rows) * fraction)])
    holdout = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(y)), holdout), holdout


def train_and_save(data: Labelled, out: Path, c: float = DEFAULT_C) -> dict[str, Any]:
    y = label_ids(data.labels)
    texts = data.texts
    if len(texts) < MIN_FOR_HOLDOUT:
        model = fit(texts, data.labels, c=c)
        facts: dict[str, Any] = {
            "holdout_size": 0,
            "holdout_macro_recall": None,
            "holdout_ece": None,
        }
    else:
        train_rows, held_rows = split(y, HOLDOUT)
        model = fit([texts[i] for i in train_rows], [data.labels[i] for i in train_rows], c=c)
        held_texts = [texts[i] for i in held_rows]
        calibrate(model, held_texts, [data.labels[i] for i in held_rows])
        proba = model.predict_proba(held_texts)
        r = report(y[held_rows], proba.argmax(axis=1))
        facts = {
            "holdout_size": len(held_rows),
            "holdout_macro_recall": round(r.macro_recall, 4),
            "holdout_ece": round(expected_calibration_error(proba, y[held_rows]), 4),
        }
    model.info.update(facts)
    model.save(out)
    return {**model.info, "temperature": model.temperature}
