"""Checkout sessions and payment links through the facade, against the sandbox,
with the sandbox-only routes that stand for a payer's wallet, a link's hosted
page and time passing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import payment_kit_client.models as m
from payment_kit import AsyncPaymentKit, BadRequestError, NotFoundError, PaymentKit

pytestmark = pytest.mark.sandbox_only  # uses /sandbox/ routes or loopback receivers

UNIT = 10**15  # 0.001 of an 18-decimal token, in units
URLS = {"success_url": "https://example.com/ok", "cancel_url": "https://example.com/no"}


class SandboxRoutes:
    """The sandbox-only routes, in test mode."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def post(self, path: str, body: dict[str, Any] | None = None, *, expect: int = 200) -> Any:
        answer = self.http.post(path, json=body or {}, params={"livemode": "false"})
        assert answer.status_code == expect, answer.text
        return answer.json()

    def complete(self, session_id: str, *, expect: int = 200, **payer: Any) -> Any:
        return self.post(f"/sandbox/checkout-sessions/{session_id}/complete", payer, expect=expect)

    def open_link(self, link_id: str, *, expect: int = 200, **body: Any) -> Any:
        return self.post(f"/sandbox/payment-links/{link_id}/open", body, expect=expect)

    def now(self) -> int:
        return int(self.http.get("/sandbox/health").json()["now"])

    def advance(self, seconds: int) -> Any:
        return self.post("/sandbox/clock/advance", {"seconds": seconds})


@pytest.fixture
def routes(server: tuple[str, str]) -> Iterator[SandboxRoutes]:
    base_url, key = server
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as http:
        yield SandboxRoutes(http)


def a_price(
    client: PaymentKit, tag: str, *, recurring: bool | dict[str, Any] = False, **fields: Any
) -> m.PriceExpanded:
    """A 0.001 TBA price of a new product; `recurring=True` bills monthly."""
    product = client.products.create(name=f"Checkout {tag}", type="service")
    if recurring:
        monthly = {"interval": "month", "interval_count": 1, "usage_type": "licensed"}
        fields["recurring"] = monthly if recurring is True else recurring
    return client.prices.create(product_id=product.id, unit_amount="0.001", **fields)


def a_session(client: PaymentKit, price_id: str, quantity: int = 1, **fields: Any) -> m.CheckoutSession:
    fields.setdefault("mode", "payment")
    return client.checkout.sessions.create(line_items=[{"price_id": price_id, "quantity": quantity}], **URLS, **fields)


# -- checkout sessions -----------------------------------------------------------------------


def test_a_session_is_priced_and_found_by_id_or_client_reference(
    client: PaymentKit, routes: SandboxRoutes, server: tuple[str, str], tag: str
) -> None:
    price = a_price(client, tag)
    before = routes.now()
    session = a_session(client, price.id, 3, client_reference_id=f"order-{tag}", metadata={"tag": tag})
    assert session.id.startswith("cs_") and session.livemode is False and session.mode == "payment"
    assert (session.status, session.payment_status, session.nft_mint_status) == ("open", "unpaid", "disabled")
    assert session.amount_subtotal == session.amount_total == str(3 * UNIT)
    assert session.currency_id == price.currency_id and session.payment_method_types == ["arcblock"]
    assert session.url == f"{server[0]}/checkout/pay/{session.id}"
    assert before + 24 * 3600 <= session.expires_at <= routes.now() + 24 * 3600

    got = client.checkout.sessions.retrieve(session.id)
    assert got.object_ == "checkout_session" and got.line_items[0].price.id == price.id
    assert got.line_items[0].price.product.name == f"Checkout {tag}"
    assert got.customer is None and got.payment_intent is None and got.subscriptions == []
    assert client.checkout.sessions.retrieve(f"order-{tag}").id == session.id

    updated = client.checkout.sessions.update(session.id, metadata={"order": tag})
    assert updated.metadata.to_dict() == {"order": tag}  # replaced, not merged
    assert [s.id for s in client.checkout.sessions.list(metadata={"order": tag})] == [session.id]
    assert client.checkout.sessions.list(metadata={"tag": tag}).count == 0


