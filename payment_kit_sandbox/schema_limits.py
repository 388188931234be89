"""The sandbox's own limits: checks PaymentKit's published material does not state.

The contract (openapi/payment-kit.yaml) carries only constraints with a source (`x-source`).
The sandbox is stricter in places, to refuse hostile or nonsensical input with a clear 400
instead of storing it: string lengths, non-negative counts, bounded pages, fields its
engine needs. They are applied to the sandbox's copy of the document when it compiles its
validators, so a refusal names the field and the limit like any other validation error.
An open enum (`<Enum>Open`: the enum or any string) is checked as its known values: the
sandbox implements only those.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["with_sandbox_limits"]

# components/schemas/<Schema>/<path to the property> -> keywords
SCHEMA_LIMITS: dict[str, dict[str, Any]] = {
    "AutoRechargeDailyLimitsParams/properties/max_amount": {"minimum": 0},
    "AutoRechargeDailyLimitsParams/properties/max_attempts": {"minimum": 0},
    "AutoRechargeSubmitParams/properties/quantity": {"minimum": 1},
    "AutoRechargeSubmitParams/properties/threshold": {"minimum": 0},
    "CheckRecurringSupportParams/properties/currency_ids": {"minItems": 1},
    "CheckoutSessionCreateParams/properties/line_items": {"minItems": 1},
    "CheckoutSessionSubscriptionData/allOf/1/properties/days_until_cancel": {"minimum": 0},
    "CheckoutSessionSubscriptionData/allOf/1/properties/days_until_due": {"minimum": 0},
    "CouponCreateParams/properties/duration_in_months": {"minimum": 1},
    "CouponCreateParams/properties/max_redemptions": {"minimum": 1},
    "CouponPromotionCodeParams/properties/code": {"maxLength": 255},
    "CouponPromotionCodeParams/properties/description": {"maxLength": 255},
    "CouponPromotionCodeParams/properties/max_redemptions": {"minimum": 1},
    "CouponUpdateParams/properties/duration_in_months": {"minimum": 1},
    "CouponUpdateParams/properties/max_redemptions": {"minimum": 1},
    "CreditConfig/properties/valid_duration_value": {"minimum": 0},
    "CreditConfigSchedule/properties/interval_value": {"minimum": 1},
    "CreditConfigSchedule/properties/max_grants_per_period": {"minimum": 1},
    "CustomFieldLength/properties/maximum_length": {"minimum": 0},
    "CustomFieldLength/properties/minimum_length": {"minimum": 0},
    "CustomerNotificationSchedule/properties/date": {"maximum": 31, "minimum": 0},
    "LineItem/properties/quantity": {"minimum": 0},
    "LineItemAdjustableQuantity/properties/maximum": {"minimum": 0},
    "LineItemAdjustableQuantity/properties/minimum": {"minimum": 0},
    "MeterCreateParams/properties/decimal": {"minimum": 0},
    "MeterEventCreateParams/properties/identifier": {"maxLength": 255},
    "PaymentCurrencyCreateParams/properties/decimal": {"maximum": 36, "minimum": 0},
    "PaymentCurrencyCreateParams/properties/description": {"maxLength": 255},
    "PaymentCurrencyCreateParams/properties/name": {"maxLength": 255},
    "PaymentCurrencyRechargeSettings/properties/max_recharge_amount": {"minimum": 0},
    "PaymentCurrencyRechargeSettings/properties/min_recharge_amount": {"minimum": 0},
    "PaymentCurrencyUpdateParams/properties/decimal": {"maximum": 36, "minimum": 0},
    "PaymentCurrencyUpdateParams/properties/description": {"maxLength": 255},
    "PaymentCurrencyUpdateParams/properties/name": {"maxLength": 255},
    "PaymentLinkCreateParams/properties/line_items": {"minItems": 1},
    "PaymentLinkUpdateParams/properties/line_items": {"minItems": 1},
    "PaymentMethodBitcoinSettings/properties/chain_id": {"maximum": 4294967295, "minimum": 0},
    "PaymentMethodConfirmation/properties/block": {"maximum": 1000000, "minimum": 0},
    "PaymentMethodEvmSettings/properties/confirmation": {"maximum": 1000000, "minimum": 0},
    "PriceCreateParams/properties/quantity_available": {"minimum": 0},
    "PriceCreateParams/properties/quantity_limit_per_checkout": {"minimum": 0},
    "PriceDynamicPricingConfig/properties/lock_duration": {"minimum": 0},
    "PriceInventoryParams/properties/quantity": {"minimum": 1},
    "PriceRecurring/properties/interval_count": {"minimum": 1},
    "PriceTierParams/properties/flat_amount": {"minimum": 0},
    "PriceTierParams/properties/up_to": {"minimum": 1},
    "PriceUpdateParams/properties/quantity_available": {"minimum": 0},
    "PriceUpdateParams/properties/quantity_limit_per_checkout": {"minimum": 0},
    "ProductPriceCreateParams/properties/quantity_available": {"minimum": 0},
    "ProductPriceCreateParams/properties/quantity_limit_per_checkout": {"minimum": 0},
    "ProductVendorConfig/properties/commission_rate": {"minimum": 0},
    "PromotionCodeCreateParams/properties/code": {"maxLength": 255},
    "PromotionCodeCreateParams/properties/description": {"maxLength": 255},
    "PromotionCodeCreateParams/properties/max_redemptions": {"minimum": 1},
    "PromotionCodeNftConfig/properties/min_balance": {"minimum": 0},
    "PromotionCodeUpdateParams/properties/code": {"maxLength": 255},
    "PromotionCodeUpdateParams/properties/description": {"maxLength": 255},
    "PromotionCodeUpdateParams/properties/max_redemptions": {"minimum": 1},
    "SubscriptionCreateItem/properties/quantity": {"minimum": 1},
    "SubscriptionCreateParams/properties/days_until_cancel": {"minimum": 0},
    "SubscriptionCreateParams/properties/days_until_due": {"minimum": 0},
    "SubscriptionCreateParams/properties/items": {"minItems": 1},
    "SubscriptionCreateParams/properties/trial_period_days": {"minimum": 0},
    "SubscriptionData/properties/billing_threshold_amount": {"minimum": 0},
    "SubscriptionData/properties/min_stake_amount": {"minimum": 0},
    "SubscriptionData/properties/trial_period_days": {"minimum": 0},
    "SubscriptionItemBillingThresholds/properties/usage_gte": {"minimum": 0},
    "SubscriptionItemCreateParams/properties/quantity": {"minimum": 0},
    "SubscriptionItemUpdateParams/properties/quantity": {"minimum": 0},
    "SubscriptionSlippageConfig/properties/updated_at_ms": {"minimum": 0},
    "SubscriptionUpdateParams/properties/days_until_cancel": {"minimum": 0},
    "SubscriptionUpdateParams/properties/days_until_due": {"minimum": 0},
    "SyncRefundParams/properties/livemode": {"maximum": 1, "minimum": 0},
    "TransformQuantity/properties/divide_by": {"minimum": 1},
    "UnixTime": {"maximum": 253402300799, "minimum": 0},
    "UsageRecordCreateParams/properties/quantity": {"minimum": 0},
    "WebhookEndpointCreateParams/properties/enabled_events": {"minItems": 1},
    "WebhookEndpointUpdateParams/properties/enabled_events": {"minItems": 1},
}

# components/parameters/<Parameter> -> keywords on its schema
PARAMETER_LIMITS: dict[str, dict[str, Any]] = {
    "FreeText": {"maxLength": 256},
    "IdempotencyKey": {"maxLength": 255},
    "Page": {"maximum": 1000000, "minimum": 1},
    "PageSize": {"maximum": 100, "minimum": 1},
    "SearchQuery": {"maxLength": 256},
    "SubscriptionStatusFilter": {
        "pattern": "^(active|past_due|paused|canceled|incomplete|incomplete_expired|trialing)(,(active|past_due|paused|canceled|incomplete|incomplete_expired|trialing))*$"  # noqa: E501
    },
    "Limit": {"minimum": 1, "maximum": 100},
}

# "<METHOD> <path> <query parameter>" -> keywords on its schema
QUERY_LIMITS: dict[str, dict[str, Any]] = {
    "GET /api/checkout-sessions nft_mint_status": {
        "pattern": "^(disabled|pending|minted|sent|error)(,(disabled|pending|minted|sent|error))*$"
    },
    "GET /api/checkout-sessions payment_status": {
        "pattern": "^(paid|unpaid|no_payment_required)(,(paid|unpaid|no_payment_required))*$"
    },
    "GET /api/checkout-sessions status": {"pattern": "^(open|complete|expired)(,(open|complete|expired))*$"},
    "GET /api/coupons name": {"maxLength": 256},
    "GET /api/credit-grants status": {
        "pattern": "^(pending|granted|depleted|expired|voided)(,(pending|granted|depleted|expired|voided))*$"
    },
    "GET /api/credit-grants/stats timezone_offset": {"maximum": 840, "minimum": -840},
    "GET /api/credit-grants/verify-availability max_recharge_times": {"minimum": 0},
    "GET /api/invoices status": {
        "pattern": "^(draft|open|paid|void|uncollectible)(,(draft|open|paid|void|uncollectible))*$"
    },
    "GET /api/payment-intents status": {
        "pattern": "^(requires_payment_method|requires_confirmation|requires_action|processing|requires_capture|canceled|succeeded)(,(requires_payment_method|requires_confirmation|requires_action|processing|requires_capture|canceled|succeeded))*$"  # noqa: E501
    },
    "GET /api/products description": {"maxLength": 256},
    "GET /api/products name": {"maxLength": 256},
    "GET /api/refunds status": {
        "pattern": "^(pending|requires_action|processing|failed|canceled|succeeded)(,(pending|requires_action|processing|failed|canceled|succeeded))*$"  # noqa: E501
    },
}

# Request bodies: fields the sandbox's engine needs, which PaymentKit's material does not require.
REQUIRED: dict[str, list[str]] = {
    # A token's `contract` too, on a chain method (engine.catalog); a fiat currency has none.
    "PaymentCurrencyCreateParams": ["payment_method_id", "name"],
    "PaymentLinkCreateParams": ["line_items"],
    "PaymentMethodCreateParams": ["type", "name", "settings"],
    "RefundCreateParams": ["payment_intent_id", "amount"],
    "SubscriptionItemCreateParams": ["subscription_id", "price_id"],
}


def with_sandbox_limits(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document with the sandbox's limits added (the document itself is left alone)."""
    doc = copy.deepcopy(raw)
    schemas = doc["components"]["schemas"]
    for where, keywords in SCHEMA_LIMITS.items():
        _node(schemas, where).update(keywords)
    for name, keywords in PARAMETER_LIMITS.items():
        doc["components"]["parameters"][name]["schema"].update(keywords)
    for where, keywords in QUERY_LIMITS.items():
        method, path, name = where.split(" ")
        for param in doc["paths"][path][method.lower()]["parameters"]:
            if param.get("name") == name:
                param["schema"].update(keywords)
    for name, fields in REQUIRED.items():
        schemas[name]["required"] = sorted({*schemas[name].get("required", []), *fields})
    for name in list(schemas):
        if name.endswith("Open") and name[: -len("Open")] in schemas:
            schemas[name] = {"allOf": [{"$ref": f"#/components/schemas/{name[: -len('Open')]}"}]}
    return doc


def _node(schemas: dict[str, Any], where: str) -> dict[str, Any]:
    node: Any = schemas
    for part in where.split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node
