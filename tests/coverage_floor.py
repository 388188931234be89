"""Holds every module of the SDK and the sandbox to a branch-coverage floor.

    python tests/coverage_floor.py build/coverage.json              # after `coverage json` (make test)
    python tests/coverage_floor.py build/coverage.json --markdown   # the README's table, reasons kept

Prints one line per module (lines and branches covered) and exits 1 when a module's branch
coverage is under FLOOR and README.md's coverage table gives no reason for it in its last
column. The README is where a reader learns why a module is below the floor, so the
exceptions live there and nowhere else.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

FLOOR = 85.0
ROOT = Path(__file__).resolve().parents[1]
# A row of the README's table: | `module.py` | lines % | branches % | why it is below the floor |
ROW = re.compile(r"^\|\s*`(?P<module>[\w./]+\.py)`\s*\|[^|]*\|[^|]*\|(?P<why>[^|]*)\|\s*$")


def reasons_in_readme(readme: Path) -> dict[str, str]:
    found = {}
    for line in readme.read_text().splitlines():
        match = ROW.match(line)
        if match and match["why"].strip():
            found[match["module"]] = match["why"].strip()
    return found


def branch_percent(summary: dict[str, int]) -> float:
    branches = summary.get("num_branches", 0)
    return 100.0 if branches == 0 else 100.0 * summary["covered_branches"] / branches


def markdown(report: dict[str, Any], reasons: dict[str, str]) -> str:
    rows = ["| module | lines | branches | why it is under the floor |", "| --- | ---: | ---: | --- |"]
    for name, data in sorted(report["files"].items()):
        summary = data["summary"]
        lines = 100.0 * summary["covered_lines"] / max(summary["num_statements"], 1)
        rows.append(f"| `{name}` | {lines:.0f}% | {branch_percent(summary):.0f}% | {reasons.get(name, '')} |")
    return "\n".join(rows)


def below_the_floor(report: dict[str, Any], reasons: dict[str, str], show: bool = False) -> list[str]:
    """The modules under FLOOR whose reason the README does not give (each module printed when `show`)."""
    below = []
    for name, data in sorted(report["files"].items()):
        summary = data["summary"]
        lines = 100.0 * summary["covered_lines"] / max(summary["num_statements"], 1)
        branches = branch_percent(summary)
        mark = ""
        if branches < FLOOR:
            mark = f"  (README: {reasons[name]})" if name in reasons else "  BELOW THE FLOOR"
            if name not in reasons:
                below.append(name)
        if show:
            print(f"{name:<56} {lines:6.1f}% {branches:8.1f}%{mark}")
    return below


def main() -> int:
    report = json.loads(Path(sys.argv[1]).read_text())
    reasons = reasons_in_readme(ROOT / "README.md")
    if sys.argv[2:] == ["--markdown"]:
        print(markdown(report, reasons))
        return 0
    print(f"{'module':<56} {'lines':>7} {'branches':>9}")
    below = below_the_floor(report, reasons, show=True)
    print(f"{'total':<56} {report['totals']['percent_covered']:6.1f}% (lines and branches together)")
    if below:
        print(
            f"coverage floor: {len(below)} module(s) under {FLOOR:.0f}% branch coverage with no reason in README.md's "
            f"coverage table: {', '.join(below)}"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
