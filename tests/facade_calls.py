"""Calling any of the facade's 130 methods with arguments the document accepts, and the answer
the document gives for it: shared by the tests that drive every method (test_facade_surface.py
through respx, test_imperfect_server.py through a misbehaving loopback server)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from schema_examples import example_of, spec, synthesize

from payment_kit._generated_namespaces import OPERATIONS
from payment_kit._types import Operation

BASE = "http://127.0.0.1:9/payment"  # port 9 (discard): a request that escapes a mock goes nowhere
with (Path(__file__).parent.parent / "openapi" / "endpoints.tsv").open() as _inventory:
    ROWS = list(csv.DictReader(_inventory, delimiter="\t"))


def spec_operation(op: Operation) -> tuple[str, dict[str, Any]]:
    for path, item in spec()["paths"].items():
        for node in item.values():
            if isinstance(node, dict) and node.get("operationId") == op.operation_id:
                return path, node
    raise LookupError(op.operation_id)


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def required_arguments(op: Operation) -> tuple[list[str], dict[str, Any]]:
    """Positional path values and the required keyword arguments, with realistic values."""
    _, node = spec_operation(op)
    kwargs: dict[str, Any] = {}
    for param in (resolve(p) for p in node.get("parameters", [])):
        if param["in"] == "query" and param.get("required"):
            name = next(k for k, v in op.query.items() if v.rstrip("_") == param["name"] or k == param["name"])
            kwargs[name] = synthesize(param["schema"], prop=param["name"])
    if op.body_model:
        schema = spec()["components"]["schemas"][op.body_model]
        props: dict[str, Any] = {}
        required: set[str] = set(schema.get("required", []))
        for part in [schema, *schema.get("allOf", [])]:
            props.update(resolve(part).get("properties", {}))
            required |= set(resolve(part).get("required", []))
        for facade_name, wire in op.body_fields.items():
            if wire in required:
                kwargs[facade_name] = synthesize(props[wire], owner=op.body_model, prop=wire)
    return [f"{name}_1" for name in op.path_params], kwargs


def answer_for(op: Operation) -> Any:
    _, node = spec_operation(op)
    ref = node["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    return example_of(ref)


def expected_url(op: Operation, positional: list[str]) -> str:
    path, _ = spec_operation(op)
    for name, value in zip(op.path_params, positional, strict=True):
        path = path.replace(f"{{{name}}}", value)
    return BASE + path


def operation_for(row: dict[str, str]) -> Operation:
    wanted = (row["python_namespace"], row["python_method"])
    return next(o for o in OPERATIONS.values() if (o.namespace, o.method) == wanted)


def answer_model(op: Operation) -> str:
    """The name of the model the contract answers `op` with."""
    return str(spec_operation(op)[1]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]).rsplit(
        "/", 1
    )[1]


def method_of(client: Any, row: dict[str, str]) -> Any:
    target: Any = client
    for part in row["python_namespace"].split("."):
        target = getattr(target, part)
    return getattr(target, row["python_method"])
