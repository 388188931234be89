"""Answers read like the API's JSON: by attribute and by the API's own keys, at
every depth; absent fields are None; `to_dict()` is exactly what was sent; the
models package loads lazily; money converts exactly."""

from __future__ import annotations

import copy
import datetime
import json
import pickle
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from schema_examples import example_of, spec

import payment_kit_client.models as models
from payment_kit import Page, format_amount, format_credit_amount, from_units, to_units
from payment_kit._generated_namespaces import OPERATIONS
from payment_kit_client.model_runtime import Model, validate_request


def declared_models() -> list[str]:
    """Every model class of the document with declared fields."""
    names = []
    for name in spec()["components"]["schemas"]:
        cls = getattr(models, name, None)
        if isinstance(cls, type) and issubclass(cls, Model) and cls._NAMES:
            names.append(name)
    return names


def attribute_for(cls: type[Model], key: str) -> list[str]:
    """The attribute names that read JSON key `key` (the plain one and any alias)."""
    return [name for name, wire in cls._NAMES.items() if wire == key]


@pytest.mark.parametrize("name", declared_models())
def test_every_declared_field_reads_by_its_json_key_and_by_attribute(name: str) -> None:
    cls: type[Model] = getattr(models, name)
    example = example_of(name)
    model = cls.from_dict(copy.deepcopy(example))
    assert set(cls._NAMES.values()) == cls._DECLARED
    for key in sorted(cls._DECLARED):
        names = attribute_for(cls, key)
        assert names, f"{name}.{key} has no attribute"
        values = [getattr(model, attr) for attr in names]
        if key in example:
            assert key in model and model.get(key, "absent") is model[key]
            assert all(value is model[key] or value == model[key] for value in values), (key, values)
            if example[key] is not None and not isinstance(example[key], dict | list):
                # Scalars read as sent (a StrEnum equals its string), or as a moment parsed from it.
                value = model[key]
                assert value == example[key] or (isinstance(value, datetime.date) and isinstance(example[key], str))
        else:
            assert key not in model and model.get(key) is None and model.get(key, 7) == 7
            assert all(value is None for value in values), (key, values)
            with pytest.raises(KeyError):
                model[key]
    assert model.to_dict() == example
    assert json.loads(model.to_json()) == example
    assert "UNSET" not in repr(model) and "object at 0x" not in repr(model)


@pytest.mark.parametrize("name", declared_models())
def test_absent_fields_are_none_and_the_round_trip_keeps_absence(name: str) -> None:
    cls: type[Model] = getattr(models, name)
    required = {key: example_of(name)[key] for key in cls._REQUIRED}
    model = cls.from_dict(copy.deepcopy(required))
    for key in cls._DECLARED - cls._REQUIRED:
        assert all(getattr(model, attr) is None for attr in attribute_for(cls, key))
    assert model.to_dict() == required  # nothing invented for what was not sent


def test_nested_objects_read_by_key_at_every_depth() -> None:
    raw = example_of("SubscriptionExpanded")
    sub = models.SubscriptionExpanded.from_dict(copy.deepcopy(raw))
    item = sub["items"][0]
    assert item is sub.items[0] and isinstance(item, models.SubscriptionItemExpanded)
    assert item["price"]["unit_amount"] == item.price.unit_amount == raw["items"][0]["price"]["unit_amount"]
    assert sub["customer"]["id"] == sub.customer.id
    assert dict(sub)["status"] == sub.status and list(sub) == list(raw)


def test_camel_case_keys_and_maps_keyed_by_id() -> None:
    currency = example_of("CreditSummaryEntry")
    summary = models.CreditSummary.from_dict({"pc_credit": copy.deepcopy(currency)})
    entry = summary["pc_credit"]
    assert entry["remainingAmount"] == entry.remaining_amount == currency["remainingAmount"]
    assert entry["paymentCurrency"]["decimal"] == entry.payment_currency.decimal
    assert "pc_credit" in summary and summary.get("pc_missing") is None


def test_builtin_named_fields_read_plainly_with_underscored_aliases() -> None:
    price = models.PriceExpanded.from_dict(example_of("PriceExpanded"))
    assert price.type is price.type_ and price.type == example_of("PriceExpanded")["type"]
    assert price.object == price.object_ == "price"
    page = models.CustomerPage.from_dict({"count": 1, "list": [example_of("CustomerExpanded")]})
    assert page.list is page.list_ and page["list"][0].id == page.list[0].id


def test_free_form_objects_read_like_dicts() -> None:
    setting = models.Setting.from_dict(example_of("Setting") | {"settings": {"include_events": ["invoice.paid"]}})
    assert setting.settings["include_events"] == ["invoice.paid"]
    assert setting.settings.get("missing") is None and dict(setting.settings) == {"include_events": ["invoice.paid"]}


def test_assigning_an_attribute_changes_the_json_and_clears_what_was_read() -> None:
    price = models.Price.from_dict(example_of("Price"))
    price.nickname = "Gold"
    price.type = models.PriceType.ONE_TIME
    assert price["nickname"] == "Gold" and price.to_dict()["type"] == "one_time" and price.type == "one_time"
    with pytest.raises(AttributeError, match="no field 'nick_name'"):
        price.nick_name = "x"  # type: ignore[attr-defined]


