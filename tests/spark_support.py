"""One local Spark session for the whole test run.

``spark_session()`` starts it on first use and returns the same session afterwards;
``spark`` is the same thing as a session-scoped pytest fixture. Tests that need Spark
import either one (from a test module or from conftest.py)::

    from spark_support import spark  # noqa: F401  (the fixture)

    def test_something(spark):
        assert spark.sql("SELECT 1 AS x").collect()[0].x == 1

When no Java runtime can be found, the fixture fails the test saying what to install
(``.ci/run`` installs it): Spark tests never skip.
``spark_session()`` itself raises.

The session is local, bound to 127.0.0.1, has no UI and no Hive, and is set up for
exact money: ANSI mode on (overflow, division by zero and bad casts are errors, not
NULL), decimal arithmetic that keeps the scale rather than rounding to fit
(allowPrecisionLoss=false), UTC session time zone. Spark's log4j output is ERROR and
above only; the one line the JVM itself prints on start ("WARNING: Using incubator
modules: jdk.incubator.vector") cannot be turned off from here. The session is
stopped when the Python process exits.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import sys
import tempfile
import time

import pytest

# Settings for every test session. Change them here, not in the tests.
SPARK_CONF: dict[str, str] = {
    "spark.master": "local[2]",
    "spark.app.name": "ratecard-tests",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.catalogImplementation": "in-memory",  # no Hive metastore, no derby.log
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.shuffle.partitions": "4",  # more than one: the differential tests see rows of a bill split up
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "false",  # re-planning tiny queries costs more than it saves (~10% of the Spark tests)
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}

# Options for the driver JVM (which is also the only executor). Test queries are small and
# many, so the JVM's quick C1 compiler alone starts them sooner than tiered C2 would; it
# changes speed only, never results.
JAVA_OPTIONS: list[str] = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]

# log4j2 configuration for the driver: ERROR and above, to stderr. Giving Spark a
# configuration of our own also stops it printing its "default log4j profile" and
# "Setting default log level" banner.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
# PySpark's JVM counts as a shell; without a level of its own for the gateway's logger
# Spark prints "Setting default log level to WARN" and lowers the console to WARN.
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
# A query that fails in a task (an overflow, say) is raised to Python with its stack trace;
# these two would log the same trace again at ERROR, for every test that expects the error.
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = fatal
logger.tasksetmanager.name = org.apache.spark.scheduler.TaskSetManager
logger.tasksetmanager.level = fatal
"""

# Seconds the last start took (None until started); the tests may report it.
startup_seconds: float | None = None


@functools.cache
def spark_session():
    """The test run's SparkSession, started on the first call."""
    global startup_seconds
    from pyspark.sql import SparkSession  # imported here: only the Spark tests need it

    started = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="ratecard-spark-")
    log4j = os.path.join(scratch, "log4j2.properties")
    with open(log4j, "w", encoding="utf-8") as f:
        f.write(_LOG4J2)

    # Environment for the JVM that PySpark launches through spark-submit.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no "hostname resolves to loopback" warning
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Python workers, if any, run this interpreter

    java_options = " ".join([*JAVA_OPTIONS, f"-Dlog4j2.configurationFile=file:{log4j}", f"-Djava.io.tmpdir={scratch}"])
    # Every setting goes through the builder: PySpark hands them to spark-submit, so the
    # ones that must be known before the JVM starts (memory, Java options) take effect too.
    builder = SparkSession.builder
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    builder = (
        builder.config("spark.driver.extraJavaOptions", java_options)
        .config("spark.local.dir", scratch)
        .config("spark.sql.warehouse.dir", os.path.join(scratch, "warehouse"))  # not ./spark-warehouse
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    _quiet_query_error_loggers()
    startup_seconds = time.monotonic() - started

    def stop() -> None:
        try:
            session.stop()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    atexit.register(stop)
    return session


def _quiet_query_error_loggers() -> None:
    """Stop PySpark 4 logging every failed query, stack trace and all, to stderr.

    The error is still raised; tests that expect one (pytest.raises) need no log of it.
    """
    try:
        from pyspark.logger import PySparkLogger  # PySpark 4.0 and later
    except ImportError:
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        # Through PySparkLogger, so that the logger PySpark later fetches is of its own class.
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def _java_problem() -> str | None:
    """Why Spark cannot start here, or None if it looks as if it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install '.[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        return "no Java runtime: Spark 4 needs Java 17 or newer (Debian: default-jre-headless)"
    return None


@pytest.fixture(scope="session")
def spark():
    """The test run's SparkSession (see spark_session). Spark tests never skip: without Java they fail, saying
    what to install (`.ci/run` installs it)."""
    problem = _java_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    return spark_session()
