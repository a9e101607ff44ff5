"""A small thread-safe LRU mapping, for the caches of compiled queries and of answers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

_MISSING = object()


class LruCache:
    """A small thread-safe LRU mapping. Values must be treated as immutable."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _lookup(self, key: Any, count_miss: bool) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            if count_miss:
                self.misses += 1
            return _MISSING

    def get(self, key: Any) -> Any | None:
        value = self._lookup(key, count_miss=True)
        return None if value is _MISSING else value

    def peek(self, key: Any) -> Any | None:
        """Like get, without counting a miss (a look before the real get)."""
        value = self._lookup(key, count_miss=False)
        return None if value is _MISSING else value

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        """The value for ``key``, made and kept on a miss (a kept None counts as a
        value). ``make`` runs outside the lock: two threads may both make it."""
        value = self._lookup(key, count_miss=True)
        if value is _MISSING:
            value = make()
            self.put(key, value)
        return value

    def put(self, key: Any, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
