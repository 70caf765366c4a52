"""The Spark batch engine: PySpark reads the window files, Ibis runs the job on Spark.

Only reading the files into ``job.INPUT_SCHEMAS`` and writing the outputs is Spark code here;
the merge and aggregation is ``job.build``, the expression DuckDB runs too. Input URIs pass to
Spark unchanged, so on a cluster ``s3://`` (EMR) or ``s3a://`` keys are read where they lie.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from tweetsense.batch import job
from tweetsense.batch.base import BatchInputs, BatchOutputs, BatchResult, Engine
from tweetsense.batch.spark_io import copy_to_local, is_remote, read_inputs, write_single_file
from tweetsense.errors import BadInputError, ConfigError
from tweetsense.staging.base import Store

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from tweetsense.registry import Context

# Same text as DuckDB's '%Y-%m-%dT%H:%M:%S.%gZ' for the UTC session zone.
_CSV_TIME = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"


class SparkEngine(Engine):
    name = "spark"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        master: str = Field(default="local[2]", description="ignored under spark-submit")
        app_name: str = "tweetsense-batch"
        shuffle_partitions: int = Field(default=4, ge=1)
        driver_memory: str = "1g"
        conf: dict[str, str] = Field(default_factory=dict, description="extra spark.* settings")
        java_home: str | None = None
        # Where Spark writes before each output is copied into the store; on a cluster it must
        # be a shared file system (hdfs:///tmp/tweetsense, s3://bucket/tmp).
        scratch_dir: str | None = Field(default=None, description="default <data_dir>/.tmp")
        csv: bool = True

    def __init__(self, settings: SparkEngine.Settings, context: Context):
        if importlib.util.find_spec("pyspark") is None:
            raise ConfigError(
                "batch.type: backend 'spark' cannot load (pyspark missing); "
                "run: pip install 'tweetsense[spark]'"
            )
        self.settings = settings
        self.scratch_dir = settings.scratch_dir or str((context.data_dir / ".tmp").resolve())

    def session(self) -> SparkSession:
        from tweetsense.batch.spark_session import start_session

        s = self.settings
        conf = {"spark.driver.memory": s.driver_memory, **s.conf}
        session = start_session(
            master=s.master, app_name=s.app_name, conf=conf, java_home=s.java_home
        )
        session.conf.set("spark.sql.shuffle.partitions", str(s.shuffle_partitions))
        return session

    def run(self, inputs: BatchInputs, outputs: BatchOutputs, store: Store) -> BatchResult:
        session = self.session()
        run_dir = f"{self.scratch_dir.rstrip('/')}/spark-{uuid.uuid4().hex}"
        local_copies = None
        if session.sparkContext.master.startswith("local") and any(
            is_remote(u)
            for u in (*inputs.staging_uris, *inputs.sentiment_uris, *inputs.analysis_uris)
        ):
            local_copies = tempfile.mkdtemp(prefix="spark-inputs-", dir=self._local_scratch())
            inputs = copy_to_local(inputs, store, local_copies)
        try:
            return self._run(session, inputs, outputs, store, run_dir)
        finally:
            if local_copies:
                shutil.rmtree(local_copies, ignore_errors=True)

    def _local_scratch(self) -> str | None:
        if is_remote(self.scratch_dir):
            return None
        os.makedirs(self.scratch_dir, exist_ok=True)
        return self.scratch_dir

    def _run(
        self,
        session: SparkSession,
        inputs: BatchInputs,
        outputs: BatchOutputs,
        store: Store,
        run_dir: str,
    ) -> BatchResult:
        import ibis
        from py4j.protocol import Py4JJavaError
        from pyspark import StorageLevel
        from pyspark.errors import PySparkException

        try:
            tables = read_inputs(session, inputs)
        except (PySparkException, Py4JJavaError) as exc:
            raise _bad_input(exc) from None
        con = ibis.pyspark.connect(session)
        views = {}
        for name, frame in tables.items():
            view = f"tweetsense_{name}_{uuid.uuid4().hex[:8]}"
            frame.createOrReplaceTempView(view)
            views[name] = view
        kept: list[DataFrame] = []

        def keep(name: str, table: ibis.Table) -> ibis.Table:
            # Persisted lazily: the first output that reads it computes it, the others reuse it.
            frame = session.sql(con.compile(table)).persist(StorageLevel.MEMORY_AND_DISK)
            kept.append(frame)
            view = f"tweetsense_{name}_{uuid.uuid4().hex[:8]}"
            frame.createOrReplaceTempView(view)
            views[name] = view
            return con.table(view)

        try:
            try:
                result = job.build(
                    {name: con.table(view) for name, view in views.items()},
                    query=inputs.query,
                    freq_seconds=inputs.freq_seconds,
                    driver_min_count=inputs.driver_min_count,
                    keep=keep,
                )
                labels = self._write(
                    session.sql(con.compile(result.tweets)),
                    f"{run_dir}/tweets",
                    outputs.tweets_parquet,
                    outputs.tweets_csv,
                    store,
                )
                n_windows = sum(
                    self._write(
                        session.sql(con.compile(result.windows)),
                        f"{run_dir}/windows",
                        outputs.windows_parquet,
                        outputs.windows_csv,
                        store,
                    ).values()
                )
                ledger = [
                    {k: int(v) for k, v in row.asDict().items()}
                    for row in session.sql(con.compile(result.ledger)).collect()
                ]
                for table, name, key in (
                    (result.scores, "scores", outputs.scores_parquet),
                    (result.by_analyzer, "by_analyzer", outputs.by_analyzer_parquet),
                    (result.drivers, "drivers", outputs.drivers_parquet),
                    (result.agreement, "agreement", outputs.agreement_parquet),
                ):
                    self._write(
                        session.sql(con.compile(table)), f"{run_dir}/{name}", key, None, store
                    )
            except (PySparkException, Py4JJavaError) as exc:
                raise _bad_input(exc) from None
            finally:
                _delete(session, run_dir)
        finally:
            for frame in kept:
                frame.unpersist()
            for view in views.values():
                session.catalog.dropTempView(view)
        return BatchResult(sum(labels.values()), n_windows, labels, ledger)

    def _write(
        self,
        frame: DataFrame,
        scratch: str,
        parquet_key: str,
        csv_key: str | None,
        store: Store,
    ) -> dict[str, int]:
        """Write one output; returns its row count per label (or under '' if it has none)."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        session = frame.sparkSession
        # One partition after the global sort keeps the rows in order in one file.
        frame.coalesce(1).write.mode("overwrite").parquet(f"{scratch}.parquet")
        if csv_key and self.settings.csv:
            with _whole_files(session):
                session.read.parquet(f"{scratch}.parquet").coalesce(1).write.mode("overwrite").csv(
                    f"{scratch}.csv",
                    header=True,
                    escape='"',
                    timestampFormat=_CSV_TIME,
                    emptyValue='""',
                    # Spark trims cells by default; a post's text keeps its spaces.
                    ignoreLeadingWhiteSpace=False,
                    ignoreTrailingWhiteSpace=False,
                )
            with store.writing(csv_key) as csv:
                write_single_file(session, f"{scratch}.csv", csv)
        with store.writing(parquet_key) as parquet:
            write_single_file(session, f"{scratch}.parquet", parquet)
            table = pq.ParquetFile(parquet)
            if "label" not in table.schema_arrow.names:
                return {"": table.metadata.num_rows}
            counts = pc.value_counts(table.read(columns=["label"]).column("label"))
        return {str(c["values"]): int(c["counts"]) for c in counts.to_pylist()}


@contextmanager
def _whole_files(session: SparkSession) -> Iterator[None]:
    """Scans read each file as one partition, so a single file's row order survives: Spark
    would otherwise split a large file and pack the pieces largest first."""
    key = "spark.sql.files.maxPartitionBytes"
    previous = session.conf.get(key)
    session.conf.set(key, str(1 << 62))
    try:
        yield
    finally:
        session.conf.set(key, previous or "128m")


def _delete(session: SparkSession, uri: str) -> None:
    jvm = session.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(session.sparkContext._jsc.hadoopConfiguration())
    fs.delete(path, True)


def _bad_input(exc: Exception) -> BadInputError:
    java = getattr(exc, "java_exception", None)  # py4j wraps JVM errors with a useless first line
    text = str(java.getMessage() if java is not None else exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return BadInputError(
        f"batch: Spark cannot read or process the window files ({first[:300]}); rerun "
        "ingest/consume for the windows it names"
    )
