"""The shipped models (`default` transformer, `fast` linear): files, scores, the MIXED rule,
metrics, eval and train."""

from __future__ import annotations

import csv
import json
import math
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tweetsense.cli.app import app
from tweetsense.config import BackendSection
from tweetsense.errors import BadInputError
from tweetsense.registry import create
from tweetsense.sentiment.linear import LinearModel
from tweetsense.sentiment.local_models import shipped_model_dir
from tweetsense.sentiment.modelling.evaluate import three_label, three_proba
from tweetsense.sentiment.modelling.metrics import expected_calibration_error, report
from tweetsense.sentiment.scores import comprehend_scores

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "tweet-sentiment"
runner = CliRunner()


def write_csv(path: Path, rows: list[tuple[str, str]], header: tuple[str, ...] = ("text", "label")):
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def shared_rows(name: str, n: int) -> list[tuple[str, str]]:
    with (SHARED / name).open(newline="", encoding="utf-8") as f:
        return [(r["text"], r["label"]) for r in islice(csv.DictReader(f), n)]


def test_fast_model_files_are_plain_arrays_and_json() -> None:
    directory = shipped_model_dir("fast")
    size = sum(p.stat().st_size for p in directory.iterdir())
    assert size < 15e6
    with np.load(directory / "weights.npz", allow_pickle=False) as w:
        assert set(w.files) == {"idf", "coef", "intercept", "char_hashes"}
        assert all(w[k].dtype != object for k in w.files)
        n, n_hashes = len(w["idf"]), len(w["char_hashes"])
        assert w["coef"].shape == (n, 3)
    meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    assert n == len(meta["words"]) + n_hashes
    assert meta["format"] == "tweetsense.linear/1"
    assert 0 < meta["temperature"] < 10


def test_default_model_is_an_int8_onnx_classifier() -> None:
    directory = shipped_model_dir("default")
    assert {p.name for p in directory.iterdir()} >= {"model.onnx", "tokenizer.json", "model.json"}
    size = sum(p.stat().st_size for p in directory.iterdir())
    assert size < 30e6
    meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    assert meta["format"] == "tweetsense.onnx-classifier/1"
    assert meta["labels"] == ["negative", "neutral", "positive"]
    assert 0 < meta["temperature"] < 10


@pytest.mark.parametrize("name", ["default", "fast"])
def test_shipped_scores_follow_the_text(context, name: str) -> None:
    analyzer = create("sentiment", context, BackendSection(type=name))
    scores = analyzer.analyze(
        ["I love this, what a great day :)", "this is awful, I hate it", "The meeting is at 3pm"]
    )
    assert [s.label for s in scores] == ["POSITIVE", "NEGATIVE", "NEUTRAL"]
    # Negation changes the answer.
    good, not_good = analyzer.analyze(["the battery is good", "the battery is not good at all"])
    assert not_good.negative > good.negative
    assert good.positive > not_good.positive


def test_default_reads_emoji_and_worry(context) -> None:
    analyzer = create("sentiment", context, BackendSection(type="default"))
    scary, worried = analyzer.analyze(
        ["Scary stuff 😟", "I'm seriously worried about electric vehicles"]
    )
    assert scary.label == "NEGATIVE" and worried.label == "NEGATIVE"
    # The emoji alone carries the feeling: its name is what the model reads.
    happy, sad = analyzer.analyze(["the new model 😍", "the new model 😢"])
    assert happy.positive > sad.positive and sad.negative > happy.negative


def test_default_batches_do_not_change_scores(context) -> None:
    analyzer = create("sentiment", context, BackendSection(type="default"))
    texts = [t for t, _ in shared_rows("val.csv", 150)]
    together = analyzer.analyze(texts)
    alone = [analyzer.analyze([t])[0] for t in texts[:20]]
    for a, b in zip(alone, together[:20], strict=True):
        assert a.label == b.label
        assert math.isclose(a.positive, b.positive, abs_tol=1e-4)


@pytest.mark.parametrize(
    ("damage", "names"),
    [
        (lambda d: (d / "model.onnx").write_bytes(b"not onnx"), "model.onnx"),
        (lambda d: (d / "model.onnx").unlink(), "model.onnx"),
        (lambda d: (d / "tokenizer.json").write_text("{"), "tokenizer.json"),
        (lambda d: (d / "model.json").write_text("[1, "), "model.json"),
    ],
)
def test_broken_model_folder_is_one_line(tmp_path: Path, context, damage, names: str) -> None:
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(shipped_model_dir("default"), folder)
    damage(folder)
    with pytest.raises(BadInputError) as info:
        create("sentiment", context, BackendSection(type="model", path=str(folder)))
    message = str(info.value)
    assert names in message and len(message.splitlines()) == 1


