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


def test_decoders_decode_and_hand_back_what_they_cannot() -> None:
    assert DATETIME("2026-12-03T10:00:00+00:00") == datetime.datetime(2026, 12, 3, 10, tzinfo=datetime.UTC)
    assert DATETIME("not a moment") == "not a moment"
    assert AsList(DATE)(["2026-01-02", None]) == [datetime.date(2026, 1, 2), None]
    assert AsList(DATE)("not a list") == "not a list"
    assert AsUnion(INT, DATE)("2026-01-02") == datetime.date(2026, 1, 2)
    assert AsUnion(INT, DATE)(1.5) == 1.5


def test_named_decoders_resolve_generated_classes_on_first_use() -> None:
    as_price = AsModel("Price")
    assert as_price.cls is None
    assert not as_price.accepts({"id": "price_1"})  # a required key is missing
    decoded = as_price({"id": "price_1"})
    assert type(decoded) is models.Price and decoded.id == "price_1"
    assert as_price("price_1") == "price_1"
    status = AsEnum("SubscriptionStatus")
    assert status("active") is models.SubscriptionStatus.ACTIVE
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
    with pytest.raises(KeyError, match="name"):
        Swatch.from_dict({"type": "t"})


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
