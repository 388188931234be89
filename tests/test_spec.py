"""The OpenAPI document against the inventory and the project's conventions
(openapi/README.md). Each test names what it found wrong, so a failure says
what to fix in openapi/payment-kit.yaml."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "payment-kit.yaml"
INVENTORY_PATH = ROOT / "openapi" / "endpoints.tsv"
METHODS = ("get", "post", "put", "patch", "delete")
WRITE_METHODS = ("post", "put", "patch", "delete")
# Names the generator shadows or chokes on (openapi-python-client notes, pitfall 8).
FORBIDDEN_SCHEMA_NAMES = {"Response", "Client", "AuthenticatedClient", "File", "Any", "Unset", "UUID", "HTTPStatus"}
# Money fields PaymentKit itself types as numbers (facts §3); every other money field is a string.
NUMERIC_MONEY_FIELDS = {
    "flat_amount",
    "min_stake_amount",
    "billing_threshold_amount",
    "amount_gte",
    "stake_gte",
    "max_amount",
    "min_recharge_amount",
    "max_recharge_amount",
    "minimum_amount_number",
}


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def inventory() -> list[dict[str, str]]:
    with INVENTORY_PATH.open() as f:
        return list(csv.DictReader(f, delimiter="\t"))


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec()["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        parts = node["$ref"].removeprefix("#/").split("/")
        target: Any = spec()
        for part in parts:
            target = target[part]
        node = target
    return node


def op_id(path: str, method: str, op: dict[str, Any]) -> str:
    return str(op.get("operationId", f"{method.upper()} {path}"))


def parameters(path: str, op: dict[str, Any]) -> list[dict[str, Any]]:
    shared = spec()["paths"][path].get("parameters", [])
    return [resolve(p) for p in [*shared, *op.get("parameters", [])]]


def walk_schemas(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in the document, with a readable location."""
    if isinstance(node, dict):
        yield where, node
        for key in ("properties",):
            for name, sub in (node.get(key) or {}).items():
                yield from walk_schemas(sub, f"{where}.{name}")
        for key in ("items", "additionalProperties", "not"):
            if isinstance(node.get(key), dict):
                yield from walk_schemas(node[key], f"{where}[{key}]")
        for key in ("allOf", "oneOf", "anyOf"):
            for i, sub in enumerate(node.get(key) or []):
                yield from walk_schemas(sub, f"{where}.{key}[{i}]")


def all_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, schema in spec()["components"]["schemas"].items():
        yield from walk_schemas(schema, name)
    for path, method, op in operations():
        for p in op.get("parameters", []):
            if "schema" in p:
                yield from walk_schemas(p["schema"], f"{op_id(path, method, op)} param {p.get('name')}")


def test_document_is_valid_openapi_3_0_3() -> None:
    assert spec()["openapi"] == "3.0.3"
    validate(spec())


def test_inventory_copy_matches_the_workspace_reference_when_present() -> None:
    reference = ROOT.parent / "shared" / "reference" / "endpoints.tsv"
    if not reference.exists():
        pytest.skip("outside the workspace there is no shared/reference to compare with")
    assert INVENTORY_PATH.read_text() == reference.read_text()


def test_every_inventory_operation_is_in_the_document_with_its_python_name() -> None:
    problems = []
    rows = inventory()
    assert len(rows) == 130
    for row in rows:
        item = spec()["paths"].get(row["path"])
        op = (item or {}).get(row["http_method"].lower())
        if op is None:
            problems.append(f"missing: {row['http_method']} {row['path']}")
            continue
        got = (op.get("x-sdk-namespace"), op.get("x-sdk-method"))
        want = (row["python_namespace"], row["python_method"])
        if got != want:
            problems.append(f"{row['http_method']} {row['path']}: x-sdk names {got}, inventory says {want}")
        node = f"{row['js_namespace']}.{row['js_method']}"
        if op.get("x-sdk-node") != node:
            problems.append(f"{row['http_method']} {row['path']}: x-sdk-node {op.get('x-sdk-node')!r}, want {node!r}")
    assert not problems, "\n".join(problems)


def test_document_has_no_operation_outside_the_inventory() -> None:
    known = {(r["http_method"].lower(), r["path"]) for r in inventory()}
    extra = [f"{m.upper()} {p}" for p, m, _ in operations() if (m, p) not in known]
    assert not extra, f"operations not in endpoints.tsv: {extra}"


