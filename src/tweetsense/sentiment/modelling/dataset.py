"""Labelled tweets from a CSV file with columns ``text,label`` (negative/neutral/positive)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from tweetsense.errors import BadInputError
from tweetsense.sentiment.scores import CLASSES as LABELS


@dataclass(frozen=True)
class Labelled:
    texts: list[str]
    labels: list[str]


def read_labelled_csv(path: Path) -> Labelled:
    """Every row's text and lower-cased label; a bad file raises one line naming line and column."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read ({exc.strerror}); pass an existing CSV") from None
    texts: list[str] = []
    labels: list[str] = []
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames or []
            missing = [col for col in ("text", "label") if col not in header]
            if missing:
                raise BadInputError(
                    f"{path}: line 1: missing column {missing[0]!r}; the header must name "
                    "the columns text,label"
                )
            for row in reader:
                line = reader.line_num
                text, label = row.get("text"), row.get("label")
                if text is None or label is None:
                    col = "text" if text is None else "label"
                    raise BadInputError(f"{path}: line {line}: column {col!r} is empty or missing")
                label = label.strip().lower()
                if label not in LABELS:
                    raise BadInputError(
                        f"{path}: line {line}: column 'label': unknown label {label!r}; "
                        f"use one of {', '.join(LABELS)}"
                    )
                texts.append(text)
                labels.append(label)
        except csv.Error as exc:
            raise BadInputError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
        except UnicodeDecodeError:
            raise BadInputError(
                f"{path}: line {reader.line_num + 1}: not UTF-8 text; save the file as UTF-8"
            ) from None
    if not texts:
        raise BadInputError(f"{path}: no rows after the header; add text,label rows")
    return Labelled(texts, labels)
