"""Tweet text to the n-gram strings the linear model reads; one function for training and scoring.

Normalisation: HTML entities decoded, links become ``http``, mentions ``@user``, letters repeated
three or more times are cut to two (``sooooo`` -> ``soo``, with a marker token, since stretching
a word is itself a signal), case folded with a marker for shouted words. Word features are
unigrams and bigrams with Das & Chen negation marking (``not good`` -> ``not good_NEG`` up to the
next punctuation), so the model can learn that a negated positive word is not positive. Character
2-5-grams of the normalised text (hashed to 64 bits) cover misspellings, hashtags run together
and emoji.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

URL = re.compile(r"https?://\S+|www\.\S+")
MENTION = re.compile(r"@\w+")
ELONGATED = re.compile(r"(\w)\1{2,}")
SPACE = re.compile(r"\s+")
SHOUT = re.compile(r"\b[A-Z]{3,}\b")
# Emoticons before words, so ":D" is not split; emoji and symbols are one token each.
TOKEN = re.compile(
    r"[<>]?[:;=8x][\-o\*']?[\)\]\(\[dDpP/\\|@3]+|<3+|</3"
    r"|[#@]?[^\W_]+(?:['\u2019][^\W_]+)*"
    r"|[!?]+"
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]"
    r"|[.,;:]"
)
NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "nor",
        "neither",
        "without",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "wont",
        "wouldnt",
        "shouldnt",
        "couldnt",
        "aint",
        "hardly",
    }
)
CLAUSE_END = frozenset(".,;:!?")
CHAR_SIZES = (2, 3, 4, 5)
HASH_SEED = np.uint64(0x9E3779B97F4A7C15)
HASH_PRIME = np.uint64(0x100000001B3)
# Longer than any tweet: keeps the cost of a pasted essay bounded.
MAX_CHARS = 1000


def normalize(text: str) -> tuple[str, int, int]:
    """Normalised lower-case text, and counts of shouted and elongated words."""
    text = html.unescape(text[:MAX_CHARS])
    text = URL.sub(" http ", text)
    text = MENTION.sub(" @user ", text)
    shouted = len(SHOUT.findall(text))
    text, elongated = ELONGATED.subn(r"\1\1", text)
    return SPACE.sub(" ", text).strip().lower(), shouted, elongated


def _negated(tokens: list[str]) -> list[str]:
    out = []
    negating = False
    for tok in tokens:
        if tok[0] in CLAUSE_END:
            negating = False
            out.append(tok)
            continue
        out.append(tok + "_NEG" if negating else tok)
        if tok in NEGATORS or tok.endswith(("n't", "n\u2019t")):
            negating = True
    return out


def word_grams(norm: str, shouted: int, elongated: int) -> set[str]:
    """Word unigrams and bigrams of a normalised text, with negation and style markers."""
    tokens = _negated(TOKEN.findall(norm))
    feats = set(tokens)
    feats.update(a + " " + b for a, b in pairwise(tokens))
    feats.update(t[1:] for t in tokens if t[0] == "#" and len(t) > 1)
    if shouted:
        feats.add("<shout>")
    if elongated:
        feats.add("<elong>")
    return feats


def char_hashes(norms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(document, hash) of every character 2-5-gram of `` text `` for each normalised text.

    64-bit polynomial hashes computed for the whole batch at once in numpy: the same n-grams a
    Python loop would slice, at a fraction of the cost. Grams that would span two texts are
    dropped. Pairs may repeat; the caller removes duplicates.
    """
    padded = [f" {t} " for t in norms]
    lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    doc = np.repeat(np.arange(len(padded), dtype=np.int64), lengths)
    docs, hashes = [], []
    h = codes + HASH_SEED
    for size in range(2, CHAR_SIZES[-1] + 1):
        h = h[:-1] * HASH_PRIME + codes[size - 1 :]
        start_doc = doc[: len(h)]
        if size in CHAR_SIZES:
            same = start_doc == doc[size - 1 :]
            docs.append(start_doc[same])
            hashes.append(h[same])
    return np.concatenate(docs), np.concatenate(hashes)
