"""The Spark backend: the same Ibis expressions, run by PySpark over a Parquet export.

``backend(db_or_dir)`` returns an Ibis PySpark backend on which every canonical table
(``arrests``, ..., ``releases``, ``quarantine``) is a temporary view named like the
DuckDB table, so ``icetally.count(..., backend="spark")`` builds the very expressions
it builds for DuckDB.

``db_or_dir`` may be

- a Parquet export directory (``icetally export --parquet DIR``), local or any URI
  Spark can read (``s3a://bucket/icetally``, ``hdfs://...``, ``file:///...``);
- a ``.duckdb`` store: it is exported first to a cache next to it
  (``<store>.spark-cache/<size>-<mtime>/``, or under ``$ICETALLY_SPARK_CACHE`` or
  the temp dir when that is not writable), reused until the store changes;
- ``None``: ``$ICETALLY_DB``, else ``./icetally.duckdb``.

Where Spark runs:

- ``$ICETALLY_SPARK_REMOTE=sc://host:15002``: a Spark Connect server (no Java needed
  here; the data location must be readable by the cluster);
- ``$ICETALLY_SPARK_MASTER`` (``spark://host:7077``, ``yarn``, ``local[8]``): a classic
  session with that master;
- else an already running session or JVM (spark-submit, pyspark shell, notebooks) is
  used as it is;
- else a local session, ``local[2]``, with small shuffles and no UI.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import ibis
from ibis.backends import BaseBackend
from pyspark.sql import SparkSession

from icetally.query.backend import BackendError
from icetally.store.db import resolve_db
from icetally.store.export import MANIFEST, ExportError, export_parquet, read_manifest

ENV_REMOTE = "ICETALLY_SPARK_REMOTE"
ENV_MASTER = "ICETALLY_SPARK_MASTER"
ENV_DRIVER_MEMORY = "ICETALLY_SPARK_DRIVER_MEMORY"
ENV_CACHE = "ICETALLY_SPARK_CACHE"

DEFAULT_MASTER = "local[2]"
# How long a superseded cached export of a store is kept (a running query may read it).
STALE_SECONDS = 600
# A quarter of a 24 GiB machine: the national store needs well under 1 GiB, the
# 20M-row benchmark about 2; several engineers share the machine.
DEFAULT_DRIVER_MEMORY = "4g"

# Local sessions only. 200 shuffle partitions (Spark's default) turn a group-by over
# a few thousand groups into 200 tiny tasks on 2 cores; 4 keeps both cores busy.
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.session.timeZone": "UTC",
    # No network beyond the loopback is needed (or, on CI, resolvable).
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # toPandas (what Ibis collects through) via Arrow rather than row by row.
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}

# DuckDB type (as information_schema prints it) -> Spark SQL type. The export keeps
# DuckDB's types; this keeps them on the Spark side instead of letting Spark guess
# from partition directory names (an all-NULL partition would read as a string).
SPARK_TYPES: dict[str, str] = {
    "VARCHAR": "STRING",
    "JSON": "STRING",
    "DATE": "DATE",
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
}

_lock = threading.Lock()
# One Ibis backend per data location per process: registering views is cheap but
# every call opens a Store of its own, and each backend holds its own Spark session
# (its own temp views), so two exports never see each other's tables.
_backends: dict[tuple[str, str], BaseBackend] = {}


# ---------------------------------------------------------------------------- session


def ensure_java() -> None:
    """Local Spark 4 needs Java 17+. Point JAVA_HOME at the ``java`` on PATH when it is
    unset (Spark's launcher prefers JAVA_HOME), and fail with a clear message
    instead of a JVM stack trace when Java is missing or too old."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise BackendError(
            "the spark backend runs Spark locally and needs Java 17 or newer: "
            "install a JDK (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME, "
            f"or use a cluster with {ENV_REMOTE}=sc://host:15002"
        )
    if not java_home:
        os.environ["JAVA_HOME"] = str(Path(java).resolve().parents[1])
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendError(f"cannot run {java}: {exc}") from exc
    version = _java_major(out)
    if version is not None and version < 17:
        raise BackendError(f"Spark 4 needs Java 17 or newer; {java} is Java {version}")


