"""The Python API reference (`make docs`: docs/python-api.md) is generated from the facade's own
source and lists every namespace and method with its arguments, answer and errors (issue 26, finding 6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from payment_kit._generated_namespaces import OPERATIONS

ROOT = Path(__file__).resolve().parent.parent


def test_the_reference_lists_every_method_with_its_arguments_answer_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "python-api.md"
    subprocess.run([sys.executable, str(ROOT / "generator" / "api_reference.py"), str(out)], check=True, cwd=ROOT)
    text = out.read_text()
    sections = text.split("\n### ")[1:]
    assert len(sections) == len(OPERATIONS) == 130
    for op in OPERATIONS.values():
        [section] = [s for s in sections if s.startswith(f"`client.{op.namespace}.{op.method}(")]
        assert "| argument | type |" in section and "**Returns** `" in section and "**Raises** " in section
        for name in op.path_params:
            assert f"| `{name}` | `str` | positional, required |" in section
    create = next(s for s in sections if s.startswith("`client.checkout.sessions.create("))
    assert "`Sequence[models.LineItem \\| params.LineItemParam]` | required" in create
    assert "- `LineItemParam`: `price_id`, `quantity`?" in text
    assert "| `customer.credit.low_balance` | `Customer` |" in text


def test_make_docs_builds_it_beside_the_http_reference_and_the_readme_links_it() -> None:
    makefile = (ROOT / "Makefile").read_text()
    docs = makefile.split("\ndocs:", 1)[1].split("\n\n", 1)[0]
    assert "docs/api.html" in docs and "generator/api_reference.py docs/python-api.md" in docs
    assert "(docs/python-api.md)" in (ROOT / "README.md").read_text()
