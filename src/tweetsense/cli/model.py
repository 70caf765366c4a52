"""Model commands: `eval` (compare analyzers on labelled posts) and `train` (fit a model)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tweetsense.cli.common import TOOLS, command, err, out, setup_logging
from tweetsense.errors import ConfigError

DataOpt = Annotated[
    Path,
    typer.Option(
        "--data", help="CSV with columns text,label (negative/neutral/positive).", dir_okay=False
    ),
]
# The setting a `NAME:TARGET` analyzer spec fills, for the analyzers that need one.
_TARGET = {"model": "path", "transformers": "model", "http": "url"}


def analyzer_section(spec: str, threads: int) -> tuple[str, dict[str, Any]]:
    """``default``, ``model:DIR``, ``transformers:NAME`` ... as (type, settings)."""
    from tweetsense import registry

    name, _, target = spec.partition(":")
    if name not in registry.names("sentiment"):
        raise ConfigError(
            f"--analyzer {spec}: unknown analyzer {name!r}; choose one of "
            f"{', '.join(registry.names('sentiment'))}"
        )
    options: dict[str, Any] = {}
    if target:
        if name not in _TARGET:
            raise ConfigError(f"--analyzer {spec}: {name} takes no ':{target}' part")
        options[_TARGET[name]] = target
    elif name in _TARGET:
        raise ConfigError(
            f"--analyzer {name}: say which one, e.g. {name}:{'DIR' if name == 'model' else 'NAME'}"
        )
    fields = registry.backend_class("sentiment", name).Settings.model_fields
    if "threads" in fields:
        options["threads"] = threads
    return name, options


@command(TOOLS, name="eval")
def eval_(
    data: DataOpt,
    analyzer: Annotated[
        list[str] | None,
        typer.Option(
            "--analyzer",
            "-a",
            help="Analyzers to compare: default, fast, vader, model:DIR, transformers:NAME, "
            "http:URL, comprehend (space or comma separated).",
            show_default=False,
        ),
    ] = None,
    more: Annotated[list[str] | None, typer.Argument(hidden=True)] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model", help="Model folder, same as --analyzer model:DIR.", show_default=False
        ),
    ] = None,
    threads: Annotated[
        int,
        typer.Option(help="Threads for analyzers that take them (0: one per core).", min=0),
    ] = 0,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for eval.json and one confusion CSV per analyzer.",
            file_okay=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compare analyzers on labelled posts: macro recall, accuracy, F1, ECE, posts/s."""
    from tweetsense import registry
    from tweetsense.config import BackendSection, load_config
    from tweetsense.sentiment.modelling.dataset import read_labelled_csv
    from tweetsense.sentiment.modelling.evaluate import evaluate

    setup_logging(0)
    specs = [s for part in [*(analyzer or []), *(more or [])] for s in part.split(",") if s]
    if model is not None:
        specs.append(f"model:{model}")
    specs = list(dict.fromkeys(specs or ["default"]))
    n_threads = threads or os.cpu_count() or 1
    sections = [analyzer_section(spec, n_threads) for spec in specs]
    labelled = read_labelled_csv(data)
    context = registry.Context(load_config(None, demo=True))
    results = []
    for spec, (name, options) in zip(specs, sections, strict=True):
        if not as_json:
            err.print(f"scoring {len(labelled.texts):,} posts with {spec} ...")
        scorer = registry.create("sentiment", context, BackendSection(type=name, **options))
        try:
            results.append(evaluate(scorer, spec, labelled).as_dict())
        finally:
            scorer.close()
    if out_dir is not None:
        write_results(out_dir, data, results)
    if as_json:
        print(json.dumps(results[0] if len(results) == 1 else results))
        return
    print_results(data, results, n_threads)
    if out_dir is not None:
        out.print(f"wrote {out_dir!s}/eval.json and the confusion matrices")


def write_results(out_dir: Path, data: Path, results: list[dict[str, Any]]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(
        json.dumps({"data": str(data), "results": results}, indent=2) + "\n"
    )
    for r in results:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in r["analyzer"])
        lines = ["true\\predicted," + ",".join(r["labels"])]
        lines += [
            f"{label}," + ",".join(map(str, row))
            for label, row in zip(r["labels"], r["confusion"], strict=True)
        ]
        (out_dir / f"confusion-{safe}.csv").write_text("\n".join(lines) + "\n")


