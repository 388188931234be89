"""The models' runtime (generator/runtime/model_runtime.py) on its own terms: decoders, the
`Model` mapping, request validation, and the copy the generated package imports."""

from __future__ import annotations

import datetime
import enum
import pickle
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

import payment_kit_client.model_runtime as runtime
from payment_kit_client import models
from payment_kit_client.model_runtime import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    FLOAT,
    INT,
    NONE,
    STR,
    AsEnum,
    AsList,
    AsModel,
    AsUnion,
    Model,
    cache_decoded,
    construct,
    validate_request,
)
from payment_kit_client.types import UNSET

ROOT = Path(__file__).resolve().parents[1]


class Colour(enum.StrEnum):
    RED = "red"


class Swatch(Model):
    """A model declared by hand the way the template declares one."""

    __slots__ = ()
    _NAMES: ClassVar[dict[str, str]] = {"name": "name", "type_": "type", "type": "type", "made_at": "madeAt"}
    _DECODERS: ClassVar[dict[str, Any]] = {"madeAt": DATETIME}
    _REQUIRED: ClassVar[frozenset[str]] = frozenset({"name"})
    _CLOSED: ClassVar[bool] = True

    def __init__(self, *, name: str, made_at: Any = UNSET) -> None:
        self._init_fields({"name": name, "madeAt": made_at})

    @property
    def name(self) -> Any:
        return self._data.get("name")

    @property
    def type(self) -> Any:
        return self._data.get("type")

    type_ = type

    @property
    def made_at(self) -> Any:
        return self._get("madeAt")


class Bag(Model):
    """An open model whose undeclared values decode as datetimes (additionalProperties)."""

    __slots__ = ()
    _NAMES: ClassVar[dict[str, str]] = {"label": "label"}
    _EXTRA: ClassVar[Any] = DATETIME


def test_the_generated_package_holds_the_runtime_unchanged() -> None:
    source = (ROOT / "generator" / "runtime" / "model_runtime.py").read_bytes()
    assert Path(runtime.__file__).read_bytes() == source


@pytest.mark.parametrize(
    ("decoder", "raw", "accepted"),
    [
        (STR, "x", True),
        (STR, 1, False),
        (INT, 3, True),
        (INT, True, False),  # a JSON boolean is no integer, though Python says so
        (BOOL, True, True),
        (FLOAT, 2, True),
        (FLOAT, 2.5, True),
        (NONE, None, True),
        (ANY, {"a": 1}, True),
        (ANY, False, True),
        (FLOAT, True, False),
        (DATETIME, "2026-12-03T10:00:00+00:00", True),
        (DATETIME, "yesterday", False),
        (DATETIME, 5, False),
        (DATE, "2026-12-03", True),
        (AsList(INT), [1], True),
        (AsList(INT), {}, False),
        (AsUnion(INT, STR), "x", True),
        (AsUnion(INT, STR), 1.5, False),
    ],
)
def test_decoders_say_which_shapes_they_take(decoder: Any, raw: Any, accepted: bool) -> None:
    assert decoder.accepts(raw) is accepted


def test_decoders_decode_and_refuse_what_they_cannot() -> None:
    assert DATETIME("2026-12-03T10:00:00+00:00") == datetime.datetime(2026, 12, 3, 10, tzinfo=datetime.UTC)
    assert AsList(DATE)(["2026-01-02", None]) == [datetime.date(2026, 1, 2), None]
    assert AsUnion(INT, DATE)("2026-01-02") == datetime.date(2026, 1, 2)
    for decoder, raw in [(DATETIME, "not a moment"), (AsList(DATE), "not a list"), (AsUnion(INT, DATE), 1.5)]:
        with pytest.raises(runtime._Mismatch):
            decoder(raw)


def test_named_decoders_resolve_generated_classes_on_first_use() -> None:
    as_price = AsModel("Price")
    assert as_price.cls is None
    assert not as_price.accepts({"id": "price_1"})  # a required key is missing
    decoded = as_price({"id": "price_1"})  # read leniently all the same
    assert type(decoded) is models.Price and decoded.id == "price_1" and decoded.active is None
    with pytest.raises(runtime._Mismatch):
        as_price("price_1")
    status = AsEnum("SubscriptionStatus")
    assert status("active") is models.SubscriptionStatus.ACTIVE
    assert status("paused_by_a_newer_paymentkit") == "paused_by_a_newer_paymentkit"
    assert type(status("paused_by_a_newer_paymentkit")) is str  # a value the document does not list: its string
    assert status.accepts("anything") and not status.accepts(1)


