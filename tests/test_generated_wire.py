"""The generated functions put PaymentKit's wire format on the wire: one
operation of each of the 21 resources, with the exact method, path, query
string and JSON body asserted, and the answer parsed into its model.

The points where the generator's defaults would be wrong are covered on
purpose: `metadata.<key>` filters, camelCase query names, `livemode` on every
call, comma-separated status filters, `{count, list}` pages, plain-array
lists, percent-encoded natural keys in paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import respx
from schema_examples import example_of, normalized

import payment_kit_client.models as m
from payment_kit_client import AuthenticatedClient
from payment_kit_client.api.auto_recharge_configs import get_customer_auto_recharge_config
from payment_kit_client.api.checkout_sessions import create_checkout_session
from payment_kit_client.api.coupons import create_coupon
from payment_kit_client.api.credit_grants import get_credit_grant_summary
from payment_kit_client.api.credit_transactions import list_credit_transactions
from payment_kit_client.api.customers import list_customers
from payment_kit_client.api.invoices import list_invoices
from payment_kit_client.api.meter_events import create_meter_event
from payment_kit_client.api.meters import retrieve_meter
from payment_kit_client.api.payment_currencies import check_payment_currency_recurring_support
from payment_kit_client.api.payment_intents import refund_payment_intent
from payment_kit_client.api.payment_links import create_payment_link
from payment_kit_client.api.payment_methods import list_payment_methods
from payment_kit_client.api.prices import create_price
from payment_kit_client.api.products import list_products
from payment_kit_client.api.promotion_codes import retrieve_promotion_code_by_code
from payment_kit_client.api.refunds import list_refunds
from payment_kit_client.api.settings import retrieve_setting
from payment_kit_client.api.subscription_items import create_usage_record
from payment_kit_client.api.subscriptions import list_subscriptions
from payment_kit_client.api.webhook_endpoints import create_webhook_endpoint

BASE = "http://127.0.0.1:9/payment"


@dataclass
class Case:
    resource: str
    call: Callable[[AuthenticatedClient], Any]
    method: str
    path: str
    query: list[tuple[str, str]]
    answer: Any
    parsed: type | None
    body: dict[str, Any] | None = None
    check: Callable[[Any], None] = field(default=lambda parsed: None)


def page_of(schema: str) -> dict[str, Any]:
    return {"count": 41, "list": [example_of(schema)]}


PRICE_BODY = {
    "product_id": "prod_9Xk2Lm4Nq7Rs1Tv3Wy5Za8Bc",
    "type": "recurring",
    "unit_amount": "0.001",
    "currency_id": "pc_7Gd2kPq9Lx4Mn8Rt1Vb6Ws3Y",
    "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
    "quantity_available": 10,
    "quantity_limit_per_checkout": 2,
    "currency_options": [{"currency_id": "pc_7Gd2kPq9Lx4Mn8Rt1Vb6Ws3Y", "unit_amount": "0.001"}],
}
CHECKOUT_BODY = {
    "success_url": "https://example.com/success",
    "cancel_url": "https://example.com/cancel",
    "mode": "payment",
    "line_items": [{"price_id": "price_7Gd2kPq9Lx4Mn8Rt1Vb6Ws3Y", "quantity": 1}],
    "subscription_data": {
        "service_actions": [
            {
                "type": "notification",
                "text": {"zh": "查看文档", "en": "View Documentation"},
                "link": "https://docs.example.com",
                "triggerEvents": ["customer.subscription.started"],
            }
        ]
    },
    "expires_at": 1729243800,
}
USAGE_BODY = {
    "subscription_item_id": "si_2Fv9Lq6Tm3Xc8Nb5Rw1Kd7Gh",
    "quantity": 1,
    "action": "increment",
    "timestamp": 1729243800,
}
METER_EVENT_BODY = {
    "event_name": "api_calls",
    "payload": {
        "customer_id": "cus_3hK9xQ2mV7pL4tR8wN1cB6dF",
        "value": "10",
        "subscription_id": "sub_5Jt8Nc2Qw7Ke4Lp9Rx1Hy6Zb",
    },
    "identifier": "unique_1729243800000",
    "timestamp": 1729243800,
}
COUPON_BODY = {
    "name": "Launch week",
    "percent_off": 20,
    "duration": "once",
    "max_redemptions": 100,
    "promotion_codes": [
        {"code": "LAUNCH20", "description": "Launch week", "max_redemptions": 50, "expires_at": 1731835800}
    ],
}
REFUND_BODY = {"amount": "0.001", "reason": "requested_by_customer", "description": "Duplicate order"}
LINK_BODY = {"name": "Pro plan", "line_items": [{"price_id": "price_7Gd2kPq9Lx4Mn8Rt1Vb6Ws3Y", "quantity": 1}]}
WEBHOOK_BODY = {
    "url": "https://example.com/hooks/payment",
    "enabled_events": ["checkout.session.completed", "invoice.paid", "customer.subscription.deleted"],
    "description": "Order fulfilment",
}

CASES = [
    Case(
        "customers",
        lambda c: list_customers.sync_detailed(client=c, livemode=False, did="z1muQ3xq", page=2, page_size=5),
        "GET",
        "/payment/api/customers",
        [("livemode", "false"), ("did", "z1muQ3xq"), ("page", "2"), ("pageSize", "5")],
        page_of("CustomerExpanded"),
        m.CustomerPage,
        check=lambda p: expect(p.count == 41 and isinstance(p.list_[0], m.CustomerExpanded)),
    ),
    Case(
        "products",
        lambda c: list_products.sync_detailed(
            client=c,
            livemode=True,
            active=True,
            metadata=m.MetadataQuery.from_dict({"metadata.plan": "pro", "metadata.tier": "gold"}),
        ),
        "GET",
        "/payment/api/products",
        [("livemode", "true"), ("active", "true"), ("metadata.plan", "pro"), ("metadata.tier", "gold")],
        page_of("ProductExpanded"),
        m.ProductPage,
    ),
    Case(
        "prices",
        lambda c: create_price.sync_detailed(
            client=c, body=m.PriceCreateParams.from_dict(PRICE_BODY), livemode=False, idempotency_key="idem-1"
        ),
        "POST",
        "/payment/api/prices",
        [("livemode", "false")],
        example_of("PriceExpanded"),
        m.PriceExpanded,
        body=PRICE_BODY,
    ),
    Case(
        "checkout.sessions",
        lambda c: create_checkout_session.sync_detailed(
            client=c, body=m.CheckoutSessionCreateParams.from_dict(CHECKOUT_BODY), livemode=False
        ),
        "POST",
        "/payment/api/checkout-sessions",
        [("livemode", "false")],
        example_of("CheckoutSession"),
        m.CheckoutSession,
        body=CHECKOUT_BODY,
    ),
    Case(
        "subscriptions",
        lambda c: list_subscriptions.sync_detailed(
            client=c,
            livemode=False,
            order="updated_at:ASC",
            active_first=True,
            status="active,past_due",
            page_size=100,
            metadata=m.MetadataQuery.from_dict({"metadata.appId": "z8ia1"}),
        ),
        "GET",
        "/payment/api/subscriptions",
        [
            ("livemode", "false"),
            ("pageSize", "100"),
            ("order", "updated_at:ASC"),
            ("status", "active,past_due"),
            ("activeFirst", "true"),
            ("metadata.appId", "z8ia1"),
        ],
        page_of("SubscriptionExpanded"),
        m.SubscriptionPage,
    ),
    Case(
        "subscription_items",
        lambda c: create_usage_record.sync_detailed(client=c, body=m.UsageRecordCreateParams.from_dict(USAGE_BODY)),
        "POST",
        "/payment/api/usage-records",
        [],
        example_of("UsageRecord"),
        m.UsageRecord,
        body=USAGE_BODY,
    ),
    Case(
        "meters",
        lambda c: retrieve_meter.sync_detailed("api_calls", client=c, livemode=False),
        "GET",
        "/payment/api/meters/api_calls",
        [("livemode", "false")],
        example_of("MeterExpanded"),
        m.MeterExpanded,
    ),
    Case(
        "meter_events",
        lambda c: create_meter_event.sync_detailed(
            client=c, body=m.MeterEventCreateParams.from_dict(METER_EVENT_BODY), livemode=False
        ),
        "POST",
        "/payment/api/meter-events",
        [("livemode", "false")],
        example_of("MeterEventExpanded"),
        m.MeterEventExpanded,
        body=METER_EVENT_BODY,
    ),
    Case(
        "credit_grants",
        lambda c: get_credit_grant_summary.sync_detailed(client=c, customer_id="cus_3hK9xQ2mV7pL4tR8wN1cB6dF"),
        "GET",
        "/payment/api/credit-grants/summary",
        [("customer_id", "cus_3hK9xQ2mV7pL4tR8wN1cB6dF")],
        {"pc_credit9Xy": example_of("CreditSummaryEntry")},
        m.CreditSummary,
        check=lambda p: expect(isinstance(p["pc_credit9Xy"], m.CreditSummaryEntry)),
    ),
    Case(
        "credit_transactions",
        lambda c: list_credit_transactions.sync_detailed(
            client=c, customer_id="cus_3hK9xQ2mV7pL4tR8wN1cB6dF", page=1, page_size=20, q="api", start=1729000000
        ),
        "GET",
        "/payment/api/credit-transactions",
        [
            ("page", "1"),
            ("pageSize", "20"),
            ("q", "api"),
            ("customer_id", "cus_3hK9xQ2mV7pL4tR8wN1cB6dF"),
            ("start", "1729000000"),
        ],
        page_of("CreditTransactionExpanded"),
        m.CreditTransactionPage,
    ),
    Case(
        "coupons",
        lambda c: create_coupon.sync_detailed(client=c, body=m.CouponCreateParams.from_dict(COUPON_BODY)),
        "POST",
        "/payment/api/coupons",
        [],
        example_of("CouponCreateResult"),
        m.CouponCreateResult,
        body=COUPON_BODY,
        check=lambda p: expect(isinstance(p.coupon, m.Coupon)),
    ),
    Case(
        "promotion_codes",
        lambda c: retrieve_promotion_code_by_code.sync_detailed("SPRING/20 %", client=c),
        "GET",
        "/payment/api/promotion-codes/by-code/SPRING%2F20%20%25",
        [],
        example_of("PromotionCodeExpanded"),
        m.PromotionCodeExpanded,
    ),
    Case(
        "invoices",
        lambda c: list_invoices.sync_detailed(
            client=c,
            status="paid,open",
            customer_id="cus_3hK9xQ2mV7pL4tR8wN1cB6dF",
            include_staking=False,
            metadata=m.MetadataQuery.from_dict({"metadata.order": "42"}),
        ),
        "GET",
        "/payment/api/invoices",
        [
            ("status", "paid,open"),
            ("customer_id", "cus_3hK9xQ2mV7pL4tR8wN1cB6dF"),
            ("include_staking", "false"),
            ("metadata.order", "42"),
        ],
        page_of("InvoiceExpanded"),
        m.InvoicePage,
    ),
    Case(
        "payment_intents",
        lambda c: refund_payment_intent.sync_detailed(
            "pi_4Qw8Er2Ty6Ui1Op5As9Df3Gh", client=c, body=m.RefundPaymentIntentParams.from_dict(REFUND_BODY)
        ),
        "PUT",
        "/payment/api/payment-intents/pi_4Qw8Er2Ty6Ui1Op5As9Df3Gh/refund",
        [],
        example_of("RefundExpanded"),
        m.RefundExpanded,
        body=REFUND_BODY,
    ),
    Case(
        "refunds",
        lambda c: list_refunds.sync_detailed(client=c, status="pending,succeeded", currency_id="pc_7Gd2kPq9"),
        "GET",
        "/payment/api/refunds",
        [("status", "pending,succeeded"), ("currency_id", "pc_7Gd2kPq9")],
        page_of("RefundExpanded"),
        m.RefundPage,
    ),
    Case(
        "payment_links",
        lambda c: create_payment_link.sync_detailed(client=c, body=m.PaymentLinkCreateParams.from_dict(LINK_BODY)),
        "POST",
        "/payment/api/payment-links",
        [],
        example_of("PaymentLink"),
        m.PaymentLink,
        body=LINK_BODY,
    ),
    Case(
        "payment_methods",
        lambda c: list_payment_methods.sync_detailed(client=c, livemode=False),
        "GET",
        "/payment/api/payment-methods",
        [("livemode", "false")],
        [example_of("PaymentMethodExpanded"), example_of("PaymentMethodExpanded")],
        list,
        check=lambda p: expect(all(isinstance(x, m.PaymentMethodExpanded) for x in p)),
    ),
    Case(
        "payment_currencies",
        lambda c: check_payment_currency_recurring_support.sync_detailed(
            client=c, body=m.CheckRecurringSupportParams.from_dict({"currency_ids": ["pc_a", "pc_b"]})
        ),
        "POST",
        "/payment/api/payment-currencies/check-recurring-support",
        [],
        {"supported": False, "unsupported_currencies": [{"id": "pc_b", "name": "Bitcoin", "symbol": "BTC"}]},
        m.RecurringSupport,
        body={"currency_ids": ["pc_a", "pc_b"]},
    ),
    Case(
        "settings",
        lambda c: retrieve_setting.sync_detailed("did:abt:z8iZpog7", client=c),
        "GET",
        "/payment/api/settings/did%3Aabt%3Az8iZpog7",
        [],
        example_of("Setting"),
        m.Setting,
    ),
    Case(
        "webhook_endpoints",
        lambda c: create_webhook_endpoint.sync_detailed(
            client=c, body=m.WebhookEndpointCreateParams.from_dict(WEBHOOK_BODY), livemode=True
        ),
        "POST",
        "/payment/api/webhook-endpoints",
        [("livemode", "true")],
        example_of("WebhookEndpoint"),
        m.WebhookEndpoint,
        body=WEBHOOK_BODY,
    ),
    Case(
        "auto_recharge_configs",
        lambda c: get_customer_auto_recharge_config.sync_detailed(
            "cus_3hK9xQ2mV7pL4tR8wN1cB6dF", client=c, currency_id="pc_credit9Xy"
        ),
        "GET",
        "/payment/api/auto-recharge-configs/customer/cus_3hK9xQ2mV7pL4tR8wN1cB6dF",
        [("currency_id", "pc_credit9Xy")],
        example_of("AutoRechargeConfigExpanded"),
        m.AutoRechargeConfigExpanded,
    ),
]


def expect(condition: bool) -> None:
    assert condition, "the parsed answer has the wrong shape"


def test_one_case_per_resource() -> None:
    assert sorted(c.resource for c in CASES) == sorted(
        {
            "auto_recharge_configs", "checkout.sessions", "coupons", "credit_grants", "credit_transactions",
            "customers", "invoices", "meter_events", "meters", "payment_currencies", "payment_intents",
            "payment_links", "payment_methods", "prices", "products", "promotion_codes", "refunds", "settings",
            "subscription_items", "subscriptions", "webhook_endpoints",
        }
    )  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.resource for c in CASES])
def test_wire_format(case: Case) -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.route(host="127.0.0.1").mock(return_value=httpx.Response(200, json=case.answer))
        with AuthenticatedClient(base_url=BASE, token="sk_test_secret", timeout=httpx.Timeout(5.0)) as client:
            response = case.call(client)

    request = route.calls.last.request
    url = urlsplit(str(request.url))
    assert request.method == case.method
    assert url.path == case.path
    assert parse_qsl(url.query, keep_blank_values=True) == case.query, url.query
    assert request.headers["authorization"] == "Bearer sk_test_secret"
    if case.body is None:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == case.body

    assert response.status_code == 200
    assert isinstance(response.parsed, case.parsed)
    case.check(response.parsed)
    if hasattr(response.parsed, "to_dict"):
        assert normalized(response.parsed.to_dict()) == normalized(case.answer)


def test_idempotency_key_travels_as_a_header() -> None:
    with respx.mock() as router:
        route = router.post(f"{BASE}/api/prices").mock(
            return_value=httpx.Response(200, json=example_of("PriceExpanded"))
        )
        with AuthenticatedClient(base_url=BASE, token="k") as client:
            create_price.sync_detailed(
                client=client, body=m.PriceCreateParams.from_dict(PRICE_BODY), idempotency_key="k-1"
            )
    assert route.calls.last.request.headers["idempotency-key"] == "k-1"


def test_errors_parse_into_the_shared_error_model() -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/api/meters/nope").mock(return_value=httpx.Response(404, json={"error": "Meter not found"}))
        with AuthenticatedClient(base_url=BASE, token="k") as client:
            response = retrieve_meter.sync_detailed("nope", client=client)
    assert response.status_code == 404
    assert isinstance(response.parsed, m.ErrorResponse)
    assert response.parsed.error == "Meter not found"
