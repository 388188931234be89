"""Coupons and promotion codes, through the facade, against the sandbox.

Redemptions come from the sandbox-only `POST /sandbox/promotion-codes/redeem`
(what a completed checkout does), so these tests do not depend on checkout.
"""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_calls import sandbox_get, sandbox_post

from payment_kit import AsyncPaymentKit, BadRequestError, NotFoundError, PaymentKit

pytestmark = pytest.mark.sandbox_only  # uses /sandbox/ routes or loopback receivers


def redeem(server: tuple[str, str], code: str, customer_id: str) -> dict[str, Any]:
    response = sandbox_post(server, "/sandbox/promotion-codes/redeem", {"code": code, "customer_id": customer_id})
    assert response.status_code == 200, response.text
    return dict(response.json())


def refused_redemption(server: tuple[str, str], code: str, customer_id: str) -> str:
    response = sandbox_post(server, "/sandbox/promotion-codes/redeem", {"code": code, "customer_id": customer_id})
    assert response.status_code == 400, response.text
    return str(response.json()["error"])


def code_of(tag: str, n: int = 0) -> str:
    return f"C{n}{tag}"[:16].upper()


def test_create_with_inline_codes_and_retrieve_expanded(client: PaymentKit, tag: str) -> None:
    product = client.products.create(name=f"coupon target {tag}", type="service")
    made = client.coupons.create(
        name="New User Discount",
        percent_off=20,
        duration="once",
        max_redemptions=1000,
        applies_to={"products": [product.id]},
        metadata={"tag": tag},
        promotion_codes=[
            {"code": code_of(tag), "description": "Welcome discount", "max_redemptions": 100},
            {"description": "generated"},
        ],
    )
    coupon = made.coupon
    assert coupon.id.startswith("co_") and coupon.livemode is False
    assert (coupon.percent_off, coupon.amount_off, coupon.valid, coupon.locked) == (20, "0", True, False)
    assert coupon.times_redeemed == 0 and coupon.duration_in_months == 0
    first, generated = made.promotion_codes
    assert first.id.startswith("promo_") and first.code == code_of(tag) and first.coupon_id == coupon.id
    assert first.active is True and first.verification_type == "code"
    assert 1 <= len(generated.code) <= 16 and generated.code != first.code

    again = client.coupons.retrieve(coupon.id)
    assert again.object_ == "coupon"
    assert sorted(p.id for p in again.promotion_codes) == sorted([first.id, generated.id])
    assert [p.id for p in again.applied_products] == [product.id]
    assert again.currency.id == coupon.currency_id

    found = client.promotion_codes.by_code(code_of(tag).lower())  # customers type codes in any case
    assert found.id == first.id and found.object_ == "promotion_code" and found.coupon.id == coupon.id
    assert client.promotion_codes.retrieve(generated.id).code == generated.code
    listed = client.promotion_codes.list(coupon_id=coupon.id, order="code:ASC")
    assert listed.count == 2 and [p.code for p in listed] == sorted([first.code, generated.code])
    assert all(p.coupon.id == coupon.id for p in listed)


def test_fixed_amounts_become_units_of_each_currency(client: PaymentKit, tag: str) -> None:
    base = client.payment_currencies.list().list[0]
    cents = client.payment_currencies.create(
        payment_method_id=base.payment_method_id,
        name=f"Cents {tag}",
        description="two decimals",
        contract=f"z{tag}",
        symbol=f"C{tag[:6]}".upper(),
        decimal=2,
    )
    coupon = client.coupons.create(
        name="Five off",
        amount_off="0.5",
        currency_id=base.id,
        currency_options={cents.id: {"amount_off": "1.25"}},
        duration="repeating",
        duration_in_months=3,
    ).coupon
    assert coupon.amount_off == "500000000000000000" and coupon.percent_off == 0
    options = coupon.currency_options.additional_properties
    assert options[cents.id].amount_off == "125" and options[base.id].amount_off == "500000000000000000"
    assert coupon.duration_in_months == 3

    as_percent = client.coupons.update(coupon.id, percent_off=15)
    assert (as_percent.percent_off, as_percent.amount_off) == (15, "0")
    with pytest.raises(BadRequestError, match=r"currency_options\.pc_missing: no payment currency"):
        client.coupons.update(coupon.id, amount_off="1", currency_options={"pc_missing": {"amount_off": "1"}})
    with pytest.raises(BadRequestError, match="more than 2 decimal places"):
        client.coupons.update(coupon.id, amount_off="1", currency_options={cents.id: {"amount_off": "0.001"}})
    assert client.coupons.retrieve(coupon.id).percent_off == 15  # the refusals changed nothing


