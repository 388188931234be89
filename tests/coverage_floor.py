"""Holds every module of the SDK and the sandbox to a branch-coverage floor.

    python tests/coverage_floor.py build/coverage.json   # after `pytest --cov ... --cov-report=json:...`

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


def main() -> int:
    report = json.loads(Path(sys.argv[1]).read_text())
    reasons = reasons_in_readme(ROOT / "README.md")
    below = []
    print(f"{'module':<52} {'lines':>7} {'branches':>9}")
    for name, data in sorted(report["files"].items()):
        summary = data["summary"]
        lines = 100.0 * summary["covered_lines"] / max(summary["num_statements"], 1)
        branches = branch_percent(summary)
        mark = ""
        if branches < FLOOR:
            mark = "  (README: " + reasons[name] + ")" if name in reasons else "  BELOW THE FLOOR"
            if name not in reasons:
                below.append(name)
        print(f"{name:<52} {lines:6.1f}% {branches:8.1f}%{mark}")
    totals = report["totals"]
    print(f"{'total':<52} {totals['percent_covered']:6.1f}% (lines and branches together)")
    if below:
        print(
            f"coverage floor: {len(below)} module(s) under {FLOOR:.0f}% branch coverage with no reason in README.md's "
            f"coverage table: {', '.join(below)}"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
