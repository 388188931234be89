"""Subscriptions, subscription items and usage records through the facade,
against the sandbox, with its clock standing in for time passing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import payment_kit_client.models as m
from payment_kit import AsyncPaymentKit, BadRequestError, NotFoundError, PaymentKit

pytestmark = pytest.mark.sandbox_only  # uses /sandbox/ routes or loopback receivers

UNIT = 10**15  # 0.001 of an 18-decimal token, in units
DAY = 86400
MONTHLY = {"interval": "month", "interval_count": 1, "usage_type": "licensed"}


class Clock:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def now(self) -> int:
        return int(self.http.get("/sandbox/health").json()["now"])

    def advance(self, seconds: int) -> dict[str, Any]:
        answer = self.http.post("/sandbox/clock/advance", json={"seconds": seconds}, params={"livemode": "false"})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def clock(server: tuple[str, str]) -> Iterator[Clock]:
    base_url, key = server
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as http:
        yield Clock(http)


def a_price(client: PaymentKit, tag: str, amount: str = "0.001", **recurring: Any) -> m.PriceExpanded:
    product = client.products.create(name=f"Plan {tag}", type="service")
    return client.prices.create(
        product_id=product.id, unit_amount=amount, type="recurring", recurring={**MONTHLY, **recurring}
    )


def a_metered_price(client: PaymentKit, tag: str, aggregate_usage: str = "sum") -> m.PriceExpanded:
    return a_price(client, tag, usage_type="metered", aggregate_usage=aggregate_usage)


def method_of(client: PaymentKit, currency_id: str) -> str:
    return str(client.payment_currencies.retrieve(currency_id).payment_method_id)


def subscribe(
    client: PaymentKit, customer: Any, price: m.PriceExpanded, quantity: int = 1, *, pay: bool = True, **fields: Any
) -> m.SubscriptionExpanded:
    if pay:
        fields.setdefault("default_payment_method_id", method_of(client, price.currency_id))
    return client.subscriptions.create(
        customer_id=customer.id, items=[{"price_id": price.id, "quantity": quantity}], **fields
    )


# -- create and retrieve ----------------------------------------------------------------------------


def test_a_subscription_starts_active_with_its_first_period_paid(
    client: PaymentKit, customer: Any, clock: Clock, tag: str
) -> None:
    price = a_price(client, tag)
    before = clock.now()
    sub = subscribe(client, customer, price, 2, description=f"Pro {tag}", metadata={"tag": tag})
    assert sub.id.startswith("sub_") and sub.livemode is False and sub.object_ == "subscription"
    assert (sub.status, sub.customer_id, sub.currency_id) == ("active", customer.id, price.currency_id)
    assert sub.customer.id == customer.id and sub.payment_currency.id == price.currency_id
    assert sub.payment_method.id == sub.default_payment_method_id and sub.service_type == "standard"
    assert before <= sub.start_date == sub.current_period_start <= clock.now()
    assert 28 * DAY <= sub.current_period_end - sub.current_period_start <= 31 * DAY
    assert sub.pending_invoice_item_interval.interval == "month" and sub.cancel_at_period_end is False
    [item] = sub.items
    assert item.id.startswith("si_") and item.quantity == 2 and item.price.id == price.id
    assert item.object_ == "subscription" and item.price.product.name == f"Plan {tag}"

    invoice = client.invoices.retrieve(sub.latest_invoice_id)
    assert (invoice.status, invoice.billing_reason, invoice.subscription_id) == ("paid", "subscription_create", sub.id)
    assert invoice.total == invoice.amount_paid == str(2 * UNIT)
    assert (invoice.period_start, invoice.period_end) == (sub.current_period_start, sub.current_period_end)
    assert client.prices.retrieve(price.id).locked is True  # billed now: its amount may not change

    again = client.subscriptions.retrieve(sub.id)
    assert again.to_dict() == sub.to_dict()
    assert client.subscriptions.overdue_invoices(sub.id).invoices == []


def test_create_refusals_name_the_field_and_create_nothing(client: PaymentKit, customer: Any, tag: str) -> None:
    monthly = a_price(client, tag)
    yearly = a_price(client, tag, interval="year")
    product = client.products.create(name=f"One-off {tag}", type="good")
    one_time = client.prices.create(product_id=product.id, unit_amount="1")
    archived = a_price(client, tag)
    client.prices.archive(archived.id)
    other_currency = client.payment_currencies.create(
        name=f"Other {tag}",
        symbol=f"O{tag[:7]}",
        description="other",
        contract="z35n6UoHSi9MED4uaQy6ozFgKPaZj2UKrurBG",
        payment_method_id=method_of(client, monthly.currency_id),
    )

    def items(*prices: Any) -> list[dict[str, Any]]:
        return [{"price_id": getattr(p, "id", p)} for p in prices]

    cases: list[tuple[dict[str, Any], str]] = [
        ({"customer_id": "cus_missing", "items": items(monthly)}, "customer_id: no customer 'cus_missing'"),
        ({"items": items("price_missing")}, r"items\[0\]\.price_id: no price 'price_missing'"),
        ({"items": items(monthly, one_time)}, r"items\[1\]\.price_id: price \S+ is not recurring"),
        ({"items": items(archived)}, r"items\[0\]\.price_id: price \S+ is archived"),
        ({"items": items(monthly, yearly)}, r"items\[1\]\.price_id: price \S+ bills every 1 year, but the subscr"),
        ({"items": items(monthly, monthly)}, r"items\[1\]\.price_id: price \S+ is listed twice"),
        ({"items": items(monthly), "currency_id": "pc_missing"}, "currency_id: no payment currency 'pc_missing'"),
        ({"items": items(monthly), "currency_id": other_currency.id}, r"has no amount in currency"),
        ({"items": items(monthly), "default_payment_method_id": "pm_missing"}, "default_payment_method_id: no"),
        ({"items": items(monthly), "trial_end": 1000}, "trial_end: 1000 is not in the future"),
        ({"items": []}, "items"),
    ]
    for body, message in cases:
        with pytest.raises(BadRequestError, match=message):
            client.subscriptions.create(**{"customer_id": customer.id, **body})
    assert client.subscriptions.list(customer_id=customer.id).count == 0
    assert client.prices.retrieve(monthly.id).locked is False


def test_a_subscription_without_a_payment_method_is_not_charged(
    client: PaymentKit, customer: Any, clock: Clock, tag: str
) -> None:
    price = a_price(client, tag)
    sub = subscribe(client, customer, price, 3, pay=False)
    assert sub.status == "active" and sub.default_payment_method_id is None and sub.payment_method is None
    first = client.invoices.retrieve(sub.latest_invoice_id)
    assert (first.status, first.amount_remaining) == ("open", str(3 * UNIT))
    overdue = client.subscriptions.overdue_invoices(sub.id)
    assert overdue.subscription.id == sub.id and [i.id for i in overdue.invoices] == [first.id]
    assert overdue.summary[price.currency_id].amount == str(3 * UNIT)

    clock.advance(32 * DAY)
    renewed = client.subscriptions.retrieve(sub.id)
    assert renewed.status == "past_due" and renewed.current_period_start == sub.current_period_end
    overdue = client.subscriptions.overdue_invoices(sub.id)
    assert len(overdue.invoices) == 2 and overdue.summary[price.currency_id].amount == str(6 * UNIT)
    assert client.subscriptions.list(status="past_due", customer_id=customer.id).count == 1


def test_send_invoice_subscriptions_get_due_dates(client: PaymentKit, customer: Any, clock: Clock, tag: str) -> None:
    sub = subscribe(client, customer, a_price(client, tag), collection_method="send_invoice", days_until_due=7)
    invoice = client.invoices.retrieve(sub.latest_invoice_id)
    assert invoice.status == "open" and invoice.collection_method == "send_invoice"
    assert invoice.due_date is not None and invoice.due_date >= clock.now() + 7 * DAY - 5
    assert client.subscriptions.overdue_invoices(sub.id).invoices == []  # not due yet


# -- time passing ---------------------------------------------------------------------------------


def test_the_clock_renews_and_charges_each_period(client: PaymentKit, customer: Any, clock: Clock, tag: str) -> None:
    sub = subscribe(client, customer, a_price(client, tag, "0.002"))
    summary = clock.advance(32 * DAY)
    assert summary["subscriptions_renewed"] >= 1
    renewed = client.subscriptions.retrieve(sub.id)
    assert renewed.status == "active"
    assert renewed.current_period_start == sub.current_period_end > renewed.current_period_end - 32 * DAY
    invoice = client.invoices.retrieve(renewed.latest_invoice_id)
    assert invoice.id != sub.latest_invoice_id
    assert (invoice.status, invoice.billing_reason, invoice.total) == ("paid", "subscription_cycle", str(2 * UNIT))
    assert (invoice.period_start, invoice.period_end) == (renewed.current_period_start, renewed.current_period_end)
    assert client.invoices.list(subscription_id=sub.id).count == 2


def test_a_trial_ends_into_a_paid_period(client: PaymentKit, customer: Any, clock: Clock, tag: str) -> None:
    price = a_price(client, tag)
    sub = subscribe(client, customer, price, trial_period_days=7)
    assert sub.status == "trialing" and sub.latest_invoice_id is None
    assert sub.trial_end == sub.current_period_end == sub.trial_start + 7 * DAY
    assert client.subscriptions.list(customer_id=customer.id, status="trialing").count == 1

    assert clock.advance(8 * DAY)["trials_ended"] >= 1
    after = client.subscriptions.retrieve(sub.id)
    assert after.status == "active" and after.current_period_start == sub.trial_end
    invoice = client.invoices.retrieve(after.latest_invoice_id)
    assert (invoice.status, invoice.billing_reason, invoice.total) == ("paid", "subscription_cycle", str(UNIT))

    explicit = subscribe(client, customer, price, trial_end=clock.now() + 3600)
    assert explicit.status == "trialing" and explicit.trial_end == explicit.current_period_end


# -- cancel, recover, pause, resume ---------------------------------------------------------------


def test_cancel_at_period_end_then_recover_then_let_it_end(
    client: PaymentKit, customer: Any, clock: Clock, tag: str
) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    with pytest.raises(BadRequestError, match="is not scheduled to cancel"):
        client.subscriptions.recover(sub.id)

    scheduled = client.subscriptions.cancel(sub.id, at="current_period_end", feedback="too_expensive", comment="meh")
    assert scheduled.status == "active" and scheduled.cancel_at_period_end is True
    assert scheduled.cancel_at == sub.current_period_end and scheduled.canceled_at is None
    details = scheduled.cancelation_details
    assert (details.feedback, details.comment, details.reason) == ("too_expensive", "meh", "cancellation_requested")
    with pytest.raises(BadRequestError, match="already scheduled to cancel"):
        client.subscriptions.cancel(sub.id, at="current_period_end")

    recovered = client.subscriptions.recover(sub.id)
    assert recovered.cancel_at_period_end is False and recovered.cancel_at is None
    assert recovered.cancelation_details is None

    client.subscriptions.cancel(sub.id)  # at=current_period_end is the default
    assert clock.advance(32 * DAY)["subscriptions_canceled"] >= 1
    ended = client.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.canceled_at == ended.ended_at == sub.current_period_end
    assert client.invoices.list(subscription_id=sub.id).count == 1  # not renewed
    with pytest.raises(BadRequestError, match="is canceled: an ended subscription cannot be recovered"):
        client.subscriptions.recover(sub.id)


def test_cancel_now_and_the_refusals_that_follow(client: PaymentKit, customer: Any, clock: Clock, tag: str) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    with pytest.raises(BadRequestError, match="time: at=custom needs the time"):
        client.subscriptions.cancel(sub.id, at="custom")
    with pytest.raises(BadRequestError, match="is not in the future"):
        client.subscriptions.cancel(sub.id, at="custom", time=1000)
    with pytest.raises(BadRequestError, match="neither Unix seconds nor an ISO-8601 date"):
        client.subscriptions.cancel(sub.id, at="custom", time="next tuesday")
    assert client.subscriptions.retrieve(sub.id).cancel_at is None  # refusals changed nothing

    canceled = client.subscriptions.cancel(
        sub.id, at="now", reason="payment_disputed", feedback="something else", refund="last", cancel_from="customer"
    )
    assert canceled.status == "canceled" and canceled.canceled_at == canceled.ended_at
    assert clock.now() - 5 <= canceled.canceled_at <= clock.now()
    details = canceled.cancelation_details
    assert (details.reason, details.feedback, details.refund, details.requested_by) == (
        "payment_disputed",
        "something else",  # free text is kept, as PaymentKit keeps it
        "last",
        "customer",
    )
    [refund] = client.refunds.list(subscription_id=sub.id).list
    assert (refund.amount, refund.status, refund.reason) == (str(UNIT), "succeeded", "requested_by_customer")

    for call in (
        lambda: client.subscriptions.cancel(sub.id, at="now"),
        lambda: client.subscriptions.pause(sub.id),
        lambda: client.subscriptions.update(sub.id, collection_method="send_invoice"),
    ):
        with pytest.raises(BadRequestError, match=f"Subscription {sub.id} is canceled"):
            call()
    with pytest.raises(BadRequestError, match="is not paused"):
        client.subscriptions.resume(sub.id)
    assert client.subscriptions.update(sub.id, description="gone").description == "gone"


def test_cancel_at_a_custom_time_and_with_a_prorated_refund(
    client: PaymentKit, customer: Any, clock: Clock, tag: str
) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    when = clock.now() + 10 * DAY
    scheduled = client.subscriptions.cancel(sub.id, at="custom", time=str(when))
    assert scheduled.cancel_at == when and scheduled.cancel_at_period_end is False and scheduled.status == "active"
    clock.advance(11 * DAY)
    assert client.subscriptions.retrieve(sub.id).canceled_at == when

    other = subscribe(client, customer, a_price(client, tag))
    clock.advance(15 * DAY)  # about half the month is used
    client.subscriptions.cancel(other.id, at="now", refund="proration")
    [refund] = client.refunds.list(subscription_id=other.id).list
    assert UNIT // 3 < int(refund.amount) < UNIT * 2 // 3 and refund.reason == "requested_by_admin"


def test_pause_and_resume(client: PaymentKit, customer: Any, clock: Clock, tag: str) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    with pytest.raises(BadRequestError, match=f"Subscription {sub.id} is not paused \\(it is active\\)"):
        client.subscriptions.resume(sub.id)
    paused = client.subscriptions.pause(sub.id)
    assert paused.status == "paused" and paused.pause_collection.behavior == "keep_as_draft"
    assert paused.pause_collection.resumes_at == 0
    with pytest.raises(BadRequestError, match="is already paused"):
        client.subscriptions.pause(sub.id)
    assert client.subscriptions.resume(sub.id).status == "active"

    with pytest.raises(BadRequestError, match="resumes_at: 1000 is not in the future"):
        client.subscriptions.pause(sub.id, resumes_at=1000)
    client.subscriptions.pause(sub.id, behavior="void", resumes_at=clock.now() + 3600)
    assert clock.advance(7200)["subscriptions_resumed"] >= 1
    back = client.subscriptions.retrieve(sub.id)
    assert back.status == "active" and back.pause_collection is None


def test_a_period_that_lapsed_while_paused_restarts_at_resume(
    client: PaymentKit, customer: Any, clock: Clock, tag: str
) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    client.subscriptions.pause(sub.id)
    clock.advance(40 * DAY)
    assert client.subscriptions.retrieve(sub.id).current_period_end == sub.current_period_end  # frozen
    resumed = client.subscriptions.resume(sub.id)
    now = clock.now()
    assert resumed.status == "active" and now - 5 <= resumed.current_period_start <= now
    assert resumed.current_period_end > now + 27 * DAY
    assert client.invoices.list(subscription_id=sub.id).count == 2  # the new period, not the missed one


def test_return_stake_is_refused_without_stakes(client: PaymentKit, customer: Any, tag: str) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    with pytest.raises(BadRequestError, match="is still active: a stake is returned only once it has ended"):
        client.subscriptions.return_stake(sub.id)
    client.subscriptions.cancel(sub.id, at="now")
    with pytest.raises(BadRequestError, match="has no stake to return"):
        client.subscriptions.return_stake(sub.id)


# -- update, delete, lists --------------------------------------------------------------------------


def test_update_changes_settings_and_refuses_unknown_references(client: PaymentKit, customer: Any, tag: str) -> None:
    sub = subscribe(client, customer, a_price(client, tag), metadata={"a": "1", "b": "2"})
    updated = client.subscriptions.update(
        sub.id, description="Team", metadata={"b": "3", "a": None}, days_until_due=5, proration_behavior="none"
    )
    assert updated.description == "Team" and updated.metadata.to_dict() == {"b": "3"}
    assert updated.days_until_due == 5 and updated.proration_behavior == "none"
    with pytest.raises(BadRequestError, match="default_payment_method_id: no payment method 'pm_missing'"):
        client.subscriptions.update(sub.id, default_payment_method_id="pm_missing")
    with pytest.raises(NotFoundError, match="Subscription not found: sub_missing"):
        client.subscriptions.update("sub_missing", description="x")


def test_delete_only_an_ended_subscription(client: PaymentKit, customer: Any, tag: str) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    with pytest.raises(BadRequestError, match="is active: cancel it"):
        client.subscriptions.delete(sub.id)
    client.subscriptions.cancel(sub.id, at="now")
    deleted = client.subscriptions.delete(sub.id)
    assert deleted.id == sub.id and deleted.status == "canceled"
    with pytest.raises(NotFoundError):
        client.subscriptions.retrieve(sub.id)
    with pytest.raises(NotFoundError, match="Subscription item not found"):
        client.subscription_items.retrieve(sub.items[0].id)


def test_list_filters_order_pages_and_search(client: PaymentKit, customer: Any, tag: str) -> None:
    price = a_price(client, tag)
    made = [subscribe(client, customer, price, description=f"{tag} #{i}", metadata={"batch": tag}) for i in range(3)]
    client.subscriptions.cancel(made[2].id, at="now")
    client.subscriptions.pause(made[0].id)

    mine = client.subscriptions.list(customer_id=customer.id)
    assert mine.count == 3 and [s.id for s in mine] == [s.id for s in reversed(made)]  # newest first
    assert [s.id for s in client.subscriptions.list(customer_id=customer.id, order="created_at:ASC")] == [
        s.id for s in made
    ]
    first = client.subscriptions.list(customer_id=customer.id, active_first=True)
    assert first.list[0].id == made[1].id and first.list[0].status == "active"
    assert {s.id for s in client.subscriptions.list(customer_id=customer.id, status="paused,canceled")} == {
        made[0].id,
        made[2].id,
    }
    assert [s.id for s in client.subscriptions.list(customer_did=customer.did, status="active")] == [made[1].id]
    assert client.subscriptions.list(customer_did="did:abt:znobody").count == 0
    assert client.subscriptions.list(metadata={"batch": tag}).count == 3
    assert client.subscriptions.list(metadata={"batch": "other"}).count == 0
    page = client.subscriptions.list(customer_id=customer.id, page_size=2, page=2)
    assert page.count == 3 and [s.id for s in page] == [made[0].id]
    assert [s.id for s in client.subscriptions.list(customer_id=customer.id, page_size=1).auto_paging_iter()] == [
        s.id for s in reversed(made)
    ]
    with pytest.raises(BadRequestError, match="order: cannot sort by 'customer_id'"):
        client.subscriptions.list(order="customer_id:ASC")
    with pytest.raises(BadRequestError, match="status"):
        client.subscriptions.list(status="active,sleeping")

    assert [s.id for s in client.subscriptions.search(query=f"{tag} #1")] == [made[1].id]
    assert client.subscriptions.search(query=customer.did).count == 3  # the customer's fields too


def test_livemode_partitions_subscriptions(client: PaymentKit, customer: Any, tag: str) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    live = client.with_options(livemode=True)
    with pytest.raises(NotFoundError):
        live.subscriptions.retrieve(sub.id)
    with pytest.raises(NotFoundError):
        live.subscription_items.retrieve(sub.items[0].id)
    assert sub.id not in [s.id for s in live.subscriptions.list(page_size=100)]
    assert live.subscription_items.list(subscription_id=sub.id).count == 0
    with pytest.raises(BadRequestError, match="customer_id: no customer"):
        live.subscriptions.create(customer_id=customer.id, items=[{"price_id": sub.items[0].price_id}])


# -- subscription items -----------------------------------------------------------------------------


def test_items_are_added_changed_listed_and_removed(client: PaymentKit, customer: Any, tag: str) -> None:
    base = a_price(client, tag)
    sub = subscribe(client, customer, base)
    extra = a_price(client, tag, "0.005")
    item = client.subscription_items.create(subscription_id=sub.id, price_id=extra.id, quantity=2, metadata={"s": "x"})
    assert item.id.startswith("si_") and (item.subscription_id, item.price_id, item.quantity) == (sub.id, extra.id, 2)

    got = client.subscription_items.retrieve(item.id)
    assert got.object_ == "subscription" and got.price.id == extra.id and got.price.unit_amount == str(5 * UNIT)
    assert len(client.subscriptions.retrieve(sub.id).items) == 2

    changed = client.subscription_items.update(
        item.id, quantity=4, metadata={"t": "y"}, billing_thresholds={"usage_gte": 10}
    )
    assert changed.quantity == 4 and changed.metadata.to_dict() == {"s": "x", "t": "y"}
    assert changed.billing_thresholds.usage_gte == 10

    listed = client.subscription_items.list(subscription_id=sub.id, order="created_at:ASC")
    assert listed.count == 2 and [i.id for i in listed] == [sub.items[0].id, item.id]
    assert [i.price.id for i in listed] == [base.id, extra.id]
    assert client.subscription_items.list(subscription_id=sub.id, page_size=1).count == 2

    removed = client.subscription_items.delete(item.id)
    assert removed.id == item.id
    with pytest.raises(NotFoundError, match="Subscription item not found"):
        client.subscription_items.retrieve(item.id)
    with pytest.raises(BadRequestError, match="is the last item of subscription"):
        client.subscription_items.delete(sub.items[0].id)
    assert client.subscription_items.retrieve(sub.items[0].id).id == sub.items[0].id


def test_item_refusals_name_the_problem(client: PaymentKit, customer: Any, tag: str) -> None:
    base = a_price(client, tag)
    sub = subscribe(client, customer, base)
    yearly = a_price(client, tag, interval="year")
    with pytest.raises(BadRequestError, match="subscription_id: no subscription 'sub_missing'"):
        client.subscription_items.create(subscription_id="sub_missing", price_id=base.id)
    with pytest.raises(BadRequestError, match="price_id: no price 'price_missing'"):
        client.subscription_items.create(subscription_id=sub.id, price_id="price_missing")
    with pytest.raises(
        BadRequestError, match=r"price_id: price \S+ bills every 1 year, but the subscription bills every"
    ):
        client.subscription_items.create(subscription_id=sub.id, price_id=yearly.id)
    with pytest.raises(BadRequestError, match=r"already has item \S+ for price \S+; change that item's quantity"):
        client.subscription_items.create(subscription_id=sub.id, price_id=base.id)
    with pytest.raises(BadRequestError, match=r"price_id: price \S+ bills every 1 year"):
        client.subscription_items.update(sub.items[0].id, price_id=yearly.id)
    with pytest.raises(NotFoundError, match="Subscription item not found: si_missing"):
        client.subscription_items.update("si_missing", quantity=1)
    with pytest.raises(NotFoundError):
        client.subscription_items.delete("si_missing")
    client.subscriptions.cancel(sub.id, at="now")
    with pytest.raises(BadRequestError, match="is canceled: items cannot be added"):
        client.subscription_items.create(subscription_id=sub.id, price_id=yearly.id)
    with pytest.raises(BadRequestError, match="is canceled: its items cannot change"):
        client.subscription_items.update(sub.items[0].id, quantity=3)
    assert client.subscription_items.list(subscription_id=sub.id).count == 1


# -- usage records ----------------------------------------------------------------------------------


def test_usage_increments_and_sets_per_timestamp_and_is_summarised(
    client: PaymentKit, customer: Any, clock: Clock, tag: str
) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    metered = client.subscription_items.create(subscription_id=sub.id, price_id=a_metered_price(client, tag).id)
    t0 = clock.now()
    record = client.subscription_items.create_usage_record(subscription_item_id=metered.id, quantity=3, timestamp=t0)
    assert record.id.startswith("ur_") and (record.quantity, record.timestamp, record.billed) == (3, t0, False)
    again = client.subscription_items.create_usage_record(
        subscription_item_id=metered.id, quantity=2, timestamp=t0, action="increment"
    )
    assert again.id == record.id and again.quantity == 5
    assert (
        client.subscription_items.create_usage_record(
            subscription_item_id=metered.id, quantity=4, timestamp=t0, action="set"
        ).quantity
        == 4
    )
    client.subscription_items.create_usage_record(subscription_item_id=metered.id, quantity=1.5, timestamp=t0 + 1)
    clock.advance(10)
    now_record = client.subscription_items.create_usage_record(subscription_item_id=metered.id, quantity=1)
    assert clock.now() - 5 <= now_record.timestamp <= clock.now()  # the time of the call by default

    records = client.subscription_items.list_usage_records(subscription_item_id=metered.id, order="timestamp:ASC")
    assert records.count == 3 and [r.quantity for r in records] == [4, 1.5, 1]
    [current] = client.subscription_items.list_usage_record_summaries(subscription_item_id=metered.id).list
    assert current.object_ == "usage_record_summary" and current.invoice_id is None and current.total_usage == 6.5
    assert (current.period.start, current.period.end) == (sub.current_period_start, sub.current_period_end)

    clock.advance(32 * DAY)
    renewal = client.invoices.retrieve(client.subscriptions.retrieve(sub.id).latest_invoice_id)
    # 6.5 units of usage at 0.001 plus the next period of the licensed item at 0.001.
    assert renewal.total == str(int(6.5 * UNIT) + UNIT) and renewal.status == "paid"
    summaries = client.subscription_items.list_usage_record_summaries(subscription_item_id=metered.id)
    assert summaries.count == 2
    newest, billed = summaries.list
    assert (billed.invoice_id, billed.total_usage, billed.period.start) == (renewal.id, 6.5, sub.current_period_start)
    assert (newest.invoice_id, newest.total_usage, newest.period.start) == (None, 0, sub.current_period_end)
    assert all(r.billed for r in client.subscription_items.list_usage_records(subscription_item_id=metered.id))


@pytest.mark.parametrize(("aggregate", "expected"), [("max", 7), ("last_during_period", 2), ("last_ever", 2)])
def test_usage_aggregates_per_the_price(
    client: PaymentKit, customer: Any, clock: Clock, tag: str, aggregate: str, expected: int
) -> None:
    sub = subscribe(client, customer, a_metered_price(client, tag, aggregate))
    assert sub.latest_invoice_id is not None  # metered usage is billed at the end of the period
    assert client.invoices.retrieve(sub.latest_invoice_id).total == "0"
    item = sub.items[0].id
    t0 = clock.now()
    for offset, quantity in ((0, 3), (2, 2), (1, 7)):
        client.subscription_items.create_usage_record(
            subscription_item_id=item, quantity=quantity, timestamp=t0 + offset
        )
    [summary] = client.subscription_items.list_usage_record_summaries(subscription_item_id=item).list
    assert summary.total_usage == expected


def test_usage_refusals(client: PaymentKit, customer: Any, clock: Clock, tag: str) -> None:
    sub = subscribe(client, customer, a_price(client, tag))
    licensed = sub.items[0].id
    with pytest.raises(BadRequestError, match="subscription_item_id: no subscription item 'si_missing'"):
        client.subscription_items.create_usage_record(subscription_item_id="si_missing", quantity=1)
    with pytest.raises(BadRequestError, match="which is not metered"):
        client.subscription_items.create_usage_record(subscription_item_id=licensed, quantity=1)
    metered = client.subscription_items.create(subscription_id=sub.id, price_id=a_metered_price(client, tag).id)
    with pytest.raises(BadRequestError, match="timestamp: 1000 is outside the current billing period"):
        client.subscription_items.create_usage_record(subscription_item_id=metered.id, quantity=1, timestamp=1000)
    with pytest.raises(BadRequestError, match="quantity"):
        client.subscription_items.create_usage_record(subscription_item_id=metered.id, quantity=-1)
    assert client.subscription_items.list_usage_records(subscription_item_id=metered.id).count == 0
    assert client.subscription_items.list_usage_records(subscription_item_id="si_missing").count == 0
    assert client.subscription_items.list_usage_record_summaries(subscription_item_id="si_missing").count == 0
    client.subscriptions.cancel(sub.id, at="now")
    with pytest.raises(BadRequestError, match="is canceled: it takes no more usage"):
        client.subscription_items.create_usage_record(subscription_item_id=metered.id, quantity=1)


def test_canceling_bills_the_usage_of_the_unfinished_period(
    client: PaymentKit, customer: Any, clock: Clock, tag: str
) -> None:
    sub = subscribe(client, customer, a_metered_price(client, tag))
    client.subscription_items.create_usage_record(subscription_item_id=sub.items[0].id, quantity=4)
    clock.advance(60)
    client.subscriptions.cancel(sub.id, at="now")
    final = client.invoices.retrieve(client.subscriptions.retrieve(sub.id).latest_invoice_id)
    assert (final.billing_reason, final.total, final.status) == ("subscription_cancel", str(4 * UNIT), "paid")


# -- async ------------------------------------------------------------------------------------------


async def test_async_client_subscribes_lists_and_cancels(
    aclient: AsyncPaymentKit, client: PaymentKit, customer: Any, tag: str
) -> None:
    price = a_price(client, tag)
    sub = await aclient.subscriptions.create(
        customer_id=customer.id, items=[{"price_id": price.id}], metadata={"tag": tag}
    )
    assert sub.status == "active" and sub.items[0].quantity == 1
    page = await aclient.subscriptions.list(metadata={"tag": tag})
    assert [s.id async for s in page.auto_paging_iter()] == [sub.id]
    items = await aclient.subscription_items.list(subscription_id=sub.id)
    assert [i.id for i in items] == [sub.items[0].id]
    assert (await aclient.subscriptions.cancel(sub.id, at="now")).status == "canceled"
    with pytest.raises(BadRequestError, match="cannot be canceled again"):
        await aclient.subscriptions.cancel(sub.id, at="now")
