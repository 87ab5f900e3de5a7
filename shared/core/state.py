"""Process state that tests (and nothing else) need to forget: one registry, one reset.

Settings are read once per process and clients are created once; modules keep small
caches (sessions seen, conversation histories). Each registers how to forget itself here,
so a test that changes the environment calls `reset()` and nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
_forgetters: list[Callable[[], None]] = []


def on_reset(forget: Callable[[], None]) -> Callable[[], None]:
    """Register `forget` to run on `reset()`; returns it (usable as a decorator)."""
    _forgetters.append(forget)
    return forget


def once(load: Callable[[], T]) -> Callable[[], T]:
    """`load` cached for the process (settings, parsed files), forgotten on `reset()`."""
    cached = functools.cache(load)
    on_reset(cached.cache_clear)
    return cached


def reset() -> None:
    """Forget every registered cache: the next use reads settings and builds clients anew."""
    for forget in _forgetters:
        forget()