def print_results(data: Path, results: list[dict[str, Any]], threads: int) -> None:
    n = results[0]["n"]
    table = Table(
        "analyzer",
        "macro recall",
        "accuracy",
        "macro F1",
        *(f"recall {label[:3]}" for label in results[0]["labels"]),
        "ECE",
        "posts/s",
        "per core",
        title=f"{data!s}: {n:,} posts",
    )
    for r in results:
        table.add_row(
            r["analyzer"],
            f"{r['macro_recall']:.4f}",
            f"{r['accuracy']:.4f}",
            f"{r['macro_f1']:.4f}",
            *(f"{r['recall'][k]:.3f}" for k in r["labels"]),
            f"{r['ece']:.4f}",
            f"{r['wall_tweets_per_second']:,.0f}",
            f"{r['tweets_per_second']:,.0f}",
        )
    out.print(table)
    out.print(
        f"posts/s: wall clock on this machine, {threads} thread(s) for analyzers that take "
        "them; per core: per second of this process's CPU time"
    )
    for r in results:
        confusion = Table(f"{r['analyzer']}: true \\ predicted", *r["labels"])
        for label, row in zip(r["labels"], r["confusion"], strict=True):
            confusion.add_row(label, *map(str, row))
        out.print(confusion)


@command(TOOLS)
def train(
    data: DataOpt,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write the model to.", file_okay=False)
    ],
    base: Annotated[
        str,
        typer.Option(
            help="What to train: minilm (fine-tune all-MiniLM-L6-v2), a local encoder folder "
            "or a Hugging Face name to fine-tune, or linear (TF-IDF + logistic regression)."
        ),
    ] = "minilm",
    epochs: Annotated[
        float, typer.Option(help="Passes over the data (transformer).", min=0.01)
    ] = 2.0,
    max_minutes: Annotated[
        float | None,
        typer.Option(
            help="Stop after this long and export what was learnt; rerun to continue.",
            min=0.1,
            show_default=False,
        ),
    ] = None,
    lr: Annotated[float, typer.Option(help="Peak learning rate (transformer).", min=0)] = 6e-5,
    threads: Annotated[
        int, typer.Option(help="Training threads (default: every core).", min=0)
    ] = 0,
    c: Annotated[
        float, typer.Option("--c", help="Inverse regularisation strength (linear).", min=1e-6)
    ] = 3.0,
) -> None:
    """Train a model on labelled posts; use it with `sentiment: {type: model, path: DIR}`."""
    from tweetsense.sentiment.modelling.dataset import read_labelled_csv

    setup_logging(0)
    labelled = read_labelled_csv(data)
    if base == "linear":
        from tweetsense.sentiment.modelling.train_run import train_linear

        result = train_linear(labelled, out_dir, c=c)
        summary = (
            f"{result['train_size']:,} posts, {result['features']:,} features; "
            f"held-out macro recall {result['holdout_macro_recall']}, "
            f"ECE {result['holdout_ece']} ({result['holdout_size']} posts)"
        )
    else:
        result = _train_transformer(labelled, out_dir, base, epochs, max_minutes, lr, threads)
        summary = (
            f"{result['train_size']:,} posts; held-out macro recall "
            f"{result['holdout_macro_recall']}, ECE {result['holdout_ece']} "
            f"({result['holdout_size']} posts)"
        )
        if not result["finished"]:
            summary += "; stopped at --max-minutes: run the same command to continue"
    out.print(f"wrote {out_dir!s}: {summary}")
    out.print(f"use it with  sentiment: {{type: model, path: {out_dir!s}}}")


def _train_transformer(
    labelled: Any,
    out_dir: Path,
    base: str,
    epochs: float,
    max_minutes: float | None,
    lr: float,
    threads: int,
) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from tweetsense.sentiment.modelling.finetune import Recipe
    from tweetsense.sentiment.modelling.train_run import train_transformer

    recipe = Recipe(
        epochs=epochs, lr=lr, threads=threads or os.cpu_count() or 1, max_minutes=max_minutes
    )
    with Progress(
        TextColumn("fine-tuning"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps, loss {task.fields[loss]:.3f}"),
        TimeRemainingColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("train", total=None, loss=float("nan"))

        def progress(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, loss=loss)

        return train_transformer(labelled, out_dir, base, recipe, progress)
