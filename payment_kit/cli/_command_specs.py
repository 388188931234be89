"""What one API command is on the command line: the records `_generated_commands.py` is made of
(generator/facade.py writes it from openapi/payment-kit.yaml, beside the facade's namespaces)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CommandSpec", "Kind", "Param"]

# How a value is read from the command line:
#   string, money   as typed (money is a decimal string: "0.01", never a float)
#   integer, number a JSON number
#   boolean         --flag / --no-flag, or true/false with -d
#   list            one item a flag (repeat it), or a JSON array
#   json            a JSON object or array (or any JSON value), or its parts with -d
#   metadata        a list's metadata filters: key=value (repeat it), or a JSON object
Kind = Literal["string", "money", "integer", "number", "boolean", "list", "json", "metadata"]


@dataclass(frozen=True)
class Param:
    """One parameter: `name` is the facade's keyword (the flag is `--<name with hyphens>`), `wire`
    the API's own name (which `-d` also takes)."""

    name: str
    wire: str
    kind: Kind
    item: str = ""  # a list's item kind
    choices: tuple[str, ...] = ()
    open_choices: bool = False  # an open enum: the listed values, or any other string PaymentKit adds
    nullable: bool = False  # `null` sends JSON null (to clear the field)
    required: bool = False
    description: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class CommandSpec:
    """One operation as `payment-kit <namespace> <method>`."""

    operation_id: str
    namespace: str  # the facade's: "products", "checkout.sessions"
    method: str  # the facade's: "create", "get_for_customer"
    http: str  # "POST /api/products"
    node: str  # the Node SDK's name: "products.create"
    summary: str
    description: str = ""
    path_params: tuple[Param, ...] = ()
    params: tuple[Param, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        """The command's words: ("checkout", "sessions", "retrieve"), ("credit-grants", "summary")."""
        return (*(part.replace("_", "-") for part in self.namespace.split(".")), self.method.replace("_", "-"))
