"""Invoices, payment intents and refunds, through the facade, against the sandbox.

Invoices come from the sandbox-only `POST /sandbox/invoices` (what a checkout
or a subscription cycle does on a real deployment)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_calls import sandbox_post

from payment_kit import AsyncPaymentKit, BadRequestError, NotFoundError, PaymentKit

pytestmark = pytest.mark.sandbox_only  # uses /sandbox/ routes or loopback receivers

UNIT = 10**15  # 0.001 of the seeded 18-decimal test currency, in units


# -- fixtures and helpers -----------------------------------------------------------------------


def raise_invoice(server: tuple[str, str], **body: Any) -> dict[str, Any]:
    answer = sandbox_post(server, "/sandbox/invoices", body)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def price(client: PaymentKit, tag: str) -> Any:
    currency = client.payment_currencies.list().list[0]
    product = client.products.create(name=f"Payments {tag}", type="service")
    return client.prices.create(product_id=product.id, unit_amount="0.001", currency_id=currency.id)


@pytest.fixture
def paid(server: tuple[str, str], customer: Any, price: Any, tag: str) -> dict[str, Any]:
    """A paid invoice of 3 × 0.001 for the test's customer."""
    return raise_invoice(
        server,
        customer_id=customer.id,
        lines=[{"price_id": price.id, "quantity": 3}],
        pay=True,
        description=f"paid {tag}",
        metadata={"tag": tag},
    )


@pytest.fixture
def unpaid(server: tuple[str, str], customer: Any, price: Any, tag: str) -> dict[str, Any]:
    return raise_invoice(
        server,
        customer_id=customer.id,
        lines=[{"price_id": price.id, "quantity": 1}],
        due_date=1_700_000_000,
        description=f"open {tag}",
        metadata={"tag": tag},
    )


# -- the sandbox route ----------------------------------------------------------------------------


def test_the_sandbox_raises_and_pays_invoices(paid: dict[str, Any], unpaid: dict[str, Any], price: Any) -> None:
    assert paid["id"].startswith("in_") and paid["status"] == "paid" and paid["paid"] is True
    assert paid["total"] == paid["amount_paid"] == str(3 * UNIT) and paid["amount_remaining"] == "0"
    assert paid["billing_reason"] == "manual" and paid["status_transitions"]["paid_at"] > 0
    assert paid["paymentIntent"]["status"] == "succeeded" and paid["paymentIntent"]["id"].startswith("pi_")
    assert [(line["price"]["id"], line["quantity"], line["amount"]) for line in paid["lines"]] == [
        (price.id, 3, str(3 * UNIT))
    ]
    assert unpaid["status"] == "open" and unpaid["amount_remaining"] == str(UNIT)
    assert unpaid["due_date"] == 1_700_000_000
    assert unpaid["paymentIntent"]["status"] == "requires_payment_method"


def test_the_sandbox_route_refuses_bad_input(server: tuple[str, str], customer: Any, price: Any) -> None:
    cases = [
        ({"customer_id": "cus_missing", "lines": [{"price_id": price.id}]}, "customer_id: no customer"),
        ({"customer_id": customer.id, "lines": [{"price_id": "price_missing"}]}, "lines[0].price_id: no price"),
        ({"customer_id": customer.id, "lines": []}, "lines: a non-empty list"),
        ({"customer_id": customer.id, "lines": [{"price_id": price.id, "quantity": 0}]}, "lines[0].quantity"),
        ({"customer_id": customer.id, "lines": [{"price_id": price.id}], "currency_id": "pc_x"}, "currency_id"),
        ({"customer_id": customer.id, "lines": [{"price_id": price.id}], "color": "red"}, "unknown field"),
        ({"customer_id": customer.id, "lines": [{"price_id": price.id}], "pay": "yes"}, "pay:"),
    ]
    for body, message in cases:
        answer = sandbox_post(server, "/sandbox/invoices", body)
        assert answer.status_code == 400 and message in answer.json()["error"], (body, answer.text)
    # Test-mode objects are unknown in live mode.
    live = sandbox_post(
        server, "/sandbox/invoices", {"customer_id": customer.id, "lines": [{"price_id": price.id}]}, livemode=True
    )
    assert live.status_code == 400 and "customer_id" in live.json()["error"]


