"""Settings and auto-recharge configs, through the facade, against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from payment_kit import AsyncPaymentKit, BadRequestError, NotFoundError, PaymentKit

# -- settings ---------------------------------------------------------------------------------


def test_setting_lifecycle_by_id_and_mount_location(client: PaymentKit, tag: str) -> None:
    mount = f"app-{tag}"
    made = client.settings.create(
        type="notification",
        mount_location=mount,
        description="Notification rules",
        component_did=f"z{tag}",
        settings={"self_handle": True, "include_events": ["invoice.paid"]},
    )
    assert made.id.startswith("setting_") and made.livemode is False
    assert made.mount_location == mount and made.component_did == f"z{tag}" and made.active is True
    assert made.type_ == "notification" and made.description == "Notification rules"
    assert made.settings.to_dict() == {"self_handle": True, "include_events": ["invoice.paid"]}

    assert client.settings.retrieve(made.id).id == made.id
    assert client.settings.retrieve(mount).id == made.id

    updated = client.settings.update(mount, settings={"exclude_events": ["invoice.voided"]}, active=False)
    assert updated.active is False and updated.description == "Notification rules"
    assert updated.settings.to_dict() == {
        "self_handle": True,
        "include_events": ["invoice.paid"],
        "exclude_events": ["invoice.voided"],
    }
    assert client.settings.update(made.id, description="renamed").description == "renamed"

    gone = client.settings.delete(mount)
    assert made.id in gone.message and "deleted" in gone.message
    for key in (made.id, mount):
        with pytest.raises(NotFoundError, match=f"Setting not found: {key}"):
            client.settings.retrieve(key)
    with pytest.raises(NotFoundError):
        client.settings.delete(made.id)
    with pytest.raises(NotFoundError):
        client.settings.update(made.id, active=True)


def test_create_is_get_or_create_per_type_and_mount_location(client: PaymentKit, tag: str) -> None:
    mount = f"donate-{tag}"
    amount = {"presets": ["1", "5", "10"], "preset": "5", "custom": True, "minimum": "1", "maximum": "100"}
    first = client.settings.create(
        type="donate", mount_location=mount, description="Tips", settings={"amount": amount, "btnText": "Tip"}
    )
    again = client.settings.create(type="donate", mount_location=mount, description="Other", settings={})
    assert again.id == first.id and again.description == "Tips"  # the existing record, unchanged
    assert again.settings.to_dict()["btnText"] == "Tip"

    other_type = client.settings.create(type="custom-widget", mount_location=mount, description="x", settings={"a": 1})
    assert other_type.id != first.id and other_type.settings.to_dict() == {"a": 1}  # free-form type
    assert client.settings.retrieve(mount).id == first.id  # the oldest of the mount location


def test_setting_refusals_name_the_field_and_change_nothing(client: PaymentKit, tag: str) -> None:
    with pytest.raises(BadRequestError, match="settings: 'self_handle' is a required property"):
        client.settings.create(type="notification", mount_location=f"n-{tag}", description="x", settings={})
    with pytest.raises(BadRequestError, match=r"settings.self_handle"):
        client.settings.create(
            type="notification", mount_location=f"n-{tag}", description="x", settings={"self_handle": "yes"}
        )
    with pytest.raises(BadRequestError, match=r"settings.historyType"):
        client.settings.create(
            type="donate", mount_location=f"d-{tag}", description="x", settings={"historyType": "chart"}
        )
    with pytest.raises(BadRequestError, match=r"settings.amount.presets.0"):
        client.settings.create(
            type="donate",
            mount_location=f"d-{tag}",
            description="x",
            settings={"amount": {"custom": True, "presets": ["ten"]}},
        )
    with pytest.raises(BadRequestError, match="minimum 10 is above maximum 1"):
        client.settings.create(
            type="donate",
            mount_location=f"d-{tag}",
            description="x",
            settings={"amount": {"custom": False, "minimum": "10", "maximum": "1"}},
        )
    with pytest.raises(BadRequestError, match="preset 200 is outside"):
        client.settings.create(
            type="donate",
            mount_location=f"d-{tag}",
            description="x",
            settings={"amount": {"custom": False, "presets": ["200"], "maximum": "100"}},
        )
    for key in (f"n-{tag}", f"d-{tag}"):
        with pytest.raises(NotFoundError):
            client.settings.retrieve(key)  # nothing was stored

    kept = client.settings.create(
        type="notification", mount_location=f"n-{tag}", description="x", settings={"self_handle": False}
    )
    with pytest.raises(BadRequestError, match=r"settings.self_handle"):
        client.settings.update(kept.id, settings={"self_handle": None})
    assert client.settings.retrieve(kept.id).settings.to_dict() == {"self_handle": False}


def test_settings_are_partitioned_by_mode(client: PaymentKit, tag: str) -> None:
    mount = f"modes-{tag}"
    test_setting = client.settings.create(
        type="notification", mount_location=mount, description="t", settings={"self_handle": True}
    )
    live = client.with_options(livemode=True)
    for key in (test_setting.id, mount):
        with pytest.raises(NotFoundError):
            live.settings.retrieve(key)
    live_setting = live.settings.create(
        type="notification", mount_location=mount, description="l", settings={"self_handle": False}
    )
    assert live_setting.id != test_setting.id and live_setting.livemode is True
    live.settings.delete(mount)
    assert client.settings.retrieve(mount).id == test_setting.id  # the test record is untouched


def test_a_mount_location_with_slashes_is_a_key(client: PaymentKit, tag: str) -> None:
    mount = f"/apps/{tag}"
    made = client.settings.create(
        type="notification", mount_location=mount, description="x", settings={"self_handle": True}
    )
    assert client.settings.retrieve(mount).id == made.id
    assert client.settings.update(mount, description="y").description == "y"
    assert made.id in client.settings.delete(mount).message


async def test_async_settings(aclient: AsyncPaymentKit, tag: str) -> None:
    made = await aclient.settings.create(
        type="notification", mount_location=f"async-{tag}", description="a", settings={"self_handle": True}
    )
    assert (await aclient.settings.retrieve(f"async-{tag}")).id == made.id
    assert (await aclient.settings.update(made.id, active=False)).active is False
    assert "deleted" in (await aclient.settings.delete(made.id)).message
    with pytest.raises(NotFoundError):
        await aclient.settings.retrieve(made.id)


# -- auto-recharge configs --------------------------------------------------------------------


def credits_and_top_up(client: PaymentKit, tag: str) -> tuple[Any, Any, Any]:
    """A meter's credit currency, the standard currency that pays, and a price granting credits."""
    meter = client.meters.create(name=f"Tokens {tag}", event_name=f"tokens-{tag}", unit="token")
    credit = client.payment_currencies.retrieve(meter.currency_id)
    paying = client.payment_currencies.list().list[0]
    product = client.products.create(name=f"Top-up {tag}", type="credit")
    price = client.prices.create(
        product_id=product.id,
        type="one_time",
        unit_amount="1",
        currency_id=paying.id,
        metadata={"credit_config": {"credit_amount": "100", "currency_id": credit.id}},
    )
    return credit, paying, price