def test_operation_ids_are_unique_lower_camel_and_python_names_unique() -> None:
    ids = [op.get("operationId") for _, _, op in operations()]
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z][A-Za-z0-9]+", i) for i in ids), ids
    assert len(ids) == len(set(ids))
    names = [(op["x-sdk-namespace"], op["x-sdk-method"]) for _, _, op in operations()]
    assert len(names) == len(set(names))


def test_every_operation_is_tagged_summarised_and_described() -> None:
    declared = {t["name"] for t in spec()["tags"]}
    problems = []
    for path, method, op in operations():
        oid = op_id(path, method, op)
        if len(op.get("tags", [])) != 1 or op["tags"][0] not in declared:
            problems.append(f"{oid}: needs exactly one declared tag, has {op.get('tags')}")
        if not op.get("summary") or len(op.get("description", "")) < 20:
            problems.append(f"{oid}: summary and a real description are required")
    assert len(declared) == 21, sorted(declared)
    assert not problems, "\n".join(problems)


def test_every_operation_has_a_typed_json_2xx_response() -> None:
    problems = []
    for path, method, op in operations():
        oid = op_id(path, method, op)
        ok = [c for c in op["responses"] if str(c).startswith("2")]
        if ok != ["200"]:
            problems.append(f"{oid}: expected exactly one 200 response, got {ok}")
            continue
        schema = op["responses"]["200"].get("content", {}).get("application/json", {}).get("schema")
        if not schema or "$ref" not in schema:
            problems.append(f"{oid}: the 200 JSON schema must be a $ref to a component")
            continue
        target = resolve(schema)
        typed = any(k in target for k in ("properties", "allOf", "items", "additionalProperties"))
        if not typed:
            problems.append(f"{oid}: 200 answers {schema['$ref']}, which has no shape")
    assert not problems, "\n".join(problems)


def test_error_responses_use_the_shared_error_schema() -> None:
    problems = []
    for path, method, op in operations():
        oid = op_id(path, method, op)
        codes = set(op["responses"])
        need = {"400", "401"}
        if "{" in path:
            need.add("404")
        if missing := need - codes:
            problems.append(f"{oid}: missing error responses {sorted(missing)}")
        for code, response in op["responses"].items():
            if str(code).startswith(("4", "5")):
                schema = resolve(response)["content"]["application/json"]["schema"]
                if schema != {"$ref": "#/components/schemas/ErrorResponse"}:
                    problems.append(f"{oid} {code}: must answer the shared Error schema")
    assert not problems, "\n".join(problems)


def test_livemode_on_every_call_and_idempotency_key_on_every_write() -> None:
    problems = []
    for path, method, op in operations():
        oid = op_id(path, method, op)
        refs = [p.get("$ref") for p in op.get("parameters", [])]
        if "#/components/parameters/Livemode" not in refs:
            problems.append(f"{oid}: no livemode parameter")
        if method in WRITE_METHODS and "#/components/parameters/IdempotencyKey" not in refs:
            problems.append(f"{oid}: a write without the Idempotency-Key parameter")
    assert not problems, "\n".join(problems)


def test_parameters_are_typed_and_query_parameters_have_no_default() -> None:
    problems = []
    for path, method, op in operations():
        oid = op_id(path, method, op)
        names = set()
        for p in parameters(path, op):
            schema = p.get("schema", {})
            names.add((p["in"], p["name"]))
            if not schema.get("type") and "$ref" not in schema and "allOf" not in schema:
                problems.append(f"{oid}: parameter {p['name']} has no type")
            if p["in"] == "query" and "default" in schema:
                problems.append(f"{oid}: query parameter {p['name']} has a default (it would be sent every time)")
            if p["name"] == "body":
                problems.append(f"{oid}: a parameter named body breaks the generated code")
            if not p.get("description"):
                problems.append(f"{oid}: parameter {p['name']} is not described")
        for placeholder in re.findall(r"{([^}]+)}", path):
            if ("path", placeholder) not in names:
                problems.append(f"{oid}: path placeholder {placeholder} is not a parameter")
    assert not problems, "\n".join(problems)