def test_a_billed_price_is_locked(client: PaymentKit, paid: dict[str, Any], price: Any) -> None:
    with pytest.raises(BadRequestError, match="locked"):
        client.prices.update(price.id, unit_amount="0.002")
    with pytest.raises(BadRequestError, match="cannot be deleted"):
        client.prices.delete(price.id)


# -- invoices -------------------------------------------------------------------------------------


def test_retrieve_joins_everything(client: PaymentKit, paid: dict[str, Any], customer: Any, price: Any) -> None:
    invoice = client.invoices.retrieve(paid["id"])
    assert invoice.object_ == "invoice" and invoice.customer.id == customer.id
    assert invoice.payment_currency.id == invoice.currency_id and invoice.payment_method.id
    assert invoice.payment_intent.id == paid["payment_intent_id"]
    assert [line.price.id for line in invoice.lines] == [price.id] and invoice.lines[0].object_ == "invoice_item"
    assert invoice.lines[0].price.product.id == price.product_id
    assert invoice.subscription is None and invoice.checkout_session is None and invoice.payment_link is None
    assert invoice.related_credit_grants == [] and invoice.discount_details == []
    assert invoice.number.startswith(customer.invoice_prefix)
    with pytest.raises(NotFoundError, match="Invoice not found: in_missing"):
        client.invoices.retrieve("in_missing")


def test_list_filters_and_pages(
    client: PaymentKit, server: tuple[str, str], paid: dict[str, Any], unpaid: dict[str, Any], customer: Any, tag: str
) -> None:
    mine = {"tag": tag}
    assert [i.id for i in client.invoices.list(metadata=mine, status="paid")] == [paid["id"]]
    assert client.invoices.list(metadata=mine, status="paid,open").count == 2
    assert client.invoices.list(metadata=mine, status="void").count == 0
    assert client.invoices.list(customer_id=customer.id).count == 2
    assert client.invoices.list(customer_did=customer.did).count == 2
    assert client.invoices.list(customer_did=f"did:abt:{customer.did}").count == 2
    assert client.invoices.list(customer_did="z_nobody").count == 0
    assert client.invoices.list(customer_id=customer.id, currency_id=paid["currency_id"]).count == 2
    assert client.invoices.list(customer_id=customer.id, currency_id="pc_other").count == 0
    assert client.invoices.list(customer_id=customer.id, subscription_id="sub_none").count == 0
    oldest_first = client.invoices.list(customer_id=customer.id, order="created_at:ASC")
    assert [i.id for i in oldest_first] == [paid["id"], unpaid["id"]]
    assert [i.id for i in client.invoices.list(customer_id=customer.id)] == [unpaid["id"], paid["id"]]
    first = client.invoices.list(customer_id=customer.id, page_size=1)
    assert first.count == 2 and len(first.list) == 1
    assert [i.id for i in first.auto_paging_iter()] == [unpaid["id"], paid["id"]]
    assert client.invoices.list(customer_id=customer.id, page=2, page_size=1).list[0].id == paid["id"]
    # The include_* flags and ignore_zero are accepted; none of these invoices is a staking one.
    flags = {"include_staking": True, "include_return_staking": True, "include_overdraft_protection": False}
    assert client.invoices.list(customer_id=customer.id, ignore_zero=True, **flags).count == 2
    with pytest.raises(BadRequestError, match="order: cannot sort by 'total'"):
        client.invoices.list(order="total:ASC")
    with pytest.raises(BadRequestError, match="status"):
        client.invoices.list(status="paid,lost")