def test_session_refusals_name_the_field_and_create_nothing(
    client: PaymentKit, routes: SandboxRoutes, tag: str
) -> None:
    one_time = a_price(client, tag, quantity_available=5, quantity_limit_per_checkout=3)
    monthly = a_price(client, tag, recurring=True)
    yearly = a_price(client, tag, recurring={"interval": "year", "interval_count": 1})
    archived = a_price(client, tag)
    client.prices.archive(archived.id)
    item = {"price_id": one_time.id, "quantity": 1}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"line_items": [{"price_id": "price_missing", "quantity": 1}]}, r"line_items\[0\]\.price_id: no price"),
        (
            {"line_items": [item, {"price_id": archived.id, "quantity": 1}]},
            r"line_items\[1\]\.price_id: price \S+ is archived",
        ),
        (
            {"line_items": [{"price_id": monthly.id, "quantity": 1}]},
            r"line_items\[0\]\.price_id: price \S+ is recurring; mode payment takes one-time prices",
        ),
        (
            {"mode": "subscription"},
            r"line_items\[0\]\.price_id: price \S+ is one-time; mode subscription takes recurring prices",
        ),
        (
            {
                "mode": "subscription",
                "line_items": [{"price_id": monthly.id, "quantity": 1}, {"price_id": yearly.id, "quantity": 1}],
            },
            r"line_items\[1\]\.price_id: price \S+ recurs every 1 year",
        ),
        ({"line_items": [{**item, "quantity": 4}]}, r"line_items\[0\]\.quantity: at most 3"),
        (
            {"line_items": [{**item, "quantity": 3}, {**item, "quantity": 3}]},
            r"line_items\[1\]\.quantity: only 5 of price \S+ left in stock",
        ),
        ({"line_items": [{**item, "quantity": 0}]}, r"line_items\[0\]\.quantity: must be at least 1"),
        (
            {"line_items": [{**item, "adjustable_quantity": {"enabled": True, "minimum": 2, "maximum": 3}}]},
            r"line_items\[0\]\.adjustable_quantity: quantity 1 is outside 2\.\.3",
        ),
        ({"line_items": [{**item, "upsell_price_id": "price_nope"}]}, r"line_items\[0\]\.upsell_price_id: no price"),
        ({"line_items": [{**item, "custom_amount": "2"}]}, r"line_items\[0\]\.custom_amount: .* does not take"),
        ({"expires_at": routes.now() - 1}, r"expires_at: \d+ is not in the future"),
        ({"currency_id": "pc_missing"}, "currency_id: no payment currency 'pc_missing'"),
        ({"customer_id": "cus_missing"}, "customer_id: no customer 'cus_missing'"),
        ({"line_items": []}, "line_items"),
        ({"mode": "rent"}, "mode"),
    ]
    for fields, message in cases:
        body: dict[str, Any] = {"mode": "payment", "line_items": [item], "metadata": {"tag": tag}, **fields}
        with pytest.raises(BadRequestError, match=message):
            client.checkout.sessions.create(**URLS, **body)
    assert client.checkout.sessions.list(metadata={"tag": tag}).count == 0
    with pytest.raises(NotFoundError, match="Checkout session not found: cs_missing"):
        client.checkout.sessions.retrieve("cs_missing")
    with pytest.raises(NotFoundError):
        client.checkout.sessions.update("cs_missing", metadata={})
    with pytest.raises(NotFoundError):
        client.checkout.sessions.expire("cs_missing")


def test_prices_by_lookup_key_and_in_another_currency(client: PaymentKit, tag: str) -> None:
    method = client.payment_methods.list().list[0]
    base = client.payment_currencies.list().list[0]
    other = client.payment_currencies.create(
        name=f"Other {tag}", symbol=f"O{tag[:7]}", description="x", contract="z1", payment_method_id=method.id
    )
    price = a_price(
        client,
        tag,
        lookup_key=f"checkout-{tag}",
        currency_options=[
            {"currency_id": base.id, "unit_amount": "0.001"},
            {"currency_id": other.id, "unit_amount": "2.5"},
        ],
    )
    session = a_session(client, f"checkout-{tag}", 2, currency_id=other.id)
    assert session.line_items[0].price_id == price.id  # stored by id, whatever it was named by
    assert session.currency_id == other.id and session.amount_total == str(5 * 10**18)
    plain = a_price(client, tag)
    with pytest.raises(BadRequestError, match=rf"line_items\[0\]\.price_id: price {plain.id} has no amount in"):
        a_session(client, plain.id, currency_id=other.id)


