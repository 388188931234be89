"""payment_kit.testing measured: how soon a fresh in-process `Sandbox` answers, and how long the
quickstart's 14 steps (examples/quickstart.py, every step as it is) take against one, in this
process: what an application's test pays per test.

The first sandbox of a process also imports the sandbox and reads and compiles the OpenAPI
document (kept for the process after): it is reported apart, as `first_sandbox_ms`, and not in
the median.
"""

from __future__ import annotations

import gc
import importlib.util
import statistics
import time
from contextlib import nullcontext
from pathlib import Path
from types import ModuleType
from typing import Any

from client_side import Figures, Sizes

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.py"


def _quickstart() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quickstart_for_bench", QUICKSTART)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fresh_sandbox_and_quickstart(sizes: Sizes) -> Figures:
    """`testing_fresh_sandbox_ms`: from `Sandbox()` to its first answer (`health()`), median of
    fresh sandboxes; `testing_quickstart_s`: the quickstart's steps against a fresh sandbox each
    round (its `payment` is the sandbox's client, its sandbox control the sandbox itself)."""
    started = time.perf_counter()
    from payment_kit.testing import Sandbox

    with Sandbox() as first:
        first.health()
    first_ms = (time.perf_counter() - started) * 1e3

    ready: list[float] = []
    for _ in range(sizes.sandbox_rounds):
        gc.collect()
        started = time.perf_counter()
        sandbox = Sandbox()
        sandbox.health()
        ready.append((time.perf_counter() - started) * 1e3)
        sandbox.close()

    quickstart = _quickstart()
    runs: list[float] = []
    details: dict[str, Any] = {}
    for _ in range(sizes.quickstart_rounds):
        with Sandbox() as sandbox:
            quickstart.payment = sandbox.client
            quickstart.sandbox = lambda sandbox=sandbox: nullcontext(sandbox)
            state: dict[str, Any] = {}
            gc.collect()
            started = time.perf_counter()
            outcomes = [fn(state) for _, fn in quickstart.STEPS]
            runs.append(time.perf_counter() - started)
            details["steps"] = len(outcomes)
            details["events"] = sandbox.events()["count"]
    details.update(
        first_sandbox_ms=round(first_ms, 1),
        fresh_rounds=len(ready),
        fresh_p90_ms=round(sorted(ready)[int(0.9 * (len(ready) - 1))], 1),
        quickstart_rounds=len(runs),
    )
    return {
        "testing_fresh_sandbox_ms": statistics.median(ready),
        "testing_quickstart_s": statistics.median(runs),
    }, details
