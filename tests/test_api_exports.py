"""Every name the package exports lazily resolves to a function of icetally.api."""

from __future__ import annotations

import icetally
import icetally.api


def test_lazy_exports_resolve() -> None:
    for name in icetally._API:
        fn = getattr(icetally, name)
        assert callable(fn) and fn is getattr(icetally.api, name), name
    assert set(icetally._API) <= set(icetally.api.__all__)
    assert callable(icetally.api.jurisdictions)
