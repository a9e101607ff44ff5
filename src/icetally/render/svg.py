"""The one chart renderer: a Vega-Lite spec to inline SVG with vl-convert, for the HTML
reports and the web pages alike.

Server-side SVG rather than Vega-Lite in the browser: nothing to fetch (a report opens
offline, a page shows its charts with scripts off), and charts a test can read as
text. Every chart has a table beside it, so a chart that cannot be drawn costs a
picture, never a figure.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any

from icetally.cache import LruCache

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier, never fetched
_VEGA_BASE = "https://vega.github.io/vega-datasets/"
_cache = LruCache(128)
_lock = threading.Lock()


def _uniquify(svg: str, prefix: str) -> str:
    """Prefix the ids inside one SVG: several inline SVGs in a page must not share clip
    path ids, or one chart would clip another's marks."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    for i in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{i}"', f'id="{prefix}{i}"')
        svg = svg.replace(f"url(#{i})", f"url(#{prefix}{i})")
        svg = svg.replace(f'href="#{i}"', f'href="#{prefix}{i}"')
    return svg


def render_svg(spec: dict[str, Any]) -> str:
    """SVG markup of a Vega-Lite spec, for inlining in HTML (cached: pages and reports
    redraw the same charts). ImportError when vl-convert is missing (a broken install:
    ``icetally.install.needs`` words the message)."""
    spec = {"$schema": SCHEMA, **spec}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    hit = _cache.get(key)
    if hit is not None:
        return hit
    import vl_convert as vlc

    # vl-convert runs one JavaScript runtime; calls from many threads queue.
    # allowed_base_urls=[]: a spec may never make the renderer fetch anything.
    with _lock:
        svg = vlc.vegalite_to_svg(spec, allowed_base_urls=[])
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    # Vega resolves link URLs against its default base (the vega-datasets site): undo
    # that, so links in charts point to this server's own pages.
    svg = svg.replace(f'href="{_VEGA_BASE}', 'href="')
    svg = _uniquify(svg, f"c{key[:8]}-")
    # Let CSS size the chart to its container (phones); the width/height attributes
    # stay for the aspect ratio.
    svg = svg.replace('class="marks"', 'class="marks" preserveAspectRatio="xMinYMin meet"', 1)
    svg = svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)
    _cache.put(key, svg)
    return svg
