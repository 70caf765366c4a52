"""Builds the shipped `default` sentiment model from ../shared/data/tweet-sentiment.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python training/train_default.py

Fits on train.csv, picks the regularisation C on val.csv, fits the temperature on val.csv and
writes src/tweetsense/sentiment/models/default/ (model.json + weights.npz). Deterministic: the
solver (lbfgs) has no random state, so the same data gives the same files.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from tweetsense.sentiment.dataset import read_labelled_csv
from tweetsense.sentiment.metrics import expected_calibration_error, report
from tweetsense.sentiment.training import calibrate, fit, label_ids

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tweet-sentiment"
OUT = ROOT / "src" / "tweetsense" / "sentiment" / "models" / "default"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--c", type=float, nargs="+", default=[3.0], help="C values to try")
    args = parser.parse_args()
    train = read_labelled_csv(args.data / "train.csv")
    val = read_labelled_csv(args.data / "val.csv")
    y_val = label_ids(val.labels)
    best = None
    for c in args.c:
        started = time.perf_counter()
        model = fit(train.texts, train.labels, c=c)
        r = report(y_val, model.predict_proba(val.texts).argmax(axis=1))
        print(
            f"C={c}: val macro recall {r.macro_recall:.4f} accuracy {r.accuracy:.4f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        if best is None or r.macro_recall > best[0]:
            best = (r.macro_recall, model)
    assert best is not None
    model = calibrate(best[1], val.texts, val.labels)
    proba = model.predict_proba(val.texts)
    r = report(y_val, proba.argmax(axis=1))
    ece = expected_calibration_error(proba, y_val)
    model.info.update(
        {
            "data": "SemEval 2013-2016 Task 4A pool (train.csv); TweetEval validation (val.csv)",
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
        f"wrote {args.out} ({size / 1e6:.1f} MB): T={model.temperature:.3f} "
        f"macro recall {r.macro_recall:.4f} accuracy {r.accuracy:.4f} "
        f"macro F1 {r.macro_f1:.4f} ECE {ece:.4f}"
    )
    print("confusion (rows true, cols predicted; negative, neutral, positive):")
    print(np.array2string(r.confusion))


if __name__ == "__main__":
    main()
