"""Amounts shown as a person reads them, and answers written with json.dumps (issue 26, finding 7)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from schema_examples import example_of

import payment_kit_client.models as models
from payment_kit import Page, format_amount, json_default
from payment_kit_client.model_runtime import construct


@pytest.mark.parametrize(
    ("units", "decimal", "options", "shown"),
    [
        ("1000", 2, {}, "10.00"),
        ("1050", 2, {}, "10.50"),
        ("1", 2, {}, "0.01"),
        ("-150", 2, {}, "-1.50"),
        ("990", 0, {}, "990"),
        ("1000000000000000", 18, {}, "0.001"),
        (5 * 10**18, 18, {}, "5.00"),
        ("1000", 2, {"min_places": 0}, "10"),
        ("1000", 3, {"min_places": 3}, "1.000"),
        ("1", 18, {}, "0.000000000000000001"),
    ],
)
def test_format_amount_shows_the_currency_s_places_and_never_rounds(
    units: Any, decimal: int, options: dict[str, int], shown: str
) -> None:
    assert format_amount(units, decimal, **options) == shown


@pytest.mark.parametrize("min_places", [-1, 3, True, 1.0])
def test_format_amount_refuses_places_the_currency_does_not_have(min_places: Any) -> None:
    with pytest.raises(ValueError, match="min_places"):
        format_amount("1000", 2, min_places=min_places)


def test_models_pages_and_decimals_dump_to_json_with_the_documented_default() -> None:
    answer = example_of("PriceExpanded")
    price = models.PriceExpanded.from_dict(answer)
    with pytest.raises(TypeError):
        json.dumps(price)
    assert json.loads(json.dumps(price, default=json_default)) == answer
    page: Page[Any] = Page(count=1, items=[price], page=1, page_size=None, paginated=True, fetch=None)  # type: ignore[arg-type]
    nested = {"page": page, "left": Decimal("0.001"), "status": models.SubscriptionStatus("active")}
    assert json.loads(json.dumps(nested, default=json_default)) == {
        "page": {"count": 1, "list": [answer]},
        "left": "0.001",
        "status": "active",
    }
    lenient = construct(models.Customer, {"id": "cus_1", "brand_new": {"x": 1}})
    assert json.loads(json.dumps([lenient], default=json_default)) == [{"id": "cus_1", "brand_new": {"x": 1}}]
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        json.dumps({1, 2}, default=json_default)


def test_json_default_writes_a_plain_enum_as_its_value_and_refuses_the_unknown() -> None:
    import enum

    class Plan(enum.Enum):  # not a str enum: json.dumps would call `default` for it
        PRO = "pro"

    assert json.dumps({"plan": Plan.PRO}, default=json_default) == '{"plan": "pro"}'
    with pytest.raises(TypeError, match="type object is not JSON serializable"):
        json.dumps({"when": object()}, default=json_default)