def test_coupon_refusals_name_the_field(client: PaymentKit, tag: str) -> None:
    with pytest.raises(BadRequestError, match="percent_off, amount_off: a coupon takes one of them"):
        client.coupons.create(name="both", percent_off=10, amount_off="1", duration="once")
    with pytest.raises(BadRequestError, match="percent_off, amount_off: a coupon needs"):
        client.coupons.create(name="neither", duration="once")
    with pytest.raises(BadRequestError, match="duration_in_months: a repeating coupon needs"):
        client.coupons.create(name="months?", percent_off=10, duration="repeating")
    with pytest.raises(BadRequestError, match="duration_in_months: only a repeating coupon"):
        client.coupons.create(name="months!", percent_off=10, duration="forever", duration_in_months=2)
    with pytest.raises(BadRequestError, match="currency_id: no payment currency 'pc_missing'"):
        client.coupons.create(name="where", amount_off="1", currency_id="pc_missing", duration="once")
    with pytest.raises(BadRequestError, match=r"applies_to\.products\[0\]: no product 'prod_missing'"):
        client.coupons.create(name="what", percent_off=5, duration="once", applies_to={"products": ["prod_missing"]})
    with pytest.raises(BadRequestError, match="redeem_by: 1 is not in the future"):
        client.coupons.create(name="late", percent_off=5, duration="once", redeem_by=1)
    with pytest.raises(BadRequestError, match="percent_off"):
        client.coupons.create(name="too much", percent_off=101, duration="once")
    with pytest.raises(BadRequestError, match=r"promotion_codes\[1\]\.code: '.*' is already used"):
        client.coupons.create(
            name="twice",
            percent_off=5,
            duration="once",
            promotion_codes=[{"code": code_of(tag)}, {"code": code_of(tag).lower()}],
        )
    assert client.coupons.list(name="twice").count == 0  # the whole create was rolled back
    with pytest.raises(NotFoundError, match="Coupon not found: coupon_missing"):
        client.coupons.retrieve("coupon_missing")
    with pytest.raises(BadRequestError, match="order: cannot sort by 'secret'"):
        client.coupons.list(order="secret:ASC")


@pytest.mark.sandbox_only
def test_the_sandbox_refuses_oversized_codes(client: PaymentKit) -> None:
    """The sandbox's own limit (payment_kit_sandbox/schema_limits.py), not the contract's."""
    coupon = client.coupons.create(name="long", percent_off=5, duration="once").coupon
    with pytest.raises(BadRequestError, match="code"):
        client.promotion_codes.create(coupon_id=coupon.id, code="X" * 256)


def test_promotion_code_refusals_name_the_field(client: PaymentKit, tag: str) -> None:
    coupon = client.coupons.create(name="codes", percent_off=5, duration="once").coupon
    taken = client.promotion_codes.create(coupon_id=coupon.id, code=code_of(tag))
    with pytest.raises(BadRequestError, match="coupon_id: no coupon 'coupon_missing'"):
        client.promotion_codes.create(coupon_id="coupon_missing")
    with pytest.raises(BadRequestError, match=f"code: '{code_of(tag).lower()}' is already used by promotion code"):
        client.promotion_codes.create(coupon_id=coupon.id, code=code_of(tag).lower())
    # PaymentKit's material sets no length: a 17-character code is fine.
    long_code = f"WELCOME{tag}".upper()[:17].ljust(17, "X")
    other = client.coupons.create(name="long codes", percent_off=5, duration="once").coupon
    assert client.promotion_codes.create(coupon_id=other.id, code=long_code).code == long_code
    with pytest.raises(BadRequestError, match="customer_id: no customer 'cus_missing'"):
        client.promotion_codes.create(coupon_id=coupon.id, customer_id="cus_missing")
    with pytest.raises(BadRequestError, match="customer_dids: a user_restricted code needs"):
        client.promotion_codes.create(coupon_id=coupon.id, verification_type="user_restricted")
    with pytest.raises(BadRequestError, match="expires_at: 5 is not in the future"):
        client.promotion_codes.update(taken.id, expires_at=5)
    with pytest.raises(BadRequestError, match=r"restrictions\.minimum_amount_currency: no payment currency"):
        client.promotion_codes.create(
            coupon_id=coupon.id, restrictions={"minimum_amount": "1", "minimum_amount_currency": "pc_missing"}
        )
    with pytest.raises(NotFoundError, match="Promotion code not found: NOPE"):
        client.promotion_codes.by_code(f"NOPE{tag}"[:4])
    with pytest.raises(NotFoundError):
        client.promotion_codes.retrieve("promo_missing")
    assert client.promotion_codes.list(coupon_id=coupon.id).count == 1


