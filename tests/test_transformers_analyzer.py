"""The `transformers` analyzer on tiny random models: labels, ONNX export and cache, torch."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.tiny_models import SENTIMENT, tiny_bert
from tweetsense.config import BackendSection
from tweetsense.errors import BadInputError, ConfigError
from tweetsense.registry import create
from tweetsense.sentiment.hf import TransformersAnalyzer, _ExportFailed, default_cache_dir
from tweetsense.sentiment.onnx_model import FORMAT, OnnxClassifier
from tweetsense.sentiment.tweet_text import handles_and_links

pytest.importorskip("torch")
pytest.importorskip("transformers")

TEXTS = [
    "I love this car, best day ever!",
    "worst charging station ever, awful service",
    "the battery is new",
    "",
    "@someone said http://x.co/abc is really not so bad",
    "love " * 300,
    "مرحبا بالعالم",
]
PERMUTED = {0: "positive", 1: "negative", 2: "neutral"}
GENERIC = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}


def build(model: Path | str, cache_dir: Path | None = None, **options) -> TransformersAnalyzer:
    settings = TransformersAnalyzer.Settings(model=str(model), cache_dir=cache_dir, **options)
    return TransformersAnalyzer(settings)


def exports(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.iterdir() if p.is_dir())


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("tiny") / "sentiment", SENTIMENT)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def exported(model_dir: Path, cache_dir: Path) -> tuple[TransformersAnalyzer, Path]:
    """The tiny model exported once into ``cache_dir``, and the analyzer that exported it."""
    analyzer = build(model_dir, cache_dir)
    (folder,) = exports(cache_dir)
    return analyzer, folder


def test_one_score_per_text_in_order_via_the_registry(context, model_dir, cache_dir, exported):
    section = BackendSection(
        type="transformers", model=str(model_dir), cache_dir=str(cache_dir), threads=1
    )
    analyzer = create("sentiment", context, section)
    assert isinstance(analyzer, TransformersAnalyzer) and analyzer.cpu_bound
    # The analyzer contract suite checks the scores' shape; here, that order is kept.
    scores = analyzer.analyze(TEXTS)
    # The texts score differently, so a reordering would show.
    assert len({round(s.positive, 6) for s in scores}) == len(TEXTS)
    for text, s in zip(TEXTS, scores, strict=True):
        alone = analyzer.analyze([text])[0]
        assert alone.label == s.label
        assert alone.positive == pytest.approx(s.positive, abs=1e-5)
        assert alone.negative == pytest.approx(s.negative, abs=1e-5)
    assert analyzer.analyze([]) == []
    assert analyzer.predict_proba([]).shape == (0, 3)
    analyzer.close()


def test_unknown_setting_and_non_sentiment_labels_setting_are_config_errors(context, model_dir):
    section = BackendSection(type="transformers", model=str(model_dir), colour="blue")
    with pytest.raises(ConfigError, match=r"sentiment\.colour: unknown setting"):
        create("sentiment", context, section)
    section = BackendSection(type="transformers", model=str(model_dir), labels=["good", "bad"])
    with pytest.raises(ConfigError, match=r"sentiment\.labels.*good, bad is not") as exc:
        create("sentiment", context, section)
    one_line(exc)


def test_export_happens_once_and_the_cache_is_reused(model_dir, cache_dir, exported):
    first, folder = exported
    assert first.check() == f"ok: {model_dir} with onnxruntime (exported to {folder})"
    onnx = folder / "model.onnx"
    before = onnx.stat()
    assert {"model.onnx", "tokenizer.json", "config.json"} <= {p.name for p in folder.iterdir()}

    second = build(model_dir, cache_dir)
    after = onnx.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert exports(cache_dir) == [folder]  # no second export, no temporary folder left
    assert second.check().startswith("ok: ") and "onnxruntime" in second.check()

    # The cached folder is a plain ONNX model folder: it runs as it is.
    direct = build(folder, runtime="onnx")
    assert direct.check() == f"ok: {folder} with onnxruntime (from {onnx})"
    np.testing.assert_allclose(direct.predict_proba(TEXTS), first.predict_proba(TEXTS), atol=1e-6)


def test_folder_with_an_onnx_subfolder_runs_it(tmp_path, exported):
    first, folder = exported
    hub_layout = tmp_path / "hub-layout"
    (hub_layout / "onnx").mkdir(parents=True)
    shutil.copyfile(folder / "model.onnx", hub_layout / "onnx" / "model.onnx")
    for name in ("tokenizer.json", "config.json"):
        shutil.copyfile(folder / name, hub_layout / name)
    analyzer = build(hub_layout)
    assert (
        analyzer.check() == f"ok: {hub_layout} with onnxruntime (from {hub_layout}/onnx/model.onnx)"
    )
    np.testing.assert_allclose(analyzer.predict_proba(TEXTS), first.predict_proba(TEXTS), atol=1e-6)


def test_cached_export_runs_without_torch(monkeypatch, model_dir, cache_dir, exported, tmp_path):
    first, _ = exported
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "transformers", None)
    cached = build(model_dir, cache_dir)
    np.testing.assert_allclose(cached.predict_proba(TEXTS), first.predict_proba(TEXTS), atol=1e-6)
    with pytest.raises(ConfigError) as exc:
        build(model_dir, tmp_path / "empty-cache")
    assert one_line(exc) == (
        f"sentiment.model: {model_dir} needs the transformers extra: "
        "pip install 'tweetsense[transformers]'"
    )


def test_onnx_and_torch_agree(model_dir, exported):
    onnx, _ = exported
    torch = build(model_dir, runtime="torch")
    assert torch.check() == f"ok: {model_dir} with torch"
    expected = torch.predict_proba(TEXTS)
    np.testing.assert_allclose(onnx.predict_proba(TEXTS), expected, atol=1e-4)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0)


def reference_proba(folder: Path, texts: list[str]) -> np.ndarray:
    """Softmax of the model's logits in output-id order, computed with transformers directly."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    rows = []
    with torch.no_grad():
        for text in texts:
            prepared = handles_and_links(text)
            batch = tokenizer(prepared, truncation=True, max_length=128, return_tensors="pt")
            rows.append(torch.softmax(model(**batch).logits.double(), dim=-1)[0].numpy())
    return np.array(rows)


