"""Analyzers whose model ships in the package or sits in a local folder, all run on this machine.

- ``default``: a fine-tuned MiniLM transformer, int8 ONNX, run with onnxruntime (most accurate
  local choice, about 500 posts/s on two cores);
- ``fast``: a TF-IDF + logistic regression model distilled from ``default``, numpy only
  (several thousand posts/s per core);
- ``model``: a folder written by ``tweetsense train`` (either kind).

Probabilities become Comprehend's four scores by the MIXED rule of :mod:`.scores`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tweetsense.sentiment import linear, onnx_model
from tweetsense.sentiment.base import Analyzer, Score
from tweetsense.sentiment.scores import comprehend_scores

if TYPE_CHECKING:
    from tweetsense.registry import Context

META_FILE = "model.json"


class Classifier(Protocol):
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


def shipped_model_dir(name: str) -> Path:
    return Path(str(files("tweetsense.sentiment").joinpath("models", name)))


def _stamp(directory: Path) -> float:
    # A retrained model in the same folder loads afresh: the newest file's mtime keys the cache.
    try:
        return max(p.stat().st_mtime for p in directory.iterdir())
    except (OSError, ValueError):
        return 0.0


@functools.lru_cache(maxsize=4)
def _load(directory: str, threads: int, stamp: float) -> Classifier:
    path = Path(directory)
    fmt = onnx_model.read_meta(path).get("format")
    if fmt == onnx_model.FORMAT:
        return onnx_model.OnnxClassifier.load(path, threads=threads)
    return linear.LinearModel.load(path)


def load_classifier(directory: Path, threads: int = 1) -> Classifier:
    directory = directory.resolve()
    return _load(str(directory), threads, _stamp(directory))


class LocalAnalyzer(Analyzer):
    """Scores with a local classifier; the consume stage runs one copy per core."""

    cpu_bound = True

    def __init__(self, model: Classifier):
        self.model = model

    def analyze(self, texts: Sequence[str]) -> list[Score]:
        if not texts:
            return []
        return comprehend_scores(self.model.predict_proba(texts))

    def check(self) -> str:
        if isinstance(self.model, onnx_model.OnnxClassifier):
            base = self.model.info.get("base", "a transformer")
            return f"ok: {self.name}: {base} fine-tuned, int8 ONNX on onnxruntime"
        return f"ok: {self.name}: linear model, numpy"


class _Threads(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threads: int = Field(
        1, ge=1, le=64, description="threads per process; consume runs one process per core"
    )


class DefaultAnalyzer(LocalAnalyzer):
    """The fine-tuned transformer shipped in the package (training/MODEL_CARD.md)."""

    name = "default"

    class Settings(_Threads):
        pass

    def __init__(self, settings: DefaultAnalyzer.Settings, context: Context | None = None):
        super().__init__(load_classifier(shipped_model_dir("default"), settings.threads))


class FastAnalyzer(LocalAnalyzer):
    """The linear model shipped in the package, distilled from ``default`` (numpy only)."""

    name = "fast"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def __init__(self, settings: FastAnalyzer.Settings, context: Context | None = None):
        super().__init__(load_classifier(shipped_model_dir("fast")))


class ModelAnalyzer(LocalAnalyzer):
    """A model trained with ``tweetsense train --out DIR`` (transformer or linear)."""

    name = "model"

    class Settings(_Threads):
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
        super().__init__(load_classifier(settings.path, settings.threads))