def test_mixed_rule() -> None:
    proba = np.array(
        [
            [0.05, 0.15, 0.80],  # clearly positive
            [0.45, 0.08, 0.47],  # strongly both ways
            [0.33, 0.34, 0.33],  # neutral wins: never MIXED
            [0.40, 0.12, 0.48],  # both polar, but positive still ahead of the shared part
            [0.30, 0.42, 0.28],
        ]
    )
    scores = comprehend_scores(proba)
    assert [s.label for s in scores] == ["POSITIVE", "MIXED", "NEUTRAL", "POSITIVE", "NEUTRAL"]
    for s, p in zip(scores, proba, strict=True):
        assert math.isclose(s.positive + s.negative + s.neutral + s.mixed, 1.0, abs_tol=1e-9)
        m = max(0.0, min(p[0], p[2]) - p[1])
        assert math.isclose(s.mixed, m)
        assert math.isclose(s.positive, p[2] * (1 - m))
        assert math.isclose(s.neutral, p[1] * (1 - m))
    assert [s.mixed for s in scores][2:] == [0.0, pytest.approx(0.28), 0.0]
    np.testing.assert_allclose(three_proba(scores), proba)
    # Mapped back to three labels, the decision is the model's argmax.
    assert [three_label(s) for s in scores] == proba.argmax(axis=1).tolist()


def test_metrics_match_a_hand_computed_confusion_matrix() -> None:
    # true:   neg neg neg neu neu pos pos pos pos
    # pred:   neg neu pos neu neu pos pos neg neu
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 1, 2, 1, 1, 2, 2, 0, 1])
    r = report(y_true, y_pred)
    assert r.confusion.tolist() == [[1, 1, 1], [0, 2, 0], [1, 1, 2]]
    assert math.isclose(r.macro_recall, (1 / 3 + 1 + 2 / 4) / 3)
    assert math.isclose(r.accuracy, 5 / 9)
    precision = [1 / 2, 2 / 4, 2 / 3]
    recall = [1 / 3, 1.0, 2 / 4]
    f1 = [2 * p * q / (p + q) for p, q in zip(precision, recall, strict=True)]
    assert math.isclose(r.macro_f1, sum(f1) / 3)


def test_calibration_error() -> None:
    # Two bins: confidence 0.9 with 50% right, confidence 0.6 with 100% right.
    proba = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.2, 0.6, 0.2], [0.2, 0.6, 0.2]])
    y = np.array([0, 1, 1, 1])
    assert math.isclose(expected_calibration_error(proba, y), 0.5 * 0.4 + 0.5 * 0.4)


def test_eval_json_matches_the_analyzer(tmp_path: Path, context) -> None:
    rows = shared_rows("val.csv", 120)
    data = write_csv(tmp_path / "slice.csv", rows)
    result = runner.invoke(app, ["eval", "--data", str(data), "--analyzer", "default", "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    analyzer = create("sentiment", context, BackendSection(type="default"))
    index = {"negative": 0, "neutral": 1, "positive": 2}
    confusion = [[0] * 3 for _ in range(3)]
    for (_, label), score in zip(rows, analyzer.analyze([t for t, _ in rows]), strict=True):
        confusion[index[label]][three_label(score)] += 1
    assert got["confusion"] == confusion
    recalls = [confusion[k][k] / sum(confusion[k]) for k in range(3)]
    assert math.isclose(got["macro_recall"], sum(recalls) / 3, abs_tol=1e-4)
    assert math.isclose(got["accuracy"], sum(confusion[k][k] for k in range(3)) / 120, abs_tol=1e-4)
    assert got["n"] == 120 and got["tweets_per_second"] > 0 and 0 <= got["macro_f1"] <= 1


def test_eval_compares_analyzers_and_writes_confusions(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "slice.csv", shared_rows("val.csv", 60))
    args = [
        "eval",
        "--data",
        str(data),
        "--analyzer",
        "fast",
        "vader",
        "--out",
        str(tmp_path / "e"),
    ]
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "ECE" in text.stdout and "posts/s" in text.stdout
    assert "fast" in text.stdout and "vader" in text.stdout
    saved = json.loads((tmp_path / "e" / "eval.json").read_text())
    assert [r["analyzer"] for r in saved["results"]] == ["fast", "vader"]
    for r in saved["results"]:
        rows = (tmp_path / "e" / f"confusion-{r['analyzer']}.csv").read_text().splitlines()
        cells = [list(map(int, line.split(",")[1:])) for line in rows[1:]]
        assert cells == r["confusion"] and sum(map(sum, cells)) == 60
    # Comma-separated specs mean the same.
    again = runner.invoke(app, ["eval", "--data", str(data), "-a", "vader,fast", "--json"])
    assert [r["analyzer"] for r in json.loads(again.stdout)] == ["vader", "fast"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("nope", "unknown analyzer 'nope'"), ("model", "model:DIR"), ("vader:x", "takes no")],
)
def test_eval_bad_analyzer_is_one_line(tmp_path: Path, spec: str, expected: str) -> None:
    data = write_csv(tmp_path / "slice.csv", shared_rows("val.csv", 5))
    result = runner.invoke(app, ["eval", "--data", str(data), "--analyzer", spec])
    assert result.exit_code == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("tweet,label\nhello,positive\n", "line 1: missing column 'text'"),
        ("text,label\nhello,positive\nbye,angry\n", "line 3: column 'label': unknown label"),
        ("text,sentiment\nhello,positive\n", "missing column 'label'"),
    ],
)
def test_eval_bad_csv_is_one_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["eval", "--data", str(path)])
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert "bad.csv" in message and expected in message and "Traceback" not in result.output
    assert len(message.splitlines()) == 1