def test_promotion_code_update_restrictions_archive_and_delete(client: PaymentKit, tag: str, customer: Any) -> None:
    coupon = client.coupons.create(name="lifecycle", percent_off=10, duration="forever").coupon
    promo = client.promotion_codes.create(coupon_id=coupon.id, description="first", metadata={"tag": tag})
    updated = client.promotion_codes.update(
        promo.id,
        code=code_of(tag, 1),
        description="second",
        max_redemptions=5,
        customer_id=customer.did,
        restrictions={"minimum_amount": "0.25", "first_time_transaction": True},
    )
    assert (updated.code, updated.description, updated.max_redemptions) == (code_of(tag, 1), "second", 5)
    assert updated.customer_id == customer.id  # a DID names the customer too
    assert updated.restrictions.minimum_amount == "250000000000000000"
    assert updated.restrictions.minimum_amount_currency == coupon.currency_id
    assert client.promotion_codes.by_code(code_of(tag, 1)).id == promo.id

    archived = client.promotion_codes.archive(promo.id)
    assert archived.active is False
    with pytest.raises(BadRequestError, match="already archived"):
        client.promotion_codes.archive(promo.id)
    assert [p.id for p in client.promotion_codes.list(coupon_id=coupon.id, active=False)] == [promo.id]
    assert client.promotion_codes.list(coupon_id=coupon.id, active=True).count == 0
    assert client.promotion_codes.update(promo.id, active=True).active is True

    assert client.promotion_codes.used(promo.id).used is False
    assert client.promotion_codes.delete(promo.id).id == promo.id
    with pytest.raises(NotFoundError):
        client.promotion_codes.retrieve(promo.id)


def test_redemption_counts_locks_and_lists(client: PaymentKit, server: tuple[str, str], tag: str) -> None:
    made = client.coupons.create(
        name=f"redeemed {tag}",
        percent_off=25,
        duration="once",
        max_redemptions=3,
        promotion_codes=[{"code": code_of(tag), "max_redemptions": 2}, {"code": code_of(tag, 1)}],
    )
    coupon, (promo, other) = made.coupon, made.promotion_codes
    buyers = [client.customers.retrieve(f"did:abt:z{tag}{n}", create=True) for n in range(3)]

    answer = redeem(server, code_of(tag).lower(), buyers[0].id)
    assert answer["coupon"]["times_redeemed"] == 1 and answer["coupon"]["locked"] is True
    assert answer["promotion_code"]["times_redeemed"] == 1
    redeem(server, code_of(tag), buyers[0].did)  # by DID as well
    assert "reached its max_redemptions (2)" in refused_redemption(server, code_of(tag), buyers[1].id)
    redeem(server, code_of(tag, 1), buyers[1].id)
    error = refused_redemption(server, code_of(tag, 1), buyers[2].id)
    assert f"coupon {coupon.id} is no longer valid: it has reached its max_redemptions (3)" in error

    assert client.coupons.used(coupon.id).used is True
    assert client.promotion_codes.used(promo.id).used is True
    assert client.promotion_codes.used(other.id).used is True
    after = client.coupons.retrieve(coupon.id)
    assert (after.times_redeemed, after.locked, after.valid) == (3, True, False)
    assert coupon.id in [c.id for c in client.coupons.list(valid=False, name=f"redeemed {tag}")]
    assert client.coupons.list(valid=True, name=f"redeemed {tag}").count == 0

    by_customer = client.coupons.redemptions(coupon.id, type="customer", page_size=1, order="created_at:ASC")
    assert by_customer.count == 2 and by_customer.paging.page == 1 and by_customer.paging.page_size == 1
    row = by_customer.customers[0]
    assert row.id == buyers[0].id and row.coupon_usage_stats["times_redeemed"] == 2
    assert len(row.discount_records) == 2 and row.discount_records[0]["coupon_id"] == coupon.id
    assert client.coupons.redemptions(coupon.id, page=2, page_size=1, order="created_at:ASC").customers[0].id == (
        buyers[1].id
    )
    assert client.coupons.redemptions(coupon.id, type="subscription").count == 0
    of_code = client.promotion_codes.redemptions(promo.id)
    assert of_code.count == 1 and of_code.customers[0].coupon_usage_stats["times_redeemed"] == 2

    with pytest.raises(BadRequestError, match="cannot be deleted: it has been redeemed; set valid to false"):
        client.coupons.delete(coupon.id)
    with pytest.raises(BadRequestError, match="cannot be deleted: it has been redeemed; archive it instead"):
        client.promotion_codes.delete(promo.id)
    with pytest.raises(BadRequestError, match=r"percent_off: coupon .* has been redeemed, so its discount terms"):
        client.coupons.update(coupon.id, percent_off=50)
    with pytest.raises(BadRequestError, match="max_redemptions: the coupon has already been redeemed 3 times"):
        client.coupons.update(coupon.id, max_redemptions=2)
    with pytest.raises(BadRequestError, match=r"code: promotion code .* has been redeemed"):
        client.promotion_codes.update(promo.id, code=code_of(tag, 2))
    assert client.coupons.update(coupon.id, percent_off=25, duration="once").locked is True  # same terms resent
    reopened = client.coupons.update(coupon.id, max_redemptions=10, name="still editable", metadata={"k": "v"})
    assert (reopened.valid, reopened.name, reopened.percent_off) == (True, "still editable", 25)