def test_a_model_reads_like_the_json_it_wraps() -> None:
    swatch = Swatch.from_dict({"name": "n", "type": "t", "madeAt": "2026-12-03T10:00:00+00:00", "extra": [1]})
    assert swatch.name == swatch["name"] == swatch.get("name") == "n"
    assert swatch.type == "t" and swatch.type_ == "t"
    assert swatch.made_at == datetime.datetime(2026, 12, 3, 10, tzinfo=datetime.UTC)
    assert swatch.made_at is swatch["madeAt"]  # decoded once, then cached
    assert "extra" in swatch and "missing" not in swatch and swatch.get("missing", 7) == 7
    assert list(swatch) == list(swatch.keys()) == ["name", "type", "madeAt", "extra"]
    assert len(swatch) == 4 and dict(swatch.items())["extra"] == [1] and swatch.values()[0] == "n"
    assert swatch.additional_properties == {"extra": [1]} and swatch.additional_keys == ["extra"]
    with pytest.raises(KeyError, match="missing"):
        swatch["missing"]
    lenient = Swatch.from_dict({"type": "t"})  # a required field missing reads as None
    assert lenient.name is None and "name" not in lenient and lenient.to_dict() == {"type": "t"}
    with pytest.raises(TypeError, match="Swatch is a JSON object, not a list"):
        Swatch.from_dict([1])  # type: ignore[arg-type]


def test_undeclared_values_decode_with_the_extra_decoder() -> None:
    bag = Bag.from_dict({"label": "l", "when": "2026-12-03", "nothing": None})
    assert bag["when"] == datetime.datetime(2026, 12, 3)
    assert bag["label"] == "l" and bag["nothing"] is None


def test_to_dict_is_the_json_as_sent_and_a_copy() -> None:
    sent = {"name": "n", "nested": {"list": [1, {"a": 2}]}}
    swatch = Swatch.from_dict(sent)
    copied = swatch.to_dict()
    assert copied == sent
    copied["nested"]["list"].append(3)
    assert swatch.to_dict() == sent
    assert swatch.to_json() == '{"name": "n", "nested": {"list": [1, {"a": 2}]}}'


def test_constructing_and_assigning_write_json() -> None:
    moment = datetime.datetime(2026, 12, 3, tzinfo=datetime.UTC)
    swatch = Swatch(name="n", made_at=moment)
    assert swatch.to_dict() == {"name": "n", "madeAt": "2026-12-03T00:00:00+00:00"}
    assert swatch.made_at == moment
    swatch.made_at = UNSET
    assert "madeAt" not in swatch and swatch.made_at is None
    swatch.name = Colour.RED  # enums, decimals and models are unwrapped to their JSON
    assert swatch["name"] == "red"
    with pytest.raises(AttributeError, match="no field 'colour'"):
        swatch.colour = "x"
    assert runtime._to_wire({"a": Decimal("1.50"), "b": UNSET, "c": (swatch,)}) == {"a": "1.50", "c": [{"name": "red"}]}


def test_equality_pickling_and_repr() -> None:
    a = Swatch.from_dict({"name": "n", "api_key": "sk_live_x", "not an identifier": 1})
    assert a == Swatch.from_dict(a.to_dict()) and a != Bag.from_dict(a.to_dict())
    assert a != a.to_dict()
    assert pickle.loads(pickle.dumps(a)) == a
    text = repr(a)
    assert "sk_live_x" not in text and "api_key=<hidden>" in text and "'not an identifier': 1" in text
    with pytest.raises(TypeError):
        hash(a)