def test_reading_a_customers_config_creates_a_disabled_default(client: PaymentKit, customer: Any, tag: str) -> None:
    credit, _, _ = credits_and_top_up(client, tag)
    config = client.auto_recharge_configs.get_for_customer(customer.id, currency_id=credit.id)
    assert config.id.startswith("arc_") and config.livemode is False
    assert config.enabled is False and config.threshold == "100" and config.quantity == 1
    assert config.customer_id == customer.id and config.currency_id == credit.id and config.price_id == ""
    assert config.daily_limits.max_attempts == 0 and config.daily_limits.max_amount == "0"
    assert config.currency.id == credit.id and config.customer.id == customer.id
    assert config.price is None and config.balance_result is None

    by_did = client.auto_recharge_configs.get_for_customer(f"did:abt:{customer.did}", currency_id=credit.id)
    assert by_did.id == config.id  # read again: the same config, not a second one
    assert client.auto_recharge_configs.retrieve(config.id).id == config.id


def test_submit_upserts_by_customer_and_currency(client: PaymentKit, customer: Any, tag: str) -> None:
    credit, paying, price = credits_and_top_up(client, tag)
    made = client.auto_recharge_configs.submit(
        customer_id=customer.did,
        currency_id=credit.id,
        enabled=True,
        price_id=price.id,
        threshold=5.5,
        quantity=2,
        daily_limits={"max_attempts": 3, "max_amount": 50},
    )
    assert made.enabled is True and made.threshold == "5.5" and made.quantity == 2
    assert made.price_id == price.id and made.price.id == price.id
    assert made.recharge_currency_id == paying.id and made.recharge_currency.id == paying.id
    assert made.payment_method_id == paying.payment_method_id and made.payment_method.id == paying.payment_method_id
    assert made.daily_limits.max_attempts == 3 and made.daily_limits.max_amount == "50"
    assert made.balance_result.sufficient is True

    off = client.auto_recharge_configs.submit(customer_id=customer.id, currency_id=credit.id, enabled=False)
    assert off.id == made.id and off.enabled is False and off.balance_result is None
    assert off.threshold == "5.5" and off.quantity == 2 and off.price_id == price.id  # the rest kept
    limits = client.auto_recharge_configs.submit(
        customer_id=customer.id, currency_id=credit.id, daily_limits={"max_amount": 7.25}
    ).daily_limits
    assert limits.max_attempts == 3 and limits.max_amount == "7.25"
    fetched = client.auto_recharge_configs.get_for_customer(customer.id, currency_id=credit.id)
    assert fetched.id == made.id and fetched.threshold == "5.5"


