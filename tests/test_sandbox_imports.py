"""The layer check's rule that resources change nothing themselves (tests/sandbox_imports.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("sandbox_imports", Path(__file__).with_name("sandbox_imports.py"))
assert _spec is not None and _spec.loader is not None
sandbox_imports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sandbox_imports)


def _package(tmp_path: Path, resource: str) -> Path:
    root = tmp_path / "payment_kit_sandbox"
    (root / "resources").mkdir(parents=True)
    (root / "resources" / "things.py").write_text(resource)
    return root


def test_each_write_emit_and_touch_is_named_by_file_and_line(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        "def f(ctx, thing):\n"
        "    ctx.store.get('thing', 'x', True)\n"
        "    ctx.emit('thing.updated', 'thing', thing)\n"
        "    store = ctx.store\n"
        "    store.save('thing', ctx.touch(thing))\n"
        "    ctx.store.set_meta('k', 'v')\n",
    )
    found = sandbox_imports.resource_writes(root)
    assert [line.split(" (")[0] for line in found] == [
        "payment_kit_sandbox/resources/things.py:3: ctx.emit()",
        "payment_kit_sandbox/resources/things.py:5: store.save()",
        "payment_kit_sandbox/resources/things.py:5: ctx.touch()",
        "payment_kit_sandbox/resources/things.py:6: ctx.store.set_meta()",
    ]


def test_reads_and_engine_calls_pass(tmp_path: Path) -> None:
    root = _package(tmp_path, "def f(ctx):\n    return engine.update_thing(ctx, ctx.store.first('thing', True))\n")
    assert sandbox_imports.resource_writes(root) == []


def test_the_sandbox_resources_write_nothing() -> None:
    assert sandbox_imports.resource_writes() == []
