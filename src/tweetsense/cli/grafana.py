"""`tweetsense grafana export`: a Grafana dashboard and its data source, as files."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tweetsense.cli.common import app, guarded, out
from tweetsense.errors import ConfigError

grafana_app = typer.Typer(help="Grafana dashboards of the warehouse tables.", no_args_is_help=True)
app.add_typer(grafana_app, name="grafana")


class DatasourceKind(StrEnum):
    postgres = "postgres"
    redshift = "redshift"


@grafana_app.command("export")
def export(
    datasource: Annotated[
        DatasourceKind, typer.Option(help="The warehouse Grafana reads.")
    ] = DatasourceKind.postgres,
    out_dir: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Folder for the files.")
    ] = Path("grafana"),
) -> None:
    """Write the dashboard JSON and the provisioning YAML of its data source and dashboard."""
    from tweetsense.dashboard import grafana

    def body() -> None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            files = {
                "tweetsense-dashboard.json": json.dumps(grafana.dashboard(), indent=2) + "\n",
                "datasource.yaml": grafana.datasource_yaml(datasource.value),
                "dashboards.yaml": grafana.dashboard_provider_yaml(),
            }
            for name, text in files.items():
                (out_dir / name).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--out: cannot write to {out_dir} ({exc.strerror})") from None
        out.print(f"wrote {', '.join(files)} to {out_dir}", highlight=False)

    guarded(body)
