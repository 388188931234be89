"""What a new user tripped over, against the sandbox (issue 26): a credit summary read for a currency
the customer lacks (finding 2), a fiat currency created in one try and refusals that list every
missing field (finding 3), and the sandbox's event log paged (finding 7)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from payment_kit import BadRequestError, PaymentKit
from payment_kit_sandbox.control import SandboxControl, SandboxError


def test_a_new_customer_s_credit_summary_reads_without_raising(client: PaymentKit, customer: Any, tag: str) -> None:
    meter = client.meters.create(name=f"Calls {tag}", event_name=f"calls_{tag}", aggregation_method="sum", unit="calls")
    summary = client.credit_grants.summary(customer_id=customer.id)
    # The README's way: `.get` answers None for a currency with no usable grant.
    assert summary.get(meter.currency_id) is None and meter.currency_id not in summary
    client.credit_grants.create(customer_id=customer.id, amount=5, currency_id=meter.currency_id, category="paid")
    entry = client.credit_grants.summary(customer_id=customer.id).get(meter.currency_id)
    assert entry is not None and entry["remainingAmount"] == "500" and entry.payment_currency.id == meter.currency_id


def test_a_fiat_currency_needs_no_contract_or_description(client: PaymentKit, tag: str) -> None:
    stripe = client.payment_methods.create(
        type="stripe",
        name=f"Cards {tag}",
        settings={"stripe": {"dashboard": "https://dashboard.stripe.com", "publishable_key": "pk", "secret_key": "sk"}},
    )
    usd = client.payment_currencies.create(
        payment_method_id=stripe.id, symbol=f"U{tag[:7]}", decimal=2, name="US Dollar", type="standard"
    )
    assert (usd.decimal, usd.contract, usd.description, usd.type) == (2, "", "", "standard")
    assert client.payment_currencies.retrieve(usd.id).symbol == f"U{tag[:7]}"


def test_a_token_on_a_chain_still_needs_its_contract(client: PaymentKit, tag: str) -> None:
    chain = next(m for m in client.payment_methods.list().list if m.type in ("arcblock", "ethereum", "base"))
    with pytest.raises(BadRequestError, match=r"contract: required for a currency of a \w+ payment method"):
        client.payment_currencies.create(payment_method_id=chain.id, name=f"Token {tag}", symbol=f"T{tag[:7]}")


def test_a_refusal_lists_every_missing_field_at_once(server: tuple[str, str]) -> None:
    base_url, api_key = server
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}) as http:
        answer = http.post("/api/payment-currencies", params={"livemode": "false"}, json={"symbol": "X"})
        assert answer.status_code == 400
        assert answer.json()["error"] == "'name', 'payment_method_id' are required properties"
        lines = http.post(
            "/api/checkout-sessions",
            params={"livemode": "false"},
            json={"success_url": "https://example.com", "line_items": [{"price_id": "p"}, {"quantity": 1}]},
        )
        assert (
            lines.status_code == 400 and lines.json()["error"] == "'price_id' is a required property in line_items[1]"
        )


def test_a_licensed_line_still_needs_its_quantity_a_metered_one_does_not(client: PaymentKit, tag: str) -> None:
    product = client.products.create(name=f"Plan {tag}", type="service")
    recurring: dict[str, Any] = {"interval": "month", "interval_count": 1}
    licensed = client.prices.create(product_id=product.id, unit_amount=1, type="recurring", recurring=recurring)
    metered = client.prices.create(
        product_id=product.id, unit_amount="0.01", type="recurring", recurring={**recurring, "usage_type": "metered"}
    )
    session = client.checkout.sessions.create(
        success_url="https://example.com",
        line_items=[{"price_id": licensed.id, "quantity": 1}, {"price_id": metered.id}],
    )
    assert [item.quantity for item in session.line_items] == [1, 1]
    with pytest.raises(BadRequestError, match=r"line_items\[0\]\.quantity: required for price .* which is not metered"):
        client.checkout.sessions.create(success_url="https://example.com", line_items=[{"price_id": licensed.id}])


@pytest.mark.sandbox_only
def test_the_event_log_pages_past_a_hundred(client: PaymentKit, control: SandboxControl, sandbox: Any) -> None:
    with (
        SandboxControl(sandbox.base_url, sandbox.api_key, livemode=False) as own,
        PaymentKit(base_url=sandbox.base_url, api_key=sandbox.api_key, livemode=False) as mine,
    ):
        made = [mine.products.create(name=f"P{i}", type="service").id for i in range(130)]
        first = own.events(type="product.created", limit=100)
        assert first["count"] == 130 and len(first["list"]) == 100 and first["has_more"] is True
        second = own.events(type="product.created", limit=100, starting_after=first["list"][-1]["id"])
        assert len(second["list"]) == 30 and second["has_more"] is False
        walked = [e["data"]["object"]["id"] for e in own.iter_events(type="product.created", page_size=7)]
        assert walked == list(reversed(made))
        with pytest.raises(SandboxError, match="starting_after: 'evt_nope' is not an event"):
            own.events(starting_after="evt_nope")
