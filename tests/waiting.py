"""Waiting for something to happen, bounded: the one way tests wait instead of sleeping a guess.

    wait_until(lambda: len(receiver.events()) >= 2, timeout=10, message="the retry never arrived")
    attempts = wait_for(lambda: endpoint_attempts(), lambda got: len(got) >= 4, message="...")

Both poll until the condition holds and fail the test with `message` (and the last value seen)
when `timeout` seconds pass first; neither returns early on a timeout, so a slow machine makes a
test slower, never wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["POLL", "TIMEOUT", "wait_for", "wait_until"]

T = TypeVar("T")
TIMEOUT = 10.0  # seconds: generous, since a condition that holds returns at once
POLL = 0.02  # seconds between looks


def wait_for(probe: Callable[[], T], until: Callable[[T], bool], *, timeout: float = TIMEOUT, message: str = "") -> T:
    """Call `probe` until its value satisfies `until`, and answer that value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"waited {timeout:g} s: {message or 'the condition never held'} (last seen: {value!r:.500})"
            )
        time.sleep(POLL)


def wait_until(predicate: Callable[[], object], *, timeout: float = TIMEOUT, message: str = "") -> None:
    """Wait until `predicate()` is true; fail after `timeout` seconds with `message`."""
    wait_for(predicate, bool, timeout=timeout, message=message)