def test_lists_and_searches_paginate() -> None:
    problems = []
    for path, method, op in operations():
        if op["x-sdk-method"] not in ("list", "search"):
            continue
        oid = op_id(path, method, op)
        refs = {p.get("$ref") for p in op.get("parameters", [])}
        answer = resolve(op["responses"]["200"]["content"]["application/json"]["schema"])
        if answer.get("type") == "array":
            continue  # PaymentKit answers these lists as plain arrays (payment methods, currencies)
        for name in ("Page", "PageSize"):
            if f"#/components/parameters/{name}" not in refs:
                problems.append(f"{oid}: no {name} parameter")
        if set(answer.get("required", [])) < {"count", "list"}:
            problems.append(f"{oid}: the answer must be a {{count, list}} page")
        if op["x-sdk-method"] == "search" and "#/components/parameters/SearchQuery" not in refs:
            problems.append(f"{oid}: a search without the query parameter")
    assert not problems, "\n".join(problems)


def test_writes_take_closed_component_request_bodies() -> None:
    problems = []
    for path, method, op in operations():
        oid = op_id(path, method, op)
        if "requestBody" not in op:
            continue  # actions such as void or expire take no body
        schema = resolve(op["requestBody"])["content"]["application/json"]["schema"]
        if "$ref" not in schema:
            problems.append(f"{oid}: the request body must be a $ref to a *Params component")
            continue
        name = schema["$ref"].rsplit("/", 1)[1]
        if resolve(schema).get("additionalProperties") is not False:
            problems.append(f"{oid}: request schema {name} must set additionalProperties: false")
    assert not problems, "\n".join(problems)


def test_create_operations_link_their_new_id_to_the_operations_that_take_it() -> None:
    ids = {op["operationId"] for _, _, op in operations()}
    problems = []
    for path, method, op in operations():
        if op["x-sdk-method"] != "create" or method != "post":
            continue
        oid = op_id(path, method, op)
        links = op["responses"]["200"].get("links") or {}
        if not links:
            problems.append(f"{oid}: no links from the new id")
        for name, link in links.items():
            if link.get("operationId") not in ids:
                problems.append(f"{oid}: link {name} points at unknown operation {link.get('operationId')}")
            values = list((link.get("parameters") or {}).values())
            if not values or not all(str(v).startswith("$response.body#/") for v in values):
                problems.append(f"{oid}: link {name} must take its parameters from the response body")
    assert not problems, "\n".join(problems)


def test_seed_create_operations_carry_request_and_response_examples() -> None:
    seed_creates = {
        (r["http_method"].lower(), r["path"])
        for r in inventory()
        if r["in_seed_readme"] == "yes" and r["python_method"] in ("create", "create_usage_record")
    }
    problems = []
    for method, path in sorted(seed_creates):
        op = spec()["paths"][path][method]
        body = resolve(op["requestBody"])["content"]["application/json"]
        answer = op["responses"]["200"]["content"]["application/json"]
        if not (body.get("example") or body.get("examples")):
            problems.append(f"{op['operationId']}: no request example")
        if not (answer.get("example") or answer.get("examples")):
            problems.append(f"{op['operationId']}: no response example")
    assert len(seed_creates) >= 10
    assert not problems, "\n".join(problems)


def test_no_shapeless_schemas_and_no_nullable_beside_ref() -> None:
    problems = []
    shape_keys = {"type", "$ref", "allOf", "oneOf", "anyOf", "enum", "properties", "additionalProperties"}
    for where, schema in all_schemas():
        if not shape_keys & set(schema) and schema.get("x-any-json") is not True:
            # `x-any-json: true` marks the one deliberate any-value, whose description says why.
            problems.append(f"{where}: a schema with no shape ({{}})")
        if "$ref" in schema and len(schema) > 1:
            problems.append(f"{where}: siblings of $ref are ignored by generators: {sorted(set(schema) - {'$ref'})}")
        if "enum" in schema and schema.get("nullable") and None not in schema["enum"]:
            problems.append(f"{where}: nullable inline enum (use nullable + allOf: [$ref])")
    assert not problems, "\n".join(problems)


