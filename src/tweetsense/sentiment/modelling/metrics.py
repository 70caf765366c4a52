"""Classification figures for three-label sentiment: recall, F1, confusion matrix, calibration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tweetsense.sentiment.scores import CLASSES as LABELS


@dataclass(frozen=True)
class Report:
    n: int
    confusion: np.ndarray  # rows: true label, columns: predicted label, in LABELS order

    @property
    def recall(self) -> np.ndarray:
        support = self.confusion.sum(axis=1)
        return np.divide(np.diag(self.confusion), support, out=np.zeros(3), where=support > 0)

    @property
    def precision(self) -> np.ndarray:
        predicted = self.confusion.sum(axis=0)
        return np.divide(np.diag(self.confusion), predicted, out=np.zeros(3), where=predicted > 0)

    @property
    def f1(self) -> np.ndarray:
        p, r = self.precision, self.recall
        return np.divide(2 * p * r, p + r, out=np.zeros(3), where=(p + r) > 0)

    @property
    def macro_recall(self) -> float:
        # Averaged over the labels present, as scikit-learn does for recall of absent classes.
        present = self.confusion.sum(axis=1) > 0
        return float(self.recall[present].mean()) if present.any() else 0.0

    @property
    def macro_f1(self) -> float:
        return float(self.f1.mean())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.n) if self.n else 0.0


def report(y_true: np.ndarray, y_pred: np.ndarray) -> Report:
    confusion = np.zeros((3, 3), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    return Report(len(y_true), confusion)


def expected_calibration_error(proba: np.ndarray, y_true: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE: |accuracy - confidence| averaged over equal-width confidence bins."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_true
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


__all__ = ["LABELS", "Report", "expected_calibration_error", "report"]