def test_train_then_score_with_the_model_analyzer(tmp_path: Path, context) -> None:
    data = write_csv(tmp_path / "mine.csv", shared_rows("train.csv", 400))
    out = tmp_path / "my-model"
    args = ["train", "--data", str(data), "--out", str(out), "--base", "linear"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    with np.load(out / "weights.npz", allow_pickle=False) as w:
        assert w["coef"].shape[1] == 3
    analyzer = create("sentiment", context, BackendSection(type="model", path=str(out)))
    texts = [t for t, _ in shared_rows("val.csv", 50)]
    scores = analyzer.analyze(texts)
    direct = LinearModel.load(out).predict_proba(texts)
    np.testing.assert_allclose(three_proba(scores), direct, rtol=1e-6)
    shipped = create("sentiment", context, BackendSection(type="fast")).analyze(texts)
    assert scores != shipped  # a different model, not the shipped one


def test_model_analyzer_names_a_missing_folder(tmp_path: Path) -> None:
    from tweetsense.errors import ConfigError
    from tweetsense.registry import settings_for

    with pytest.raises(ConfigError, match=r"sentiment\.path: .*tweetsense train"):
        settings_for("sentiment", BackendSection(type="model", path=str(tmp_path / "nope")))


def test_train_fine_tunes_a_transformer_the_model_analyzer_loads(tmp_path: Path, context) -> None:
    from tests.tiny_models import SENTIMENT, tiny_bert
    from tweetsense.sentiment.onnx_model import OnnxClassifier

    base = tiny_bert(tmp_path / "base", SENTIMENT)
    data = write_csv(tmp_path / "mine.csv", shared_rows("train.csv", 120))
    out = tmp_path / "tuned"
    args = ["train", "--data", str(data), "--out", str(out), "--base", str(base)]
    result = runner.invoke(app, [*args, "--epochs", "1", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "held-out macro recall" in result.stdout
    assert not (out / "_checkpoint").exists()  # removed once the model is written
    meta = json.loads((out / "model.json").read_text())
    assert meta["format"] == "tweetsense.onnx-classifier/1" and meta["holdout_size"] == 12
    assert 0 < meta["temperature"] < 20
    texts = [t for t, _ in shared_rows("val.csv", 30)]
    scores = create("sentiment", context, BackendSection(type="model", path=str(out))).analyze(
        texts
    )
    direct = OnnxClassifier.load(out).predict_proba(texts)
    np.testing.assert_allclose(three_proba(scores), direct, rtol=1e-5, atol=1e-6)


def test_fine_tuning_resumes_where_it_stopped(tmp_path: Path) -> None:
    import torch

    from tests.tiny_models import SENTIMENT, tiny_bert
    from tweetsense.sentiment.modelling.finetune import Recipe, finetune

    base = tiny_bert(tmp_path / "base", SENTIMENT)
    rows = shared_rows("train.csv", 64)
    texts, labels = (
        [t for t, _ in rows],
        [["negative", "neutral", "positive"].index(y) for _, y in rows],
    )
    recipe = Recipe(epochs=1, batch_size=8, threads=1, checkpoint_every=3)
    whole, done = finetune(base, texts, labels, tmp_path / "a", recipe)
    assert done

    class Stop(Exception):
        pass

    def stop_at_five(step: int, total: int, loss: float) -> None:
        if step == 5:
            raise Stop

    with pytest.raises(Stop):
        finetune(base, texts, labels, tmp_path / "b", recipe, stop_at_five)
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["step"] == 3
    resumed, done = finetune(base, texts, labels, tmp_path / "b", recipe)
    assert done
    for (name, a), (_, b) in zip(
        whole.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_default_scores_without_torch_or_transformers() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tweetsense.config import BackendSection, load_config\n"
        "from tweetsense.registry import Context, create\n"
        "ctx = Context(load_config(None, demo=True, environ={}))\n"
        "a = create('sentiment', ctx, BackendSection(type='default'))\n"
        "assert a.analyze(['what a great day'])[0].label == 'POSITIVE'\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
