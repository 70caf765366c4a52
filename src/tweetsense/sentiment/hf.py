"""Any Hugging Face sequence-classification sentiment model, run on this machine.

``model`` is a hub name (``cardiffnlp/twitter-roberta-base-sentiment-latest``) or a local folder:

- a folder that already holds ``model.onnx`` (or ``onnx/model.onnx``), ``tokenizer.json`` and
  ``config.json`` runs with onnxruntime and tokenizers alone; a folder written by
  ``tweetsense train`` (``model.json`` of format ``tweetsense.onnx-classifier/1``) runs with its
  own text normalisation and temperature;
- anything else needs the ``transformers`` extra: the first load exports the model once to ONNX
  into ``cache_dir`` (written to a temporary folder and renamed, so a crash never leaves half a
  cache), and every later load, in any worker process, runs that export without torch. A model
  that does not export runs with torch instead.

The outputs are named by the model's ``id2label`` (or the ``labels`` setting when those are
``LABEL_0``, ``LABEL_1``...), put in (negative, neutral, positive) order and turned into
Comprehend's four scores by the MIXED rule of :mod:`.scores`. Texts get ``@user`` for mentions
and ``http`` for links, as the cardiffnlp Twitter models were trained.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tweetsense.errors import BadInputError, ConfigError
from tweetsense.sentiment.base import Analyzer, Score
from tweetsense.sentiment.onnx_model import (
    FORMAT,
    META_FILE,
    ONNX_FILE,
    TOKENIZER_FILE,
    OnnxClassifier,
    _session,
    _tokenizer,
    read_json,
)
from tweetsense.sentiment.scores import CLASSES, comprehend_scores, softmax
from tweetsense.sentiment.tweet_text import handles_and_links

if TYPE_CHECKING:
    from tweetsense.registry import Context

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
EXPORT_FILE = "export.json"
EXAMPLE = "cardiffnlp/twitter-roberta-base-sentiment-latest"
# Part of the cache key: a change to how models are exported must not reuse older exports.
EXPORT_VERSION = 1
OPSET = 17
# Sorted batches of similar length keep padding waste small, as in onnx_model.
BATCH = 64
# The exported graph must give torch's logits; float32 kernels differ far less than this.
EXPORT_TOLERANCE = 1e-3
_SAMPLE_TEXTS = ("The quick brown fox jumps over the lazy dog, @user says http", "ok")
_CHECK_TEXTS = ("what a day, I love it and hate it at once, really", "", "fine")
# Repository ids as the hub accepts them: "name" or "owner/name", no "--" or "..".
_HUB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")
_GENERIC_LABEL = re.compile(r"label_?\d+")
# Position ids of these models start after the padding index, so they take fewer tokens than
# ``max_position_embeddings`` says.
_OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "camembert", "bertweet", "xmod"})


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/tweetsense/onnx``, else ``~/.cache/tweetsense/onnx``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative path here.
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "tweetsense" / "onnx"


def sentiment_class(label: str) -> str | None:
    """'negative', 'neutral' or 'positive' for a label name such as 'NEG' or 'Negativo'."""
    name = label.strip().lower()
    for cls in CLASSES:
        if name.startswith(cls[:3]):
            return cls
    return None


def column_order(names: Sequence[str], model: str, from_setting: bool) -> list[int]:
    """Output columns holding negative, neutral and positive, in that order."""
    shown = ", ".join(names)
    if not from_setting and any(_GENERIC_LABEL.fullmatch(n.strip().lower()) for n in names):
        raise ConfigError(
            f"sentiment.labels: model {model} has labels {shown}; say what each means, "
            "e.g. labels: [negative, neutral, positive]"
        )
    classes = [sentiment_class(n) for n in names]
    if sorted(c for c in classes if c) != sorted(CLASSES) or len(names) != len(CLASSES):
        if from_setting:
            raise ConfigError(
                f"sentiment.labels: [{shown}] must name negative, neutral and positive once "
                "each, in the model's output order"
            )
        raise ConfigError(
            f"sentiment.model: model {model} has labels {shown}; it is not a "
            "negative/neutral/positive sentiment model, choose one that is"
        )
    return [classes.index(c) for c in CLASSES]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _id2label(config: dict[str, Any], where: str) -> list[str]:
    raw = config.get("id2label")
    try:
        pairs = sorted((int(k), str(v)) for k, v in dict(raw or {}).items())
    except (TypeError, ValueError):
        raise BadInputError(f"{where}: id2label must map output ids to names") from None
    if not pairs or [i for i, _ in pairs] != list(range(len(pairs))):
        raise BadInputError(f"{where}: id2label must name every output id from 0")
    return [name for _, name in pairs]


def _max_tokens(config: dict[str, Any]) -> int | None:
    positions = config.get("max_position_embeddings")
    if not isinstance(positions, int) or positions <= 0:
        return None
    if config.get("model_type") in _OFFSET_POSITIONS:
        return positions - int(config.get("pad_token_id") or 0) - 1
    return positions


class _Classifier(Protocol):
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


class TorchClassifier:
    """A transformers model run with torch: sorted batches padded to their longest text."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int, torch: Any):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.torch = torch
        self.outputs = int(model.config.num_labels)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.outputs), dtype=np.float32)
        if not texts:
            return out
        prepared = [handles_and_links(t) for t in texts]
        encoded = self.tokenizer(prepared, truncation=True, max_length=self.max_length)
        keys = [k for k in self.tokenizer.model_input_names if k in encoded]
        order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
        with self.torch.inference_mode():
            for start in range(0, len(order), BATCH):
                rows = order[start : start + BATCH]
                batch = self.tokenizer.pad(
                    {k: [encoded[k][i] for i in rows] for k in keys}, return_tensors="pt"
                )
                out[rows] = self.model(**batch).logits.float().numpy()
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.logits(texts).astype(np.float64))