def _java_major(text: str) -> int | None:
    # 'openjdk version "17.0.15" 2025-04-15' / 'java version "1.8.0_392"'
    for line in text.splitlines():
        if "version" in line and '"' in line:
            v = line.split('"')[1]
            parts = v.split(".")
            try:
                return int(parts[1]) if parts[0] == "1" else int(parts[0])
            except (IndexError, ValueError):
                return None
    return None


# Spark's default logging prints INFO banners and WARN chatter on stderr, under the
# CLI's own messages. Errors only; a user's SPARK_CONF_DIR takes precedence.
LOG4J2 = """\
# PySpark counts as a shell: Spark then resets the root level to that of the logger
# that starts it (WARN unless configured) and says so on stderr when they differ.
# Configuring org.apache at the root's level keeps it quiet.
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.apache.name = org.apache
logger.apache.level = error
logger.sparkproject.name = org.sparkproject
logger.sparkproject.level = error
"""


def _quiet_log4j() -> str:
    path = Path(tempfile.gettempdir()) / f"icetally-log4j2-{os.getuid()}.properties"
    if not path.is_file() or path.read_text() != LOG4J2:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(LOG4J2)
        tmp.replace(path)
    return path.as_uri()


def session(
    remote: str | None = None, master: str | None = None, *, fresh: bool = False
) -> SparkSession:
    """The Spark session queries run in (see the module docstring for the choice).

    ``fresh``: a session of its own (own temporary views and SQL settings) sharing
    the running SparkContext, or a new server-side session on Spark Connect."""
    remote = remote if remote is not None else os.environ.get(ENV_REMOTE)
    master = master if master is not None else os.environ.get(ENV_MASTER)
    if remote:
        builder = SparkSession.builder.remote(remote).appName("icetally")
        return builder.create() if fresh else builder.getOrCreate()
    active = SparkSession.getActiveSession()
    if active is None and not master and os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Under spark-submit (or the pyspark shell) the JVM is already running with the
        # master and settings given on the command line: join it, override nothing.
        active = SparkSession.builder.appName("icetally").getOrCreate()
    if active is None or master:
        ensure_java()
        # Without it Spark resolves the hostname and warns when it maps to loopback.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder.appName("icetally").master(master or DEFAULT_MASTER)
        if (master or DEFAULT_MASTER).startswith("local"):
            for k, v in LOCAL_CONF.items():
                builder = builder.config(k, v)
        # Both take effect only when this call starts the JVM.
        builder = builder.config(
            "spark.driver.memory", os.environ.get(ENV_DRIVER_MEMORY, DEFAULT_DRIVER_MEMORY)
        )
        if not os.environ.get("SPARK_CONF_DIR"):
            builder = builder.config(
                "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_quiet_log4j()}"
            )
        active = builder.getOrCreate()
        active.sparkContext.setLogLevel("ERROR")
    return active.newSession() if fresh else active


# ---------------------------------------------------------------------------- data


def _has_scheme(location: str) -> bool:
    head = location.split("://", 1)[0]
    return "://" in location and head.isalnum() and len(head) > 1


def _store_key(db: Path) -> str:
    """Changes whenever the store does: its size and mtime, and its write-ahead log's
    (DuckDB keeps recent commits there until a checkpoint)."""
    parts = []
    for p in (db, Path(str(db) + ".wal")):
        if p.exists():
            st = p.stat()
            parts.append(f"{st.st_size}-{st.st_mtime_ns}")
    return "_".join(parts)


def _writable(d: Path) -> bool:
    return os.access(d, os.W_OK | os.X_OK)


