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
`json.loads`. Answers are read leniently, because a real server (or next year's
PaymentKit) will not agree with the document in every detail: a field the server
did not send reads as `None`, an enum value the document does not list reads as
its plain string, unknown keys are kept, and a value of an unexpected type raises
`FieldTypeError` (naming the model and the field) only when that field is read.
Strictness is opt-in and separate: `answer_problems(model)` lists every way an
answer departs from the document (the facade's strict mode raises on any).

Public names (what the facade and the generated models use):
- `Model`: the base class;
- `FieldTypeError`: reading a field whose value has a type the document does not allow;
- `validate_request(model_class, value)`: checks a request object before it is sent;
- `answer_problems(model)`: every departure of an answer from the document;
- `construct(model_class, data)`: a model over `data` with no checks at all;
- `cache_decoded(model, key, value)`: makes `model[key]` read as `value`;
- `field_decoder(model_class, key)`: what the document says a field holds (the CLI's `-d` reads
  `line_items[0][quantity]=1` as the integer it must be);
- the decoders the model template writes into `_DECODERS` and `_PLAIN` (`AsModel`,
  `AsEnum`, `AsList`, `AsUnion`, `ANY`, `STR`, `INT`, `FLOAT`, `BOOL`, `NONE`, `DATETIME`, `DATE`).
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
    "FieldTypeError",
    "Model",
    "answer_problems",
    "cache_decoded",
    "construct",
    "field_decoder",
    "validate_request",
]

M = TypeVar("M", bound="Model")


class Decoder(Protocol):
    """How the JSON value of a declared field becomes its Python value."""

    expected: str  # what the document allows, for messages ("a string", "a list of Price objects")
    # The classes of the JSON values it takes as they are, when a class check is the whole test
    # (a fast path for reading plain fields); None when a value must be looked at.
    exact: frozenset[type] | None

    def accepts(self, raw: Any) -> bool:
        """Whether `raw` has this decoder's shape (unions pick the first option that accepts)."""

    def __call__(self, raw: Any) -> Any:
        """The decoded value; raises `_Mismatch` when `raw` has another shape."""

    def problems(self, raw: Any, where: str) -> Iterator[str]:
        """Every way `raw` (not null) departs from the document, deeply (strict mode)."""


class _Mismatch(Exception):
    """A value of a shape its decoder cannot read; `Model` turns it into a `FieldTypeError`."""