def test_completing_a_payment_session_pays_it_and_takes_stock(
    client: PaymentKit, routes: SandboxRoutes, tag: str
) -> None:
    price = a_price(client, tag, quantity_available=10, quantity_limit_per_checkout=5)
    session = a_session(client, price.id, 4, metadata={"tag": tag})
    refused = routes.complete(session.id, expect=400)
    assert "customer_did is required" in refused["error"]
    assert "unknown field(s) tip" in routes.complete(session.id, expect=400, customer_did="z1", tip="1")["error"]
    done = routes.complete(session.id, customer_did=f"did:abt:z{tag}", customer_name="Ada", customer_email="a@x.io")
    assert (done["status"], done["payment_status"]) == ("complete", "paid")
    assert done["customer"]["did"] == f"z{tag}" and done["customer_did"] == f"z{tag}"
    assert done["customer_details"]["name"] == "Ada" and done["customer_details"]["email"] == "a@x.io"
    assert done["payment_intent"]["status"] == "succeeded" and done["payment_intent"]["amount"] == str(4 * UNIT)
    assert done["invoice_id"].startswith("in_") and done["amount_total"] == str(4 * UNIT)

    sold = client.prices.retrieve(price.id)
    assert (sold.quantity_available, sold.quantity_sold, sold.locked) == (10, 4, True)  # 6 left
    with pytest.raises(BadRequestError, match=r"line_items\[0\]\.quantity: at most 5"):
        a_session(client, price.id, 6)
    customer = client.customers.retrieve(f"z{tag}")
    mine = client.checkout.sessions.list(customer_id=customer.id)
    assert [s.id for s in mine] == [session.id] and mine.list[0].customer.id == customer.id
    assert client.checkout.sessions.list(customer_did=f"did:abt:z{tag}").count == 1
    assert client.checkout.sessions.list(payment_intent_id=done["payment_intent_id"]).list[0].id == session.id
    assert client.checkout.sessions.list(metadata={"tag": tag}, payment_status="paid", status="complete").count == 1

    again = routes.complete(session.id, expect=400, customer_did=f"z{tag}")
    assert f"Checkout session {session.id} is already complete" in again["error"]
    with pytest.raises(BadRequestError, match="already complete; it cannot be expired"):
        client.checkout.sessions.expire(session.id)
    assert client.checkout.sessions.retrieve(session.id).status == "complete"


def test_a_session_for_a_named_customer_and_stock_rechecked_at_payment(
    client: PaymentKit, routes: SandboxRoutes, customer: Any, tag: str
) -> None:
    price = a_price(client, tag, quantity_available=3)
    first = a_session(client, price.id, 2, customer_id=customer.id)
    second = a_session(client, price.id, 2, customer_did=customer.did)
    assert second.customer_id == customer.id  # the DID's customer already exists
    wrong = routes.complete(first.id, expect=400, customer_did="zSomebodyElse")
    assert f"session {first.id} is for {customer.did}" in wrong["error"]
    assert routes.complete(first.id)["customer"]["id"] == customer.id
    short = routes.complete(second.id, expect=400)
    assert "only 1 of price" in short["error"] and "left in stock" in short["error"]
    assert client.checkout.sessions.retrieve(second.id).status == "open"  # refused: nothing changed
    stock = client.prices.retrieve(price.id)
    assert (stock.quantity_available, stock.quantity_sold) == (3, 2)  # 1 left
    with pytest.raises(BadRequestError, match="customer_did: zOther is not the DID of customer"):
        a_session(client, price.id, customer_id=customer.id, customer_did="zOther")


