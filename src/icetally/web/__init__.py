"""icetally's web server: JSON API and dashboard over a read-only store (docs/web.md)."""

from icetally.web.app import create_app
from icetally.web.service import Limits

__all__ = ["Limits", "create_app"]