def test_ignore_zero_drops_free_invoices(client: PaymentKit, server: tuple[str, str], customer: Any, tag: str) -> None:
    product = client.products.create(name=f"free {tag}", type="service")
    free = client.prices.create(product_id=product.id, unit_amount="0")
    zero = raise_invoice(server, customer_id=customer.id, lines=[{"price_id": free.id}], pay=True)
    assert zero["total"] == "0" and zero["status"] == "paid"
    assert zero["id"] in [i.id for i in client.invoices.list(customer_id=customer.id)]
    assert zero["id"] not in [i.id for i in client.invoices.list(customer_id=customer.id, ignore_zero=True)]


def test_search_invoices(client: PaymentKit, paid: dict[str, Any], tag: str) -> None:
    assert [i.id for i in client.invoices.search(query=f"paid {tag}")] == [paid["id"]]
    assert client.invoices.search(query=paid["number"]).list[0].id == paid["id"]
    assert client.invoices.search(query=f"nothing-{tag}").count == 0


def test_update_replaces_metadata(client: PaymentKit, paid: dict[str, Any], tag: str) -> None:
    updated = client.invoices.update(paid["id"], metadata={"note": "hello"})
    assert updated.metadata.to_dict() == {"note": "hello"} and updated.status == "paid"
    assert client.invoices.list(metadata={"note": "hello"}).list[0].id == paid["id"]
    assert client.invoices.list(metadata={"tag": tag}).count == 0  # replaced, not merged
    with pytest.raises(NotFoundError):
        client.invoices.update("in_missing", metadata={})


def test_void_an_open_invoice_cancels_its_payment(client: PaymentKit, unpaid: dict[str, Any]) -> None:
    voided = client.invoices.void(unpaid["id"])
    assert voided.status == "void" and voided.status_transitions.voided_at > 0
    intent = client.payment_intents.retrieve(unpaid["payment_intent_id"])
    assert intent.status == "canceled" and intent.cancellation_reason == "void_invoice" and intent.canceled_at
    with pytest.raises(BadRequestError, match="cannot be voided: it is already void"):
        client.invoices.void(unpaid["id"])
    with pytest.raises(BadRequestError, match="cannot be refunded: it is canceled"):
        client.payment_intents.refund(intent.id, amount="0.001")


def test_a_paid_invoice_cannot_be_voided(client: PaymentKit, paid: dict[str, Any]) -> None:
    with pytest.raises(BadRequestError, match="cannot be voided: it is already paid"):
        client.invoices.void(paid["id"])
    again = client.invoices.retrieve(paid["id"])
    assert again.status == "paid" and again.status_transitions.voided_at is None
    assert again.payment_intent.status == "succeeded"
    with pytest.raises(NotFoundError):
        client.invoices.void("in_missing")


def test_stake_return_there_are_no_stakes(client: PaymentKit, paid: dict[str, Any]) -> None:
    preview = client.invoices.get_return_stake(paid["id"])
    assert preview.amount == "0" and preview.currency_id == paid["currency_id"] and preview.subscription_id is None
    with pytest.raises(BadRequestError, match="holds no stake"):
        client.invoices.return_stake(paid["id"])
    with pytest.raises(NotFoundError):
        client.invoices.get_return_stake("in_missing")


# -- payment intents ------------------------------------------------------------------------------