def test_expiring_by_call_and_by_the_clock(client: PaymentKit, routes: SandboxRoutes, tag: str) -> None:
    price = a_price(client, tag)
    session = a_session(client, price.id, metadata={"tag": tag})
    expired = client.checkout.sessions.expire(session.id)
    assert expired.status == "expired" and expired.payment_status == "unpaid"
    with pytest.raises(BadRequestError, match=f"Checkout session {session.id} is already expired"):
        client.checkout.sessions.expire(session.id)
    refused = routes.complete(session.id, expect=400, customer_did=f"z{tag}")
    assert "already expired; it cannot be completed" in refused["error"]

    soon = a_session(client, price.id, expires_at=routes.now() + 60, metadata={"tag": tag})
    later = a_session(client, price.id, metadata={"tag": tag})
    moved = routes.advance(120)
    assert moved["checkout_sessions_expired"] >= 1  # a count, as openapi/sandbox.yaml promises (other tests' too)
    assert client.checkout.sessions.retrieve(soon.id).status == "expired"
    assert client.checkout.sessions.retrieve(later.id).status == "open"
    assert client.checkout.sessions.list(metadata={"tag": tag}, status="expired").count == 2
    assert client.checkout.sessions.list(metadata={"tag": tag}, status="open,expired").count == 3


def test_list_pages_orders_and_filters(client: PaymentKit, tag: str) -> None:
    price = a_price(client, tag)
    made = [a_session(client, price.id, metadata={"batch": tag, "n": str(i)}) for i in range(3)]
    newest_first = client.checkout.sessions.list(metadata={"batch": tag})
    assert [s.id for s in newest_first] == [s.id for s in reversed(made)] and newest_first.count == 3
    oldest_first = client.checkout.sessions.list(metadata={"batch": tag}, order="created_at:ASC")
    assert [s.id for s in oldest_first] == [s.id for s in made]
    page = client.checkout.sessions.list(metadata={"batch": tag}, page_size=2, page=2)
    assert page.count == 3 and [s.id for s in page.list] == [made[0].id]
    assert [s.id for s in client.checkout.sessions.list(metadata={"batch": tag}, page_size=1).auto_paging_iter()] == [
        s.id for s in reversed(made)
    ]
    assert [s.id for s in client.checkout.sessions.list(metadata={"batch": tag, "n": "1"})] == [made[1].id]
    assert client.checkout.sessions.list(metadata={"batch": tag}, nft_mint_status="minted,sent").count == 0
    assert client.checkout.sessions.list(metadata={"batch": tag}, subscription_id="sub_none").count == 0
    with pytest.raises(BadRequestError, match="order: cannot sort by 'amount_total'"):
        client.checkout.sessions.list(order="amount_total:ASC")
    with pytest.raises(BadRequestError, match="status"):
        client.checkout.sessions.list(status="paid")
    with pytest.raises(BadRequestError, match="pageSize"):
        client.checkout.sessions.list(page_size=101)


def test_an_nft_minting_session_mints_when_paid(client: PaymentKit, routes: SandboxRoutes, tag: str) -> None:
    price = a_price(client, tag)
    session = a_session(client, price.id, nft_mint_settings={"enabled": True, "behavior": "per_checkout_session"})
    assert session.nft_mint_status == "pending"
    done = routes.complete(session.id, customer_did=f"z{tag}")
    assert done["nft_mint_status"] == "minted" and done["nft_mint_details"]["arcblock"]["owner"] == f"z{tag}"
    assert client.checkout.sessions.list(nft_mint_status="minted", customer_did=f"z{tag}").list[0].id == session.id


def test_livemode_partitions_sessions_and_links(client: PaymentKit, routes: SandboxRoutes, tag: str) -> None:
    price = a_price(client, tag)
    session = a_session(client, price.id)
    link = client.payment_links.create(line_items=[{"price_id": price.id, "quantity": 1}], lookup_key=f"lm-{tag}")
    live = client.with_options(livemode=True)
    with pytest.raises(NotFoundError):
        live.checkout.sessions.retrieve(session.id)
    with pytest.raises(NotFoundError):
        live.payment_links.retrieve(f"lm-{tag}")
    with pytest.raises(BadRequestError, match=r"line_items\[0\]\.price_id: no price .* in this mode"):
        live.checkout.sessions.create(mode="payment", line_items=[{"price_id": price.id, "quantity": 1}], **URLS)
    assert session.id not in [s.id for s in live.checkout.sessions.list(page_size=100)]
    assert link.id not in [p.id for p in live.payment_links.list(page_size=100)]
    answer = routes.http.post(f"/sandbox/checkout-sessions/{session.id}/complete", json={"customer_did": "z1"})
    assert answer.status_code == 404  # the helper routes default to live mode, like PaymentKit's