class FieldTypeError(TypeError):
    """A field of an answer holds a value of a type the document does not allow.

    Raised when the field is read, never when the answer arrives: the rest of the
    answer stays readable, and `model.to_dict()` still shows what was sent."""

    def __init__(self, model: str, field: str, value: Any, expected: str) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{model}.{field}: the server sent {_kind(value)} {shown} where the document says {expected}")
        self.model = model
        self.field = field
        self.value = value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer"}.get(
        type(value), f"a {type(value).__name__}"
    )


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
    exact: frozenset[type] | None = None

    @property
    def expected(self) -> str:
        return f"a {self.name} object"

    def accepts(self, raw: Any) -> bool:
        return isinstance(raw, dict) and raw.keys() >= self.resolve()._REQUIRED

    def __call__(self, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise _Mismatch
        model = object.__new__(self.cls or self.resolve())  # `construct`, inlined: one per nested object
        _set_data(model, raw)
        _set_cache(model, None)
        return model

    def problems(self, raw: Any, where: str) -> Iterator[str]:
        if not isinstance(raw, dict):
            yield _wrong(where, raw, self.expected)
        else:
            yield from _object_problems(self.resolve(), raw, where)


class AsEnum(_Named):
    """A string, as the enum class the document names: a value the document lists reads as its
    member, any other string as itself. `open` enums (the document's `anyOf: [enum, string]`,
    PaymentKit's `LiteralUnion`) take any string even in strict mode; closed ones only their values."""

    __slots__ = ("open",)
    exact: frozenset[type] | None = None

    def __init__(self, name: str, *, open: bool = False) -> None:
        super().__init__(name)
        self.open = open

    @property
    def expected(self) -> str:
        return "a string" if self.open else f"one of {', '.join(repr(m.value) for m in self.resolve())}"

    def accepts(self, raw: Any) -> bool:
        return isinstance(raw, str)

    def __call__(self, raw: Any) -> Any:
        if not isinstance(raw, str):
            raise _Mismatch
        return (self.cls or self.resolve())._value2member_map_.get(raw, raw)

    def problems(self, raw: Any, where: str) -> Iterator[str]:
        if not isinstance(raw, str) or not (self.open or raw in self.resolve()._value2member_map_):
            yield _wrong(where, raw, self.expected)


class AsMoment:
    """An ISO 8601 string, as a date or datetime."""

    __slots__ = ("expected", "parse")
    exact: frozenset[type] | None = None

    def __init__(self, parse: Callable[[str], Any], expected: str) -> None:
        self.parse = parse
        self.expected = expected

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
            raise _Mismatch from None

    def problems(self, raw: Any, where: str) -> Iterator[str]:
        if not self.accepts(raw):
            yield _wrong(where, raw, self.expected)


class AsPlain:
    """A JSON scalar, read as sent once its type is checked."""

    __slots__ = ("exact", "expected", "kinds", "takes_booleans")

    def __init__(self, expected: str, *kinds: type) -> None:
        self.expected = expected
        self.kinds = kinds
        # JSON's true/false are Python ints too: an integer or a number field does not take them.
        self.takes_booleans = bool in kinds or object in kinds
        self.exact = None if object in kinds else frozenset(kinds)

    def accepts(self, raw: Any) -> bool:
        if isinstance(raw, bool) and not self.takes_booleans:
            return False
        return isinstance(raw, self.kinds)

    def __call__(self, raw: Any) -> Any:
        if not self.accepts(raw):
            raise _Mismatch
        return raw

    def problems(self, raw: Any, where: str) -> Iterator[str]:
        if not self.accepts(raw):
            yield _wrong(where, raw, self.expected)


class AsList:
    """A JSON array, each item decoded (a null item stays `None`)."""

    __slots__ = ("item",)
    exact: frozenset[type] | None = frozenset({list})

    def __init__(self, item: Decoder) -> None:
        self.item = item

    @property
    def expected(self) -> str:
        return f"a list whose items are {self.item.expected}"

    def accepts(self, raw: Any) -> bool:
        return isinstance(raw, list)

    def __call__(self, raw: Any) -> Any:
        if not isinstance(raw, list):
            raise _Mismatch
        item = self.item
        return [None if value is None else item(value) for value in raw]

    def problems(self, raw: Any, where: str) -> Iterator[str]:
        if not isinstance(raw, list):
            yield _wrong(where, raw, self.expected)
            return
        for i, value in enumerate(raw):
            if value is not None:
                yield from self.item.problems(value, f"{where}[{i}]")


class AsUnion:
    """One of several shapes: the first option that accepts the value decodes it. An object that
    lacks a required key still reads as the first object option that is a model (answers are
    read leniently)."""

    __slots__ = ("exact", "options")

    def __init__(self, *options: Decoder) -> None:
        self.options = options
        classes = [option.exact for option in options]
        self.exact = None if None in classes else frozenset().union(*classes)  # type: ignore[arg-type]

    @property
    def expected(self) -> str:
        return " or ".join(option.expected for option in self.options)

    def accepts(self, raw: Any) -> bool:
        return any(option.accepts(raw) for option in self.options)

    def __call__(self, raw: Any) -> Any:
        for option in self.options:
            if option.accepts(raw):
                return option(raw)
        if isinstance(raw, dict):
            for option in self.options:
                if isinstance(option, AsModel):
                    return option(raw)
        raise _Mismatch

    def problems(self, raw: Any, where: str) -> Iterator[str]:
        first: list[str] | None = None
        for option in self.options:
            if option.accepts(raw):
                found = list(option.problems(raw, where))
                if not found:
                    return
                first = found if first is None else first
        if first is None and isinstance(raw, dict):
            models = [option for option in self.options if isinstance(option, AsModel)]
            first = list(models[0].problems(raw, where)) if models else None
        yield from first or [_wrong(where, raw, self.expected)]


ANY = AsPlain("any JSON value", object)
STR = AsPlain("a string", str)
INT = AsPlain("an integer", int)
FLOAT = AsPlain("a number", int, float)
BOOL = AsPlain("a boolean", bool)
NONE = AsPlain("null", type(None))
DATETIME = AsMoment(datetime.datetime.fromisoformat, "an ISO 8601 date-time")
DATE = AsMoment(datetime.date.fromisoformat, "an ISO 8601 date")


def _wrong(where: str, raw: Any, expected: str) -> str:
    shown = repr(raw)
    return f"{where}: {_kind(raw)} {shown[:60] + '...' if len(shown) > 60 else shown}, not {expected}"


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
    - A field the API did not send reads as ``None`` (``in`` says whether it was sent),
      required or not; an enum value the document does not list reads as its string.
    - A field whose value has a type the document does not allow raises
      `FieldTypeError` when it is read (and only then).
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
    _PLAIN: ClassVar[Mapping[str, Decoder]] = {}  # JSON key -> type check, for the fields read as sent
    _NULLABLE: ClassVar[frozenset[str]] = frozenset()  # the fields the document lets be null
    _REQUIRED: ClassVar[frozenset[str]] = frozenset()
    _DECLARED: ClassVar[frozenset[str]] = frozenset()
    _PLAIN_CLASSES: ClassVar[Mapping[str, frozenset[type]]] = {}  # from `_PLAIN`: the fast path of `_read`
    _EXTRA: ClassVar[Decoder | None] = None  # decoder of undeclared keys' values (additionalProperties)
    _CLOSED: ClassVar[bool] = False  # additionalProperties: false

    _data: dict[str, Any]
    _cache: dict[str, Any] | None

    def __init_subclass__(cls) -> None:
        cls._DECLARED = frozenset(cls._NAMES.values())
        cls._PLAIN_CLASSES = {key: check.exact for key, check in cls._PLAIN.items() if check.exact is not None}

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """The model of a JSON object, read leniently: a missing field reads as `None`.
        (`answer_problems` lists what departs from the document; requests are checked by
        `validate_request`.) Raises `TypeError` when `src_dict` is not an object."""
        if type(src_dict) is dict:
            return construct(cls, src_dict)
        if not isinstance(src_dict, Mapping):
            raise TypeError(f"{cls.__name__} is a JSON object, not {_kind(src_dict)}")
        return construct(cls, dict(src_dict))

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
        decoder = self._DECODERS[key]
        try:
            value = decoder(raw)
        except _Mismatch:
            raise FieldTypeError(type(self).__name__, key, raw, decoder.expected) from None
        if cache is None:
            _set_cache(self, {key: value})
        else:
            cache[key] = value
        return value

    def _plain(self, key: str) -> Any:
        """A field read as sent, once its type is checked."""
        raw = self._data.get(key)
        if raw is None or self._PLAIN[key].accepts(raw):
            return raw
        return self._mismatch(key)

    def _mismatch(self, key: str) -> Any:
        """A plain field's value failed its type check (the generated property checks inline)."""
        raw = self._data.get(key)
        raise FieldTypeError(type(self).__name__, key, raw, self._PLAIN[key].expected)

    # The read-only mapping, by the API's own keys. Reading every field of a large answer goes
    # through here once per field, so the common cases come first and the dict is looked up once.
    def __getitem__(self, key: str) -> Any:
        raw = self._data[key]
        if raw is None:
            return None
        decoder = self._DECODERS.get(key)
        if decoder is not None:  # `_get`, inlined: a call less per decoded field
            cache = self._cache
            if cache is not None and key in cache:
                return cache[key]
            try:
                value = decoder(raw)
            except _Mismatch:
                raise FieldTypeError(type(self).__name__, key, raw, decoder.expected) from None
            if cache is None:
                _set_cache(self, {key: value})
            else:
                cache[key] = value
            return value
        classes = self._PLAIN_CLASSES.get(key)
        if classes is not None:
            return raw if raw.__class__ in classes else self._mismatch(key)
        if key in self._PLAIN:
            return raw if self._PLAIN[key].accepts(raw) else self._mismatch(key)
        extra = self._EXTRA
        if extra is None or key in self._DECLARED:
            return raw
        try:
            return extra(raw)
        except _Mismatch:
            raise FieldTypeError(type(self).__name__, key, raw, extra.expected) from None

    _read = __getitem__  # for keys known to be present

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


def field_decoder(model_class: type[Model], key: str) -> Decoder | None:
    """The decoder of a field by its JSON key: a declared field's, else the one undeclared keys take
    (`additionalProperties`); None when the document says nothing of the key."""
    return model_class._PLAIN.get(key) or model_class._DECODERS.get(key) or model_class._EXTRA


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


def answer_problems(model: Model) -> builtins.list[str]:
    """Every way an answer departs from the document, at every depth: a required field
    missing, a null the document does not allow, a value of the wrong type, a value a
    closed enum does not list, a key a closed object does not declare. Empty when the
    answer is exactly as documented."""
    return list(_object_problems(type(model), model._data, type(model).__name__))


def _object_problems(model_class: type[Model], data: Mapping[str, Any], where: str) -> Iterator[str]:
    for key in sorted(model_class._REQUIRED - data.keys()):
        yield f"{where}.{key}: missing (the document requires it)"
    for key, raw in data.items():
        here = f"{where}.{key}"
        declared = key in model_class._DECLARED
        if not declared and model_class._CLOSED:
            yield f"{here}: not a field of {model_class.__name__} (the document allows no others)"
        elif raw is None:
            if declared and key not in model_class._NULLABLE:
                yield f"{here}: null, which the document does not allow"
        else:
            check = model_class._DECODERS.get(key) or model_class._PLAIN.get(key)
            if check is None and not declared:
                check = model_class._EXTRA
            if check is not None:
                yield from check.problems(raw, here)


def validate_request(model_class: type[Model], value: Any, where: str = "") -> None:
    """Checks a request object before it is sent: required keys present and, for closed
    objects, no unknown keys, at every depth the document describes.

    Raises `KeyError` naming the missing keys by their path (`line_items[1].quantity`),
    `TypeError` naming an unknown key or a value of the wrong kind."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{where or model_class.__name__} must be an object, not {type(value).__name__}")
    missing = model_class._REQUIRED - value.keys()
    if missing:
        raise KeyError(", ".join(f"{where}.{key}" if where else str(key) for key in sorted(missing)))
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
