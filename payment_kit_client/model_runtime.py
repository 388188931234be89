"""The runtime of every generated model: the `Model` base class, lazy decoding, and
request validation.

This file is hand-written and checked like the rest of the project (ruff, mypy
strict, unit tests in tests/test_model_runtime.py). `generator/generate.py` copies
it unchanged into the generated package as `payment_kit_client/model_runtime.py`,
and `make check-generated` fails if the two differ. The model template
(`generator/templates/model.py.jinja`) only declares each class's fields as data;
everything a model does lives here.

A model keeps the JSON dict it was given and decodes a field (nested model, enum,
moment) when it is first read, so decoding an answer costs almost nothing beyond
`json.loads`. A value of an unexpected shape is handed back as sent rather than
failing the whole answer.

Public names (what the facade and the generated models use):
- `Model`: the base class;
- `validate_request(model_class, value)`: checks a request object before it is sent;
- `construct(model_class, data)`: a model over `data` with no checks at all;
- `cache_decoded(model, key, value)`: makes `model[key]` read as `value`;
- the decoders the model template writes into `_DECODERS` (`AsModel`, `AsEnum`,
  `AsList`, `AsUnion`, `ANY`, `STR`, `INT`, `FLOAT`, `BOOL`, `NONE`, `DATETIME`, `DATE`).
"""

from __future__ import annotations

import builtins
import datetime
import enum
import importlib
import json
import re
from collections.abc import Callable, Iterator, KeysView, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Protocol, Self, TypeVar

from .types import Unset

__all__ = [
    "ANY",
    "BOOL",
    "DATE",
    "DATETIME",
    "FLOAT",
    "INT",
    "NONE",
    "STR",
    "AsEnum",
    "AsList",
    "AsModel",
    "AsUnion",
    "Decoder",
    "Model",
    "cache_decoded",
    "construct",
    "validate_request",
]

M = TypeVar("M", bound="Model")


class Decoder(Protocol):
    """How the JSON value of a declared field becomes its Python value."""

    def accepts(self, raw: Any) -> bool:
        """Whether `raw` has this decoder's shape (unions pick the first option that accepts)."""

    def __call__(self, raw: Any) -> Any:
        """The decoded value; `raw` itself when it has another shape."""


_models_package: Any = None


def _model_class(name: str) -> Any:
    """A class of the models package, by name; imported on first use, since models refer to each other."""
    global _models_package
    if _models_package is None:
        _models_package = importlib.import_module(__name__.rpartition(".")[0] + ".models")
    return getattr(_models_package, name)