def test_construct_checks_nothing_and_cache_decoded_overrides_a_read() -> None:
    loose = construct(Swatch, {"type": "t", "madeAt": "raw"})
    assert loose.name is None and loose.type == "t"
    cache_decoded(loose, "madeAt", "decoded")
    assert loose["madeAt"] == loose.made_at == "decoded" and loose.to_dict() == {"type": "t", "madeAt": "raw"}
    fresh = construct(Swatch, {"madeAt": "2026-12-03"})
    assert fresh.made_at == datetime.datetime(2026, 12, 3)  # the cache now exists: the next entry joins it
    cache_decoded(fresh, "madeAt", "decoded")
    assert fresh["madeAt"] == "decoded"


def test_validate_request_checks_every_depth() -> None:
    validate_request(models.PriceCreateParams, {"product_id": "p", "unit_amount": "1", "currency_id": "c"})
    with pytest.raises(TypeError, match="must be an object, not list"):
        validate_request(models.PriceCreateParams, [])
    with pytest.raises(KeyError, match="currency_id"):
        validate_request(models.PriceCreateParams, {"product_id": "p", "unit_amount": "1", "currency_options": [{}]})
    with pytest.raises(TypeError, match="Swatch has no field 'colour'"):
        validate_request(Swatch, {"name": "n", "colour": "red"})
    validate_request(  # open enums (the generated ones of more than one value) take any string
        models.PriceCreateParams,
        {
            "product_id": "p",
            "unit_amount": "1",
            "currency_id": "c",
            "recurring": {"interval": "x", "interval_count": 1},
        },
    )
    meter = {"name": "m", "event_name": "e", "unit": "u", "aggregation_method": "count"}
    with pytest.raises(TypeError, match=r"^aggregation_method: 'count' is not a MeterCreateAggregationMethod"):
        validate_request(models.MeterCreateParams, meter)
    with pytest.raises(TypeError, match=r"^meter.aggregation_method: 'count'"):
        validate_request(models.MeterCreateParams, meter, "meter")


class Holder(Model):
    """A request object with a field that is a meter or an id, and a list of meters."""

    __slots__ = ()
    _NAMES: ClassVar[dict[str, str]] = {"pick": "pick", "meters": "meters"}
    _DECODERS: ClassVar[dict[str, Any]] = {
        "pick": AsUnion(AsModel("MeterCreateParams"), STR),
        "meters": AsList(AsModel("MeterCreateParams")),
    }


def test_validate_request_checks_an_object_that_can_only_be_one_model() -> None:
    validate_request(Holder, {"pick": "meter_1", "meters": [None]})
    with pytest.raises(KeyError, match="event_name"):
        validate_request(Holder, {"pick": {"name": "m"}})
    with pytest.raises(KeyError, match="event_name"):
        validate_request(Holder, {"meters": [{"name": "m"}]})
    assert AsEnum("MeterCreateAggregationMethod")("count") == "count"  # a closed enum's stranger reads as sent


def price_answer(**changes: Any) -> dict[str, Any]:
    from schema_examples import example_of

    answer: dict[str, Any] = example_of("PriceExpanded")
    answer.update(changes)
    return answer


def test_a_value_of_the_wrong_type_raises_only_when_its_field_is_read() -> None:
    price = models.PriceExpanded.from_dict(price_answer(active="yes", unit_amount=12, created_at="last week"))
    assert price.id.startswith("price_") and price.currency_id  # the rest of the answer reads
    with pytest.raises(runtime.FieldTypeError, match=r"^PriceExpanded\.active: the server sent a string 'yes'") as e:
        _ = price.active
    assert isinstance(e.value, TypeError) and (e.value.model, e.value.field, e.value.value) == (
        "PriceExpanded",
        "active",
        "yes",
    )
    with pytest.raises(runtime.FieldTypeError, match=r"unit_amount: .*an integer 12 .*a string"):
        _ = price["unit_amount"]
    with pytest.raises(runtime.FieldTypeError, match=r"created_at: .*'last week' .*ISO 8601 date-time"):
        _ = price.created_at
    with pytest.raises(runtime.FieldTypeError):
        dict(price.items())
    assert price.to_dict()["unit_amount"] == 12  # what was sent, unchanged