def cache_dir(db: Path) -> Path:
    """Where the Parquet export of the store ``db`` is cached (without the key)."""
    base = os.environ.get(ENV_CACHE)
    if base:
        digest = hashlib.sha1(str(db.resolve()).encode()).hexdigest()[:12]
        return Path(base) / f"{db.name}-{digest}"
    if _writable(db.resolve().parent):
        return db.resolve().parent / f"{db.name}.spark-cache"
    digest = hashlib.sha1(str(db.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "icetally-spark-cache" / f"{db.name}-{digest}"


def exported(db: str | os.PathLike[str]) -> Path:
    """A Parquet export of the store ``db``, made now unless the cache holds one of
    this very version of the store. Versions of the store superseded more than
    ``STALE_SECONDS`` ago are removed."""
    path = Path(db)
    key = _store_key(path)
    base = cache_dir(path)
    out = base / key
    if not (out / MANIFEST).is_file():
        base.mkdir(parents=True, exist_ok=True)
        # Export under a private name, then rename: if another process finished the
        # same version first, the rename fails and theirs (maybe already being read)
        # stays untouched.
        mine = base / f".partial-{uuid.uuid4().hex[:8]}"
        try:
            export_parquet(path, mine)
            mine.rename(out)
        except OSError:
            if not (out / MANIFEST).is_file():
                raise
        finally:
            shutil.rmtree(mine, ignore_errors=True)
    # Another process may still be reading an older version: give it a grace period.
    now = time.time()
    for old in base.iterdir():
        if old.name == key or old.name.startswith("."):
            continue
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
    return out


def resolve_location(db_or_dir: str | os.PathLike[str] | None) -> str:
    """The Parquet export to query: a URI, an export directory, or a store's cache."""
    if isinstance(db_or_dir, str) and _has_scheme(db_or_dir):
        return db_or_dir.rstrip("/")
    path = resolve_db(db_or_dir)
    if not path.exists():
        raise BackendError(f"no store or Parquet export at {path}")
    try:
        if path.is_dir():
            read_manifest(path)  # fails clearly on a directory that is not an export
            return str(path.resolve())
        return str(exported(path).resolve())
    except (ExportError, duckdb.Error) as exc:
        # e.g. a directory of other files, or a store locked by a running ingest
        raise BackendError(f"cannot read {path} for Spark: {exc}") from exc


def load_manifest(spark: SparkSession, location: str) -> dict[str, Any]:
    local = Path(location)
    if not _has_scheme(location) and local.is_dir():
        return read_manifest(local)
    # A cluster location (s3a://, hdfs://): read the manifest through Spark itself, so
    # whatever file systems the cluster is configured for work here too.
    rows = spark.read.text(f"{location}/{MANIFEST}", wholetext=True).collect()
    if not rows:
        raise BackendError(f"no {MANIFEST} at {location}")
    return json.loads(rows[0][0])


def spark_schema(columns: list[dict[str, str]]) -> str | None:
    """A Spark DDL schema for the exported columns, or None if a type has no mapping
    (then Spark reads the schema from the files)."""
    fields = []
    for c in columns:
        typ = c["type"].upper()
        spark_type = typ if typ.startswith("DECIMAL") else SPARK_TYPES.get(typ)
        if spark_type is None:
            return None
        fields.append(f"`{c['name'].replace('`', '``')}` {spark_type}")
    return ", ".join(fields)


def register(spark: SparkSession, location: str, manifest: dict[str, Any]) -> list[str]:
    """Register every table of the export as a temporary view; returns their names."""
    names = []
    for name, info in manifest["tables"].items():
        reader = spark.read
        ddl = spark_schema(info["columns"])
        if ddl is not None:
            reader = reader.schema(ddl)
        df = reader.parquet(f"{location}/{info['path']}")
        # The partition column comes last when Spark discovers it; keep the store's
        # column order so SELECT * looks the same on both backends.
        df = df.select(*[f"`{c['name']}`" for c in info["columns"]])
        df.createOrReplaceTempView(name)
        names.append(name)
    return names


def backend(db_or_dir: str | os.PathLike[str] | None = None) -> BaseBackend:
    """An Ibis PySpark backend with every canonical table of the store (or export)
    registered under its DuckDB name."""
    location = resolve_location(db_or_dir)
    remote = os.environ.get(ENV_REMOTE) or ""
    master = os.environ.get(ENV_MASTER) or ""
    # A local export rewritten in place (same directory) must not be served from
    # views over its deleted files: its manifest's mtime is part of the key.
    stamp = ""
    if not _has_scheme(location):
        stamp = str((Path(location) / MANIFEST).stat().st_mtime_ns)
    with _lock:
        key = (f"{remote}|{master}", f"{location}|{stamp}")
        con = _backends.get(key)
        if con is not None:
            return con
        spark = session(fresh=True)
        manifest = load_manifest(spark, location)
        register(spark, location, manifest)
        con = ibis.pyspark.connect(spark)
        _backends[key] = con
        return con


def reset() -> None:
    """Forget the cached backends (their sessions stay with the SparkContext)."""
    with _lock:
        _backends.clear()
