"""`tweetsense grafana export`: a Grafana dashboard and its data source, as files."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tweetsense.cli.common import TOOLS, PipelineOptions, app, command, err, out
from tweetsense.config import locate_config
from tweetsense.errors import ConfigError
from tweetsense.timeutil import parse_utc

grafana_app = typer.Typer(help="Grafana dashboards of the warehouse tables.", no_args_is_help=True)
app.add_typer(grafana_app, name="grafana", rich_help_panel=TOOLS)

DASHBOARD_FILE = "tweetsense-dashboard.json"
DATASOURCE_FILE = "datasource.yaml"
PROVIDER_FILE = "dashboards.yaml"
TimeRange = tuple[datetime, datetime]


class DatasourceKind(StrEnum):
    postgres = "postgres"
    redshift = "redshift"


def _utc(option: str, value: str) -> datetime:
    try:
        return parse_utc(value)
    except ValueError:
        raise ConfigError(
            f"{option}: {value[:40]!r} is not a time; write UTC ISO 8601 such as "
            "2024-03-01T00:00:00Z"
        ) from None


def _given_range(start: str | None, end: str | None) -> TimeRange | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ConfigError("--from and --to go together; pass both, or neither for the loaded range")
    span = _utc("--from", start), _utc("--to", end)
    if span[0] >= span[1]:
        raise ConfigError("--from: must be before --to")
    return span


def _has_config(opts: PipelineOptions) -> bool:
    # No config is a fallback here, not an error.
    try:
        locate_config(opts.config, demo=opts.demo)
    except ConfigError:
        return False
    return True


def _shown(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC")


@command(TOOLS, name="export", on=grafana_app)
def export(
    opts: PipelineOptions,
    datasource: Annotated[
        DatasourceKind, typer.Option(help="The warehouse Grafana reads.")
    ] = DatasourceKind.postgres,
    out_dir: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Folder for the files.")
    ] = Path("grafana"),
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Start of the dashboard's time range, UTC ISO 8601 "
            "(default: the first window in the warehouse).",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="End of the dashboard's time range (default: the end of the last window).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    warehouse: Annotated[
        str | None,
        typer.Option(
            help="Warehouse to read the time range from (overrides warehouse.type).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the dashboard JSON and the provisioning YAML of its data source and dashboard.

    The dashboard opens on the windows loaded in the configured warehouse (or --from/--to);
    without a config, on the last 7 days."""
    from tweetsense.dashboard import grafana

    names = (DASHBOARD_FILE, DATASOURCE_FILE, PROVIDER_FILE)
    existing = [out_dir / name for name in names if (out_dir / name).exists()]
    if existing and not force:
        raise ConfigError(f"{existing[0]} exists; pass --force to overwrite it")
    span = _given_range(start, end)
    if span is not None:
        why = "--from/--to"
    elif not _has_config(opts):
        why = "no config to read the loaded windows from; pass --config, --demo or --from/--to"
    else:
        with opts.open(warehouse=warehouse) as p:
            span = grafana.loaded_range(p.warehouse, p.config.search.freq)
            missing = grafana.missing_tables(p.warehouse)
        why = "the loaded windows" if span else "the warehouse holds no windows yet"
        if missing:
            names = ", ".join(missing[:-1]) + (" or " if len(missing) > 1 else "") + missing[-1]
            err.print(
                f"note: the warehouse has no {names} table, which the panels "
                "read; run `tweetsense load` to create and fill them",
                highlight=False,
                soft_wrap=True,
            )
    files = {
        DASHBOARD_FILE: json.dumps(grafana.dashboard(span), indent=2) + "\n",
        DATASOURCE_FILE: grafana.datasource_yaml(datasource.value),
        PROVIDER_FILE: grafana.dashboard_provider_yaml(),
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out_dir / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--out: cannot write to {out_dir} ({exc.strerror})") from None
    out.print(f"wrote {', '.join(files)} to {out_dir}", highlight=False)
    if span is None:
        err.print(f"time range: the last 7 days ({why})", highlight=False, soft_wrap=True)
    else:
        shown = f"{_shown(span[0])} to {_shown(span[1])}"
        out.print(f"time range: {shown} ({why})", highlight=False, soft_wrap=True)