def test_money_is_never_a_json_number() -> None:
    problems = []
    for where, schema in all_schemas():
        for name, prop in (schema.get("properties") or {}).items():
            moneyish = name == "amount" or name.endswith("_amount") or name.startswith("amount_")
            if moneyish and name not in NUMERIC_MONEY_FIELDS and resolve(prop).get("type") in ("number", "integer"):
                problems.append(f"{where}.{name}: money as a JSON number")
    assert not problems, "\n".join(problems)


def test_schema_names_do_not_collide_with_generated_names() -> None:
    op_ids = {op["operationId"][0].upper() + op["operationId"][1:] for _, _, op in operations()}
    problems = []
    for name in spec()["components"]["schemas"]:
        if name in FORBIDDEN_SCHEMA_NAMES:
            problems.append(f"{name}: shadows a generated import")
        for oid in op_ids:
            if name in (f"{oid}Body", f"{oid}Response200") or re.fullmatch(rf"{oid}Response\d\d\d", name):
                problems.append(f"{name}: collides with the generator's name for {oid}")
    assert not problems, "\n".join(problems)


def test_enum_values_do_not_collide_as_python_names() -> None:
    problems = []
    for where, schema in all_schemas():
        values = [v for v in schema.get("enum", []) if isinstance(v, str)]
        keys = [re.sub(r"[^A-Za-z0-9]+", "_", v).upper() for v in values]
        if len(keys) != len(set(keys)):
            problems.append(f"{where}: enum values {values} collide once upper-cased")
    assert not problems, "\n".join(problems)


def test_security_is_bearer_and_servers_have_a_base_url_variable() -> None:
    doc = spec()
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    assert doc["servers"][0]["variables"], "the first server must be templated by the deployment's base URL"


def test_natural_key_lookups_are_documented() -> None:
    paths = spec()["paths"]
    expectations = {
        ("/api/meters/{id}", "event_name"),
        ("/api/prices/{id}", "lookup_key"),
        ("/api/payment-links/{id}", "lookup_key"),
        ("/api/settings/{id}", "mount"),
        ("/api/customers/{id}", "DID"),
    }
    problems = []
    for path, needle in expectations:
        op = paths[path]["get"]
        text = op["description"] + " ".join(str(p.get("description", "")) for p in parameters(path, op))
        if needle.lower() not in text.lower():
            problems.append(f"GET {path}: does not document lookup by {needle}")
    customer_params = {p["name"]: p for p in parameters("/api/customers/{id}", paths["/api/customers/{id}"]["get"])}
    assert customer_params.get("create", {}).get("schema", {}).get("type") == "boolean"
    assert not problems, "\n".join(problems)


def test_examples_conform_to_their_schemas() -> None:
    from payment_kit_sandbox.openapi_jsonschema import validator_for

    problems = []
    checked = 0
    for path, method, op in operations():
        oid = op_id(path, method, op)
        media = []
        if "requestBody" in op:
            media.append(("request", resolve(op["requestBody"])["content"]["application/json"]))
        for code, response in op["responses"].items():
            content = resolve(response).get("content", {}).get("application/json")
            if content:
                media.append((f"response {code}", content))
        for label, content in media:
            examples = [content["example"]] if "example" in content else []
            examples += [resolve(e)["value"] for e in (content.get("examples") or {}).values()]
            for example in examples:
                checked += 1
                errors = sorted(validator_for(content["schema"], spec()).iter_errors(example), key=str)
                problems += [f"{oid} {label}: {e.json_path}: {e.message}" for e in errors[:3]]
    assert checked >= 20, f"only {checked} examples in the document"
    assert not problems, "\n".join(problems)


def test_enum_constants_are_named_uniquely_for_languages_with_one_namespace() -> None:
    """Go puts every enum constant of a client in one package: `x-enum-varnames` names each after
    its enum (`CHECKOUT_SESSION_STATUS_OPEN`), unique in the document and unlike any schema name."""
    schemas = spec()["components"]["schemas"]
    problems, seen = [], {}
    for name, schema in schemas.items():
        if "enum" not in schema:
            continue
        names = schema.get("x-enum-varnames") or []
        if len(names) != len(schema["enum"]):
            problems.append(f"{name}: {len(schema['enum'])} values, {len(names)} x-enum-varnames")
        for constant in names:
            if constant in seen or constant in schemas:
                problems.append(f"{name}: {constant} also names {seen.get(constant, 'a schema')}")
            seen[constant] = name
    assert not problems, "\n".join(problems)
