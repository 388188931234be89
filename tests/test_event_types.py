"""Event types (issue 26, finding 4): the document's `x-webhooks` lists exactly the types the sandbox
emits; the facade's `EventType` / `EVENT_TYPES` and the README's table are generated from, or held
to, that list; each type's object is the model `construct_event` reads it as."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import yaml

import payment_kit_client.models as models
from payment_kit import EVENT_TYPES, EventType, webhooks
from payment_kit.event_types import EVENT_OBJECTS
from payment_kit_sandbox.engine import events as sandbox_events

ROOT = Path(__file__).resolve().parent.parent
LISTED = yaml.safe_load((ROOT / "openapi" / "payment-kit.yaml").read_text())["x-webhooks"]


def test_the_document_lists_exactly_what_the_sandbox_emits_and_the_facade_types() -> None:
    assert set(LISTED) == sandbox_events.EVENT_TYPES
    assert set(get_args(EventType)) == EVENT_TYPES == set(LISTED)
    assert {t: item["post"]["x-data-object"] for t, item in LISTED.items()} == dict(EVENT_OBJECTS)
    for event_type, item in LISTED.items():
        assert item["post"]["x-source"].startswith("@blocklet/payment-types/lib/types.d.ts"), event_type
        assert webhooks.object_model(event_type) is getattr(models, EVENT_OBJECTS[event_type])  # type: ignore[index]


def emitted_in_the_engine() -> set[str]:
    """Every event type the sandbox's code names where it emits one (read from its source, so a
    new emission is checked even before a test drives it)."""
    found: set[str] = set()
    for path in (ROOT / "payment_kit_sandbox").rglob("*.py"):
        text = path.read_text()
        found |= set(re.findall(r'(?:ctx\.emit|lifecycle\.\w+)\([^)]*?"([a-z_]+(?:\.[a-z_]+)+)"', text, re.S))
        for call in re.findall(r"(?:\bemit\(ctx, |save_changed\(ctx, \w+, )([^)]*)\)", text):
            for suffix in re.findall(r'"([a-z_]+)"', call):
                found.add(f"customer.subscription.{suffix}")
        for kind in re.findall(r"for kind in \(([^)]*)\)", text):
            if 'f"{kind}.updated"' in text:
                found |= {f"{k}.updated" for k in re.findall(r'"(\w+)"', kind)}
    return found


def test_every_type_the_engine_emits_is_declared() -> None:
    emitted = emitted_in_the_engine()
    assert len(emitted) > 30  # the scan reads the engine, not nothing
    assert emitted == sandbox_events.EVENT_TYPES


def test_the_readme_tables_every_type_and_its_object() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| `(\w+)` \|", readme, re.M))
    assert rows == dict(EVENT_OBJECTS)
