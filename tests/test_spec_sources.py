"""The document states only what PaymentKit's published material supports (issue 13):
every constraint names its source, open unions stay open for other languages' clients,
lists take Pagination<T>'s cursors."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from payment_kit_client import models

SPEC = yaml.safe_load((Path(__file__).resolve().parents[1] / "openapi" / "payment-kit.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
CONSTRAINTS = ("maxLength", "maximum", "minimum", "minItems", "maxItems", "pattern", "enum", "multipleOf")
SOURCES = ("@blocklet/payment-types/", "@blocklet/payment-js/", "seed README", "PaymentKit docs", "public client")


def nodes(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema-like mapping of the document, with where it is (examples left out)."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key in ("example", "examples"):
                continue
            if key == "properties" and isinstance(value, dict):
                for name, prop in value.items():
                    yield from nodes(prop, f"{where}.{name}")
            else:
                yield from nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from nodes(value, f"{where}/{i}")


def test_every_constraint_names_its_source() -> None:
    unsourced = [
        f"{where}: {sorted(set(node) & set(CONSTRAINTS))}"
        for where, node in nodes(SPEC)
        if set(node) & set(CONSTRAINTS) and not isinstance(node.get("x-source"), str)
    ]
    assert not unsourced, "constraints without x-source:\n" + "\n".join(unsourced)
    vague = [f"{w}: {n['x-source']}" for w, n in nodes(SPEC) if "x-source" in n and not str(n["x-source"]).strip()]
    assert not vague, vague


def test_sources_are_ones_the_house_accepts() -> None:
    cited = [str(n["x-source"]) for _, n in nodes(SPEC) if "x-source" in n]
    cited += [str(s) for schema in SCHEMAS.values() for s in (schema.get("x-required-source") or {}).values()]
    assert cited
    unknown = sorted({c for c in cited if not any(source in c for source in SOURCES)})
    assert not unknown, unknown


def test_open_unions_take_any_string_and_closed_ones_are_wrapped_nowhere() -> None:
    open_enums = {name for name, schema in SCHEMAS.items() if "LiteralUnion" in str(schema.get("x-source", ""))}
    open_enums = {name for name in open_enums if "enum" in SCHEMAS[name]}
    assert len(open_enums) > 70
    for name in open_enums:
        wrapper = SCHEMAS[f"{name}Open"]
        assert wrapper["anyOf"] == [{"$ref": f"#/components/schemas/{name}"}, {"type": "string"}], name
    # Answers never name an open enum directly: always through its wrapper.
    direct = [
        where
        for where, node in nodes({k: v for k, v in SCHEMAS.items() if not k.endswith("Params")})
        if node.get("$ref", "").rsplit("/", 1)[-1] in open_enums and not where.split("/")[1].endswith("Open")
    ]
    assert not direct, direct


def test_the_python_client_keeps_a_value_paymentkit_adds_later() -> None:
    create = SPEC["paths"]["/api/checkout-sessions"]["post"]
    answer = copy.deepcopy(create["responses"]["200"]["content"]["application/json"]["example"])
    answer.update(status="archived_for_audit", submit_type="subscribe", created_via="mobile_app")
    session = models.CheckoutSession.from_dict(answer)
    assert str(session.status) == "archived_for_audit" or session.status == "archived_for_audit"
    assert session.to_dict()["status"] == "archived_for_audit"
    assert session.to_dict()["created_via"] == "mobile_app"
    known = models.CheckoutSession.from_dict({**answer, "status": "open"})
    assert known.status == models.CheckoutSessionStatus.OPEN


def test_lists_take_pagination_cursors_and_order_is_a_free_string() -> None:
    params = SPEC["components"]["parameters"]
    assert "pattern" not in params["Order"]["schema"]
    cursors = {
        "#/components/parameters/Limit",
        "#/components/parameters/StartingAfter",
        "#/components/parameters/EndingBefore",
    }
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            refs = {p.get("$ref") for p in op.get("parameters", [])} if isinstance(op, dict) else set()
            if "#/components/parameters/PageSize" in refs and not ("redemptions" in path or "holders" in path):
                assert cursors <= refs, f"{method.upper()} {path}"


def test_percent_off_admits_fractions_and_meter_creation_takes_sum_only() -> None:
    for name in ("Coupon", "CouponCreateParams", "CouponUpdateParams"):
        assert SCHEMAS[name]["properties"]["percent_off"]["type"] == "number"
    assert SCHEMAS["MeterCreateAggregationMethod"]["enum"] == ["sum"]
    assert "return_stake" not in SCHEMAS["InvoiceBillingReason"]["enum"]
    assert SPEC["info"]["version"] == "1.27.2"