def test_nested_and_listed_values_of_the_wrong_shape_name_their_field() -> None:
    answer = price_answer(product="prod_1", currency_options=[{"currency_id": "pc_1"}, "pc_2"])
    price = models.PriceExpanded.from_dict(answer)
    with pytest.raises(runtime.FieldTypeError, match=r"PriceExpanded\.product: .*a Product object"):
        _ = price.product
    with pytest.raises(runtime.FieldTypeError, match=r"currency_options: .*a list whose items are"):
        _ = price.currency_options


def test_answer_problems_lists_every_departure_from_the_document() -> None:
    assert runtime.answer_problems(models.PriceExpanded.from_dict(price_answer())) == []
    answer = price_answer(active=None, unit_amount=12, type="brand_new", surprise=1)
    del answer["currency_id"]
    answer["recurring"] = {"interval": "fortnight", "interval_count": "2"}
    problems = runtime.answer_problems(models.PriceExpanded.from_dict(answer))
    assert "PriceExpanded.currency_id: missing (the document requires it)" in problems
    assert "PriceExpanded.active: null, which the document does not allow" in problems
    assert any(p.startswith("PriceExpanded.unit_amount: an integer 12, not a string") for p in problems)
    assert not any(".type:" in p or ".interval:" in p for p in problems)  # open enums (LiteralUnion) take any string
    assert any(p.startswith("PriceExpanded.recurring.interval_count: a string '2', not an integer") for p in problems)
    assert not any("surprise" in p for p in problems)  # the document leaves answers open
    closed = construct(Swatch, {"name": "n", "colour": "red"})
    assert runtime.answer_problems(closed) == ["Swatch.colour: not a field of Swatch (the document allows no others)"]


def test_open_enums_take_any_string_even_in_strict_checks() -> None:
    created_via = models.MeterEvent._DECODERS["created_via"]
    assert isinstance(created_via, AsEnum) and created_via.open
    assert list(created_via.problems("fax", "e.created_via")) == []
    assert list(created_via.problems(3, "e.created_via")) == ["e.created_via: an integer 3, not a string"]
    status = models.MeterEvent._DECODERS["status"]
    assert isinstance(status, AsEnum) and not status.open
    assert next(iter(status.problems("fax", "e.status"))).startswith("e.status: a string 'fax', not one of 'canceled'")


def test_a_union_reads_an_incomplete_object_as_its_model_and_strict_checks_say_why() -> None:
    pick = AsUnion(AsModel("MeterCreateParams"), STR)
    assert type(pick({"name": "m"})) is models.MeterCreateParams  # a required key missing: still the model
    problems = list(pick.problems({"name": "m"}, "h.pick"))
    assert "h.pick.event_name: missing (the document requires it)" in problems
    assert list(pick.problems(1.5, "h.pick")) == ["h.pick: a float 1.5, not a MeterCreateParams object or a string"]
    with pytest.raises(runtime._Mismatch):
        pick([1])


def test_the_fast_class_check_of_plain_fields_agrees_with_accepts() -> None:
    samples = ["s", 1, 1.5, True, [], [1], {}, {"a": 1}]
    checked = 0
    for name in models.__all__:
        cls = getattr(models, name)
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            continue
        for key, classes in cls._PLAIN_CLASSES.items():
            for raw in samples:
                assert (raw.__class__ in classes) == cls._PLAIN[key].accepts(raw), (name, key, raw)
                checked += 1
    assert checked > 1000


def test_field_decoder_says_what_a_field_holds_declared_or_not() -> None:
    assert runtime.field_decoder(models.LineItem, "quantity") is INT
    assert runtime.field_decoder(models.LineItem, "price_id") is STR
    nested = runtime.field_decoder(models.LineItem, "adjustable_quantity")
    assert isinstance(nested, AsModel) and nested.name == "LineItemAdjustableQuantity"
    lines = runtime.field_decoder(models.CheckoutSessionCreateParams, "line_items")
    assert isinstance(lines, AsList) and isinstance(lines.item, AsModel) and lines.item.name == "LineItem"
    assert runtime.field_decoder(models.CheckoutSessionCreateParams, "no_such_field") is None  # closed: nothing else
    assert runtime.field_decoder(models.LineItem, "no_such_field") is ANY  # open: any JSON value
    assert runtime.field_decoder(models.MetadataQuery, "metadata.plan") is STR  # additionalProperties: string
