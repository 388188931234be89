"""Products, prices, payment methods and currencies, through the facade, against the sandbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import payment_kit_client.models as m
from payment_kit import AsyncPaymentKit, BadRequestError, NotFoundError, PaymentKit


def test_seeded_methods_and_currencies_let_a_price_be_created_at_once(client: PaymentKit) -> None:
    methods = client.payment_methods.list()
    currencies = client.payment_currencies.list()
    assert methods.count >= 1 and currencies.count >= 1
    assert all(not pm.livemode for pm in methods)
    currency = currencies.list[0]
    assert client.payment_currencies.retrieve(currency.symbol).id == currency.id  # by symbol too
    method = client.payment_methods.retrieve(currency.payment_method_id)
    assert currency.id in [c.id for c in method.payment_currencies]


def seed_flow(client: PaymentKit, tag: str) -> tuple[m.ProductExpanded, m.PriceExpanded]:
    currency = client.payment_currencies.list().list[0]
    product = client.products.create(name=f"Test Product {tag}", description="Product description", type="service")
    price = client.prices.create(
        product_id=product.id,
        type="recurring",
        unit_amount="0.001",
        currency_id=currency.id,
        recurring={"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        quantity_available=10,
        quantity_limit_per_checkout=2,
        currency_options=[{"currency_id": currency.id, "unit_amount": "0.001"}],
        lookup_key=f"pro-{tag}",
        metadata={"tag": tag},
    )
    return product, price


def test_the_seed_readme_product_and_price(client: PaymentKit, tag: str) -> None:
    product, price = seed_flow(client, tag)
    assert price.unit_amount == "1000000000000000"  # 0.001 of an 18-decimal token, in units
    assert price.currency_options[0].unit_amount == "1000000000000000"
    assert price.recurring.interval == "month" and price.product.id == product.id
    assert client.prices.retrieve(f"pro-{tag}").id == price.id  # by lookup key
    again = client.products.retrieve(product.id)
    assert [p.id for p in again.prices] == [price.id] and again.default_price_id == price.id


def test_product_lifecycle_and_filters(client: PaymentKit, tag: str) -> None:
    made = [
        client.products.create(name=f"{tag} {i}", type="service", metadata={"batch": tag, "n": str(i)})
        for i in range(3)
    ]
    found = client.products.list(metadata={"batch": tag, "n": "1"})
    assert [p.id for p in found] == [made[1].id]
    ordered = client.products.list(metadata={"batch": tag}, order="created_at:ASC")
    assert [p.id for p in ordered] == [p.id for p in made] and ordered.count == 3
    paged = client.products.list(metadata={"batch": tag}, page_size=2)
    assert paged.count == 3 and len(paged.list) == 2
    assert [p.id for p in paged.auto_paging_iter()] == [p.id for p in reversed(made)]
    assert client.products.search(query=f"{tag} 2").list[0].id == made[2].id
    assert [p.id for p in client.products.list(name=f"{tag} 1".upper())] == [made[1].id]  # any case, any part
    assert client.products.list(metadata={"batch": tag}, description="no such words").count == 0

    updated = client.products.update(made[0].id, name=f"{tag} renamed", metadata={"batch": tag, "n": "0"})
    assert updated.name == f"{tag} renamed"
    archived = client.products.archive(made[0].id)
    assert archived.active is False
    assert [p.id for p in client.products.list(metadata={"batch": tag}, active=False)] == [made[0].id]
    with pytest.raises(BadRequestError, match="already archived"):
        client.products.archive(made[0].id)
    deleted = client.products.delete(made[2].id)
    assert deleted.id == made[2].id
    with pytest.raises(NotFoundError):
        client.products.retrieve(made[2].id)


def test_price_refusals_name_the_problem_and_change_nothing(client: PaymentKit, tag: str) -> None:
    product, price = seed_flow(client, tag)
    with pytest.raises(BadRequestError, match="product_id: no product 'prod_missing'"):
        client.prices.create(product_id="prod_missing", unit_amount="1")
    with pytest.raises(BadRequestError, match="currency_id"):
        client.prices.create(product_id=product.id, unit_amount="1", currency_id="pc_missing")
    with pytest.raises(BadRequestError, match="more than 18 decimal places"):
        client.prices.create(product_id=product.id, unit_amount="0.0000000000000000001")
    with pytest.raises(BadRequestError, match="lookup_key"):
        client.prices.create(product_id=product.id, unit_amount="1", lookup_key=f"pro-{tag}")
    with pytest.raises(BadRequestError, match="unit_amount"):
        client.prices.create(product_id=product.id, unit_amount="ten")
    with pytest.raises(BadRequestError, match="decrement"):
        client.prices.inventory(price.id, quantity=11, action="decrement")
    assert client.prices.retrieve(price.id).quantity_available == 10
    assert client.prices.inventory(price.id, quantity=5, action="increment").quantity_available == 15
    assert client.prices.list(product_id=product.id).count == 1


def test_exact_decimals_round_trip(client: PaymentKit, tag: str) -> None:
    product, _ = seed_flow(client, tag)
    price = client.prices.create(product_id=product.id, unit_amount=Decimal("123456789.123456789123456789"))
    assert price.unit_amount == "123456789123456789123456789"


def test_livemode_partitions_everything(client: PaymentKit, tag: str) -> None:
    product, _ = seed_flow(client, tag)
    live = client.with_options(livemode=True)
    with pytest.raises(NotFoundError):
        live.products.retrieve(product.id)
    with pytest.raises(NotFoundError):
        live.prices.retrieve(f"pro-{tag}")
    assert product.id not in [p.id for p in live.products.list(page_size=100)]
    assert all(c.livemode for c in live.payment_currencies.list())


def test_a_wrong_key_is_refused(server: tuple[str, str]) -> None:
    from payment_kit import AuthenticationError

    with (
        PaymentKit(base_url=server[0], api_key="sk_wrong", livemode=False) as wrong,
        pytest.raises(AuthenticationError, match="not valid"),
    ):
        wrong.products.list()
    with (
        PaymentKit(base_url=server[0], api_key="", livemode=False) as anonymous,
        pytest.raises(AuthenticationError, match="no Authorization header"),
    ):
        anonymous.products.list()


async def test_async_client_against_the_sandbox(aclient: AsyncPaymentKit, tag: str) -> None:
    product = await aclient.products.create(name=f"async {tag}", type="good", metadata={"tag": tag})
    page = await aclient.products.list(metadata={"tag": tag})
    rows: list[Any] = [p async for p in page.auto_paging_iter()]
    assert [p.id for p in rows] == [product.id]
    assert (await aclient.products.retrieve(product.id)).type_ == "good"


def test_recurring_support_is_checked_per_currency_and_an_unknown_one_refused(client: PaymentKit, tag: str) -> None:
    ids = [c.id for c in client.payment_currencies.list()]
    answer = client.payment_currencies.check_recurring_support(currency_ids=ids)
    assert answer.supported is True and list(answer.unsupported_currencies) == []
    with pytest.raises(BadRequestError, match=f"currency_ids: .*pc_missing{tag}"):
        client.payment_currencies.check_recurring_support(currency_ids=[*ids, f"pc_missing{tag}"])
