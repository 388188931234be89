"""`make bench`: the SDK and the sandbox measured against raw httpx and stripe-python.

    python benchmarks/run.py                      # everything (under 10 minutes on 2 cores)
    python benchmarks/run.py --only decode,import # some measurements
    python benchmarks/run.py --quick              # tiny counts: checks the harness, not the speed
    python benchmarks/run.py --profile calls      # the top costs of the SDK's side of one measurement

Prints a table and writes `benchmarks/results.json` (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The checkout's own packages, not whatever an installed copy holds: the figures are this tree's.
sys.path.insert(1, str(HERE.parent))

import client_side  # noqa: E402
import sandbox_side  # noqa: E402
import testing_side  # noqa: E402
from client_side import Figures, Sizes  # noqa: E402

MEASUREMENTS: dict[str, Callable[[Sizes], Figures]] = {
    "calls": client_side.per_call_and_peer,
    "decode": client_side.decode,
    "async": client_side.async_throughput,
    "pagination": client_side.pagination,
    "import": client_side.import_time,
    "events": sandbox_side.events_per_second,
    "statements": sandbox_side.statements_per_meter_event,
    "list": sandbox_side.list_latency,
    "hygiene": client_side.hygiene,
    "testing": testing_side.fresh_sandbox_and_quickstart,
}

# key: (comparison, bound, shown target); None for figures that are reported only.
TARGETS: dict[str, tuple[str, float, str] | None] = {
    "per_call_ratio": ("<=", 1.15, "≤ 1.15"),
    "decode_ratio": ("<=", 1.2, "≤ 1.2 (lenient answers, issue 21)"),
    "decode_ratio_customers": ("<=", 1.2, "≤ 1.2"),
    "read_all_ratio": ("<=", 3.5, "≤ 3.5 (issue 21)"),
    "read_all_ratio_customers": ("<=", 3.5, "≤ 3.5"),
    "peer_overhead_ratio": ("<=", 1.0, "≤ 1"),
    "async_throughput_ratio": (">=", 0.9, "≥ 0.9"),
    "pagination_peak_pages": ("<=", 2.0, "≤ 2"),
    "import_ms_over_httpx": ("<=", 80.0, "≤ 80 ms"),
    "sandbox_events_per_s": None,
    "sandbox_health_p99_ms_under_load": None,
    "sandbox_events_per_s_sqlite_2w": None,
    "sandbox_events_per_s_postgresql_1w": None,
    "sandbox_events_per_s_postgresql_2w": None,
    "sandbox_events_per_s_postgresql_1w_spread": None,
    "sandbox_events_per_s_postgresql_2w_spread": None,
    "sandbox_postgresql_retry_rate": ("<=", 0.01, "≤ 1 % (issue 27)"),
    "sandbox_event_to_get_ratio": (">=", 0.5, "≥ 0.5 (issue 27)"),
    "sandbox_events_scale_ratio_10k": (">=", 0.8, "≥ 0.8 (issue 27)"),
    "sandbox_events_scale_ratio_10k_postgresql": (">=", 0.8, "≥ 0.8 (issue 27)"),
    "sandbox_list_latency_ratio_100k": ("<=", 2.0, "≤ 2"),
    **{
        f"sandbox_list_latency_ratio_100k_{name}": ("<=", 2.0, "≤ 2 (issue 27)")
        for name in ("meter_events", "credit_transactions", "invoices", "subscriptions")
    },
    "sandbox_sql_statements_per_meter_event": ("<=", 8.0, "≤ 8 (issue 27)"),
    "hygiene_mem_growth_mb": ("<=", 5.0, "≤ 5 MB"),
    "hygiene_fd_growth": ("<=", 0.0, "0"),
    "testing_fresh_sandbox_ms": ("<=", 50.0, "≤ 50 ms"),
    "testing_quickstart_s": ("<=", 0.5, "≤ 0.5 s"),
}


def verdict(key: str, value: float) -> str:
    target = TARGETS.get(key)
    if target is None:
        return "report"
    comparison, bound, _ = target
    met = value <= bound if comparison == "<=" else value >= bound
    return "ok" if met else "MISSED"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def table(results: dict[str, float], details: dict[str, Any]) -> str:
    rows = [("key", "value", "target", "", "detail")]
    for key, value in results.items():
        target = TARGETS.get(key)
        detail = details.get(key, "")
        rows.append(
            (
                key,
                f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}",
                target[2] if target else "report",
                verdict(key, value),
                detail,
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + f"  {row[4]}"
        )
        if n == 0:
            lines.append("  ".join("-" * width for width in widths) + "  ------")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], prog="benchmarks/run.py")
    parser.add_argument("--only", help=f"comma-separated, from: {', '.join(MEASUREMENTS)}")
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the harness runs, not the speed")
    parser.add_argument("--out", default=str(HERE / "results.json"), help="where to write the results")
    parser.add_argument("--profile", choices=["calls", "decode", "async", "list", "events"], help="print the top costs")
    options = parser.parse_args(argv)
    if options.profile:
        import profiles

        profiles.PROFILES[options.profile]()
        return 0
    chosen = options.only.split(",") if options.only else list(MEASUREMENTS)
    unknown = [name for name in chosen if name not in MEASUREMENTS]
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(unknown)}; choose from {', '.join(MEASUREMENTS)}")
    sizes = Sizes.quick() if options.quick else Sizes()
    results: dict[str, float] = {}
    details: dict[str, Any] = {}
    began = time.perf_counter()
    for name in chosen:
        started = time.perf_counter()
        print(f"· {name} …", end=" ", file=sys.stderr, flush=True)
        figures, detail = MEASUREMENTS[name](sizes)
        print(f"{time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        for key, value in figures.items():
            results[key] = round(float(value), 4)
            # A measurement of several figures may give each its own detail, under the figure's key.
            own = detail.get(key) if isinstance(detail, dict) else None
            details[key] = own if isinstance(own, dict) else detail
    out = {
        **results,
        "meta": {
            "machine": machine(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "quick": options.quick,
            "seconds": round(time.perf_counter() - began, 1),
            "targets": {key: TARGETS[key][2] if TARGETS.get(key) else "report" for key in results},
            "verdicts": {key: verdict(key, value) for key, value in results.items()},
            "details": {name: d for name, d in _by_measurement(details).items()},
        },
    }
    Path(options.out).write_text(json.dumps(out, indent=2) + "\n")
    print(table(results, {key: _short(d) for key, d in details.items()}))
    info = out["meta"]["machine"]
    print(
        f"\n{info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['os']}; "
        f"{out['meta']['seconds']} s; written to {options.out}"
    )
    return 0


def _by_measurement(details: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, detail in details.items():
        merged.setdefault(key, detail)
    return merged


def _short(detail: Any) -> str:
    return json.dumps(detail, separators=(", ", "=")).replace('"', "")[:150] if detail else ""


if __name__ == "__main__":
    raise SystemExit(main())
