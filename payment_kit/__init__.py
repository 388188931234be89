"""payment-kit for Python: the PaymentKit billing API SDK.

    from payment_kit import payment                  # configured from the environment
    payment.environments.set_test_mode(True)
    product = payment.products.create(name="Pro", type="service")

    from payment_kit import PaymentKit, AsyncPaymentKit
    client = PaymentKit(base_url="https://app.example.com/payment", api_key="...")

The default client `payment` reads `PAYMENT_KIT_BASE_URL`, `PAYMENT_KIT_API_KEY`
and `PAYMENT_LIVEMODE` / `PAYMENT_LIVE_MODE` / `PAYMENT_TEST_MODE` at its first
use, not at import (so `load_dotenv()` after the imports works), and again after
`payment_kit.configure(...)`; importing this module never reads or checks them.
"""

from payment_kit_client.model_runtime import FieldTypeError

from . import params, webhooks
from ._client import STRICT_RESPONSES_ENV, AsyncPaymentKit, DefaultPaymentKit, PaymentKit, RawResponses
from ._credits import CURRENCY_SYMBOLS, format_credit_amount, get_currency_symbol, has_currency_symbol
from ._environments import Environments
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    NoMorePagesError,
    NotFoundError,
    PaymentKitError,
    PermissionDeniedError,
    RateLimitError,
    SignatureVerificationError,
    UnprocessableEntityError,
)
from ._json import json_default
from ._money import format_amount, from_units, to_units
from ._pagination import AsyncPage, Page
from ._runtime import RawResponse
from ._types import NOT_GIVEN, NotGiven
from ._version import __version__
from .event_types import EVENT_TYPES, EventType

payment: DefaultPaymentKit = DefaultPaymentKit()
"""The default client (Node: the package's default export), configured from the environment at its
first use, or with `configure`."""

configure = payment.configure

__all__ = [
    "CURRENCY_SYMBOLS",
    "EVENT_TYPES",
    "NOT_GIVEN",
    "STRICT_RESPONSES_ENV",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPage",
    "AsyncPaymentKit",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DefaultPaymentKit",
    "Environments",
    "EventType",
    "FieldTypeError",
    "InternalServerError",
    "NoMorePagesError",
    "NotFoundError",
    "NotGiven",
    "Page",
    "PaymentKit",
    "PaymentKitError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RawResponses",
    "SignatureVerificationError",
    "UnprocessableEntityError",
    "__version__",
    "configure",
    "format_amount",
    "format_credit_amount",
    "from_units",
    "get_currency_symbol",
    "has_currency_symbol",
    "json_default",
    "params",
    "payment",
    "to_units",
    "webhooks",
]
