"""A per-model memo: results that depend on a model and on settings, computed once and kept while
the model object lives (GITS's teacher costs, AYS's 40-interval grid, the mean-|Q| profile). The key
must hold every setting the result depends on; tests change each one and expect a fresh result."""
from __future__ import annotations

import weakref
from typing import Any, Callable, TypeVar

T = TypeVar("T")

_MEMO: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def per_model(model, key: tuple, make: Callable[[], T]) -> T:
    """``make()`` for (``model``, ``key``), computed on the first call and remembered."""
    table = _MEMO.setdefault(model, {})
    if key not in table:
        table[key] = make()
    return table[key]
