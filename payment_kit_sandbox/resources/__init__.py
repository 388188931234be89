"""One module per PaymentKit resource. Each marks its handlers with
`@handles(operationId)` (and sandbox-only routes with `@sandbox_route`);
`app.wire` builds the handler table from `MODULES`. Importing a module
registers nothing anywhere."""

from types import ModuleType

from . import (
    auto_recharge_configs,
    checkout_sessions,
    coupons,
    credit_grants,
    credit_transactions,
    customers,
    invoices,
    meter_events,
    meters,
    payment_currencies,
    payment_intents,
    payment_links,
    payment_methods,
    prices,
    products,
    promotion_codes,
    refunds,
    settings,
    subscription_items,
    subscriptions,
    webhook_endpoints,
)

__all__ = ["MODULES"]

MODULES: tuple[ModuleType, ...] = (
    auto_recharge_configs,
    checkout_sessions,
    coupons,
    credit_grants,
    credit_transactions,
    customers,
    invoices,
    meter_events,
    meters,
    payment_currencies,
    payment_intents,
    payment_links,
    payment_methods,
    prices,
    products,
    promotion_codes,
    refunds,
    settings,
    subscription_items,
    subscriptions,
    webhook_endpoints,
)