class _Named:
    """A model or enum class named by the document, resolved on first use."""

    __slots__ = ("cls", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.cls: Any = None

    def resolve(self) -> Any:
        if self.cls is None:
            self.cls = _model_class(self.name)
        return self.cls


class AsModel(_Named):
    """A nested object, as the model class the document names."""

    __slots__ = ()

    def accepts(self, raw: Any) -> bool:
        return isinstance(raw, dict) and raw.keys() >= self.resolve()._REQUIRED

    def __call__(self, raw: Any) -> Any:
        return construct(self.resolve(), raw) if isinstance(raw, dict) else raw


class AsEnum(_Named):
    """A string, as the enum class the document names (its string when the enum refuses it)."""

    __slots__ = ()

    def accepts(self, raw: Any) -> bool:
        return isinstance(raw, str)

    def __call__(self, raw: Any) -> Any:
        try:
            return self.resolve()(raw)
        except ValueError:
            return raw


class AsMoment:
    """An ISO 8601 string, as a date or datetime."""

    __slots__ = ("parse",)

    def __init__(self, parse: Callable[[str], Any]) -> None:
        self.parse = parse

    def accepts(self, raw: Any) -> bool:
        if not isinstance(raw, str):
            return False
        try:
            self.parse(raw)
        except ValueError:
            return False
        return True

    def __call__(self, raw: Any) -> Any:
        try:
            return self.parse(raw)
        except (TypeError, ValueError):
            return raw


class AsPlain:
    """A JSON scalar, passed through; `accepts` lets unions pick it."""

    __slots__ = ("kinds",)

    def __init__(self, *kinds: type) -> None:
        self.kinds = kinds

    def accepts(self, raw: Any) -> bool:
        if isinstance(raw, bool) and bool not in self.kinds:
            return False
        return isinstance(raw, self.kinds)

    def __call__(self, raw: Any) -> Any:
        return raw


class AsList:
    """A JSON array, each item decoded (a null item stays `None`)."""

    __slots__ = ("item",)

    def __init__(self, item: Decoder) -> None:
        self.item = item

    def accepts(self, raw: Any) -> bool:
        return isinstance(raw, list)

    def __call__(self, raw: Any) -> Any:
        if not isinstance(raw, list):
            return raw
        item = self.item
        return [None if value is None else item(value) for value in raw]


class AsUnion:
    """One of several shapes: the first option that accepts the value decodes it."""

    __slots__ = ("options",)

    def __init__(self, *options: Decoder) -> None:
        self.options = options

    def accepts(self, raw: Any) -> bool:
        return any(option.accepts(raw) for option in self.options)

    def __call__(self, raw: Any) -> Any:
        for option in self.options:
            if option.accepts(raw):
                return option(raw)
        return raw


ANY = AsPlain(object)
STR = AsPlain(str)
INT = AsPlain(int)
FLOAT = AsPlain(int, float)
BOOL = AsPlain(bool)
NONE = AsPlain(type(None))
DATETIME = AsMoment(datetime.datetime.fromisoformat)
DATE = AsMoment(datetime.date.fromisoformat)


def _to_wire(value: Any) -> Any:
    """A Python value as JSON: models, enums, moments and decimals unwrapped; unset values dropped."""
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {str(k): _to_wire(v) for k, v in value.items() if not isinstance(v, Unset)}
    if isinstance(value, list | tuple):
        return [_to_wire(v) for v in value]
    return value


def _json_copy(value: Any) -> Any:
    if type(value) is dict:
        return {k: _json_copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_json_copy(v) for v in value]
    return value


# Keys whose values a repr hides, so that a model printed into a log leaks no secret.
_SECRET = re.compile(r"secret|password|passphrase|api_?key|private_?key|mnemonic|access_?token", re.IGNORECASE)


class Model:
    """The base of every model: attributes by Python name, and a read-only
    mapping of the JSON the API sent, by its own keys.

    - ``price.unit_amount`` and ``price["unit_amount"]`` read the same field;
      ``price.get("unit_amount")`` and ``"unit_amount" in price`` too. Keys are
      the API's own (camelCase where the API uses it: ``summary["remainingAmount"]``).
    - A field the API did not send reads as ``None`` (``in`` says whether it was sent).
    - Fields named like Python builtins read plainly (``price.type``); the
      underscored names (``price.type_``) remain as aliases.
    - ``to_dict()`` is exactly the JSON that was sent (unknown keys included);
      ``to_json()`` is that JSON as text; ``dict(model)`` gives the decoded values.
    - Assigning an attribute (``price.nickname = "x"``) changes the JSON.

    A model wraps the dict it was built from, and decodes a field (nested
    models, enums, moments) when it is first read.
    """

    __slots__ = ("_cache", "_data")

    # Filled in by each generated class.
    _NAMES: ClassVar[Mapping[str, str]] = {}  # attribute name (and plain alias) -> JSON key
    _DECODERS: ClassVar[Mapping[str, Decoder]] = {}  # JSON key -> decoder, for fields that need one
    _REQUIRED: ClassVar[frozenset[str]] = frozenset()
    _DECLARED: ClassVar[frozenset[str]] = frozenset()
    _EXTRA: ClassVar[Decoder | None] = None  # decoder of undeclared keys' values (additionalProperties)
    _CLOSED: ClassVar[bool] = False  # additionalProperties: false

    _data: dict[str, Any]
    _cache: dict[str, Any] | None

    def __init_subclass__(cls) -> None:
        cls._DECLARED = frozenset(cls._NAMES.values())

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """The model of a JSON object; raises `KeyError` naming a missing required key."""
        data = src_dict if type(src_dict) is dict else dict(src_dict)
        if not data.keys() >= cls._REQUIRED:
            raise KeyError(min(cls._REQUIRED - data.keys()))
        return construct(cls, data)

    def _init_fields(self, fields: dict[str, Any]) -> None:
        """The generated `__init__`'s one step: keyword arguments become the JSON object."""
        _set_data(self, {key: _to_wire(value) for key, value in fields.items() if not isinstance(value, Unset)})
        _set_cache(self, None)

    def _get(self, key: str) -> Any:
        """A declared field that needs decoding, decoded once and cached."""
        cache = self._cache
        if cache is not None and key in cache:
            return cache[key]
        raw = self._data.get(key)
        if raw is None:
            return None
        value = self._DECODERS[key](raw)
        if cache is None:
            _set_cache(self, {key: value})
        else:
            cache[key] = value
        return value

    def _read(self, key: str) -> Any:
        if key in self._DECODERS:
            return self._get(key)
        raw = self._data[key]
        extra = self._EXTRA
        if extra is not None and raw is not None and key not in self._DECLARED:
            return extra(raw)
        return raw

    # The read-only mapping, by the API's own keys.
    def __getitem__(self, key: str) -> Any:
        if key not in self._data:
            raise KeyError(key)
        return self._read(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self._read(key) if key in self._data else default

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> KeysView[str]:
        return self._data.keys()

    def values(self) -> builtins.list[Any]:
        return [self._read(key) for key in self._data]

    def items(self) -> builtins.list[tuple[str, Any]]:
        return [(key, self._read(key)) for key in self._data]

    @property
    def additional_properties(self) -> builtins.dict[str, Any]:
        """The keys the document does not declare, with their values."""
        return {key: self._read(key) for key in self._data if key not in self._DECLARED}

    @property
    def additional_keys(self) -> builtins.list[str]:
        """The keys the document does not declare."""
        return [key for key in self._data if key not in self._DECLARED]

    def to_dict(self) -> builtins.dict[str, Any]:
        """The JSON object, as sent (a copy)."""
        result: builtins.dict[str, Any] = _json_copy(self._data)
        return result

    def to_json(self, *, indent: int | None = None) -> str:
        """The JSON object as text, for logs and storage."""
        return json.dumps(self._data, ensure_ascii=False, indent=indent)

    def __setattr__(self, name: str, value: Any) -> None:
        key = self._NAMES.get(name)
        if key is None:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        if isinstance(value, Unset):
            self._data.pop(key, None)
        else:
            self._data[key] = _to_wire(value)
        if self._cache is not None:
            self._cache.pop(key, None)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            assert isinstance(other, Model)
            return self._data == other._data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dict it wraps

    def __reduce__(self) -> tuple[Any, ...]:
        return (construct, (type(self), self._data))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{key}={'<hidden>' if _SECRET.search(key) and value is not None else repr(value)}"
            if key.isidentifier()
            else f"{key!r}: {value!r}"
            for key, value in self._data.items()
        )
        return f"{type(self).__name__}({shown})"


# `__setattr__` is the field setter, so the two slots are written through their descriptors.
_set_data: Callable[[Model, dict[str, Any]], None] = vars(Model)["_data"].__set__
_set_cache: Callable[[Model, dict[str, Any] | None], None] = vars(Model)["_cache"].__set__
Mapping.register(Model)


def construct(model_class: type[M], data: dict[str, Any]) -> M:
    """A `model_class` over `data` (kept, not copied), with no checks: the JSON as the server sent it."""
    model = object.__new__(model_class)
    _set_data(model, data)
    _set_cache(model, None)
    return model


def cache_decoded(model: Model, key: str, value: Any) -> None:
    """Makes `model[key]` read as `value`, a decoded view of the JSON already there (for example
    an event's `data.object` as the model its event type names); the JSON is unchanged."""
    if model._cache is None:
        _set_cache(model, {key: value})
    else:
        model._cache[key] = value


def validate_request(model_class: type[Model], value: Any, where: str = "") -> None:
    """Checks a request object before it is sent: required keys present and, for closed
    objects, no unknown keys, at every depth the document describes.

    Raises `KeyError` naming a missing key, `TypeError` naming an unknown key or a value of
    the wrong kind."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{where or model_class.__name__} must be an object, not {type(value).__name__}")
    missing = model_class._REQUIRED - value.keys()
    if missing:
        raise KeyError(min(missing))
    if model_class._CLOSED:
        unknown = sorted(str(k) for k in value.keys() - model_class._DECLARED)
        if unknown:
            raise TypeError(f"{where or model_class.__name__} has no field {unknown[0]!r}")
    for key, raw in value.items():
        decoder = model_class._DECODERS.get(key)
        if decoder is not None and raw is not None:
            _validate_value(decoder, raw, f"{where}.{key}" if where else str(key))


def _validate_value(decoder: Decoder, raw: Any, where: str) -> None:
    if isinstance(decoder, AsEnum):
        enum_class = decoder.resolve()
        try:
            enum_class(raw)  # open enums take any string; closed ones only their values
        except ValueError:
            known = ", ".join(repr(member.value) for member in enum_class)
            raise TypeError(f"{where}: {raw!r} is not a {enum_class.__name__} (one of {known})") from None
    elif isinstance(decoder, AsModel):
        validate_request(decoder.resolve(), raw, where)
    elif isinstance(decoder, AsList) and isinstance(raw, list):
        for i, item in enumerate(raw):
            if item is not None:
                _validate_value(decoder.item, item, f"{where}[{i}]")
    elif isinstance(decoder, AsUnion) and isinstance(raw, Mapping):
        # A request object that could only be one model is checked as that model.
        objects = [option for option in decoder.options if isinstance(option, AsModel)]
        if len(objects) == 1 and ANY not in decoder.options:
            validate_request(objects[0].resolve(), raw, where)