def test_output_columns_follow_id2label_and_the_labels_setting(tmp_path):
    permuted = tiny_bert(tmp_path / "permuted", PERMUTED, seed=1)
    generic = tiny_bert(tmp_path / "generic", GENERIC, seed=1)
    raw = reference_proba(permuted, TEXTS)
    # ids are positive, negative, neutral: columns (negative, neutral, positive) are 1, 2, 0.
    expected = raw[:, [1, 2, 0]]
    assert not np.allclose(expected, raw, atol=1e-3)

    by_name = build(permuted, tmp_path / "cache")
    assert "onnxruntime" in by_name.check()
    np.testing.assert_allclose(by_name.predict_proba(TEXTS), expected, atol=1e-4)

    labelled = ["Positive", "NEG", "neutral"]
    by_setting = build(generic, labels=labelled, runtime="torch")
    np.testing.assert_allclose(by_setting.predict_proba(TEXTS), expected, atol=1e-4)

    # MIXED only ever replaces the larger polar label (see scores.py).
    winners = [("NEGATIVE", "NEUTRAL", "POSITIVE")[i] for i in expected.argmax(axis=1)]
    labels = [s.label for s in by_name.analyze(TEXTS)]
    assert all(got in (want, "MIXED") for got, want in zip(labels, winners, strict=True))


def test_generic_labels_need_the_labels_setting(tmp_path):
    generic = tiny_bert(tmp_path / "generic", GENERIC)
    cache_dir = tmp_path / "cache"
    with pytest.raises(ConfigError) as exc:
        build(generic, cache_dir)
    assert one_line(exc) == (
        f"sentiment.labels: model {generic} has labels LABEL_0, LABEL_1, LABEL_2; say what each "
        "means, e.g. labels: [negative, neutral, positive]"
    )
    with pytest.raises(ConfigError, match=r"sentiment\.labels: names 2 labels .* 3 outputs") as e:
        build(generic, cache_dir, labels=["negative", "positive"])
    one_line(e)
    with pytest.raises(ConfigError, match=r"once each") as e:
        build(generic, cache_dir, labels=["negative", "negative", "positive"])
    one_line(e)
    assert exports(cache_dir) == []  # a bad config is found before any export


