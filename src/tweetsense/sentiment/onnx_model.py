"""A transformer classifier run with onnxruntime and tokenizers alone (no torch).

A model folder holds ``model.onnx`` (logits for negative, neutral, positive, or the labels that
``model.json`` names), ``tokenizer.json`` and ``model.json`` (format, labels, temperature,
maximum length, training facts). Texts are sorted by length and run in batches padded only to
the longest text of each batch, so short posts cost what short posts should.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tweetsense.errors import BadInputError
from tweetsense.sentiment.scores import softmax
from tweetsense.sentiment.tweet_text import normalize

FORMAT = "tweetsense.onnx-classifier/1"
META_FILE = "model.json"
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
# Padding waste stays small when a batch holds posts of similar length; 64 keeps it cache-sized.
BATCH = 64
# Dynamic int8 quantisation scales each matrix product's input by its largest value, so a post's
# scores would depend on the posts batched with it (and on their padding): such models score
# one post per run, which costs about a sixth of the speed and makes every score reproducible.
PER_POST = "int8-dynamic"


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread per worker process: the consume stage runs one process per core.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInputError(
            f"{path}: not a loadable ONNX model ({first[:160]}); reinstall or re-export it"
        ) from None


def _tokenizer(path: Path, max_length: int) -> Any:
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for a malformed file
        raise BadInputError(
            f"{path}: not a tokenizer file ({str(exc)[:120]}); reinstall or re-export the model"
        ) from None
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def read_json(path: Path) -> dict[str, Any]:
    """A model folder's JSON object; a missing or broken file is one line naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"{path}: missing; the model folder is incomplete") from None
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInputError(f"{path}: not readable JSON ({first[:160]})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a JSON object")
    return data


def read_meta(directory: Path) -> dict[str, Any]:
    return read_json(directory / META_FILE)


@dataclass
class OnnxClassifier:
    """Texts in, probabilities out (columns in ``labels`` order)."""

    session: Any
    tokenizer: Any
    labels: list[str]
    temperature: float = 1.0
    prepare: Callable[[str], str] = normalize
    info: dict[str, Any] = field(default_factory=dict)
    batch: int = BATCH
    _inputs: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self._inputs = [i.name for i in self.session.get_inputs()]

    @classmethod
    def load(cls, directory: Path, threads: int = 1) -> OnnxClassifier:
        meta = read_meta(directory)
        if meta.get("format") != FORMAT:
            raise BadInputError(
                f"{directory / META_FILE}: format {meta.get('format')!r} is not {FORMAT!r}"
            )
        for name in (ONNX_FILE, TOKENIZER_FILE):
            if not (directory / name).is_file():
                raise BadInputError(f"{directory / name}: missing; the model folder is incomplete")
        try:
            labels = [str(x) for x in meta["labels"]]
            temperature = float(meta.get("temperature", 1.0))
            max_length = int(meta.get("max_length", 128))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInputError(f"{directory / META_FILE}: bad field {exc}") from None
        return cls(
            _session(directory / ONNX_FILE, threads),
            _tokenizer(directory / TOKENIZER_FILE, max_length),
            labels,
            temperature,
            info=meta,
            batch=1 if meta.get("quantization") == PER_POST else BATCH,
        )

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        encoded = [e.ids for e in self.tokenizer.encode_batch([self.prepare(t) for t in texts])]
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        out = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), self.batch):
            rows = order[start : start + self.batch]
            width = max(len(encoded[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : len(encoded[i])] = encoded[i]
                mask[r, : len(encoded[i])] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            (result,) = self.session.run(None, {k: feed[k] for k in self._inputs})[:1]
            out[rows] = result
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.logits(texts).astype(np.float64) / self.temperature)
