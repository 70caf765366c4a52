"""Model commands: `eval` (measure an analyzer on labelled tweets) and `train` (fit a model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tweetsense.cli.common import app, guarded, out, setup_logging
from tweetsense.errors import ConfigError

DataOpt = Annotated[
    Path,
    typer.Option(
        "--data", help="CSV with columns text,label (negative/neutral/positive).", dir_okay=False
    ),
]


@app.command("eval")
def eval_(
    data: DataOpt,
    analyzer: Annotated[
        str, typer.Option("--analyzer", "-a", help="Analyzer name (sentiment.type).")
    ] = "default",
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Model folder for the `model` analyzer.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score labelled tweets with an analyzer: macro recall, accuracy, F1, confusion, tweets/s."""
    from tweetsense import registry
    from tweetsense.config import BackendSection, load_config
    from tweetsense.sentiment.dataset import read_labelled_csv
    from tweetsense.sentiment.evaluate import evaluate

    def body() -> None:
        setup_logging(0)
        if model is not None and analyzer not in ("default", "model"):
            raise ConfigError("--model goes with --analyzer model; leave one of them out")
        name = "model" if model is not None else analyzer
        options = {"path": model} if model is not None else {}
        labelled = read_labelled_csv(data)
        context = registry.Context(load_config(None, demo=True))
        scorer = registry.create("sentiment", context, BackendSection(type=name, **options))
        try:
            result = evaluate(scorer, name, labelled)
        finally:
            scorer.close()
        summary = result.as_dict()
        if as_json:
            print(json.dumps(summary))
            return
        out.print(
            f"{name} on {data} ({summary['n']:,} tweets): macro recall "
            f"{summary['macro_recall']:.4f}, accuracy {summary['accuracy']:.4f}, "
            f"macro F1 {summary['macro_f1']:.4f}, ECE {summary['ece']:.4f}, "
            f"{summary['tweets_per_second']:,.0f} tweets/s (CPU time, one core; "
            f"{summary['wall_tweets_per_second']:,.0f}/s wall clock)"
        )
        table = Table("true \\ predicted", *summary["labels"], "recall")
        for label, row in zip(summary["labels"], summary["confusion"], strict=True):
            table.add_row(label, *map(str, row), f"{summary['recall'][label]:.4f}")
        out.print(table)

    guarded(body)


@app.command()
def train(
    data: DataOpt,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write the model to.", file_okay=False)
    ],
    base: Annotated[str, typer.Option(help="Model kind to train.")] = "default",
    c: Annotated[
        float, typer.Option("--c", help="Inverse regularisation strength.", min=1e-6)
    ] = 3.0,
) -> None:
    """Train a tweet model on labelled tweets; use it with `sentiment: {type: model, path: DIR}`."""
    from tweetsense.sentiment.dataset import read_labelled_csv
    from tweetsense.sentiment.train_run import train_and_save

    def body() -> None:
        setup_logging(0)
        if base != "default":
            raise ConfigError(
                f"--base {base!r}: only 'default' (the linear tweet model) can be trained here"
            )
        labelled = read_labelled_csv(data)
        result = train_and_save(labelled, out_dir, c=c)
        out.print(
            f"wrote {out_dir}: {result['train_size']:,} tweets, {result['features']:,} features; "
            f"held-out macro recall {result['holdout_macro_recall']}, "
            f"ECE {result['holdout_ece']} ({result['holdout_size']} tweets)"
        )
        out.print(f"use it with  sentiment: {{type: model, path: {out_dir}}}")

    guarded(body)
