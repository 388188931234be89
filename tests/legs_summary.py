"""The closing line of `make test`: every leg's pytest result added up.

    python tests/legs_summary.py build/legs/*.log

Each leg's output ends with pytest's own summary (`12 passed, 1 skipped in 3.2s`); this prints
each of those, then one line `tests: N passed, N failed, N skipped` over all legs, so the run
closes on the tests' verdict rather than on the coverage report printed after them."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)")


def main() -> int:
    totals: Counter[str] = Counter()
    for log in sys.argv[1:]:
        lines = [line for line in Path(log).read_text().splitlines() if COUNT.search(line) and " in " in line]
        closing = lines[-1].strip("= ") if lines else "no pytest summary (the leg was skipped)"
        print(f"{Path(log).stem}: {closing}")
        for number, kind in COUNT.findall(lines[-1] if lines else ""):
            totals["error" if kind.startswith("error") else kind] += int(number)
    print(f"tests: {totals['passed']} passed, {totals['failed'] + totals['error']} failed, {totals['skipped']} skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
