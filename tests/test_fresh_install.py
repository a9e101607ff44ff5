"""One install: a fresh virtual environment with only `pip install .` renders a report
with charts and serves the dashboard (no extra to name, no "is not installed").

Slow (a minute or two: pip resolves and installs every dependency; it may reuse pip's
cache) and needs the package registries, which CI has.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
import venv
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow


def _clean_env() -> dict[str, str]:
    """This process's environment without what would let the checkout's code (or a
    store named elsewhere) in: the fresh environment must stand on its own."""
    drop = {"PYTHONPATH", "PYTHONHOME", "ICETALLY_DB", "VIRTUAL_ENV"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 - our own local server
        return r.status, r.read().decode("utf-8")


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding icetally installed from a copy of the
    checkout (so no build files land in the repository) and nothing else."""
    top = tmp_path_factory.mktemp("fresh")
    src = top / "icetally-src"
    shutil.copytree(
        ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    env = top / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    pip = subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", str(src)],
        capture_output=True,
        text=True,
        timeout=1800,
        env=_clean_env(),
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    return env


def test_the_fresh_environment_has_only_the_install(fresh_env: Path) -> None:
    listed = subprocess.run(
        [str(fresh_env / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
        env=_clean_env(),
    ).stdout.lower()
    assert "icetally==" in listed
    for dev_only in ("pytest", "playwright", "hypothesis", "pyspark"):
        assert f"{dev_only}==" not in listed, dev_only
    # not the checkout's code: the installed copy
    where = subprocess.run(
        [str(fresh_env / "bin" / "python"), "-c", "import icetally; print(icetally.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=fresh_env,
        env=_clean_env(),
    ).stdout
    assert str(fresh_env) in where


def test_report_with_charts(fresh_env: Path, synthetic_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copy(synthetic_db, db)
    out = tmp_path / "report.html"
    res = subprocess.run(
        [
            str(fresh_env / "bin" / "icetally"),
            "report",
            "--db",
            str(db),
            "--from",
            "2019-09-21",
            "--to",
            "2019-09-25",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") >= 4
    assert "Chart not drawn" not in html and "pip install" not in html


def test_serves_the_dashboard(fresh_env: Path, synthetic_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copy(synthetic_db, db)
    port = _free_port()
    server = subprocess.Popen(
        [
            str(fresh_env / "bin" / "icetally"),
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--no-warm",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                status, body = _get(base + "/api/health")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    _, err = server.communicate(timeout=10)
                    pytest.fail(f"the server did not start: {err[-3000:]}")
                time.sleep(0.5)
        assert status == 200 and '"status":"ok"' in body.replace(" ", "")
        status, page = _get(base + "/explore?dataset=arrests&by=month")
        assert status == 200 and "<svg" in page
        status, docs = _get(base + "/docs")
        assert status == 200 and "swagger" in docs.lower()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            server.kill()
            server.wait(timeout=30)
