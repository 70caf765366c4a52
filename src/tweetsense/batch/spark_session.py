"""Starting (or joining) the Spark session the Spark engine runs on.

Local mode is made reliable on laptops and CI boxes: the JVM is a Java 17 runtime, the driver
binds to the loopback address (a host name that resolves to nothing breaks it), there is no UI
or console progress bar, and every session computes in UTC. Under ``spark-submit`` the session
the submitter configured is joined as it is, so a cluster's own settings win.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tweetsense.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Spark 4 runs on Java 17 or 21; the newer runtimes an image may also carry are not supported.
_JAVA_GLOBS = ("/usr/lib/jvm/java-17-*", "/usr/lib/jvm/java-21-*", "/usr/lib/jvm/*-17*")

# Settings that only take effect before the JVM starts.
LOCAL_STATIC_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}

# Settings every run sets on its session, joined or new: they decide the outputs' types.
RUNTIME_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # Parquet timestamps as DuckDB writes them (INT96 is Spark's legacy default).
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
}


def find_java_home(configured: str | None) -> str:
    """A Java home with bin/java: the configured one, $JAVA_HOME, or a Java 17/21 on the box."""
    if configured:
        if not Path(configured, "bin", "java").exists():
            raise ConfigError(
                f"batch.java_home: {configured} has no bin/java; point it at a Java 17 runtime"
            )
        return configured
    env = os.environ.get("JAVA_HOME")
    if env and Path(env, "bin", "java").exists():
        return env
    for pattern in _JAVA_GLOBS:
        for home in sorted(glob.glob(pattern)):
            if Path(home, "bin", "java").exists():
                return home
    raise ConfigError(
        "batch.java_home: no Java 17 runtime found; install one (tools/deps/java.sh installs "
        "openjdk-17-jre-headless) or set batch.java_home"
    )


def active_session() -> SparkSession | None:
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def start_session(
    *,
    master: str,
    app_name: str,
    conf: dict[str, str],
    java_home: str | None = None,
) -> SparkSession:
    """The active session if there is one, else a new one for ``master``."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        os.environ["JAVA_HOME"] = find_java_home(java_home)
        # The Python workers Spark may start must be this interpreter, not whatever is on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder: Any = SparkSession.builder.appName(app_name).master(master)
        settings = dict(conf)
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            settings = {**LOCAL_STATIC_CONF, **settings}
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # the JVM failed to start: py4j raises plain exceptions
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"batch.master: Spark could not start on {master!r} ({first}); check "
                "batch.java_home and batch.conf"
            ) from None
        session.sparkContext.setLogLevel("ERROR")
    for key, value in RUNTIME_CONF.items():
        session.conf.set(key, value)
    return session