def test_what_stops_a_code_from_being_redeemed(
    client: PaymentKit, server: tuple[str, str], tag: str, customer: Any
) -> None:
    coupon = client.coupons.create(name="stops", percent_off=5, duration="forever").coupon
    stranger = client.customers.retrieve(f"did:abt:zother{tag}", create=True)
    mine = client.promotion_codes.create(coupon_id=coupon.id, code=code_of(tag), customer_id=customer.id)
    assert "reserved for another customer" in refused_redemption(server, mine.code, stranger.id)
    listed = client.promotion_codes.create(
        coupon_id=coupon.id, code=code_of(tag, 1), verification_type="user_restricted", customer_dids=[customer.did]
    )
    assert "not among its customer_dids" in refused_redemption(server, listed.code, stranger.id)
    assert client.promotion_codes.by_code(customer.did).id == listed.id  # matched by DID, not typed in
    redeem(server, listed.code, customer.id)

    client.promotion_codes.archive(mine.id)
    assert "inactive" in refused_redemption(server, mine.code, customer.id)
    now = sandbox_get(server, "/sandbox/health").json()["now"]
    soon = client.promotion_codes.create(coupon_id=coupon.id, code=code_of(tag, 2), expires_at=now + 60)
    assert sandbox_post(server, "/sandbox/clock/advance", {"seconds": 120}).status_code == 200
    assert "expired at" in refused_redemption(server, soon.code, customer.id)
    assert "no promotion code 'NOSUCHCODE'" in refused_redemption(server, "NOSUCHCODE", customer.id)
    assert "customer_id: no customer" in refused_redemption(server, listed.code, "cus_missing")

    client.coupons.update(coupon.id, valid=False)
    fresh = client.promotion_codes.create(coupon_id=coupon.id)
    assert "turned off (valid: false)" in refused_redemption(server, fresh.code, customer.id)


def test_unused_coupons_update_and_delete_with_their_codes(client: PaymentKit, tag: str) -> None:
    made = client.coupons.create(
        name=f"temp {tag}", percent_off=30, duration="once", promotion_codes=[{"code": code_of(tag)}]
    )
    coupon = made.coupon
    changed = client.coupons.update(
        coupon.id, name=f"temp2 {tag}", duration="repeating", duration_in_months=2, metadata={"tag": tag}
    )
    assert (changed.name, changed.duration, changed.duration_in_months) == (f"temp2 {tag}", "repeating", 2)
    assert [p.id for p in changed.promotion_codes] == [made.promotion_codes[0].id]
    assert client.coupons.update(coupon.id, duration="forever").duration_in_months == 0
    assert client.coupons.used(coupon.id).used is False
    deleted = client.coupons.delete(coupon.id)
    assert deleted.id == coupon.id
    with pytest.raises(NotFoundError):
        client.coupons.retrieve(coupon.id)
    with pytest.raises(NotFoundError):
        client.promotion_codes.retrieve(made.promotion_codes[0].id)
    with pytest.raises(NotFoundError):
        client.coupons.delete(coupon.id)
    with pytest.raises(NotFoundError):
        client.coupons.redemptions(coupon.id)


