"""Request bodies as strict JSON (RFC 8259), or a 400 naming the problem.

Python's `json` module is lenient where a stored row must not be: it accepts
`NaN` and `Infinity`, lets a duplicate key silently win, and decodes lone
surrogates (`"\\ud800"`) into strings that cannot be encoded again, so such a
row would break every later read. It also reads `1e99999` as infinity (which no
database's JSON can store) and `1e-99999` as 0, and an integer of any size.
Here each of those is refused, as are invalid UTF-8, integers beyond
`MAX_SAFE_INTEGER`, nesting deeper than `MAX_DEPTH`, and strings or keys over
the sandbox's limits (body_limits.py), before anything reaches a handler.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .body_limits import MAX_DEPTH, MAX_KEY_LENGTH, MAX_SAFE_INTEGER, MAX_STRING_LENGTH
from .refusals import ApiError, bad_request

__all__ = ["loads"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_NONZERO_MANTISSA = re.compile(r"-?0*\.?0*[1-9]")


class _Refused(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def _integer(text: str) -> int:
    # Checked by length first: int() of a long enough digit string is itself an error (4,300 digits).
    value = int(text) if len(text.lstrip("-")) <= len(str(MAX_SAFE_INTEGER)) else None
    if value is None or abs(value) > MAX_SAFE_INTEGER:
        shown = text if len(text) <= 40 else f"{text[:20]}…{text[-4:]} ({len(text)} characters)"
        raise _Refused(
            f"the integer {shown} is outside the sandbox's limit of ±{MAX_SAFE_INTEGER} (2^53 - 1, the largest"
            " a JavaScript number, and so PaymentKit, holds exactly)"
        )
    return value


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"the number {text[:40]} is too large for a JSON number the sandbox stores (it overflows)")
    if value == 0 and _NONZERO_MANTISSA.match(text):
        raise _Refused(f"the number {text[:40]} is too small to store (it underflows to 0)")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def loads(raw: bytes) -> Any:
    """The body's JSON value, or an ApiError 400 that names what is wrong and where."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(
            f"the request body is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        ) from None
    try:
        value = json.loads(
            text, parse_constant=_constant, parse_int=_integer, parse_float=_float, object_pairs_hook=_object
        )
    except _Refused as exc:
        raise bad_request(f"the request body is not strict JSON: {exc}") from None
    except RecursionError:
        raise bad_request(f"the request body nests deeper than the sandbox's limit of {MAX_DEPTH}") from None
    except ValueError as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}") from None
    check(value)
    return value


def check(value: Any) -> None:
    """Depth, lone surrogates and lengths, walked without recursion (a body may be deep)."""
    stack: list[tuple[Any, str, int]] = [(value, "body", 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, str):
            _check_string(node, where, MAX_STRING_LENGTH)
        elif isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise bad_request(f"{where}: nested deeper than the sandbox's limit of {MAX_DEPTH}")
            if isinstance(node, dict):
                for key, item in node.items():
                    _check_string(key, f"{where}: a key", MAX_KEY_LENGTH)
                    stack.append((item, f"{where}.{key}", depth + 1))
            else:
                stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(node))


def _check_string(text: str, where: str, limit: int) -> None:
    found = _SURROGATE.search(text)
    if found is not None:
        raise _error(f"{where}: contains a lone surrogate (U+{ord(found.group()):04X}), which is not valid Unicode")
    if len(text) > limit:
        raise _error(f"{where}: {len(text)} characters is over the sandbox's limit of {limit}")


def _error(message: str) -> ApiError:
    # The path may itself hold the offending text (a key): never echo a surrogate back.
    return bad_request(message.encode("utf-8", "backslashreplace").decode("utf-8"))
