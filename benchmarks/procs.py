"""Whole-process timing for the speed benchmarks (issue #17): each command runs in its
own interpreter, its wall time and peak memory (the kernel's ``ru_maxrss`` of that
one child, from ``wait4``) are its own, and a command is always measured against its
floor in the same run, the two interleaved (A B A B ...) so a ratio holds when the
shared machine's speed drifts. Figures are medians; the ratio is the median of the
pair-by-pair ratios.

A child's ``ru_maxrss`` starts from its parent's resident size when it was started
(the kernel carries the high-water mark across exec): keep the measuring process small
(generate data in a child, as bench_release does)."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NATIONAL = SHARED / "ice-national-fy2016-2019"
PYTHON = sys.executable


@dataclass
class Run:
    """One finished process."""

    seconds: float  # wall
    cpu_seconds: float  # user + sys
    peak_mb: float  # the process's own peak RSS
    returncode: int


def child_env() -> dict[str, str]:
    """The environment of a measured command: this checkout's ``src`` first."""
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def compiled() -> None:
    """This checkout's modules compiled to bytecode, as a pip-installed package's are
    (pip compiles at install): with ``PYTHONDONTWRITEBYTECODE`` set, as on the
    development machines, every measured process would otherwise compile icetally's
    ~30 modules from source again (0.11 s of a command's start-up)."""
    import compileall

    compileall.compile_dir(ROOT / "src" / "icetally", quiet=1)


def run(argv: Sequence[str], *, before: Callable[[], None] | None = None) -> Run:
    """Run ``argv`` once (``before`` first, untimed, e.g. to remove a store) and
    measure it; a non-zero exit is an error, with the command's last output."""
    if before is not None:
        before()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()  # drained while it runs (a full pipe would block it)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err.decode(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(argv)[:300]} exited {proc.returncode}:\n{tail}")
    return Run(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        returncode=proc.returncode,
    )


def summary(runs: list[Run]) -> dict[str, Any]:
    return {
        "median_seconds": round(statistics.median(r.seconds for r in runs), 3),
        "min_seconds": round(min(r.seconds for r in runs), 3),
        "max_seconds": round(max(r.seconds for r in runs), 3),
        "median_cpu_seconds": round(statistics.median(r.cpu_seconds for r in runs), 3),
        "median_peak_mb": round(statistics.median(r.peak_mb for r in runs), 1),
        "runs": len(runs),
    }


def versus(
    commands: dict[str, Sequence[str]],
    floor: str,
    *,
    repeats: int = 5,
    warmup: int = 1,
    before: dict[str, Callable[[], None]] | None = None,
) -> dict[str, Any]:
    """Each command and the floor (one of ``commands``) in turn, ``repeats`` rounds
    after ``warmup`` uncounted ones; per command its medians and its ratios to the
    floor (time and peak memory), each the median of the round-by-round ratios."""
    before = before or {}
    compiled()
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for i in range(warmup + repeats):
        for name, argv in commands.items():
            r = run(argv, before=before.get(name))
            if i >= warmup:
                runs[name].append(r)
    out: dict[str, Any] = {}
    for name, rs in runs.items():
        entry = summary(rs)
        if name != floor:
            entry["ratio_to_floor"] = round(
                statistics.median(
                    a.seconds / b.seconds for a, b in zip(rs, runs[floor], strict=True)
                ),
                2,
            )
            # CPU seconds too: on a shared, loaded machine wall time is mostly waiting
            entry["cpu_ratio_to_floor"] = round(
                statistics.median(
                    a.cpu_seconds / b.cpu_seconds for a, b in zip(rs, runs[floor], strict=True)
                ),
                2,
            )
            entry["peak_memory_ratio_to_floor"] = round(
                statistics.median(
                    a.peak_mb / b.peak_mb for a, b in zip(rs, runs[floor], strict=True)
                ),
                3,
            )
        out[name] = entry
    return out


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    from importlib.metadata import PackageNotFoundError, version

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        with open("/proc/meminfo") as fh:
            info["memory_gib"] = round(int(fh.readline().split()[1]) / (1 << 20), 1)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    for pkg in ("duckdb", "pyarrow", "fastexcel", "ibis-framework"):
        with contextlib.suppress(PackageNotFoundError):
            info[pkg] = version(pkg)
    return info


def cache_dir() -> Path:
    """Where generated data and stores are kept between runs (never in the repo)."""
    import tempfile

    d = Path(
        os.environ.get("ICETALLY_BENCH_CACHE") or Path(tempfile.gettempdir()) / "icetally-bench"
    )
    d.mkdir(parents=True, exist_ok=True)
    return d


def target(ratio: float | None, limit: float) -> dict[str, Any]:
    return {"target": f"<= {limit}", "met": None if ratio is None else ratio <= limit}


# the CLI as its console script runs it
CLI = [PYTHON, "-c", "import sys; from icetally.cli import app; sys.exit(app())"]
