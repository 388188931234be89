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