class _ExportFailed(Exception):
    """The model loads but cannot be turned into a working ONNX graph."""


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[bool]:
    """Held by one process at a time, so that workers starting together export only once."""
    try:
        import fcntl
    except ImportError:  # not POSIX: the rename still keeps the cache whole
        yield False
        return
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _onnx_file(folder: Path) -> Path | None:
    """The ONNX graph of a folder that runs without torch (``onnx/`` as on the hub), or None."""
    if not (folder / TOKENIZER_FILE).is_file() or not (folder / CONFIG_FILE).is_file():
        return None
    for candidate in (folder / ONNX_FILE, folder / "onnx" / ONNX_FILE):
        if candidate.is_file():
            return candidate
    return None


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (ONNX_FILE, TOKENIZER_FILE, CONFIG_FILE))


class TransformersAnalyzer(Analyzer):
    """A Hugging Face sentiment model, exported once to ONNX or run with torch."""

    name = "transformers"
    cpu_bound = True

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        model: str = Field(description=f"hub name (e.g. {EXAMPLE}) or local folder", min_length=1)
        labels: list[str] | None = Field(
            default=None,
            description="what each output id means, in id order, for LABEL_0.. models",
        )
        revision: str | None = Field(default=None, description="hub branch, tag or commit")
        max_length: int = Field(default=128, ge=8, le=8192, description="tokens per text")
        threads: int = Field(
            default=1, ge=1, le=64, description="threads per process; consume runs one per core"
        )
        runtime: Literal["auto", "onnx", "torch"] = "auto"
        cache_dir: Path | None = Field(
            default=None,
            description="where exported ONNX models live (default ~/.cache/tweetsense/onnx)",
        )

        @field_validator("labels")
        @classmethod
        def _sentiment_words(cls, value: list[str] | None) -> list[str] | None:
            if value is None:
                return value
            unknown = [v for v in value if sentiment_class(v) is None]
            if unknown:
                raise ValueError(
                    f"{', '.join(unknown)} is not negative, neutral or positive; "
                    "write e.g. labels: [negative, neutral, positive]"
                )
            return value

    def __init__(self, settings: TransformersAnalyzer.Settings, context: Context | None = None):
        self.settings = settings
        self.model_name = settings.model
        self.runtime = ""
        self._runner: _Classifier | None = None
        self._order: list[int] = []
        folder = self._local_folder()
        fmt = self._tweetsense_format(folder) if folder is not None else None
        if folder is not None and fmt == FORMAT:
            self._load_own(folder)
        elif folder is not None and fmt is not None:
            raise ConfigError(
                f"sentiment.model: {folder} holds a tweetsense {fmt} model, not a transformer; "
                f"use sentiment.type: model with path: {folder}"
            )
        elif folder is not None and settings.runtime != "torch" and (ready := _onnx_file(folder)):
            self._load_onnx(folder, ready, f"from {ready}")
        else:
            self._load_transformers(folder)

    # -- where the model is -------------------------------------------------------------------

    def _local_folder(self) -> Path | None:
        """The model's folder, or None for a hub name."""
        model = self.model_name
        path = Path(model).expanduser()
        if path.is_dir():
            return path.resolve()
        if path.exists():
            raise ConfigError(
                f"sentiment.model: {model} is a file; give a model folder or a hub name"
            )
        if _HUB_NAME.fullmatch(model) and "--" not in model and ".." not in model:
            return None
        raise ConfigError(
            f"sentiment.model: folder {model} does not exist; give a model folder or a "
            f"Hugging Face model name such as {EXAMPLE}"
        )

    @staticmethod
    def _tweetsense_format(folder: Path) -> str | None:
        """The format a ``tweetsense train`` folder declares; None for any other folder."""
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        fmt = meta.get("format") if isinstance(meta, dict) else None
        return fmt if isinstance(fmt, str) and fmt.startswith("tweetsense.") else None

    # -- loading ------------------------------------------------------------------------------

    def _labels(self, names: list[str]) -> list[int]:
        """Column order for ``names``, the model's own labels in id order."""
        given = self.settings.labels
        if given is not None and len(given) != len(names):
            raise ConfigError(
                f"sentiment.labels: names {len(given)} labels but model {self.model_name} has "
                f"{len(names)} outputs ({', '.join(names)}); name one per output, in id order"
            )
        return column_order(given or names, self.model_name, given is not None)

    def _check_length(self, config: dict[str, Any]) -> None:
        limit = _max_tokens(config)
        if limit is not None and self.settings.max_length > limit:
            raise ConfigError(
                f"sentiment.max_length: model {self.model_name} takes at most {limit} tokens; "
                f"set max_length: {limit} or less"
            )

    def _load_own(self, folder: Path) -> None:
        if self.settings.runtime == "torch":
            raise ConfigError(
                f"sentiment.runtime: {folder} is a tweetsense ONNX model; torch cannot run it, "
                "use runtime: auto"
            )
        classifier = OnnxClassifier.load(folder, self.settings.threads)
        self._order = self._labels(list(classifier.labels))
        self._runner = classifier
        self.runtime = f"onnxruntime (from {folder / ONNX_FILE})"

    def _load_onnx(self, folder: Path, onnx_file: Path, where: str) -> None:
        config = read_json(folder / CONFIG_FILE)
        names = _id2label(config, str(folder / CONFIG_FILE))
        self._order = self._labels(names)
        self._check_length(config)
        session = _session(onnx_file, self.settings.threads)
        width = session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != len(names):
            raise BadInputError(
                f"{onnx_file}: gives {width} outputs but {folder / CONFIG_FILE} names "
                f"{len(names)}; re-export the model"
            )
        tokenizer = _tokenizer(folder / TOKENIZER_FILE, self.settings.max_length)
        self._runner = OnnxClassifier(
            session, tokenizer, names, 1.0, prepare=handles_and_links, info=config
        )
        self.runtime = f"onnxruntime ({where})"

    def _load_transformers(self, folder: Path | None) -> None:
        settings = self.settings
        cache: Path | None = None
        if settings.runtime != "torch":
            cache = self._cache_folder(folder)
            if _complete(cache):
                self._load_onnx(cache, cache / ONNX_FILE, f"exported to {cache}")
                return
        torch, transformers = self._require_extra()
        source = str(folder) if folder is not None else settings.model
        revision = None if folder is not None else settings.revision
        config = self._hf_config(transformers, source, revision)
        self._order = self._labels(_id2label(config, f"{self.model_name} config"))
        self._check_length(config)
        if cache is None:
            model, tokenizer = self._hf_model(transformers, source, revision, eager=False)
            self._use_torch(model, tokenizer, torch, "")
            return
        model = tokenizer = None
        try:
            # Workers starting together wait here for the first one's export, and load the
            # torch model only if the cache is still missing once they hold the lock.
            with _exclusive(cache.parent / f".{cache.name}.lock") as locked:
                if not _complete(cache):
                    model, tokenizer = self._hf_model(transformers, source, revision, eager=True)
                    self._export(model, tokenizer, torch, cache, locked=locked)
        except OSError as exc:
            raise ConfigError(
                f"sentiment.cache_dir: cannot write {cache.parent} ({exc.strerror or exc}); "
                "point cache_dir at a writable folder"
            ) from None
        except _ExportFailed as exc:
            if settings.runtime == "onnx":
                raise ConfigError(
                    f"sentiment.runtime: {self.model_name} cannot be exported to ONNX ({exc}); "
                    "use runtime: auto or torch"
                ) from None
            log.warning("%s: ONNX export failed (%s); running it with torch", self.model_name, exc)
            self._use_torch(model, tokenizer, torch, f"ONNX export failed: {exc}")
            return
        del model, tokenizer
        self._load_onnx(cache, cache / ONNX_FILE, f"exported to {cache}")

    def _require_extra(self) -> tuple[Any, Any]:
        try:
            import torch
            import transformers
        except ImportError:
            raise ConfigError(
                f"sentiment.model: {self.model_name} needs the transformers extra: "
                "pip install 'tweetsense[transformers]'"
            ) from None
        return torch, transformers

    def _cannot_load(self, exc: BaseException, folder: bool) -> ConfigError:
        revision = f" at revision {self.settings.revision}" if self.settings.revision else ""
        hint = (
            "the folder needs config.json, weights and a tokenizer as save_pretrained writes them"
            if folder
            else "check the name and the network, or give a local model folder"
        )
        return ConfigError(
            f"sentiment.model: cannot load {self.model_name}{revision} ({_first_line(exc)}); {hint}"
        )

    def _hf_config(self, transformers: Any, source: str, revision: str | None) -> dict[str, Any]:
        try:
            config = transformers.AutoConfig.from_pretrained(source, revision=revision)
        except Exception as exc:  # hub, network and format errors alike: one line
            raise self._cannot_load(exc, Path(source).is_dir()) from None
        return dict(config.to_dict())

    def _hf_model(
        self, transformers: Any, source: str, revision: str | None, eager: bool
    ) -> tuple[Any, Any]:
        # Eager attention traces into plain matrix products; the fused kernels branch on
        # tensor values that the tracer would freeze.
        options = {"attn_implementation": "eager"} if eager else {}
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, revision=revision)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                source, revision=revision, **options
            )
        except Exception as exc:  # hub, network and format errors alike: one line
            raise self._cannot_load(exc, Path(source).is_dir()) from None
        return model.eval(), tokenizer

    def _use_torch(self, model: Any, tokenizer: Any, torch: Any, why: str) -> None:
        torch.set_num_threads(self.settings.threads)
        self._runner = TorchClassifier(model, tokenizer, self.settings.max_length, torch)
        self.runtime = f"torch ({why})" if why else "torch"

    # -- the ONNX cache -----------------------------------------------------------------------

    def _cache_folder(self, folder: Path | None) -> Path:
        """``cache_dir/<name>-<hash>``: the hash covers what the export depends on."""
        settings = self.settings
        key: dict[str, Any] = {"export": EXPORT_VERSION, "opset": OPSET}
        if folder is None:
            # A hub model is known by name and revision alone, so that a cached export runs
            # offline and without torch; pin ``revision`` to follow a moving model.
            key |= {"model": settings.model, "revision": settings.revision}
            label = settings.model
        else:
            # A folder retrained in place exports afresh: its files' sizes and times count.
            files = sorted(
                (p.name, p.stat().st_size, p.stat().st_mtime_ns)
                for p in folder.iterdir()
                if p.is_file()
            )
            config = folder / CONFIG_FILE
            text = config.read_text(encoding="utf-8", errors="replace") if config.is_file() else ""
            key |= {"folder": str(folder), "config": text, "files": files}
            label = folder.name
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
        safe = re.sub(r"[^A-Za-z0-9._-]+", "--", label).strip(".-")[:64] or "model"
        root = settings.cache_dir.expanduser() if settings.cache_dir else default_cache_dir()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"sentiment.cache_dir: cannot create {root} ({exc.strerror or exc}); "
                "point cache_dir at a writable folder"
            ) from None
        return root / f"{safe}-{digest}"

    def _export(self, model: Any, tokenizer: Any, torch: Any, cache: Path, locked: bool) -> None:
        """Write model.onnx, tokenizer.json and config.json into ``cache``, all or nothing."""
        prefix = f".{cache.name}."
        if locked:
            # Under the lock, a temporary folder can only be left by an export that crashed,
            # and an incomplete cache folder only by someone deleting files from it.
            for old in cache.parent.glob(f"{prefix}*"):
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
            if cache.exists():
                shutil.rmtree(cache)
        work = Path(tempfile.mkdtemp(prefix=prefix, dir=cache.parent))
        try:
            inputs = self._write_export(model, tokenizer, torch, work)
            (work / EXPORT_FILE).write_text(
                json.dumps(
                    {
                        "model": self.model_name,
                        "revision": self.settings.revision,
                        "inputs": inputs,
                        "opset": OPSET,
                        "torch": str(torch.__version__),
                    },
                    indent=2,
                ),
                encoding="utf-8",
            )
            try:
                work.rename(cache)
            except OSError:
                # Another process finished the same export first (no lock on this system).
                if not _complete(cache):
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        log.info("%s: exported to ONNX in %s", self.model_name, cache)

    def _write_export(self, model: Any, tokenizer: Any, torch: Any, work: Path) -> list[str]:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise _ExportFailed("its tokenizer has no tokenizer.json form")
        inputs = ["input_ids", "attention_mask"]
        takes = inspect.signature(model.forward).parameters
        if "token_type_ids" in tokenizer.model_input_names and "token_type_ids" in takes:
            inputs.append("token_type_ids")

        class Logits(torch.nn.Module):  # type: ignore[name-defined,misc]
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *args: Any) -> Any:
                return self.model(**dict(zip(inputs, args, strict=True))).logits

        def encode(texts: Sequence[str]) -> dict[str, Any]:
            return tokenizer(
                [handles_and_links(t) for t in texts], padding=True, return_tensors="pt"
            )

        # A padded row in the sample keeps the mask in the traced graph.
        sample = encode(_SAMPLE_TEXTS)
        # The exporter restores the wrapper's training flag afterwards; a new module is in
        # training mode, which would switch dropout on for the torch fallback.
        wrapper = Logits().eval()
        dynamic = {name: {0: "batch", 1: "tokens"} for name in inputs}
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer notes about constants, not errors
                torch.onnx.export(
                    wrapper,
                    tuple(sample[name] for name in inputs),
                    str(work / ONNX_FILE),
                    input_names=inputs,
                    output_names=["logits"],
                    dynamic_axes={**dynamic, "logits": {0: "batch"}},
                    opset_version=OPSET,
                    dynamo=False,
                )
        except Exception as exc:  # unsupported operators and tracing errors vary by model
            raise _ExportFailed(_first_line(exc)) from None
        check = encode(_CHECK_TEXTS)
        with torch.no_grad():
            expected = wrapper(*(check[name] for name in inputs)).float().numpy()
        try:
            session = _session(work / ONNX_FILE, 1)
            feed = {name: check[name].numpy() for name in inputs}
            got = session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})[0]
        except Exception as exc:  # a graph onnxruntime cannot load or run
            raise _ExportFailed(_first_line(exc)) from None
        gap = float(np.abs(np.asarray(got) - expected).max())
        if not gap <= EXPORT_TOLERANCE * max(1.0, float(np.abs(expected).max())):
            raise _ExportFailed(f"the ONNX graph differs from torch by {gap:.3g}")
        backend.save(str(work / TOKENIZER_FILE))
        model.config.to_json_file(str(work / CONFIG_FILE))
        return inputs

    # -- scoring ------------------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(negative, neutral, positive) probabilities, one row per text."""
        if self._runner is None:
            raise ConfigError(f"sentiment.model: {self.model_name} was closed")
        if not texts:
            return np.zeros((0, len(CLASSES)))
        return self._runner.predict_proba(texts)[:, self._order]

    def analyze(self, texts: Sequence[str]) -> list[Score]:
        if not texts:
            return []
        return comprehend_scores(self.predict_proba(texts))

    def check(self) -> str:
        self.analyze(["ok"])
        return f"ok: {self.model_name} with {self.runtime}"

    def close(self) -> None:
        self._runner = None
