"""`tweetsense train`: fit on most of a user's tweets, calibrate and measure on the rest, save."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tweetsense.sentiment.modelling.dataset import Labelled
from tweetsense.sentiment.modelling.fit_linear import DEFAULT_C, calibrate, fit, label_ids
from tweetsense.sentiment.modelling.metrics import expected_calibration_error, report

if TYPE_CHECKING:
    from tweetsense.sentiment.modelling.finetune import Progress, Recipe

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


def train_linear(data: Labelled, out: Path, c: float = DEFAULT_C) -> dict[str, Any]:
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


def train_transformer(
    data: Labelled,
    out: Path,
    base: str,
    recipe: Recipe,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fine-tunes ``base`` on most of ``data``, calibrates on the rest, writes ``out``.

    Checkpoints live in ``out/_checkpoint`` while training: the same command after a stop resumes
    there; they are removed once the model is written. A run that reaches ``max_minutes``
    exports what it has learnt so far.
    """
    from tweetsense.sentiment.modelling.finetune import finetune, package, resolve_base

    folder = resolve_base(base)
    y = label_ids(data.labels)
    if len(data.texts) < MIN_FOR_HOLDOUT:
        train_rows, held_rows = np.arange(len(y)), np.zeros(0, dtype=np.int64)
    else:
        train_rows, held_rows = split(y, HOLDOUT)
    work = out / "_checkpoint"
    model, finished = finetune(
        folder,
        [data.texts[i] for i in train_rows],
        y[train_rows].tolist(),
        work,
        recipe,
        progress,
    )
    calibration = (
        ([data.texts[i] for i in held_rows], y[held_rows].tolist()) if len(held_rows) else None
    )
    facts = package(
        model,
        folder,
        out,
        recipe,
        calibration,
        {"base": base, "train_size": len(train_rows), "holdout_size": len(held_rows)},
    )
    if finished:
        shutil.rmtree(work, ignore_errors=True)
    return {
        **facts,
        "finished": finished,
        "holdout_macro_recall": facts.get("calibration_macro_recall"),
        "holdout_ece": facts.get("calibration_ece"),
    }