def test_list_filters_order_and_pages(client: PaymentKit, tag: str) -> None:
    made = [
        client.coupons.create(
            name=f"list {tag}", percent_off=10 + n, duration="once", metadata={"batch": tag, "n": str(n)}
        ).coupon
        for n in range(3)
    ]
    assert [c.id for c in client.coupons.list(metadata={"batch": tag, "n": "1"})] == [made[1].id]
    newest_first = client.coupons.list(metadata={"batch": tag})
    assert newest_first.count == 3 and [c.id for c in newest_first] == [c.id for c in reversed(made)]
    by_percent = client.coupons.list(metadata={"batch": tag}, order="percent_off:ASC")
    assert [c.percent_off for c in by_percent] == [10, 11, 12]
    paged = client.coupons.list(metadata={"batch": tag}, page_size=2)
    assert paged.count == 3 and len(paged.list) == 2
    assert [c.id for c in paged.auto_paging_iter()] == [c.id for c in reversed(made)]
    assert client.coupons.list(name=f"list {tag}", valid=True).count == 3


def test_livemode_partitions_coupons_and_codes(client: PaymentKit, tag: str) -> None:
    made = client.coupons.create(
        name="test only", percent_off=5, duration="once", promotion_codes=[{"code": code_of(tag)}]
    )
    live = client.with_options(livemode=True)
    with pytest.raises(NotFoundError):
        live.coupons.retrieve(made.coupon.id)
    with pytest.raises(NotFoundError):
        live.promotion_codes.by_code(code_of(tag))
    with pytest.raises(BadRequestError, match="coupon_id: no coupon"):
        live.promotion_codes.create(coupon_id=made.coupon.id)
    assert made.coupon.id not in [c.id for c in live.coupons.list(page_size=100)]
    in_live = live.coupons.create(name="live", percent_off=5, duration="once", promotion_codes=[{"code": code_of(tag)}])
    assert in_live.coupon.livemode is True and in_live.promotion_codes[0].code == code_of(tag)  # unique per mode
    assert client.promotion_codes.by_code(code_of(tag)).id == made.promotion_codes[0].id
    live.coupons.delete(in_live.coupon.id)


async def test_async_client(aclient: AsyncPaymentKit, tag: str) -> None:
    made = await aclient.coupons.create(
        name=f"async {tag}", amount_off="2", duration="forever", promotion_codes=[{"code": code_of(tag)}]
    )
    assert made.coupon.amount_off == "2000000000000000000"
    found = await aclient.promotion_codes.by_code(code_of(tag))
    assert found.coupon.id == made.coupon.id
    page = await aclient.promotion_codes.list(coupon_id=made.coupon.id)
    assert [p.id async for p in page.auto_paging_iter()] == [found.id]
    assert (await aclient.coupons.used(made.coupon.id)).used is False
    assert (await aclient.coupons.redemptions(made.coupon.id)).count == 0
    assert (await aclient.promotion_codes.archive(found.id)).active is False
    assert (await aclient.coupons.delete(made.coupon.id)).id == made.coupon.id


def test_a_subscription_redemption_is_listed_with_its_discount(
    client: PaymentKit, server: tuple[str, str], tag: str, customer: Any
) -> None:
    product = client.products.create(name=f"plan {tag}", type="service")
    price = client.prices.create(
        product_id=product.id, unit_amount="1", recurring={"interval": "month", "interval_count": 1}
    )
    subscription = client.subscriptions.create(customer_id=customer.id, items=[{"price_id": price.id, "quantity": 1}])
    made = client.coupons.create(
        name="for plans", percent_off=10, duration="repeating", duration_in_months=2, promotion_codes=[{}]
    )
    code = made.promotion_codes[0].code
    body = {"code": code, "customer_id": customer.id, "subscription_id": subscription.id}
    assert sandbox_post(server, "/sandbox/promotion-codes/redeem", body).status_code == 200
    elsewhere = {**body, "subscription_id": "sub_missing"}
    response = sandbox_post(server, "/sandbox/promotion-codes/redeem", elsewhere)
    assert response.status_code == 400 and "subscription_id: no subscription" in response.json()["error"]

    page = client.coupons.redemptions(made.coupon.id, type="subscription")
    assert page.count == 1 and page.customers == []
    row = page.subscriptions[0]
    assert row.id == subscription.id and row.discount_info.coupon_info.id == made.coupon.id
    assert row.discount_info.promotion_code_info.code == code
    assert client.subscriptions.retrieve(subscription.id).discount_id == row.discount_info.discount_id
    assert client.promotion_codes.redemptions(made.promotion_codes[0].id, type="subscription").count == 1