def test_models_pickle_compare_and_hide_secrets() -> None:
    price = models.Price.from_dict(example_of("Price"))
    assert pickle.loads(pickle.dumps(price)) == price
    assert price != models.Price.from_dict(example_of("Price") | {"nickname": "other"})
    endpoint = models.WebhookEndpoint.from_dict(example_of("WebhookEndpoint") | {"secret": "whsec_abc"})
    assert "whsec_abc" not in repr(endpoint) and "secret=<hidden>" in repr(endpoint)
    assert endpoint["secret"] == "whsec_abc"  # hidden from logs, not from the program


def test_constructing_a_model_builds_its_json() -> None:
    recurring = models.PriceRecurring(interval=models.PriceRecurringInterval.MONTH, interval_count=1)
    assert recurring.to_dict() == {"interval": "month", "interval_count": 1}
    assert recurring.interval == "month" and recurring.meter_id is None


def test_request_objects_are_checked_at_every_depth() -> None:
    with pytest.raises(KeyError, match="currency_id"):
        validate_request(models.PriceCreateParams, {"product_id": "p", "unit_amount": "1", "currency_options": [{}]})
    with pytest.raises(TypeError, match=r"coupon\.promotion_codes\[0\] has no field 'cde'"):
        validate_request(
            models.CouponCreateParams, {"name": "c", "duration": "once", "promotion_codes": [{"cde": "X"}]}, "coupon"
        )


def test_pages_read_like_the_answer() -> None:
    def no_more(number: int, size: int) -> Page[Any]:
        raise AssertionError("not fetched")

    rows = [models.Price.from_dict(example_of("Price"))]
    page = Page(count=1, items=rows, page=1, page_size=20, paginated=True, fetch=no_more)
    assert page["count"] == 1 and page["list"] == rows and page[0] is rows[0]
    assert page.to_dict() == {"count": 1, "list": [example_of("Price")]}
    with pytest.raises(KeyError):
        page["total"]


def test_importing_the_sdk_loads_almost_no_model_modules() -> None:
    code = (
        "import sys, payment_kit\n"
        "client = payment_kit.PaymentKit(base_url='http://127.0.0.1:9', api_key='k')\n"
        "client.prices\n"
        "print(sum(1 for name in sys.modules if name.startswith('payment_kit_client.models.')))\n"
        "print(sum(1 for name in sys.modules if name.startswith('payment_kit_client.api.')))\n"
    )
    models_loaded, api_loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(models_loaded) <= 5 and int(api_loaded) <= 2
    # ...and a type checker still sees every name.
    assert len(models.__all__) > 400 and set(models.__all__) <= set(dir(models))


@pytest.mark.parametrize(
    ("units", "decimal", "amount"),
    [
        ("1000000000000000", 18, "0.001"),
        ("990", 0, "990"),
        ("99000", 2, "990"),
        ("1", 18, "0.000000000000000001"),
        ("0", 6, "0"),
        ("-150", 2, "-1.5"),
        ("123456789012345678901234567890123456789", 9, "123456789012345678901234567890.123456789"),
    ],
)
def test_units_convert_exactly_both_ways(units: str, decimal: int, amount: str) -> None:
    assert from_units(units, decimal) == Decimal(amount)
    assert format_amount(units, decimal, min_places=0) == amount and "E" not in format_amount(units, decimal)
    assert to_units(amount, decimal) == str(int(units))
    assert to_units(Decimal(amount), decimal) == str(int(units))
    assert to_units(from_units(units, decimal), decimal) == str(int(units))


def test_money_refuses_floats_and_precision_the_currency_cannot_hold() -> None:
    with pytest.raises(TypeError, match="float"):
        to_units(0.1, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        from_units(1.0, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        to_units("0.001", 2)
    assert to_units("1.500", 2) == "150"  # trailing zeros are not precision
    with pytest.raises(ValueError, match="whole number"):
        from_units("1.5", 2)
    with pytest.raises(ValueError, match="not a finite number"):
        to_units("Infinity", 2)


def test_credit_amounts_display_decimals_plainly() -> None:
    assert format_credit_amount(from_units("99000", 2), "calls") == "990 calls"
    assert format_credit_amount(Decimal("9.9E+2"), "USD") == "$990 credits"
    assert format_credit_amount("20", "USD") == "$20 credits"


def test_facade_docstrings_carry_the_documents_parameter_descriptions() -> None:
    from payment_kit import PaymentKit

    client = PaymentKit(base_url="http://127.0.0.1:9", api_key="k")
    doc = client.credit_grants.verify_availability.__doc__ or ""
    assert "pending_amount: " in doc and "smallest unit" in doc
    doc = client.meter_events.create.__doc__ or ""
    assert "payload: " in doc and "in credits" in doc
    undocumented = []
    for op in OPERATIONS.values():
        namespace: Any = client
        for part in op.namespace.split("."):
            namespace = getattr(namespace, part)
        text = getattr(namespace, op.method).__doc__ or ""
        for arg in (*op.path_params, *op.money_fields):
            if f"{arg}: " not in text:
                undocumented.append(f"{op.name}({arg})")
    assert not undocumented, undocumented
