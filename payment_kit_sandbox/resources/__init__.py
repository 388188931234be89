"""One module per PaymentKit resource; importing this package registers
every handler (by operationId) with `context.HANDLERS`."""

from importlib import import_module

MODULES = (
    "auto_recharge_configs",
    "checkout_sessions",
    "coupons",
    "credit_grants",
    "credit_transactions",
    "customers",
    "invoices",
    "meter_events",
    "meters",
    "payment_currencies",
    "payment_intents",
    "payment_links",
    "payment_methods",
    "prices",
    "products",
    "promotion_codes",
    "refunds",
    "settings",
    "subscription_items",
    "subscriptions",
    "webhook_endpoints",
)

for _name in MODULES:
    try:
        import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a resource is being written
        if exc.name != f"{__name__}.{_name}":
            raise
