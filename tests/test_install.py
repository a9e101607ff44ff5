"""One install: everything a reporter needs is in the main dependencies; the only
extra is Spark, and every "needs X" message names the exact thing to install."""

from __future__ import annotations

import tomllib

from icetally.install import EXTRAS, needs

from .conftest import ROOT


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(reqs: list[str]) -> set[str]:
    out = set()
    for r in reqs:
        name = r.split(";")[0]
        for sep in "<>=![ ":
            name = name.split(sep)[0]
        out.add(name.lower())
    return out


def test_reports_with_charts_and_the_web_server_are_main_dependencies() -> None:
    main = _names(_project()["dependencies"])
    for pkg in ("fastapi", "uvicorn", "jinja2", "fastapi-offline", "vl-convert-python", "pandas"):
        assert pkg in main, pkg


def test_spark_is_the_only_user_facing_extra() -> None:
    extras = set(_project()["optional-dependencies"])
    assert extras == {"spark", "dev"}
    assert set(EXTRAS) == extras - {"dev"}


def test_makefile_installs_dev_and_spark() -> None:
    assert "-e '.[dev,spark]'" in (ROOT / "Makefile").read_text()


def test_needs_names_the_extra_or_the_repair() -> None:
    exc = ModuleNotFoundError("No module named 'pyspark'", name="pyspark")
    msg = needs("the spark backend", exc, extra="spark")
    assert "pip install 'icetally[spark]'" in msg and "pyspark" in msg
    exc = ModuleNotFoundError("No module named 'uvicorn'", name="uvicorn")
    msg = needs("the web server", exc)
    assert "uvicorn" in msg and "pip install --force-reinstall icetally" in msg
    assert "[web]" not in msg
