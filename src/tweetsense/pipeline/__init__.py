"""The four stages (ingest, consume, batch, load) and the whole run."""

from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.run import RunReport, run_all

__all__ = ["Pipeline", "RunReport", "run_all"]
