"""The coverage floor fails a module under it unless the README's table says why."""

from __future__ import annotations

from pathlib import Path

import coverage_floor


def summary(branches: int, covered: int) -> dict[str, dict[str, int]]:
    return {
        "summary": {"num_statements": 10, "covered_lines": 10, "num_branches": branches, "covered_branches": covered}
    }


def test_a_module_under_the_floor_needs_a_reason_in_the_readme(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "| module | lines | branches | why |\n"
        "| `pkg/explained.py` | 100% | 50% | only a Windows path is missing |\n"
        "| `pkg/unexplained.py` | 100% | 50% |  |\n"
    )
    assert coverage_floor.reasons_in_readme(readme) == {"pkg/explained.py": "only a Windows path is missing"}
    report = {
        "files": {"pkg/explained.py": summary(4, 2), "pkg/unexplained.py": summary(4, 2), "pkg/fine.py": summary(0, 0)},
        "totals": {"percent_covered": 80.0},
    }
    assert coverage_floor.below_the_floor(report, coverage_floor.reasons_in_readme(readme)) == ["pkg/unexplained.py"]
    assert "| `pkg/explained.py` | 100% | 50% | only a Windows path is missing |" in coverage_floor.markdown(
        report, {"pkg/explained.py": "only a Windows path is missing"}
    )
