"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
Playwright (PyPI). `playwright install` cannot download browsers on these machines, so
scripts/setup_browser.sh installs Debian's package; a test skips only when that fails."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_chromium() -> None:
    """Install Chromium with the project's own setup script if it is missing; skip the
    test with the script's reason when it truly cannot be installed."""
    if CHROMIUM.exists():
        return
    try:
        proc = subprocess.run(
            ["sh", str(ROOT / "scripts" / "setup_browser.sh")],
            capture_output=True,
            text=True,
            timeout=900,
        )
        why = (proc.stderr or proc.stdout).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        why = str(exc)
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not at {CHROMIUM} and could not be installed: {why}")


def browser() -> Iterator[Any]:
    ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(b: Any, path: Path, *, width: int = 1000) -> tuple[Any, list[str]]:
    """Open a local file; returns the page and a list that collects console errors,
    page errors and any request that leaves the file system (the report is offline)."""
    page = b.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(("file:", "data:", "about:"))
            else problems.append(f"request: {r.url}")
        ),
    )
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, problems
