"""What the report and the web pages share to show figures: the one chart renderer
(``render_svg``) and the shared templates (``templates/_shared.html``: the synthetic
banner, a chart figure, a verdict badge, the query behind a figure; and
``templates/report.html``, the report's page), in one Jinja environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from icetally.render.svg import render_svg

TEMPLATES = Path(__file__).parent / "templates"

__all__ = ["TEMPLATES", "environment", "render_svg", "shared"]


def environment(*more: Path) -> Environment:
    """A Jinja environment (autoescaped) over the shared templates and ``more``
    template folders (searched first)."""
    return Environment(
        loader=FileSystemLoader([*map(str, more), str(TEMPLATES)]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


_ENV = environment()


def shared() -> Any:
    """The shared macros, callable from Python (``shared().verdict("consistent")``)."""
    return _ENV.get_template("_shared.html").module


def render(template: str, **ctx: Any) -> str:
    return _ENV.get_template(template).render(**ctx)