def test_payment_intent_retrieve_update_list_search(
    client: PaymentKit, paid: dict[str, Any], unpaid: dict[str, Any], customer: Any, tag: str
) -> None:
    intent = client.payment_intents.retrieve(paid["payment_intent_id"])
    assert intent.object_ == "payment_intent" and intent.amount == intent.amount_received == str(3 * UNIT)
    assert intent.invoice.id == paid["id"] and intent.customer.id == customer.id and intent.refund is None
    assert intent.payment_currency.id == intent.currency_id and intent.payment_method.id == intent.payment_method_id

    updated = client.payment_intents.update(
        intent.id, description=f"order {tag}", metadata={"order": tag}, receipt_email="a@example.com"
    )
    assert updated.description == f"order {tag}" and updated.receipt_email == "a@example.com"
    assert updated.amount == intent.amount and updated.status == "succeeded"

    assert [i.id for i in client.payment_intents.list(metadata={"order": tag})] == [intent.id]
    assert [i.id for i in client.payment_intents.list(invoice_id=paid["id"])] == [intent.id]
    assert client.payment_intents.list(customer_id=customer.id).count == 2
    assert client.payment_intents.list(customer_did=customer.did, status="succeeded").count == 1
    both = client.payment_intents.list(customer_id=customer.id, status="succeeded,requires_payment_method")
    assert both.count == 2
    assert [i.id for i in client.payment_intents.search(query=f"order {tag}")] == [intent.id]
    with pytest.raises(BadRequestError, match="status"):
        client.payment_intents.list(status="paid")
    with pytest.raises(NotFoundError, match="Payment intent not found"):
        client.payment_intents.retrieve("pi_missing")
    with pytest.raises(NotFoundError):
        client.payment_intents.update("pi_missing", description="x")


# -- refunds --------------------------------------------------------------------------------------


def test_refund_a_payment_in_parts(client: PaymentKit, paid: dict[str, Any], customer: Any) -> None:
    intent_id = paid["payment_intent_id"]
    first = client.payment_intents.refund(intent_id, amount="0.001", reason="requested_by_customer", description="one")
    assert first.id.startswith("re_") and first.object_ == "refund" and first.status == "succeeded"
    assert first.amount == str(UNIT) and first.reason == "requested_by_customer" and first.description == "one"
    assert first.payment_intent.id == intent_id and first.invoice.id == paid["id"]
    assert first.customer.id == customer.id and first.payment_currency.id == paid["currency_id"]
    assert first.type_ == "refund" and first.attempted is True

    summary = client.payment_intents.retrieve(intent_id).refund
    assert summary.amount == str(UNIT) and summary.total_amount == str(3 * UNIT)

    with pytest.raises(BadRequestError, match=r"amount: 0\.0021 is more than the 0\.002 left to refund"):
        client.payment_intents.refund(intent_id, amount="0.0021")
    with pytest.raises(BadRequestError, match="more than 18 decimal places"):
        client.payment_intents.refund(intent_id, amount="0.0000000000000000001")
    with pytest.raises(BadRequestError, match="greater than 0"):
        client.payment_intents.refund(intent_id, amount="0")
    rest = client.refunds.create(payment_intent_id=intent_id, amount="0.002", metadata={"why": "rest"})
    assert rest.amount == str(2 * UNIT) and rest.metadata.to_dict() == {"why": "rest"}
    with pytest.raises(BadRequestError, match="already fully refunded"):
        client.payment_intents.refund(intent_id, amount="0.001")
    assert client.payment_intents.retrieve(intent_id).refund.amount == str(3 * UNIT)
    assert client.invoices.retrieve(paid["id"]).status == "paid"  # a refund does not reopen the invoice


def test_refunds_are_refused_for_unpaid_or_unknown_payments(client: PaymentKit, unpaid: dict[str, Any]) -> None:
    with pytest.raises(BadRequestError, match="only a succeeded payment can be refunded"):
        client.payment_intents.refund(unpaid["payment_intent_id"], amount="0.001")
    with pytest.raises(BadRequestError, match="only a succeeded payment can be refunded"):
        client.refunds.create(payment_intent_id=unpaid["payment_intent_id"], amount="0.001")
    with pytest.raises(NotFoundError, match="Payment intent not found: pi_missing"):
        client.payment_intents.refund("pi_missing", amount="0.001")
    with pytest.raises(BadRequestError, match="payment_intent_id: no payment intent 'pi_missing'"):
        client.refunds.create(payment_intent_id="pi_missing", amount="0.001")
    assert client.refunds.list(invoice_id=unpaid["id"]).count == 0


