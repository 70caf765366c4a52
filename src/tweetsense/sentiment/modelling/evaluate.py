"""Measures any analyzer on labelled tweets: recall, accuracy, F1, calibration and speed.

Comprehend-shaped scores become three labels as follows: the label itself, except that MIXED
counts as whichever of POSITIVE and NEGATIVE scores higher. Three-label probabilities for the
calibration error are negative, neutral and positive divided by their sum (``1 - mixed``); for the
linear models and VADER this gives back exactly their own three-label probabilities.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from tweetsense.sentiment.base import Analyzer, Score
from tweetsense.sentiment.modelling.dataset import Labelled
from tweetsense.sentiment.modelling.fit_linear import label_ids
from tweetsense.sentiment.modelling.metrics import Report, expected_calibration_error, report
from tweetsense.sentiment.scores import CLASSES as LABELS

_THREE = {"NEGATIVE": 0, "NEUTRAL": 1, "POSITIVE": 2}


def three_label(score: Score) -> int:
    if score.label == "MIXED":
        return 2 if score.positive >= score.negative else 0
    return _THREE[score.label]


def three_proba(scores: list[Score]) -> np.ndarray:
    three = np.array([(s.negative, s.neutral, s.positive) for s in scores], dtype=np.float64)
    three = three.reshape(-1, 3)
    total = three.sum(axis=1, keepdims=True)
    # A text scored fully MIXED says nothing about the three labels.
    return np.divide(three, total, out=np.full_like(three, 1 / 3), where=total > 0)


@dataclass(frozen=True)
class Evaluation:
    analyzer: str
    report: Report
    ece: float
    seconds: float  # CPU time of this process: other load on a shared machine does not count
    wall_seconds: float

    @property
    def tweets_per_second(self) -> float:
        return self.report.n / self.seconds if self.seconds > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "analyzer": self.analyzer,
            "n": r.n,
            "macro_recall": round(r.macro_recall, 4),
            "accuracy": round(r.accuracy, 4),
            "macro_f1": round(r.macro_f1, 4),
            "recall": {
                label: round(float(v), 4) for label, v in zip(LABELS, r.recall, strict=True)
            },
            "ece": round(self.ece, 4),
            "tweets_per_second": round(self.tweets_per_second, 1),
            "wall_tweets_per_second": round(self.report.n / max(self.wall_seconds, 1e-9), 1),
            "labels": list(LABELS),
            "confusion": r.confusion.tolist(),
        }


def evaluate(analyzer: Analyzer, name: str, data: Labelled, batch_size: int = 2000) -> Evaluation:
    """Scores ``data`` in batches on this process (one core) and compares with its labels.

    Speed is tweets per second of this process's CPU time, so it reads the same on a busy
    machine; for a local analyzer that is the rate on one core. For a remote one (an HTTP or
    cloud endpoint) the wall-clock rate is the one that matters; both are reported.
    """
    scores: list[Score] = []
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(0, len(data.texts), batch_size):
        scores.extend(analyzer.analyze(data.texts[i : i + batch_size]))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    y_true = label_ids(data.labels)
    y_pred = np.array([three_label(s) for s in scores], dtype=np.int64)
    ece = expected_calibration_error(three_proba(scores), y_true)
    return Evaluation(name, report(y_true, y_pred), ece, cpu, wall)
