"""Builds the shipped `fast` model: the linear tweet model distilled from the `default` transformer.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python training/train_fast.py [--soft]

The transformer labels ../shared/data/unlabeled-tweets/tweets.csv (139,811 in-domain tweets);
the linear model learns from those labels plus train.csv's own, is temperature-calibrated on
val.csv and written to src/tweetsense/sentiment/models/fast/. Hard labels by default; `--soft`
learns the transformer's probabilities instead. The teacher's answers are cached in --cache, so
trying another C or label kind does not score the 140k tweets again.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tweetsense.sentiment.local_models import shipped_model_dir
from tweetsense.sentiment.modelling.dataset import read_labelled_csv
from tweetsense.sentiment.modelling.fit_linear import calibrate, fit, label_ids
from tweetsense.sentiment.modelling.metrics import expected_calibration_error, report
from tweetsense.sentiment.onnx_model import OnnxClassifier
from tweetsense.sentiment.scores import CLASSES

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "tweetsense" / "sentiment" / "models" / "fast"


def unlabeled(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


_teacher: OnnxClassifier | None = None


def _load(teacher: Path) -> None:
    global _teacher
    _teacher = OnnxClassifier.load(teacher, threads=1)
    # Batches of 64 are a little faster than one post per run; for training labels the small
    # dependence of int8 scores on batch mates does not matter.
    _teacher.batch = 64


def _score(texts: list[str]) -> np.ndarray:
    assert _teacher is not None
    return _teacher.predict_proba(texts)


def teacher_proba(teacher: Path, texts: list[str], cache: Path, jobs: int) -> np.ndarray:
    digest = hashlib.sha256((teacher / "model.onnx").read_bytes())
    digest.update("\n".join(texts).encode())
    path = cache / f"teacher-{digest.hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path)
    started = time.perf_counter()
    size = 2000
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    with ProcessPoolExecutor(jobs, initializer=_load, initargs=(teacher,)) as pool:
        proba = np.concatenate(list(pool.map(_score, chunks)))
    print(f"teacher scored {len(texts):,} tweets in {time.perf_counter() - started:.0f} s")
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, proba)
    return proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "tweet-sentiment")
    parser.add_argument(
        "--unlabeled", type=Path, default=SHARED / "unlabeled-tweets" / "tweets.csv"
    )
    parser.add_argument("--teacher", type=Path, default=shipped_model_dir("default"))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "distill")
    parser.add_argument("--c", type=float, default=2.0)
    parser.add_argument("--min-df", type=int, default=3)
    parser.add_argument("--soft", action="store_true", help="learn probabilities, not labels")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="teacher processes")
    args = parser.parse_args()

    train = read_labelled_csv(args.data / "train.csv")
    val = read_labelled_csv(args.data / "val.csv")
    extra = unlabeled(args.unlabeled)
    proba = teacher_proba(args.teacher, extra, args.cache, args.jobs)
    texts = train.texts + extra
    labels = train.labels + [CLASSES[k] for k in proba.argmax(axis=1)]
    soft = None
    if args.soft:
        gold = np.eye(3)[label_ids(train.labels)]
        soft = np.concatenate([gold, proba])
    started = time.perf_counter()
    model = fit(texts, labels, c=args.c, min_df=args.min_df, soft=soft)
    print(f"fitted on {len(texts):,} tweets in {time.perf_counter() - started:.0f} s")
    model = calibrate(model, val.texts, val.labels)
    y_val = label_ids(val.labels)
    p_val = model.predict_proba(val.texts)
    r = report(y_val, p_val.argmax(axis=1))
    ece = expected_calibration_error(p_val, y_val)
    model.info.update(
        {
            "data": "train.csv (gold labels) + unlabeled-tweets labelled by the default model",
            "teacher": "default",
            "labels": "soft" if args.soft else "hard",
            "val_macro_recall": round(r.macro_recall, 4),
            "val_accuracy": round(r.accuracy, 4),
            "val_macro_f1": round(r.macro_f1, 4),
            "val_ece": round(ece, 4),
            "temperature": round(model.temperature, 4),
        }
    )
    model.save(args.out)
    size = sum(f.stat().st_size for f in args.out.iterdir())
    print(
        f"wrote {args.out} ({size / 1e6:.1f} MB, {model.info['features']:,} features): "
        f"val macro recall {r.macro_recall:.4f} accuracy {r.accuracy:.4f} "
        f"macro F1 {r.macro_f1:.4f} ECE {ece:.4f} T={model.temperature:.3f}"
    )
    print("confusion (rows true, cols predicted; negative, neutral, positive):")
    print(np.array2string(r.confusion))


if __name__ == "__main__":
    main()
