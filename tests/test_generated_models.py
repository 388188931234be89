"""The generated client covers the whole document, and its models carry
PaymentKit's JSON through unchanged."""

from __future__ import annotations

import copy
import importlib
import re
from typing import Any

import pytest
from schema_examples import example_of, normalized, spec

import payment_kit_client.models as models
from payment_kit_sandbox.openapi_jsonschema import validator_for


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec()["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "delete")
    ]


def model_schema_names() -> list[str]:
    """Component schemas that are objects, and so become model classes."""
    names = []
    for name, node in spec()["components"]["schemas"].items():
        if node.get("type") in ("string", "integer", "number", "boolean", "array") or "enum" in node:
            continue
        if ("oneOf" in node or "anyOf" in node) and "properties" not in node:
            continue  # a union is a Python type alias of its members, not a class
        names.append(name)
    return names


def test_every_operation_has_sync_and_async_functions() -> None:
    missing = []
    for _, _, op in operations():
        module_name = f"payment_kit_client.api.{op['tags'][0].replace('-', '_')}.{snake(op['operationId'])}"
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            missing.append(module_name)
            continue
        for fn in ("sync_detailed", "asyncio_detailed", "sync", "asyncio"):
            if not callable(getattr(module, fn, None)):
                missing.append(f"{module_name}.{fn}")
    assert len(operations()) == 130
    assert not missing, missing


def test_every_object_schema_has_a_model_class() -> None:
    names = model_schema_names()
    missing = [n for n in names if not hasattr(models, n)]
    assert len(names) > 300
    assert not missing, missing


@pytest.mark.parametrize("name", model_schema_names())
def test_model_round_trips_a_realistic_example(name: str) -> None:
    model = getattr(models, name)
    node = spec()["components"]["schemas"][name]
    example = example_of(name)
    # The example is valid for the document before it says anything about the model.
    errors = [e.message for e in validator_for({"$ref": f"#/components/schemas/{name}"}, spec()).iter_errors(example)]
    assert not errors, errors[:3]

    parsed = model.from_dict(copy.deepcopy(example))
    assert normalized(parsed.to_dict()) == normalized(example)

    if node.get("additionalProperties") is False:
        return  # request bodies are closed: unknown keys are refused, not carried
    if isinstance(node.get("additionalProperties"), dict) and not node.get("properties"):
        # A map (e.g. keyed by currency id): a key the example did not have is carried too.
        value = next(iter(example.values()))
        grown = {**copy.deepcopy(example), "pc_AnotherCurrency9Xy": copy.deepcopy(value)}
        assert normalized(model.from_dict(copy.deepcopy(grown)).to_dict()) == normalized(grown)
        return
    grown = {**copy.deepcopy(example), "field_added_by_a_newer_server": {"kept": ["as", "is"]}}
    regrown = model.from_dict(copy.deepcopy(grown)).to_dict()
    assert regrown["field_added_by_a_newer_server"] == {"kept": ["as", "is"]}
    assert normalized(regrown) == normalized(grown)


def test_open_enums_keep_values_a_newer_server_sends() -> None:
    page = models.SubscriptionPage.from_dict({"count": 1, "list": [example_of("SubscriptionExpanded")]})
    raw = example_of("SubscriptionExpanded") | {"status": "suspended_for_review"}
    sub = models.SubscriptionExpanded.from_dict(raw)
    assert sub.status == "suspended_for_review" and type(sub.status) is str  # its plain string
    assert models.SubscriptionStatus("suspended_for_review") == "suspended_for_review"  # requests may send it
    assert sub.to_dict()["status"] == "suspended_for_review"
    assert page.list_[0].status == models.SubscriptionStatus.ACTIVE
    with pytest.raises(ValueError):
        models.SubscriptionStatus(42)  # non-strings are still refused