def test_auto_recharge_refusals_name_the_field_and_change_nothing(client: PaymentKit, customer: Any, tag: str) -> None:
    credit, paying, price = credits_and_top_up(client, tag)
    config = client.auto_recharge_configs.submit(customer_id=customer.id, currency_id=credit.id, price_id=price.id)
    submit = client.auto_recharge_configs.submit

    with pytest.raises(BadRequestError, match="customer_id: no customer 'cus_missing'"):
        submit(customer_id="cus_missing", currency_id=credit.id)
    with pytest.raises(BadRequestError, match="currency_id: no payment currency 'pc_missing'"):
        submit(customer_id=customer.id, currency_id="pc_missing")
    with pytest.raises(BadRequestError, match="auto-recharge watches credit currencies"):
        submit(customer_id=customer.id, currency_id=paying.id)
    with pytest.raises(BadRequestError, match="price_id: no price 'price_missing'"):
        submit(customer_id=customer.id, currency_id=credit.id, price_id="price_missing", enabled=True)
    with pytest.raises(BadRequestError, match=r"threshold: .* more than 2 decimal places"):
        submit(customer_id=customer.id, currency_id=credit.id, threshold=0.001)
    with pytest.raises(BadRequestError, match="threshold"):
        submit(customer_id=customer.id, currency_id=credit.id, threshold=-1)
    with pytest.raises(BadRequestError, match="quantity"):
        submit(customer_id=customer.id, currency_id=credit.id, quantity=0)
    with pytest.raises(BadRequestError, match=r"daily_limits.max_attempts"):
        submit(customer_id=customer.id, currency_id=credit.id, daily_limits={"max_attempts": -1})
    with pytest.raises(BadRequestError, match=r"recharge_currency_id: .* is a credit currency"):
        submit(customer_id=customer.id, currency_id=credit.id, recharge_currency_id=credit.id)
    with pytest.raises(BadRequestError, match="payment_method_id: no payment method 'pm_missing'"):
        submit(customer_id=customer.id, currency_id=credit.id, payment_method_id="pm_missing")
    other_credit, _, other_price = credits_and_top_up(client, f"{tag}-other")
    with pytest.raises(BadRequestError, match=f"grants credits in {other_credit.id}"):
        submit(customer_id=customer.id, currency_id=credit.id, price_id=other_price.id)
    client.prices.archive(price.id)
    with pytest.raises(BadRequestError, match="is archived"):
        submit(customer_id=customer.id, currency_id=credit.id, price_id=price.id, enabled=True)

    unchanged = client.auto_recharge_configs.retrieve(config.id)
    assert unchanged.enabled is False and unchanged.threshold == "100" and unchanged.quantity == 1

    fresh, _, _ = credits_and_top_up(client, f"{tag}-fresh")
    with pytest.raises(BadRequestError, match="an enabled auto-recharge needs a top-up price"):
        submit(customer_id=customer.id, currency_id=fresh.id, enabled=True)
    assert client.auto_recharge_configs.get_for_customer(customer.id, currency_id=fresh.id).enabled is False

    with pytest.raises(NotFoundError, match="Customer not found: cus_missing"):
        client.auto_recharge_configs.get_for_customer("cus_missing", currency_id=credit.id)
    with pytest.raises(BadRequestError, match="credit currencies"):
        client.auto_recharge_configs.get_for_customer(customer.id, currency_id=paying.id)
    with pytest.raises(NotFoundError, match="Auto-recharge config not found: arc_missing"):
        client.auto_recharge_configs.retrieve("arc_missing")


def test_auto_recharge_configs_are_partitioned_by_mode(client: PaymentKit, customer: Any, tag: str) -> None:
    credit, _, _ = credits_and_top_up(client, tag)
    config = client.auto_recharge_configs.get_for_customer(customer.id, currency_id=credit.id)
    live = client.with_options(livemode=True)
    with pytest.raises(NotFoundError):
        live.auto_recharge_configs.retrieve(config.id)
    with pytest.raises(NotFoundError):
        live.auto_recharge_configs.get_for_customer(customer.id, currency_id=credit.id)
    with pytest.raises(BadRequestError, match=r"customer_id: no customer .* in this mode"):
        live.auto_recharge_configs.submit(customer_id=customer.id, currency_id=credit.id)
    live_customer = live.customers.retrieve(f"did:abt:{customer.did}", create=True)
    with pytest.raises(BadRequestError, match=r"currency_id: no payment currency .* in this mode"):
        live.auto_recharge_configs.submit(customer_id=live_customer.id, currency_id=credit.id)


async def test_async_auto_recharge(aclient: AsyncPaymentKit, client: PaymentKit, customer: Any, tag: str) -> None:
    credit, _, price = credits_and_top_up(client, tag)
    made = await aclient.auto_recharge_configs.submit(
        customer_id=customer.id, currency_id=credit.id, enabled=True, price_id=price.id, threshold=10
    )
    assert made.threshold == "10" and made.enabled is True
    assert (await aclient.auto_recharge_configs.retrieve(made.id)).price.id == price.id
    again = await aclient.auto_recharge_configs.get_for_customer(customer.id, currency_id=credit.id)
    assert again.id == made.id
