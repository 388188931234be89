"""Every API operation as `payment-kit <resource> <method> [ID] [--param value ...]`.

The commands are `_generated_commands.COMMANDS` (written by generator/facade.py from the same
document, and in the same pass, as the facade's namespaces), so a new operation is a new command
with nothing written by hand. A command's values become the facade method's keyword arguments,
and the facade makes the call: the same validation, idempotency keys, retries and errors as any
program using the SDK.

Values are read by each parameter's kind (`_command_specs.Kind`). Nested and list parameters take
JSON (`--line-items '[{"price_id": "price_x", "quantity": 1}]'`) or, in the Stripe CLI's style,
their parts with `-d`: `-d 'line_items[0][price_id]=price_x' -d 'line_items[0][quantity]=1'`,
`-d 'metadata[plan]=pro'`, `-d 'payment_method_types[]=arcblock'`. A part's value is read as the
document says that part is (the models' own decoders say it), so `quantity` is sent as the integer
1 and a `unit_amount` as the decimal string it must be.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import payment_kit_client.models as models
from payment_kit_client.model_runtime import BOOL, FLOAT, INT, NONE, AsList, AsModel, AsUnion, Decoder, field_decoder

from .._generated_namespaces import OPERATIONS
from ._command_specs import CommandSpec, Param
from ._connection import add_connection_options, client_from
from ._generated_commands import COMMANDS
from ._output import CommandError, print_json, print_json_line

__all__ = ["COMMANDS", "add_api_commands", "resources"]

VALUES_HELP = """\
Values:
  text, amounts     as typed; amounts are decimal strings (--unit-amount 9.99), never rounded
  numbers, true/false
                    --page-size 5; a true/false parameter is --flag or --no-flag
  lists             repeat the flag (--enabled-events a --enabled-events b) or give a JSON array
  objects           JSON: --recurring '{"interval": "month", "interval_count": 1}'
  -d KEY=VALUE      any parameter, or a part of one, in the Stripe CLI's style:
                    -d name=Pro -d 'metadata[plan]=pro' -d 'line_items[0][price_id]=price_...'
                    -d 'line_items[0][quantity]=1' -d 'payment_method_types[]=arcblock'
                    (each part is read as the API documents it: quantity as a number)
  null              sends JSON null to a parameter that may be null (to clear it)"""


@dataclass(frozen=True)
class _Given:
    """One `-d` value, with the key it came with (for messages)."""

    raw: str
    where: str


_DATA_KEY = re.compile(r"(?P<head>[A-Za-z_][A-Za-z0-9_.-]*)(?P<parts>(?:\[[^\[\]]*\])*)")
_PART = re.compile(r"\[([^\[\]]*)\]")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def resources() -> dict[str, list[CommandSpec]]:
    """The commands by their first word (`checkout` holds `checkout sessions ...`)."""
    found: dict[str, list[CommandSpec]] = {}
    for spec in COMMANDS:
        found.setdefault(spec.words[0], []).append(spec)
    return found


def add_api_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    formatter: type[argparse.HelpFormatter],
    only: str | None = None,
) -> None:
    """A subcommand per resource; the methods under it (and their options) only for `only`, the
    resource the command line names (None: no resource's): building all 130 commands' options
    would cost more than most calls."""
    for word, specs in resources().items():
        methods = sorted({" ".join(spec.words[1:]) for spec in specs})
        resource = commands.add_parser(
            word,
            help=", ".join(methods),
            description=f"payment-kit {word}: {', '.join(methods)}. Each has its own --help.",
            formatter_class=formatter,
        )
        if word != only:
            continue
        groups: dict[tuple[str, ...], argparse._SubParsersAction[argparse.ArgumentParser]] = {
            (word,): resource.add_subparsers(title="commands", metavar="<command>", required=True)
        }
        for spec in sorted(specs, key=lambda s: s.words):
            for depth in range(2, len(spec.words)):
                prefix = spec.words[:depth]
                if prefix not in groups:
                    below = sorted(" ".join(s.words[depth:]) for s in specs if s.words[:depth] == prefix)
                    middle = groups[prefix[:-1]].add_parser(
                        prefix[-1], help=", ".join(below), formatter_class=formatter
                    )
                    groups[prefix] = middle.add_subparsers(title="commands", metavar="<command>", required=True)
            leaf = groups[spec.words[:-1]].add_parser(
                spec.words[-1],
                help=spec.summary,
                description=_description(spec),
                epilog=VALUES_HELP,
                formatter_class=formatter,
            )
            _add_options(leaf, spec)


def _description(spec: CommandSpec) -> str:
    text = f"{spec.summary}.\n\n"
    if spec.description:
        text += spec.description + "\n\n"
    return text + f"{spec.http}  (the SDK's payment.{spec.namespace}.{spec.method}; Node: {spec.node})"


def _add_options(parser: argparse.ArgumentParser, spec: CommandSpec) -> None:
    for param in spec.path_params:
        parser.add_argument(param.name, metavar=param.name.upper(), help=param.description or param.name)
    group = parser.add_argument_group("parameters (from the OpenAPI document)")
    for param in spec.params:
        extra: dict[str, Any] = {}
        if param.kind == "boolean":
            extra["action"] = argparse.BooleanOptionalAction
        elif param.kind in ("list", "metadata"):
            extra["action"] = "append"
            extra["metavar"] = "KEY=VALUE" if param.kind == "metadata" else _metavar(param, param.item)
        else:
            extra["metavar"] = _metavar(param, param.kind)
        group.add_argument(
            param.flag, dest=f"param_{param.name}", default=argparse.SUPPRESS, help=_help(param), **extra
        )
    group.add_argument(
        "-d",
        "--data",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a parameter or a part of one, Stripe CLI style: -d 'metadata[plan]=pro' (repeat it; see Values)",
    )
    operation = OPERATIONS[spec.operation_id]
    if operation.result != "object":
        group.add_argument(
            "--all",
            action="store_true",
            help="every row of every page, one JSON object a line (instead of the first page's {count, list})",
        )
    add_connection_options(parser)
    parser.set_defaults(run=lambda args: run_api_command(spec, args))


def _metavar(param: Param, kind: str) -> str:
    if param.choices:
        return "{" + ",".join(param.choices) + (",...}" if param.open_choices else "}")
    return {"integer": "N", "number": "NUMBER", "money": "AMOUNT", "json": "JSON"}.get(kind, "TEXT")


def _help(param: Param) -> str:
    text = param.description.rstrip(".")  # the document's; some parameters have none
    notes = []
    if param.required:
        notes.append("required")
    if param.choices:
        listed = ", ".join(param.choices)
        notes.append(f"known values: {listed}" if param.open_choices else f"one of {listed}")
    notes.append(
        {
            "money": "a decimal string, e.g. 9.99",
            "json": "JSON, or its parts with -d",
            "list": "repeat for several, or a JSON array",
            "metadata": "key=value, repeat for several; all must match",
        }.get(param.kind, "")
    )
    if param.nullable:
        notes.append("null to clear")
    if param.wire != param.name:
        notes.append(f"the API's {param.wire}")
    notes = [note for note in notes if note]
    text = f"{text} ({'; '.join(notes)})".strip() if notes else text
    return text.replace("%", "%%")  # argparse formats help with %


def run_api_command(spec: CommandSpec, args: argparse.Namespace) -> int:
    """Makes the call and prints the answer (or, with --all, every row of every page)."""
    arguments = arguments_from(spec, args)
    path = [getattr(args, param.name) for param in spec.path_params]
    operation = OPERATIONS[spec.operation_id]
    walk = bool(getattr(args, "all", False))
    with client_from(args) as client:
        target: Any = client
        for part in spec.namespace.split("."):
            target = getattr(target, part)
        method: Callable[..., Any] = getattr(target, spec.method)
        answer = method(*path, **arguments)
        if walk:
            rows: Iterable[Any] = answer.auto_paging_iter() if operation.paginated else answer
            for row in rows:
                print_json_line(_json(row))
        elif operation.result == "array":
            print_json([_json(row) for row in answer])  # the API's own answer: a plain array
        else:
            print_json(_json(answer))
    return 0


def _json(value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") else value


# -- reading values ---------------------------------------------------------------------------------


def arguments_from(spec: CommandSpec, args: argparse.Namespace) -> dict[str, Any]:
    """The facade's keyword arguments: the flags' values, then the `-d` pairs."""
    found: dict[str, Any] = {}
    for param in spec.params:
        given = getattr(args, f"param_{param.name}", None)
        if given is None:
            continue
        if param.kind == "boolean":
            found[param.name] = given
        elif param.kind in ("list", "metadata"):
            found[param.name] = _joined(param, [read_value(param, raw, param.flag) for raw in given])
        else:
            found[param.name] = read_value(param, given, param.flag)
    from_data = _data_arguments(spec, args.data)
    for name in from_data.keys() & found.keys():
        flag = next(p.flag for p in spec.params if p.name == name)
        raise CommandError(f"{name} is given twice: as {flag} and with -d; give it one way")
    found.update(from_data)
    missing = [p for p in spec.params if p.required and p.name not in found]
    if missing:
        named = ", ".join(f"{p.flag} (or -d {p.name}=...)" for p in missing)
        raise CommandError(f"{' '.join(spec.words)} needs {named}; see --help")
    return found


def _joined(param: Param, values: list[Any]) -> Any:
    """Repeated list or metadata flags, one value: lists concatenated, objects merged."""
    if param.kind == "metadata":
        merged: dict[str, Any] = {}
        for value in values:
            if value is None:
                return None
            merged.update(value)
        return merged
    joined: list[Any] = []
    for value in values:
        if value is None:
            return None
        joined.extend(value)
    return joined


def read_value(param: Param, raw: str, where: str) -> Any:
    """One value of a parameter, read by its kind; a `CommandError` says what was expected."""
    if param.nullable and raw == "null":
        return None
    kind = param.kind
    if kind == "list":
        if raw.lstrip().startswith("["):
            items = _json_value(raw, where, "a JSON array")
            if not isinstance(items, list):
                raise CommandError(f"{where}: expected a JSON array or one item, not {raw!r}")
            return items
        return [_scalar(param, param.item, raw, where)]
    if kind == "metadata":
        if raw.lstrip().startswith("{"):
            filters = _json_value(raw, where, "a JSON object")
            if not isinstance(filters, dict):
                raise CommandError(f"{where}: expected key=value or a JSON object, not {raw!r}")
            return {str(k): str(v) for k, v in filters.items()}
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise CommandError(f"{where}: expected key=value (e.g. plan=pro), not {raw!r}")
        return {key: value}
    if kind == "json":
        return _json_value(raw, where, "JSON")
    return _scalar(param, kind, raw, where)


def _scalar(param: Param, kind: str, raw: str, where: str) -> Any:
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise CommandError(f"{where}: expected a whole number, not {raw!r}") from None
    if kind == "number":
        return _number(raw, where)
    if kind == "boolean":
        return _boolean(raw, where)
    if param.choices and not param.open_choices and raw not in param.choices:
        raise CommandError(f"{where}: {raw!r} is not one of {', '.join(param.choices)}")
    return raw


def _number(raw: str, where: str) -> int | float:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise CommandError(f"{where}: expected a number, not {raw!r}") from None
    if not value.is_finite():
        raise CommandError(f"{where}: expected a number, not {raw!r}")
    return int(value) if value == value.to_integral_value() and "." not in raw else float(raw)


def _boolean(raw: str, where: str) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise CommandError(f"{where}: expected true or false, not {raw!r}")


def _json_value(raw: str, where: str, expected: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{where}: expected {expected}, but {raw!r} is not valid JSON ({exc.msg})") from None


# -- -d key=value ----------------------------------------------------------------------------------


def _data_arguments(spec: CommandSpec, pairs: list[str]) -> dict[str, Any]:
    by_name: dict[str, Param] = {}
    for param in spec.params:
        by_name.setdefault(param.wire, param)
        by_name[param.name] = param
        by_name[param.name.replace("_", "-")] = param
    whole: dict[str, Any] = {}
    trees: dict[str, dict[Any, Any]] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        match = _DATA_KEY.fullmatch(key)
        if not sep or match is None:
            raise CommandError(f"-d {pair!r}: expected KEY=VALUE, e.g. -d name=Pro or -d 'metadata[plan]=pro'")
        found = by_name.get(match["head"])
        if found is None:
            known = ", ".join(sorted(p.name for p in spec.params))
            raise CommandError(
                f"-d {pair!r}: {' '.join(spec.words)} has no parameter {match['head']!r} (it has {known})"
            )
        param = found
        parts = _PART.findall(match["parts"])
        where = f"-d {key}"
        if not parts:
            if param.name in trees:
                raise CommandError(f"{where}: {param.name} is given whole and in parts")
            if param.name in whole:
                raise CommandError(f"{where}: {param.name} is given twice")
            whole[param.name] = read_value(param, raw, where)
            continue
        if param.name in whole:
            raise CommandError(f"{where}: {param.name} is given whole and in parts")
        if param.kind not in ("json", "list", "metadata"):
            raise CommandError(f"{where}: {param.name} is {_kind_name(param)}, which has no parts")
        _put(trees.setdefault(param.name, {}), parts, _Given(raw, where))
    for name, tree in trees.items():
        whole[name] = _built(tree, _decoder_of(spec, by_name[name]), by_name[name])
    return whole


def _kind_name(param: Param) -> str:
    return {"integer": "a number", "number": "a number", "boolean": "true or false"}.get(param.kind, "a single value")


def _put(tree: dict[Any, Any], parts: list[str], given: _Given) -> None:
    """Places one `-d` value in the tree of its parameter: `[name]` an object's key, `[0]` a list's
    index, `[]` the next index."""
    node = tree
    for depth, part in enumerate(parts):
        key: Any = part
        if part == "":
            key = sum(1 for k in node if isinstance(k, int))
        elif part.isdigit():
            key = int(part)
        last = depth == len(parts) - 1
        if last:
            if key in node:
                raise CommandError(f"{given.where}: this part is given twice")
            node[key] = given
        else:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise CommandError(f"{given.where}: a part is given both as a value and as an object")
            node = child


def _built(tree: dict[Any, Any], decoder: Decoder | None, param: Param) -> Any:
    """The tree as JSON: integer keys make a list (in their order), names an object; each leaf read
    as its decoder (the document) says."""
    indexes = [k for k in tree if isinstance(k, int)]
    if indexes and len(indexes) != len(tree):
        raise CommandError(f"-d {param.name}[...]: a part is used both as a list ([0]) and as an object ([name])")
    if indexes:
        item = _item_decoder(decoder)
        return [_leaf_or_tree(tree[k], item, param) for k in sorted(indexes)]
    return {k: _leaf_or_tree(v, _field(decoder, k), param) for k, v in tree.items()}


def _leaf_or_tree(value: _Given | dict[Any, Any], decoder: Decoder | None, param: Param) -> Any:
    if isinstance(value, dict):
        return _built(value, decoder, param)
    if param.kind == "metadata":
        return value.raw  # filters compare as text
    if param.kind == "list" and decoder is None:
        return _scalar(param, param.item, value.raw, value.where)
    return _leaf(value.raw, decoder, value.where)


def _leaf(raw: str, decoder: Decoder | None, where: str) -> Any:
    options: tuple[Any, ...] = decoder.options if isinstance(decoder, AsUnion) else (decoder,)
    if raw == "null" and NONE in options:
        return None
    if INT in options and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if FLOAT in options:
        return _number(raw, where)
    if BOOL in options and raw.lower() in _TRUE | _FALSE:
        return _boolean(raw, where)
    if any(isinstance(option, AsList | AsModel) for option in options) and raw[:1] in ("[", "{"):
        return _json_value(raw, where, "JSON")
    if options == (INT,):
        raise CommandError(f"{where}: expected a whole number, not {raw!r}")
    if options == (BOOL,):
        raise CommandError(f"{where}: expected true or false, not {raw!r}")
    return raw


def _decoder_of(spec: CommandSpec, param: Param) -> Decoder | None:
    """What the document says of a parameter's value, from the request body's model (query
    parameters with parts are metadata filters: text)."""
    body_model = OPERATIONS[spec.operation_id].body_model
    if body_model is None or param.kind == "metadata":
        return None
    return field_decoder(getattr(models, body_model), param.wire)


def _item_decoder(decoder: Decoder | None) -> Decoder | None:
    for option in decoder.options if isinstance(decoder, AsUnion) else (decoder,):
        if isinstance(option, AsList):
            return option.item
    return None


def _field(decoder: Decoder | None, key: str) -> Decoder | None:
    for option in decoder.options if isinstance(decoder, AsUnion) else (decoder,):
        if isinstance(option, AsModel):
            return field_decoder(option.resolve(), key)
    return None
