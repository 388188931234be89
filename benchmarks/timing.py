"""Interleaved rounds: every contender runs once per round, in turn, so that a
machine that slows down (another process, thermal throttling) slows all of
them alike; each figure is the median over rounds."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def interleaved(rounds: int, batch: int, contenders: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median seconds per call of each contender, over `rounds` rounds of `batch` calls."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm caches, connections and lazy imports
        for _ in range(max(1, batch // 10)):
            fn()
    for _ in range(rounds):
        for name, fn in contenders.items():
            gc.collect()
            started = time.perf_counter()
            for _ in range(batch):
                fn()
            samples[name].append((time.perf_counter() - started) / batch)
    return {name: statistics.median(values) for name, values in samples.items()}


def median_of(rounds: int, contenders: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Median of what each contender reports (its own measurement) over interleaved rounds."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            samples[name].append(fn())
    return {name: statistics.median(values) for name, values in samples.items()}
