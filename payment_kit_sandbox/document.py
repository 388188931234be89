"""The OpenAPI document the sandbox serves: its operations, and validators
compiled from it for each operation's parameters, body and answer.

Routes and request validation come from `openapi/payment-kit.yaml` itself,
never from a second copy of the schema."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .openapi_jsonschema import closed_components, to_json_schema
from .schema_limits import with_sandbox_limits

__all__ = ["Document", "OperationDoc", "Parameter", "load_document"]

_PACKAGED = Path(__file__).resolve().parent / "openapi" / "payment-kit.yaml"
_REPOSITORY = Path(__file__).resolve().parent.parent / "openapi" / "payment-kit.yaml"


def document_path() -> Path:
    """The document next to the package (wheel) or in the repository (editable install)."""
    for candidate in (_PACKAGED, _REPOSITORY):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("openapi/payment-kit.yaml is not installed with payment_kit_sandbox")


@functools.cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """`pattern` as JSON Schema means it (ECMA-262): `$` is the end of the string. Python's `$` also
    matches before a final newline, so `^[0-9]+$` would let `"1\\n"` through; here each `$` outside a
    character class is `\\Z`."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            # A `]` right after `[` or `[^` is a literal, not the class's end.
            in_class = char != "]" or pattern[i - 1] == "[" or pattern[i - 2 : i] == "[^"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _pattern(
    validator: jsonschema.protocols.Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern})
"""Draft 7, with `pattern` matched as JSON Schema means it."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header
    required: bool
    schema: dict[str, Any]
    validator: jsonschema.Draft7Validator
    prefix: str | None = None  # `metadata.` for the metadata filters


@dataclass(frozen=True)
class OperationDoc:
    operation_id: str
    method: str
    path: str
    namespace: str
    sdk_method: str
    parameters: tuple[Parameter, ...]
    body_validator: jsonschema.Draft7Validator | None
    body_required: bool
    answer_validator: jsonschema.Draft7Validator
    answer_schema: str
    tags: tuple[str, ...] = field(default=())


class Document:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        # Validators compile from the document plus the sandbox's own limits (see schema_limits.py).
        checked = with_sandbox_limits(raw)
        self._checked = checked
        self._components = to_json_schema(checked["components"])
        self.operations: dict[str, OperationDoc] = {}
        for path, item in checked["paths"].items():
            for method, node in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    op = self._operation(path, method, node)
                    self.operations[op.operation_id] = op

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self._checked
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    @functools.cached_property
    def _closed_components(self) -> dict[str, Any]:
        return closed_components(self._components)

    def closed_validator(self, schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
        """A validator that also refuses properties the document does not declare (tests only:
        the document leaves answers open, and clients keep extra fields)."""
        root = {"allOf": [to_json_schema(schema)], "components": self._closed_components}
        return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    def validator(self, schema: dict[str, Any]) -> jsonschema.Draft7Validator:
        root = {"allOf": [to_json_schema(schema)], "components": self._components}
        return Validator(root, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)

    def schema(self, name: str) -> dict[str, Any]:
        return dict(self.raw["components"]["schemas"][name])

    def _operation(self, path: str, method: str, node: dict[str, Any]) -> OperationDoc:
        params = []
        for raw in node.get("parameters", []):
            param = self.resolve(raw)
            schema = param["schema"]
            prefix = self.resolve(schema).get("x-query-keys-start-with")
            params.append(
                Parameter(
                    name=param["name"],
                    location=param["in"],
                    required=bool(param.get("required")),
                    schema=schema,
                    validator=self.validator(schema),
                    prefix=prefix,
                )
            )
        body_validator, body_required = None, False
        if "requestBody" in node:
            body = self.resolve(node["requestBody"])
            body_validator = self.validator(body["content"]["application/json"]["schema"])
            body_required = bool(body.get("required"))
        answer = node["responses"]["200"]["content"]["application/json"]["schema"]
        return OperationDoc(
            operation_id=node["operationId"],
            method=method.upper(),
            path=path,
            namespace=node["x-sdk-namespace"],
            sdk_method=node["x-sdk-method"],
            parameters=tuple(params),
            body_validator=body_validator,
            body_required=body_required,
            answer_validator=self.validator(answer),
            answer_schema=answer["$ref"].rsplit("/", 1)[1],
            tags=tuple(node.get("tags", [])),
        )


@functools.cache
def load_document(path: Path | None = None) -> Document:
    return Document(yaml.safe_load((path or document_path()).read_text()))