def test_completing_a_subscription_session_starts_the_subscription(
    client: PaymentKit, routes: SandboxRoutes, tag: str
) -> None:
    price = a_price(client, tag, recurring=True)
    actions = [{"type": "custom", "text": {"en": "Docs"}, "link": "https://docs.example.com"}]
    session = a_session(
        client,
        price.id,
        2,
        mode="subscription",
        subscription_data={"description": f"plan {tag}", "service_actions": actions},
    )
    done = routes.complete(session.id, customer_did=f"z{tag}")
    assert (done["status"], done["payment_status"]) == ("complete", "paid")
    assert done["subscription_id"].startswith("sub_") and done["subscription"]["id"] == done["subscription_id"]
    assert [s["id"] for s in done["subscriptions"]] == [done["subscription_id"]]
    assert done["payment_intent"]["amount"] == str(2 * UNIT)
    found = client.checkout.sessions.list(subscription_id=done["subscription_id"])
    assert [s.id for s in found] == [session.id]

    trial = a_session(client, price.id, mode="subscription", subscription_data={"trial_period_days": 7})
    trialing = routes.complete(trial.id, customer_did=f"z{tag}")
    assert trialing["payment_status"] == "no_payment_required" and trialing["subscription"]["status"] == "trialing"


def test_a_promotion_code_discounts_the_payment(client: PaymentKit, routes: SandboxRoutes, tag: str) -> None:
    price = a_price(client, tag)
    coupon = client.coupons.create(name=f"Half {tag}", duration="once", percent_off=50).coupon
    code = client.promotion_codes.create(coupon_id=coupon.id, code=f"HALF{tag}".upper()).code
    closed = a_session(client, price.id, 2)
    refused = routes.complete(closed.id, expect=400, customer_did=f"z{tag}", promotion_code=code)
    assert "does not accept promotion codes" in refused["error"]
    session = a_session(client, price.id, 2, allow_promotion_codes=True)
    assert routes.complete(session.id, expect=400, customer_did=f"z{tag}", promotion_code="NOPE")["error"]
    done = routes.complete(session.id, customer_did=f"z{tag}", promotion_code=code)
    assert done["amount_subtotal"] == str(2 * UNIT) and done["amount_total"] == str(UNIT)
    assert done["total_details"]["amount_discount"] == str(UNIT)
    assert done["discounts"][0]["coupon"] == coupon.id and done["payment_intent"]["amount"] == str(UNIT)


def test_a_promotion_code_discounts_a_subscriptions_first_invoice(
    client: PaymentKit, routes: SandboxRoutes, tag: str
) -> None:
    price = a_price(client, tag, recurring=True)
    coupon = client.coupons.create(name=f"Half {tag}", duration="once", percent_off=50).coupon
    code = client.promotion_codes.create(coupon_id=coupon.id, code=f"SUB{tag}".upper()).code
    session = a_session(client, price.id, 2, mode="subscription", allow_promotion_codes=True)
    done = routes.complete(session.id, customer_did=f"z{tag}", promotion_code=code)
    assert done["amount_total"] == str(UNIT) and done["payment_intent"]["amount"] == str(UNIT)