def test_create_refund_checks_what_it_names(client: PaymentKit, paid: dict[str, Any], customer: Any) -> None:
    intent_id = paid["payment_intent_id"]
    cases = [
        ({"currency_id": "pc_missing"}, "currency_id: no payment currency 'pc_missing'"),
        ({"invoice_id": "in_missing"}, "invoice_id: no invoice 'in_missing'"),
        ({"customer_id": "cus_missing"}, "customer_id: no customer 'cus_missing'"),
        ({"subscription_id": "sub_missing"}, "subscription_id: no subscription"),
        ({"type": "stake_return"}, "type: stake_return"),
    ]
    for extra, message in cases:
        with pytest.raises(BadRequestError, match=message):
            client.refunds.create(payment_intent_id=intent_id, amount="0.001", **extra)
    made = client.refunds.create(
        payment_intent_id=intent_id,
        amount="0.001",
        customer_id=customer.did,  # a DID names the same customer
        currency_id=paid["currency_id"],
        invoice_id=paid["id"],
    )
    assert made.customer_id == customer.id and made.invoice_id == paid["id"]


def test_refund_retrieve_list_search(client: PaymentKit, paid: dict[str, Any], customer: Any, tag: str) -> None:
    intent_id = paid["payment_intent_id"]
    one = client.payment_intents.refund(intent_id, amount="0.001", description=f"first {tag}")
    two = client.refunds.create(payment_intent_id=intent_id, amount="0.0005", description=f"second {tag}")
    got = client.refunds.retrieve(one.id)
    assert got.id == one.id and got.payment_intent.id == intent_id and got.subscription is None
    assert [r.id for r in client.refunds.list(invoice_id=paid["id"])] == [two.id, one.id]
    assert [r.id for r in client.refunds.list(invoice_id=paid["id"], order="created_at:ASC")] == [one.id, two.id]
    assert client.refunds.list(customer_id=customer.id, status="succeeded").count == 2
    assert client.refunds.list(customer_id=customer.id, status="pending,failed").count == 0
    assert client.refunds.list(customer_id=customer.id, currency_id=paid["currency_id"]).count == 2
    assert client.refunds.list(customer_id=customer.id, subscription_id="sub_none").count == 0
    page = client.refunds.list(customer_id=customer.id, page_size=1)
    assert page.count == 2 and [r.id for r in page.auto_paging_iter()] == [two.id, one.id]
    assert [r.id for r in client.refunds.search(query=f"second {tag}")] == [two.id]
    with pytest.raises(NotFoundError, match="Refund not found: re_missing"):
        client.refunds.retrieve("re_missing")
    with pytest.raises(BadRequestError, match="status"):
        client.refunds.list(status="done")


def test_sync_records_an_outside_refund(client: PaymentKit, customer: Any, tag: str) -> None:
    # With no currency of that contract, the refund is booked in the arcblock method's default currency
    # (looked up, not taken as the first listed: other tests add currencies of their own, so the
    # contract is this test's own too: one another test registered would book the refund in its currency).
    arcblock = next(m for m in client.payment_methods.list().list if m.type == "arcblock")
    currency = client.payment_currencies.retrieve(arcblock.default_currency_id)
    synced = client.refunds.sync(
        amount="0.5",
        destination=f"z{tag}",
        contract=f"zUnlisted{tag}",
        chain_type="arcblock",
        chain_api_host="https://beta.abtnetwork.io/api/",
        customer_id=customer.did,
        order_id=f"order-{tag}",
        metadata={"tag": tag},
    )
    assert synced.status == "succeeded" and synced.livemode is False and synced.customer_id == customer.id
    assert synced.amount == str(5 * 10**17) and synced.currency_id == currency.id
    assert synced.metadata["orderId"] == f"order-{tag}" and synced.metadata["tag"] == tag
    assert synced.payment_details.arcblock.receiver == f"z{tag}"
    assert synced.payment_intent.amount == synced.amount and synced.payment_intent.status == "succeeded"
    assert client.refunds.retrieve(synced.id).id == synced.id
    chain = {"amount": "1", "destination": "z", "contract": "c", "chain_api_host": "h"}
    with pytest.raises(BadRequestError, match="customerId: no customer 'cus_missing'"):
        client.refunds.sync(**chain, chain_type="arcblock", customer_id="cus_missing")
    with pytest.raises(BadRequestError, match="contract: no payment currency"):
        client.refunds.sync(**chain, chain_type="solana", customer_id=customer.id)


