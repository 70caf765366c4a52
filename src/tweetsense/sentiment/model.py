"""Analyzers backed by a linear tweet model: ``default`` (shipped in the package) and ``model``
(a directory written by ``tweetsense train``).

**MIXED rule.** The model gives calibrated probabilities for negative, neutral and positive.
``mixed = max(0, min(positive, negative) - neutral)``: the evidence both polar labels share beyond
what neutral gets, so it is 0 for most tweets. The other three are scaled by ``1 - mixed`` (their
order is kept) and the four sum to 1. The label is the largest of the four: MIXED when both polar
probabilities are high and neutral low (e.g. 0.47 / 0.45 / 0.08). If neutral is the most likely
label, ``min(positive, negative) <= neutral``, so mixed is 0: MIXED only ever replaces POSITIVE or
NEGATIVE, and mapping MIXED back to the larger polar score gives the model's three-label answer;
dividing the three by ``1 - mixed`` gives back the model's probabilities.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tweetsense.sentiment.base import Analyzer, Score
from tweetsense.sentiment.linear import META_FILE, LinearModel

if TYPE_CHECKING:
    from tweetsense.registry import Context

DEFAULT_MODEL = "models/default"


def default_model_dir() -> Path:
    return Path(str(files("tweetsense.sentiment").joinpath(DEFAULT_MODEL)))


@functools.lru_cache(maxsize=4)
def _load(directory: str, stamp: float) -> LinearModel:
    # ``stamp`` (the weights' mtime) makes a retrained model in the same folder load afresh.
    return LinearModel.load(Path(directory))


def load_model(directory: Path) -> LinearModel:
    directory = directory.resolve()
    try:
        stamp = (directory / "weights.npz").stat().st_mtime
    except OSError:
        stamp = 0.0
    return _load(str(directory), stamp)


def comprehend_scores(proba: np.ndarray) -> list[Score]:
    """Four-score shape from (negative, neutral, positive) rows; see the module's MIXED rule."""
    neg, neu, pos = proba[:, 0], proba[:, 1], proba[:, 2]
    mixed = np.maximum(0.0, np.minimum(pos, neg) - neu)
    keep = 1.0 - mixed
    # Columns in Comprehend's order: POSITIVE, NEGATIVE, NEUTRAL, MIXED.
    four = np.column_stack([pos * keep, neg * keep, neu * keep, mixed])
    four /= four.sum(axis=1, keepdims=True)
    winners = four.argmax(axis=1)
    names = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
    return [
        Score(names[w], float(p), float(n), float(u), float(x))
        for w, (p, n, u, x) in zip(winners.tolist(), four.tolist(), strict=True)
    ]


class LinearAnalyzer(Analyzer):
    """Scores with a :class:`LinearModel`; numpy only, one copy per core."""

    cpu_bound = True

    def __init__(self, model: LinearModel):
        self.model = model

    def analyze(self, texts: Sequence[str]) -> list[Score]:
        if not texts:
            return []
        return comprehend_scores(self.model.predict_proba(texts))


class DefaultAnalyzer(LinearAnalyzer):
    """The tweet model shipped in the package (see training/MODEL_CARD.md)."""

    name = "default"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def __init__(self, settings: DefaultAnalyzer.Settings, context: Context | None = None):
        super().__init__(load_model(default_model_dir()))


class ModelAnalyzer(LinearAnalyzer):
    """A model trained with ``tweetsense train --out DIR``."""

    name = "model"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        path: Path = Field(description="folder written by `tweetsense train --out`")

        @field_validator("path")
        @classmethod
        def _has_model(cls, value: Path) -> Path:
            if not (value / META_FILE).is_file():
                raise ValueError(
                    f"{value} holds no {META_FILE}; create it with "
                    f"`tweetsense train --data FILE.csv --out {value}`"
                )
            return value

    def __init__(self, settings: ModelAnalyzer.Settings, context: Context | None = None):
        super().__init__(load_model(settings.path))
