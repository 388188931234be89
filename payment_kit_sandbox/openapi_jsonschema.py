"""OpenAPI 3.0 schema objects → JSON Schema (draft 7), for validating
examples and answers.

`nullable: true` becomes `anyOf: [<the rest>, {type: null}]`. That is how the
document means its `nullable: true` + `allOf: [$ref]` fields (the form the
Python generator needs), and how schemathesis reads them too; validators that
apply `nullable` only beside a `type` would reject a legitimate `null`.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_OPENAPI_ONLY = ("nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example", "deprecated")


def to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in _OPENAPI_ONLY and not k.startswith("x-")}
    if isinstance(node.get("properties"), dict):
        out["properties"] = {name: to_json_schema(v) for name, v in node["properties"].items()}
    if node.get("nullable") is True:
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return {"anyOf": [out, {"type": "null"}]}
    return out


def validator_for(schema: dict[str, Any], spec: dict[str, Any]) -> jsonschema.Draft7Validator:
    """A validator for `schema` whose `#/components/...` references resolve in `spec`."""
    root = {"allOf": [to_json_schema(schema)], "components": to_json_schema(spec["components"])}
    return jsonschema.Draft7Validator(root)


def closed_components(components: dict[str, Any]) -> dict[str, Any]:
    """A copy of converted `components` in which an object refuses properties its schema does not
    declare (`unevaluatedProperties: false`, draft 2020-12), for the tests' check of the sandbox's
    answers. `allOf` members are read through an open twin of each schema (`<Name>__open`), so a
    `<Resource>Expanded` (`allOf: [Resource, {joins}]`) admits both parts and nothing else. Objects
    that say `additionalProperties` keep what they say."""
    schemas = components.get("schemas", {})
    closed = {name: _close(schema, top_open=False) for name, schema in schemas.items()}
    closed |= {f"{name}__open": _close(schema, top_open=True) for name, schema in schemas.items()}
    return {**components, "schemas": closed}


def _close(node: Any, *, top_open: bool) -> Any:
    if isinstance(node, list):
        return [_close(v, top_open=False) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _close(v, top_open=False) for name, v in value.items()}
        elif key == "allOf":
            out[key] = [_open_member(v) for v in value]
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "not"):
            out[key] = _close(value, top_open=False)
        else:
            out[key] = value
    if not top_open and ("properties" in node or "allOf" in node) and "additionalProperties" not in node:
        out["unevaluatedProperties"] = False
    return out


def _open_member(member: Any) -> Any:
    if isinstance(member, dict) and set(member) == {"$ref"} and member["$ref"].startswith("#/components/schemas/"):
        return {"$ref": member["$ref"] + "__open"}
    return _close(member, top_open=True)