def test_sync_books_the_refund_in_the_mode_its_body_names(server: tuple[str, str], tag: str) -> None:
    base_url, api_key = server
    with PaymentKit(base_url=base_url, api_key=api_key, livemode=True, max_retries=0) as live:
        someone = live.customers.retrieve(f"did:abt:z{tag}", create=True)
        body = {
            "livemode": 1,
            "amount": "1",
            "destination": "z",
            "contract": "c",
            "chainType": "arcblock",
            "chainApiHost": "https://main.abtnetwork.io/api/",
            "customerId": someone.id,
        }
        answer = httpx.post(
            f"{base_url}/api/refunds/sync",
            params={"livemode": "false"},
            json=body,
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["livemode"] is True
        assert live.refunds.retrieve(answer.json()["id"]).customer_id == someone.id


def test_refunds_emit_created_and_succeeded() -> None:
    """The events a refund records for webhook delivery (read straight off the engine)."""
    from payment_kit_sandbox.app import wire
    from payment_kit_sandbox.context import Context
    from payment_kit_sandbox.database import Store
    from payment_kit_sandbox.document import load_document
    from payment_kit_sandbox.engine import billing, refunds
    from payment_kit_sandbox.lookups import base_currency, ensure_customer
    from payment_kit_sandbox.seed import seed

    wiring = wire(load_document()).wiring
    with Store() as store, store.transaction():
        seed(store, wiring.document)
        ctx = Context(op=None, store=store, livemode=False, wiring=wiring)
        buyer = ensure_customer(ctx, "did:abt:zEvents")
        currency = base_currency(ctx)
        intent = billing.create_payment_intent(
            ctx, customer=buyer, currency_id=currency["id"], amount=5, description="x", status="succeeded"
        )
        ctx.events.clear()
        refund = refunds.refund_payment(ctx, intent, 2)
        assert [(e["type"], e["object"]["id"]) for e in ctx.events] == [
            ("refund.created", refund["id"]),
            ("refund.succeeded", refund["id"]),
        ]
        assert refunds.refundable(ctx, intent) == 3

        line = {"price": {"id": "price_x", "nickname": "x"}, "quantity": 1, "amount": 7}
        invoice = billing.create_invoice(
            ctx, customer=buyer, currency_id=currency["id"], lines=[line], billing_reason="manual"
        )
        pending = billing.open_payment_intent(ctx, invoice, buyer)
        ctx.events.clear()
        billing.void_invoice(ctx, invoice)
        assert [(e["type"], e["object"]["id"]) for e in ctx.events] == [
            ("payment_intent.canceled", pending["id"]),
            ("invoice.voided", invoice["id"]),
        ]


# -- modes and async ------------------------------------------------------------------------------


def test_livemode_partitions_payments(client: PaymentKit, paid: dict[str, Any]) -> None:
    refund = client.payment_intents.refund(paid["payment_intent_id"], amount="0.001")
    live = client.with_options(livemode=True)
    with pytest.raises(NotFoundError):
        live.invoices.retrieve(paid["id"])
    with pytest.raises(NotFoundError):
        live.payment_intents.retrieve(paid["payment_intent_id"])
    with pytest.raises(NotFoundError):
        live.refunds.retrieve(refund.id)
    with pytest.raises(NotFoundError):
        live.invoices.void(paid["id"])
    with pytest.raises(NotFoundError):
        live.payment_intents.refund(paid["payment_intent_id"], amount="0.001")
    assert live.invoices.list(customer_id=paid["customer_id"]).count == 0
    assert live.payment_intents.list(invoice_id=paid["id"]).count == 0
    assert live.refunds.list(invoice_id=paid["id"]).count == 0
    with pytest.raises(BadRequestError, match="payment_intent_id"):
        live.refunds.create(payment_intent_id=paid["payment_intent_id"], amount="0.001")


async def test_async_refund_flow(aclient: AsyncPaymentKit, paid: dict[str, Any]) -> None:
    invoice = await aclient.invoices.retrieve(paid["id"])
    refund = await aclient.payment_intents.refund(invoice.payment_intent_id, amount="0.003")
    assert refund.amount == str(3 * UNIT)
    page = await aclient.refunds.list(invoice_id=invoice.id)
    assert [r.id async for r in page.auto_paging_iter()] == [refund.id]
    with pytest.raises(BadRequestError, match="already fully refunded"):
        await aclient.refunds.create(payment_intent_id=invoice.payment_intent_id, amount="0.001")
    intents = await aclient.payment_intents.list(invoice_id=invoice.id)
    assert intents.list[0].refund.amount == str(3 * UNIT)
    assert (await aclient.invoices.search(query=invoice.number)).list[0].id == invoice.id


def test_the_customer_pays_an_open_invoice_on_the_intent_it_waited_on(
    client: PaymentKit, server: tuple[str, str], unpaid: dict[str, Any]
) -> None:
    from payment_kit_sandbox.control import SandboxControl, SandboxError

    waiting = unpaid["payment_intent_id"]
    with SandboxControl(*server) as control:
        paid_now = control.call("POST", f"/sandbox/invoices/{unpaid['id']}/pay")
        assert paid_now["status"] == "paid" and paid_now["amount_remaining"] == "0"
        assert paid_now["payment_intent_id"] == waiting  # no second payment intent
        with pytest.raises(SandboxError, match="cannot be paid: it is paid"):
            control.call("POST", f"/sandbox/invoices/{unpaid['id']}/pay")
    intent = client.payment_intents.retrieve(waiting)
    assert intent.status == "succeeded" and intent.amount_received == unpaid["total"]
    assert client.payment_intents.list(invoice_id=unpaid["id"]).count == 1


def my_customer(server: tuple[str, str], did: str | None, **params: str) -> httpx.Response:
    base_url, key = server
    headers = {"Authorization": f"Bearer {key}", **({"x-user-did": did} if did else {})}
    return httpx.get(f"{base_url}/api/customers/me", params={"livemode": "false", **params}, headers=headers)


def test_my_customer_is_the_signed_in_users_with_what_they_paid_and_owe(
    server: tuple[str, str], customer: Any, paid: dict[str, Any], unpaid: dict[str, Any]
) -> None:
    me = my_customer(server, f"did:abt:{customer.did.removeprefix('did:abt:')}")
    assert me.status_code == 200 and me.json()["id"] == customer.id, me.text
    currency = paid["currency_id"]
    assert me.json()["summary"] == {
        "paid": {currency: paid["amount_paid"]},
        "due": {currency: unpaid["amount_remaining"]},
        "refunded": {},
    }
    brief = my_customer(server, customer.did, skipSummary="true")
    assert brief.json()["id"] == customer.id and "summary" not in brief.json()


def test_my_customer_without_a_record_is_a_404_unless_a_fallback_is_asked_for(
    server: tuple[str, str], tag: str
) -> None:
    nobody = my_customer(server, None)
    assert nobody.status_code == 404 and "no signed-in user: send the x-user-did header" in nobody.json()["error"]
    unknown = my_customer(server, f"did:abt:znobody{tag}")
    assert unknown.status_code == 404 and f"me (did:abt:znobody{tag})" in unknown.json()["error"]
    fallback = my_customer(server, f"did:abt:znobody{tag}", fallback="true")
    assert fallback.status_code == 200
    assert fallback.json() == {"did": f"znobody{tag}", "name": None, "email": None, "phone": None}
