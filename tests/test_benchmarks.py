"""The benchmark harness runs end to end with tiny counts (`--quick`) and what it
reports is real: every key a finite number, the pagination walk made exactly
ceil(N / page_size) requests, the sandbox's balance came out exact. No timing is
asserted here; speed is `make bench`'s business."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# stripe-python (the `calls` measurement's peer) is a bench-only dependency, and `import` costs
# seconds of fresh interpreters: both run under `make bench`, not here.
MEASURED = {
    "decode": ["decode_ratio", "decode_ratio_customers", "read_all_ratio", "read_all_ratio_customers"],
    "async": ["async_throughput_ratio"],
    "pagination": ["pagination_peak_pages"],
    "hygiene": ["hygiene_mem_growth_mb", "hygiene_fd_growth"],
    # PostgreSQL: `make bench` only
    "events": [
        "sandbox_events_per_s",
        "sandbox_health_p99_ms_under_load",
        "sandbox_events_per_s_sqlite_2w",
        "sandbox_event_to_get_ratio",
        "sandbox_events_scale_ratio_10k",
    ],
    "statements": ["sandbox_sql_statements_per_meter_event"],
    "list": [
        "sandbox_list_latency_ratio_100k",
        *(
            f"sandbox_list_latency_ratio_100k_{name}"
            for name in ("meter_events", "credit_transactions", "invoices", "subscriptions")
        ),
    ],
    "testing": ["testing_fresh_sandbox_ms", "testing_quickstart_s"],
}
# Measured by `make bench` where the machine has PostgreSQL (the quick run leaves it out): each is
# declared in run.py's targets and explained in benchmarks/README.md like the others.
MEASURED_ON_POSTGRESQL = {
    "events": [
        "sandbox_events_per_s_postgresql_1w",
        "sandbox_events_per_s_postgresql_2w",
        "sandbox_events_per_s_postgresql_1w_spread",
        "sandbox_events_per_s_postgresql_2w_spread",
        "sandbox_postgresql_retry_rate",
        "sandbox_events_scale_ratio_10k_postgresql",
    ],
}


def test_quick_run_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--only", ",".join(MEASURED), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # under `make test` four legs share two cores: the quick run takes minutes there
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(out.read_text())
    keys = [key for group in MEASURED.values() for key in group]
    for key in keys:
        assert isinstance(results[key], float) and math.isfinite(results[key]), key
        assert key in run.stdout  # the table shows it
    meta = results["meta"]
    assert meta["quick"] is True and set(meta["verdicts"]) == set(keys)

    paging = meta["details"]["pagination_peak_pages"]
    assert paging["requests"] == paging["expected_requests"] == 13  # 250 objects, 20 a page
    assert paging["objects_walked"] == 250 and paging["page_kib"] > 0

    assert meta["details"]["sandbox_events_per_s"]["balance_exact"] is True
    assert meta["details"]["sandbox_events_per_s"]["events"] == 40
    two_workers = meta["details"]["sandbox_events_per_s_sqlite_2w"]
    assert two_workers["balance_exact"] is True and two_workers["workers"] == 2 and two_workers["events"] == 40
    assert meta["details"]["hygiene_fd_growth"]["requests_served"] == 250  # 50 warm-up + 200 measured
    assert meta["details"]["sandbox_list_latency_ratio_100k"]["rows"] == 1000
    testing = meta["details"]["testing_quickstart_s"]
    assert testing["steps"] == 14 and testing["events"] > 0 and testing["fresh_rounds"] == 3


def test_postgresql_figures_are_declared_and_explained() -> None:
    targets = (ROOT / "benchmarks" / "run.py").read_text()
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    for key in (key for group in MEASURED_ON_POSTGRESQL.values() for key in group):
        assert f'"{key}"' in targets, key
        assert key in readme or key.replace("sandbox_events_per_s_", "…_") in readme, key


def test_unknown_measurement_is_refused() -> None:
    run = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--only", "speed"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and "unknown measurement(s) speed" in run.stderr
