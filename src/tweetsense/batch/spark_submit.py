"""The batch stage as a spark-submit application.

    spark-submit --py-files tweetsense-0.1.0-py3-none-any.whl \\
        --files tweetsense.yaml  .../tweetsense/batch/spark_submit.py --config tweetsense.yaml

The session is the one spark-submit configured (its --master, --conf and cluster defaults), so
``batch.master`` does not apply here; the engine is always ``spark``. Also runnable as
``python -m tweetsense.batch.spark_submit`` for a local run. See docs/spark.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tweetsense.errors import TweetsenseError


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tweetsense.batch.spark_submit",
        description="Merge posts with their scores and aggregate them per window, on Spark.",
    )
    parser.add_argument("--config", type=Path, help="config file (default $TWEETSENSE_CONFIG)")
    parser.add_argument("--data-dir", type=Path, help="overrides data_dir")
    parser.add_argument("--secrets", type=Path, help="secrets file")
    parser.add_argument("--allow-partial", action="store_true", help="skip unscored windows")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    from pyspark.sql import SparkSession

    from tweetsense.pipeline.batch import batch
    from tweetsense.pipeline.core import Pipeline

    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # Created before the engine looks for one, so spark-submit's master and conf are used.
    session = SparkSession.builder.appName("tweetsense-batch").getOrCreate()
    try:
        with Pipeline.open(
            args.config, data_dir=args.data_dir, secrets=args.secrets, backends={"batch": "spark"}
        ) as p:
            report = batch(p, allow_partial=args.allow_partial)
    except TweetsenseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        session.stop()
    r = report.result
    print(
        f"batch: {r.tweets:,} posts in {r.windows} windows -> "
        f"{p.store.uri(report.outputs.tweets_parquet)}, "
        f"{p.store.uri(report.outputs.windows_parquet)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
