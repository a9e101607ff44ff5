"""`make bench` (web): requests/s and p50/p95 latency of GET /api/count at 16
concurrent clients, against `icetally serve` on 127.0.0.1 over the FY2016-2019 store.

A bounded local load generator (asyncio + aiohttp): a fixed number of requests per
phase and a time cap, parameters drawn from realistic dashboard queries (AORs,
windows, method classes, group-bys), all traffic to 127.0.0.1 only.

Phases, all in the same run (the machines are shared and noisy: read ratios):
- ``health``: GET /api/health at the same concurrency, the floor of the HTTP stack
  and the server's request handling (the baseline);
- ``cold``: every request a distinct count (no answer cached: every one queries);
- ``mixed``: requests drawn from a pool of dashboard queries with a Zipf-like
  popularity (the same charts are asked for again and again), so some are cached;
- ``warm``: the same popularity again once the popular answers are cached (a
  dashboard that has been up a while);
- ``direct``: the cold queries' icetally.count calls in process, one at a time, with a
  connection held open (the query cost without HTTP, concurrency or the server).

    python -m benchmarks.run --only web
    python -m benchmarks.bench_web --out bench-results [--requests 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
NATIONAL = ROOT.parent / "shared" / "data" / "ice-national-fy2016-2019"
CONCURRENCY = 16
AORS = [
    "ATL",
    "BAL",
    "BOS",
    "BUF",
    "CHI",
    "DAL",
    "DEN",
    "DET",
    "ELP",
    "HOU",
    "LOS",
    "MIA",
    "NEW",
    "NOL",
    "NYC",
    "PHI",
    "PHO",
    "SEA",
    "SFR",
    "SLC",
    "SNA",
    "SND",
    "SPM",
    "WAS",
]
COVER = (date(2015, 10, 1), date(2019, 8, 31))
BYS = [
    "",
    "aor",
    "date",
    "week",
    "month",
    "method_class",
    "fiscal_year",
    "aor,method_class",
    "month,method_class",
    "citizenship",
    "aor,month",
]


def _store(out: Path) -> Path:
    """The FY2016-19 store: $ICETALLY_BENCH_DB, else one cached beside the results
    (ingest skips files already loaded, so reusing it costs a hash per file)."""
    from icetally import ingest

    db = Path(os.environ.get("ICETALLY_BENCH_DB") or out / "cache" / "national-fy2016-2019.duckdb")
    files = sorted(p.name for p in NATIONAL.iterdir() if p.is_file() and ".csv" in p.name)
    if db.exists():
        # Reuse it read-only when it already holds every file (an ingest would need
        # the write lock, which a running server holds).
        from icetally import releases

        if sorted(r["file_name"] for r in releases(db)) == files:
            return db
    db.parent.mkdir(parents=True, exist_ok=True)
    results = ingest([NATIONAL], db=db)
    bad = [r for r in results if r.status == "failed"]
    if bad:
        raise RuntimeError(f"ingest failed: {bad}")
    return db


def _query(rng: random.Random) -> dict[str, str]:
    """One realistic /api/count query: a slice a reporter would look at."""
    q: dict[str, str] = {}
    kind = rng.random()
    if kind < 0.7:  # a window: a week, a month or a quarter somewhere in the coverage
        days = rng.choice([5, 7, 14, 31, 92])
        start = COVER[0] + timedelta(days=rng.randrange((COVER[1] - COVER[0]).days - days))
        q["from"], q["to"] = start.isoformat(), (start + timedelta(days=days - 1)).isoformat()
    elif kind < 0.85:
        q["fiscal_year"] = str(rng.choice([2016, 2017, 2018, 2019]))
    if rng.random() < 0.6:
        q["aor"] = ",".join(sorted(rng.sample(AORS, rng.choice([1, 1, 1, 2, 3]))))
    if rng.random() < 0.3:
        q["method_class"] = rng.choice(["at_large", "custodial"])
    by = rng.choice(BYS)
    if by:
        q["by"] = by
    if "date" in by and "from" not in q:
        q["from"], q["to"] = "2017-01-01", "2017-06-30"
    return q


def _distinct(rng: random.Random, n: int) -> list[dict[str, str]]:
    seen: set[str] = set()
    out = []
    while len(out) < n:
        q = _query(rng)
        key = urlencode(sorted(q.items()))
        if key not in seen:
            seen.add(key)
            out.append(q)
    return out


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


async def _load(base: str, paths: list[str], time_cap: float) -> dict[str, Any]:
    """GET every path once, CONCURRENCY at a time over keep-alive connections, until
    done or ``time_cap`` seconds: latency per request, from send to last byte read.
    aiohttp rather than httpx: the generator shares the machine with the server, and
    httpx's client spends several times more CPU per request."""
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    deadline = time.perf_counter() + time_cap
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                try:
                    path = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                async with client.get(path) as r:
                    await r.read()
                    status = r.status
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - t0
    n = len(latencies)
    return {
        "requests": n,
        "planned": len(paths),
        "capped": n < len(paths),
        "seconds": round(wall, 3),
        "requests_per_second": round(n / wall, 1) if wall else None,
        "p50_ms": round(_pct(latencies, 50) * 1000, 1) if n else None,
        "p95_ms": round(_pct(latencies, 95) * 1000, 1) if n else None,
        "p99_ms": round(_pct(latencies, 99) * 1000, 1) if n else None,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if n else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(db: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    import httpx

    cmd = [
        sys.executable,
        "-m",
        "icetally.cli",
        "serve",
        "--db",
        str(db),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-warm",
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).raise_for_status()
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"icetally serve did not start: {err}") from None
            time.sleep(0.3)


def run(
    out_dir: Path | str,
    requests: int = 1500,
    time_cap: float = 60.0,
    workers: int | None = None,
) -> dict[str, Any]:
    workers = workers or int(os.environ.get("ICETALLY_BENCH_WEB_WORKERS", "1"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not NATIONAL.is_dir():
        return {"skipped": f"no national files at {NATIONAL}"}
    db = _store(out)
    rng = random.Random(20191007)
    cold = _distinct(rng, requests)
    pool = _distinct(rng, 200)
    # Zipf-like popularity over the pool: weight 1/rank^1.1
    weights = [1 / (i + 1) ** 1.1 for i in range(len(pool))]
    mixed = rng.choices(pool, weights=weights, k=requests)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start_server(db, port, workers)
    try:
        # a few untimed requests: imports, first query compilation, connection open
        asyncio.run(_load(base, ["/api/count?by=aor"] * CONCURRENCY, time_cap))
        phases = {
            "health": asyncio.run(_load(base, ["/api/health"] * requests, time_cap)),
            "cold": asyncio.run(
                _load(base, [f"/api/count?{urlencode(q)}" for q in cold], time_cap)
            ),
            "mixed": asyncio.run(
                _load(base, [f"/api/count?{urlencode(q)}" for q in mixed], time_cap)
            ),
            # the same popularity again, now that the popular answers are cached: the
            # steady state of a dashboard that has been up for a while
            "warm": asyncio.run(
                _load(
                    base,
                    [f"/api/count?{urlencode(q)}" for q in rng.choices(pool, weights, k=requests)],
                    time_cap,
                )
            ),
        }
        import httpx

        cache = httpx.get(base + "/api/health").json().get("cache", {})
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    phases["direct"] = _direct(db, cold[:300])
    h, c, m, w = phases["health"], phases["cold"], phases["mixed"], phases["warm"]
    report = {
        "benchmark": "web_api_count",
        "endpoint": "GET /api/count",
        "concurrency": CONCURRENCY,
        "server_processes": workers,
        "store": str(db),
        "phases": phases,
        "server_cache": cache,
        "target_p95_ms": 100,
        "warm_p95_under_target": bool(w["p95_ms"] is not None and w["p95_ms"] < 100),
        "mixed_p95_under_target": bool(m["p95_ms"] is not None and m["p95_ms"] < 100),
        "cold_p95_under_target": bool(c["p95_ms"] is not None and c["p95_ms"] < 100),
        "ratios": {
            # how much a count costs over the bare request path, at the same concurrency
            "cold_p50_over_health_p50": round(c["p50_ms"] / h["p50_ms"], 1),
            "mixed_p50_over_health_p50": round(m["p50_ms"] / h["p50_ms"], 1),
            "warm_p95_over_health_p95": round(w["p95_ms"] / h["p95_ms"], 1),
            "health_rps_over_cold_rps": round(
                h["requests_per_second"] / c["requests_per_second"], 1
            ),
            "health_rps_over_mixed_rps": round(
                h["requests_per_second"] / m["requests_per_second"], 1
            ),
            # HTTP + concurrency overhead over the query itself, per request
            "cold_p50_over_direct_p50": round(c["p50_ms"] / phases["direct"]["p50_ms"], 1),
        },
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    (out / "bench-web.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _direct(db: Path, queries: list[dict[str, str]]) -> dict[str, Any]:
    """The same counts through icetally.count in this process, one at a time."""
    import icetally
    from icetally.store.handle import Store

    con = Store.open(db)
    names = {"from": "date_from", "to": "date_to"}
    icetally.count("arrests", store=con, by="aor")  # warm-up
    latencies = []
    for q in queries:
        kwargs = {names.get(k, k): v for k, v in q.items()}
        t0 = time.perf_counter()
        icetally.count("arrests", store=con, **kwargs)
        latencies.append(time.perf_counter() - t0)
    return {
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / sum(latencies), 1),
        "p50_ms": round(_pct(latencies, 50) * 1000, 1),
        "p95_ms": round(_pct(latencies, 95) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--time-cap", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=None, help="icetally serve --workers")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.out, args.requests, args.time_cap, args.workers), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