def test_emotion_labels_are_not_a_sentiment_model(tmp_path):
    emotion = tiny_bert(tmp_path / "emotion", {0: "anger", 1: "joy", 2: "optimism", 3: "sadness"})
    for runtime in ("auto", "torch"):
        with pytest.raises(ConfigError) as exc:
            build(emotion, tmp_path / "cache", runtime=runtime)
        message = one_line(exc)
        assert "anger, joy, optimism, sadness" in message
        assert "not a negative/neutral/positive sentiment model" in message


def test_corrupt_onnx_file_is_a_one_line_bad_input_error(tmp_path, exported):
    _, folder = exported
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "model.onnx").write_bytes(b"this is not a protobuf")
    with pytest.raises(BadInputError) as exc:
        build(broken)
    assert str(broken / "model.onnx") in one_line(exc)


def test_missing_folder_and_unknown_hub_model_are_one_line_errors(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ConfigError) as exc:
        build(missing, tmp_path)
    assert one_line(exc).startswith(f"sentiment.model: folder {missing} does not exist")
    with pytest.raises(ConfigError, match="does not exist"):
        build("./models/nothing here", tmp_path)

    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    with pytest.raises(ConfigError) as exc:
        build("nobody-here/no-such-sentiment-model", tmp_path / "cache")
    assert one_line(exc).startswith(
        "sentiment.model: cannot load nobody-here/no-such-sentiment-model ("
    )


def test_max_length_beyond_the_model_is_a_config_error(model_dir, tmp_path):
    with pytest.raises(ConfigError, match=r"sentiment\.max_length: .* at most 512 tokens") as e:
        build(model_dir, tmp_path, max_length=1000)
    one_line(e)


def test_tweetsense_model_folder_keeps_its_own_temperature(tmp_path, exported):
    analyzer, folder = exported
    own = tmp_path / "own"
    own.mkdir()
    for name in ("model.onnx", "tokenizer.json", "config.json"):
        shutil.copyfile(folder / name, own / name)
    meta = {"format": FORMAT, "labels": ["negative", "neutral", "positive"], "temperature": 3.0}
    (own / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    loaded = build(own)
    expected = OnnxClassifier.load(own).predict_proba(TEXTS)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), expected, atol=1e-9)
    assert not np.allclose(expected, analyzer.predict_proba(TEXTS), atol=1e-3)
    with pytest.raises(ConfigError, match=r"sentiment\.runtime: .* torch cannot run it"):
        build(own, runtime="torch")


def test_failed_export_falls_back_to_torch_unless_onnx_is_required(
    monkeypatch, model_dir, exported, tmp_path
):
    onnx, _ = exported

    def fail(*args, **kwargs):
        raise _ExportFailed("unsupported operator Frobnicate")

    monkeypatch.setattr(TransformersAnalyzer, "_write_export", fail)
    fallback = build(model_dir, tmp_path)
    assert fallback.check() == (
        f"ok: {model_dir} with torch (ONNX export failed: unsupported operator Frobnicate)"
    )
    np.testing.assert_allclose(fallback.predict_proba(TEXTS), onnx.predict_proba(TEXTS), atol=1e-4)
    assert exports(tmp_path) == []  # the failed export left nothing behind
    with pytest.raises(ConfigError, match=r"sentiment\.runtime: .*Frobnicate.*runtime: auto"):
        build(model_dir, tmp_path, runtime="onnx")


def test_interrupted_export_is_redone_whole(model_dir, tmp_path):
    probe = build(model_dir, tmp_path, runtime="torch")
    target = probe._cache_folder(model_dir)
    # What a killed export or a hand-edited cache leaves: a temporary folder, half a cache.
    (tmp_path / f".{target.name}.crashed").mkdir()
    target.mkdir()
    (target / "tokenizer.json").write_text("{}", encoding="utf-8")
    analyzer = build(model_dir, tmp_path)
    assert f"exported to {target}" in analyzer.check()
    assert exports(tmp_path) == [target]
    assert (target / "model.onnx").stat().st_size > 0


def test_default_cache_dir_honours_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "tweetsense" / "onnx"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert default_cache_dir() == Path.home() / ".cache" / "tweetsense" / "onnx"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "tweetsense" / "onnx"
