"""Event types against the sandbox (issue 26, finding 4): an endpoint subscribes only to types the
sandbox sends (or `*`), and `customer.credit.low_balance` fires when spendable credit crosses
below the customer's low-balance threshold (their auto-recharge config's `threshold`)."""

from __future__ import annotations

from typing import Any

import pytest

from payment_kit import EVENT_TYPES, BadRequestError, PaymentKit
from payment_kit_sandbox.control import SandboxControl

pytestmark = pytest.mark.sandbox_only  # reads the sandbox's event log


def test_an_endpoint_subscribes_to_known_types_or_star_and_a_typo_is_a_400_naming_it(client: PaymentKit) -> None:
    with pytest.raises(BadRequestError, match=r"enabled_events: 'invoice.paidd' is not an event type"):
        client.webhook_endpoints.create(url="https://example.com/hook", enabled_events=["invoice.paidd"])  # type: ignore[list-item]
    with pytest.raises(BadRequestError, match=r"'invoice.paidd', 'nope' are not event types"):
        client.webhook_endpoints.create(
            url="https://example.com/hook", enabled_events=["invoice.paid", "invoice.paidd", "nope"]
        )  # type: ignore[list-item]
    everything = client.webhook_endpoints.create(url="https://example.com/hook", enabled_events=["*"])
    try:
        assert list(everything.enabled_events) == ["*"]
        with pytest.raises(BadRequestError, match=r"'invoice\.paidd'"):
            client.webhook_endpoints.update(everything.id, enabled_events=["invoice.paidd"])  # type: ignore[list-item]
        every_type = client.webhook_endpoints.update(everything.id, enabled_events=sorted(EVENT_TYPES))
        assert set(every_type.enabled_events) == EVENT_TYPES
    finally:
        client.webhook_endpoints.delete(everything.id)


def test_low_balance_fires_once_when_spendable_credit_crosses_the_threshold(
    client: PaymentKit, control: SandboxControl, customer: Any, tag: str
) -> None:
    meter = client.meters.create(name=f"Calls {tag}", event_name=f"calls_{tag}", aggregation_method="sum", unit="calls")
    client.credit_grants.create(
        customer_id=customer.id, amount=100, currency_id=meter.currency_id, category="promotional"
    )
    client.auto_recharge_configs.submit(customer_id=customer.id, currency_id=meter.currency_id, threshold=50)

    def low_balance_events() -> list[dict[str, Any]]:
        listed = control.events(type="customer.credit.low_balance", limit=100)["list"]
        return [e for e in listed if e["data"]["object"]["id"] == customer.id]

    def use(value: int, n: int) -> None:
        client.meter_events.create(
            event_name=meter.event_name, payload={"customer_id": customer.id, "value": value}, identifier=f"{tag}-{n}"
        )

    use(30, 1)  # 70 left: at or above 50, nothing said
    assert low_balance_events() == []
    use(20, 2)  # 50 left: still not below
    assert low_balance_events() == []
    use(15, 3)  # 35 left: crossed
    [event] = low_balance_events()
    assert event["object_type"] == "customer" and event["data"]["object"]["did"] == customer.did
    use(10, 4)  # 25 left: already below, nothing new
    assert len(low_balance_events()) == 1
    client.credit_grants.create(
        customer_id=customer.id, amount=100, currency_id=meter.currency_id, category="promotional"
    )
    use(80, 5)  # 125 -> 45: crossed again
    assert len(low_balance_events()) == 2
