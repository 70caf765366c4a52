"""Tiny random Hugging Face classifiers saved as `save_pretrained` writes them, for tests that
must not download anything: a 2-layer BERT with a WordPiece vocabulary of a few words."""

from __future__ import annotations

import os
from pathlib import Path

# Set before transformers is imported anywhere: the hub must never be asked in a test.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_WORDS = """
i love hate this that the a is was great awful terrible good bad day service car battery
charging station new old ever worst best really not so very @ user http , . ! ? : ) (
"""
WORDS = tuple(_WORDS.split())
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_bert(folder: Path, id2label: dict[int, str], seed: int = 0) -> Path:
    """A random BertForSequenceClassification with ``id2label`` outputs, saved in ``folder``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = [*SPECIALS, *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # from_pretrained reads vocab.txt under transformers 4 and 5 alike; the constructor's
    # keyword for the file changed between them and an unknown one is silently ignored.
    tokenizer = BertTokenizerFast.from_pretrained(str(folder))
    assert len(tokenizer) == len(vocab), "the tokenizer did not read vocab.txt"
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        num_labels=len(id2label),
        id2label=dict(id2label),
        label2id={v: k for k, v in id2label.items()},
        # BERT's usual 0.02 makes a random model answer the same for every text; 0.2 makes
        # probabilities that follow the tokens without saturating.
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


SENTIMENT = {0: "negative", 1: "neutral", 2: "positive"}
