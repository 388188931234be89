"""Small shared types: the omitted-argument sentinel and the description of
one operation that the generated namespaces hand to the runtime."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final, Literal

__all__ = ["NOT_GIVEN", "NotGiven", "Operation"]


class NotGiven:
    """The type of `NOT_GIVEN`: an argument the caller left out.

    Distinct from `None`, which PaymentKit receives as JSON `null` (to clear
    a nullable field).
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

ResultKind = Literal["object", "page", "array"]


@dataclass(frozen=True)
class Operation:
    """One PaymentKit operation, as the facade needs it.

    Built from openapi/payment-kit.yaml by generator/facade.py; the argument
    maps translate the facade's snake_case names into the generated client's
    names (query and path) or the API's own field names (body).
    """

    operation_id: str
    namespace: str
    method: str
    http_method: str
    module: str
    path_params: tuple[str, ...]
    query: dict[str, str]
    query_enums: dict[str, str] = field(default_factory=dict)
    body_model: str | None = None
    body_fields: dict[str, str] = field(default_factory=dict)
    money_fields: frozenset[str] = frozenset()
    # Where the body holds decimal money, by wire name at every depth (`payload.value`,
    # `currency_options[].unit_amount`): integers and Decimals there are sent as exact strings.
    money_paths: frozenset[str] = frozenset()
    body_livemode: Literal["boolean", "integer"] | None = None
    result: ResultKind = "object"
    paginated: bool = False

    @property
    def name(self) -> str:
        return f"{self.namespace}.{self.method}"

    @property
    def is_write(self) -> bool:
        return self.http_method != "GET"

    def generated(self) -> ModuleType:
        """The generated module (imported on first use: 130 modules cost ~1 s at import)."""
        return importlib.import_module(f"payment_kit_client.api.{self.module}")


def drop_not_given(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if v is not NOT_GIVEN and k != "self"}