def test_a_setup_session_takes_no_money_and_a_donation_takes_what_is_given(
    client: PaymentKit, routes: SandboxRoutes, tag: str
) -> None:
    price = a_price(client, tag, quantity_available=4)
    setup = a_session(client, price.id, 2, mode="setup")
    done = routes.complete(setup.id, customer_did=f"z{tag}")
    assert (done["status"], done["payment_status"], done["payment_intent_id"]) == (
        "complete",
        "no_payment_required",
        None,
    )
    assert client.prices.retrieve(price.id).quantity_available == 4  # nothing was sold

    custom = {"minimum": "0.001", "maximum": "1", "preset": "0.01", "presets": ["0.01", "0.1"]}
    donation = a_price(client, tag, custom_unit_amount=custom)
    assert a_session(client, donation.id).amount_total == str(10 * UNIT)  # the preset
    given = client.checkout.sessions.create(
        mode="payment", line_items=[{"price_id": donation.id, "quantity": 1, "custom_amount": "0.5"}], **URLS
    )
    assert given.amount_total == str(500 * UNIT)
    assert routes.complete(given.id, customer_did=f"z{tag}")["payment_intent"]["amount"] == str(500 * UNIT)
    with pytest.raises(BadRequestError, match=r"line_items\[0\]\.custom_amount: 2 is outside"):
        client.checkout.sessions.create(
            mode="payment", line_items=[{"price_id": donation.id, "quantity": 1, "custom_amount": "2"}], **URLS
        )


# -- payment links ---------------------------------------------------------------------------


def test_payment_link_lifecycle(client: PaymentKit, routes: SandboxRoutes, tag: str) -> None:
    price = a_price(client, tag, quantity_limit_per_checkout=5)
    link = client.payment_links.create(
        line_items=[
            {"price_id": price.id, "quantity": 1, "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 5}}
        ],
        after_completion={"type": "redirect", "redirect": {"url": "https://example.com/thanks"}},
        allow_promotion_codes=True,
        lookup_key=f"plink-{tag}",
        metadata={"campaign": tag},
    )
    assert link.id.startswith("plink_") and link.active is True and link.name == f"Checkout {tag}"
    assert link.currency_id == price.currency_id and link.lookup_key == f"plink-{tag}"
    got = client.payment_links.retrieve(f"plink-{tag}")
    assert got.id == link.id and got.object_ == "payment_link" and got.line_items[0].price.id == price.id

    renamed = client.payment_links.update(
        link.id, name=f"Pro {tag}", line_items=[{"price_id": price.id, "quantity": 2}]
    )
    assert renamed.name == f"Pro {tag}" and renamed.line_items[0].quantity == 2 and renamed.allow_promotion_codes
    unkeyed = client.payment_links.update(link.id, lookup_key=None)
    assert unkeyed.lookup_key is None
    with pytest.raises(NotFoundError, match=f"Payment link not found: plink-{tag}"):
        client.payment_links.retrieve(f"plink-{tag}")

    opened = routes.open_link(link.id, client_reference_id=f"visit-{tag}")
    assert opened["payment_link_id"] == link.id and opened["payment_link"]["id"] == link.id
    assert opened["amount_total"] == str(2 * UNIT) and opened["allow_promotion_codes"] is True
    assert opened["success_url"] == "https://example.com/thanks" and opened["mode"] == "payment"
    assert [s.id for s in client.checkout.sessions.list(payment_link_id=link.id)] == [opened["id"]]
    assert client.checkout.sessions.retrieve(f"visit-{tag}").id == opened["id"]

    archived = client.payment_links.archive(link.id)
    assert archived.active is False
    with pytest.raises(BadRequestError, match=f"Payment link {link.id} is already archived"):
        client.payment_links.archive(link.id)
    closed = routes.open_link(link.id, expect=400)
    assert "archived (inactive): it opens no new checkout sessions" in closed["error"]
    assert client.payment_links.update(link.id, active=True).active is True
    with pytest.raises(BadRequestError, match=r"Price \S+ cannot be deleted: it is used by"):
        client.prices.delete(price.id)


def test_payment_link_refusals(client: PaymentKit, routes: SandboxRoutes, tag: str) -> None:
    one_time = a_price(client, tag, quantity_limit_per_checkout=2)
    monthly = a_price(client, tag, recurring=True)
    taken = client.payment_links.create(line_items=[{"price_id": one_time.id, "quantity": 1}], lookup_key=f"k-{tag}")
    with pytest.raises(BadRequestError, match=r"line_items\[0\]\.price_id: no price 'price_missing'"):
        client.payment_links.create(line_items=[{"price_id": "price_missing", "quantity": 1}])
    with pytest.raises(BadRequestError, match=r"line_items\[1\]\.price_id: .* \(a payment link's mode follows"):
        client.payment_links.create(
            line_items=[{"price_id": one_time.id, "quantity": 1}, {"price_id": monthly.id, "quantity": 1}]
        )
    with pytest.raises(BadRequestError, match=r"line_items\[0\]\.quantity: at most 2"):
        client.payment_links.create(line_items=[{"price_id": one_time.id, "quantity": 3}])
    with pytest.raises(BadRequestError, match=f"lookup_key: 'k-{tag}' is already used by payment link {taken.id}"):
        client.payment_links.create(line_items=[{"price_id": one_time.id, "quantity": 1}], lookup_key=f"k-{tag}")
    with pytest.raises(BadRequestError, match="currency_id: no payment currency"):
        client.payment_links.update(taken.id, currency_id="pc_missing")
    assert client.payment_links.retrieve(taken.id).currency_id == one_time.currency_id  # unchanged
    assert "unknown field(s) quantity" in routes.open_link(taken.id, expect=400, quantity=3)["error"]
    with pytest.raises(NotFoundError):
        client.payment_links.update("plink_missing", name="x")
    with pytest.raises(NotFoundError):
        client.payment_links.archive("plink_missing")
    assert routes.open_link("plink_missing", expect=404)["error"] == "Payment link not found: plink_missing"


def test_a_subscription_link_opens_subscription_sessions(client: PaymentKit, routes: SandboxRoutes, tag: str) -> None:
    monthly = a_price(client, tag, recurring=True)
    link = client.payment_links.create(
        line_items=[{"price_id": monthly.id, "quantity": 1}], subscription_data={"trial_period_days": 3}
    )
    opened = routes.open_link(link.id, customer_did=f"z{tag}")
    assert opened["mode"] == "subscription" and opened["subscription_data"]["trial_period_days"] == 3
    assert opened["customer_did"] == f"z{tag}"


def test_payment_links_list_in_pages(client: PaymentKit, tag: str) -> None:
    price = a_price(client, tag)
    made = [
        client.payment_links.create(name=f"{tag} {i}", line_items=[{"price_id": price.id, "quantity": 1}])
        for i in range(3)
    ]
    page = client.payment_links.list(page_size=2)
    assert page.count >= 3 and [p.id for p in page.list] == [made[2].id, made[1].id]
    oldest = client.payment_links.list(order="created_at:ASC", page_size=100)
    ids = [p.id for p in oldest.list]
    assert ids.index(made[0].id) < ids.index(made[1].id) < ids.index(made[2].id)
    with pytest.raises(BadRequestError, match="order: cannot sort by 'active'"):
        client.payment_links.list(order="active:ASC")


async def test_async_checkout(aclient: AsyncPaymentKit, client: PaymentKit, tag: str) -> None:
    price = a_price(client, tag)
    session = await aclient.checkout.sessions.create(
        mode="payment", line_items=[{"price_id": price.id, "quantity": 2}], metadata={"tag": tag}, **URLS
    )
    assert (await aclient.checkout.sessions.retrieve(session.id)).amount_total == str(2 * UNIT)
    page = await aclient.checkout.sessions.list(metadata={"tag": tag})
    assert [s.id async for s in page.auto_paging_iter()] == [session.id]
    assert (await aclient.checkout.sessions.expire(session.id)).status == "expired"
    link = await aclient.payment_links.create(line_items=[{"price_id": price.id, "quantity": 1}])
    assert (await aclient.payment_links.archive(link.id)).active is False


def test_selling_the_last_unit_leaves_the_price_sold_out(client: PaymentKit, routes: SandboxRoutes, tag: str) -> None:
    price = a_price(client, tag, quantity_available=2)
    routes.complete(a_session(client, price.id, 2).id, customer_did=f"z{tag}")
    with pytest.raises(BadRequestError, match="only 0 of price"):
        a_session(client, price.id, 1)  # sold out, not "no limit"
    with pytest.raises(BadRequestError, match="2 already sold"):
        client.prices.inventory(price.id, quantity=1, action="decrement")
    restocked = client.prices.inventory(price.id, quantity=1, action="increment")
    assert (restocked.quantity_available, restocked.quantity_sold) == (3, 2)
    assert a_session(client, price.id, 1).status == "open"
