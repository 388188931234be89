"""The facade's behaviour around the wire: environments, errors, retries,
idempotency, timeouts, pagination, raw responses, secrets. No server:
answers come from respx, and retry sleeps are recorded instead of slept."""

from __future__ import annotations

import email.utils
import json
import logging
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from schema_examples import example_of

import payment_kit
import payment_kit_client.models as models
from payment_kit import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncPaymentKit,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    NoMorePagesError,
    NotFoundError,
    PaymentKit,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    format_credit_amount,
    get_currency_symbol,
    has_currency_symbol,
)
from payment_kit._environments import livemode_from_env
from payment_kit._transport import retry_delay

BASE = "http://127.0.0.1:9/payment"
SECRET = "sk_live_do_not_leak_4242"


@pytest.fixture
def client() -> Any:
    with PaymentKit(base_url=BASE, api_key=SECRET, livemode=False) as c:
        c._transport.sleeps = []
        c._transport.sleep = c._transport.sleeps.append
        c._transport.jitter = lambda: 0.0
        yield c


def customer_page(count: int, n: int) -> dict[str, Any]:
    return {"count": count, "list": [example_of("CustomerExpanded") for _ in range(n)]}


# -- environments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "live"),
    [
        ({}, True),
        ({"PAYMENT_LIVEMODE": "false"}, False),
        ({"PAYMENT_LIVEMODE": "true", "PAYMENT_TEST_MODE": "true"}, True),
        ({"PAYMENT_LIVE_MODE": "false"}, False),
        ({"PAYMENT_LIVE_MODE": "true", "PAYMENT_TEST_MODE": "true"}, True),
        ({"PAYMENT_TEST_MODE": "true"}, False),
        ({"PAYMENT_TEST_MODE": "false"}, True),
        ({"PAYMENT_LIVEMODE": "false", "PAYMENT_LIVE_MODE": "true"}, False),
    ],
)
def test_mode_from_the_environment_follows_node_precedence(env: dict[str, str], live: bool) -> None:
    assert livemode_from_env(env) is live


def test_default_client_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_KIT_BASE_URL", BASE)
    monkeypatch.setenv("PAYMENT_KIT_API_KEY", SECRET)
    monkeypatch.setenv("PAYMENT_TEST_MODE", "true")
    # A fresh one of what `payment_kit.payment` is (reloading the package would leave modules that
    # imported `payment` before holding the old object, which no later test could reconfigure).
    default = payment_kit.DefaultPaymentKit()
    assert default.base_url == BASE and default.environments.get_test_mode()
    with respx.mock() as router:
        route = router.get(f"{BASE}/api/customers").mock(return_value=httpx.Response(200, json=customer_page(0, 0)))
        default.customers.list()
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.url.params["livemode"] == "false"
    default.close()


def test_switching_mode_changes_livemode_on_the_wire(client: PaymentKit) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/api/customers").mock(return_value=httpx.Response(200, json=customer_page(0, 0)))
        client.customers.list()
        client.environments.set_live_mode(True)
        client.customers.list()
        client.environments.set_test_mode(True)
        client.customers.list()
        client.customers.list(livemode=True)
    assert [c.request.url.params["livemode"] for c in route.calls] == ["false", "true", "false", "true"]
    assert client.environments.get_test_mode() and not client.environments.get_live_mode()


def test_an_argument_left_out_is_not_none_and_is_never_sent(client: PaymentKit) -> None:
    assert payment_kit.NotGiven() is payment_kit.NOT_GIVEN  # one sentinel, however it is spelt
    assert not payment_kit.NOT_GIVEN and repr(payment_kit.NOT_GIVEN) == "NOT_GIVEN"
    with respx.mock() as router:
        route = router.get(f"{BASE}/api/customers").mock(return_value=httpx.Response(200, json=customer_page(0, 0)))
        client.customers.list(page=payment_kit.NOT_GIVEN, did=payment_kit.NOT_GIVEN)
    assert set(route.calls.last.request.url.params) == {"livemode"}


def test_a_body_livemode_follows_the_mode_too(client: PaymentKit) -> None:
    with respx.mock() as router:
        route = router.post(f"{BASE}/api/refunds/sync").mock(
            return_value=httpx.Response(200, json=example_of("RefundExpanded"))
        )
        client.refunds.sync(
            amount="1.5",
            destination="z1dest",
            contract="z1contract",
            chain_type="arcblock",
            chain_api_host="https://beta.abtnetwork.io/api/",
            customer_id="cus_1",
        )
    assert json.loads(route.calls.last.request.content)["livemode"] == 0


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_each_status_raises_its_error_class(client: PaymentKit, status: int, cls: type[APIStatusError]) -> None:
    client = client.with_options(max_retries=0)
    body = {"error": f"status {status} said no", "code": "NOPE"}
    with respx.mock() as router:
        router.get(f"{BASE}/api/prices/price_1").mock(return_value=httpx.Response(status, json=body))
        with pytest.raises(cls) as caught:
            client.prices.retrieve("price_1")
    error = caught.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.server_message == f"status {status} said no"
    assert error.code == "NOPE"
    assert error.body == body
    assert error.request.url.path == "/payment/api/prices/price_1"
    assert f"status {status} said no" in str(error) and "GET /payment/api/prices/price_1" in str(error)


def test_an_html_error_page_still_gives_a_readable_typed_error(client: PaymentKit) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    with respx.mock() as router:
        router.get(f"{BASE}/api/prices/price_1").mock(
            return_value=httpx.Response(502, text=page, headers={"content-type": "text/html"})
        )
        with pytest.raises(InternalServerError) as caught:
            client.with_options(max_retries=0).prices.retrieve("price_1")
    assert caught.value.status_code == 502
    assert "502 Bad Gateway" in str(caught.value) and "<" not in str(caught.value)
    assert caught.value.body == page


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>maintenance</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, json={"unexpected": True}),
        httpx.Response(200, text=""),
    ],
)
def test_a_malformed_success_is_a_validation_error_not_a_key_error(client: PaymentKit, answer: httpx.Response) -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/api/prices/price_1").mock(return_value=answer)
        with pytest.raises(APIResponseValidationError) as caught:
            client.prices.retrieve("price_1")
    assert caught.value.status_code == 200


def test_connection_and_timeout_errors_are_typed(client: PaymentKit) -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/api/prices/a").mock(side_effect=httpx.ConnectError("refused"))
        router.get(f"{BASE}/api/prices/b").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(APIConnectionError) as refused:
            client.prices.retrieve("a")
        with pytest.raises(APITimeoutError):
            client.prices.retrieve("b")
    assert not isinstance(refused.value, APITimeoutError)
    assert client._transport.sleeps == [0.5, 1.0, 0.5, 1.0]  # two retries each, backing off


def test_no_base_url_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYMENT_KIT_BASE_URL", raising=False)
    with PaymentKit(api_key="k") as c, pytest.raises(ConfigurationError, match="PAYMENT_KIT_BASE_URL"):
        c.prices.retrieve("price_1")


def test_bad_arguments_fail_before_sending(client: PaymentKit) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.route().mock(return_value=httpx.Response(200, json={}))
        with pytest.raises(ValueError, match="id must be a non-empty string"):
            client.prices.retrieve("")
        with pytest.raises(TypeError, match="unit_amount is money"):
            client.prices.create(product_id="prod_1", unit_amount=0.1)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"currency_options\[0\]\.currency_id is required"):
            client.prices.create(product_id="prod_1", unit_amount="1", currency_options=[{"unit_amount": "1"}])
    assert not route.called


def test_decimals_travel_as_exact_strings(client: PaymentKit) -> None:
    with respx.mock() as router:
        route = router.post(f"{BASE}/api/prices").mock(
            return_value=httpx.Response(200, json=example_of("PriceExpanded"))
        )
        client.prices.create(
            product_id="prod_1",
            unit_amount=Decimal("0.000000000000000001"),
            currency_options=[{"currency_id": "pc_1", "unit_amount": Decimal("12.50")}],
        )
    sent = json.loads(route.calls.last.request.content)
    assert sent["unit_amount"] == "0.000000000000000001"
    assert sent["currency_options"] == [{"currency_id": "pc_1", "unit_amount": "12.50"}]


# -- retries ----------------------------------------------------------------------------------


def test_retries_back_off_and_reuse_one_idempotency_key(client: PaymentKit) -> None:
    with respx.mock() as router:
        route = router.post(f"{BASE}/api/meter-events").mock(
            side_effect=[
                httpx.Response(503, json={"error": "busy"}),
                httpx.Response(500, json={"error": "still busy"}),
                httpx.Response(200, json=example_of("MeterEventExpanded")),
            ]
        )
        event = client.meter_events.create(
            event_name="api_calls", payload={"customer_id": "cus_1", "value": "1"}, identifier="evt-1"
        )
    assert isinstance(event, models.MeterEventExpanded)
    keys = {c.request.headers["idempotency-key"] for c in route.calls}
    assert route.call_count == 3 and len(keys) == 1
    assert client._transport.sleeps == [0.5, 1.0]


def test_retry_after_is_honoured(client: PaymentKit) -> None:
    later = email.utils.format_datetime(email.utils.localtime(), usegmt=True)
    with respx.mock() as router:
        router.get(f"{BASE}/api/invoices").mock(
            side_effect=[
                httpx.Response(429, headers={"retry-after": "3"}, json={"error": "slow down"}),
                httpx.Response(429, headers={"retry-after-ms": "250"}, json={"error": "slow down"}),
                httpx.Response(200, json={"count": 0, "list": []}),
            ]
        )
        client.invoices.list()
    assert client._transport.sleeps == [3.0, 0.25]
    assert 0 <= retry_delay(0, httpx.Response(429, headers={"retry-after": later}), lambda: 0.0) <= 1


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 504])
def test_retryable_statuses_are_retried_up_to_max_retries(client: PaymentKit, status: int) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/api/products/prod_1").mock(return_value=httpx.Response(status, json={"error": "x"}))
        with pytest.raises(APIStatusError):
            client.with_options(max_retries=3).products.retrieve("prod_1")
    assert route.call_count == 4
    assert client._transport.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_never_retried(client: PaymentKit, status: int) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/api/products/prod_1").mock(return_value=httpx.Response(status, json={"error": "x"}))
        with pytest.raises(APIStatusError):
            client.products.retrieve("prod_1")
    assert route.call_count == 1 and client._transport.sleeps == []


def test_backoff_is_exponential_capped_and_jittered() -> None:
    assert [retry_delay(n, None, lambda: 0.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert retry_delay(2, None, lambda: 1.0) == 1.5  # at most 25 % shorter


def test_an_explicit_idempotency_key_is_sent(client: PaymentKit) -> None:
    with respx.mock() as router:
        route = router.post(f"{BASE}/api/products").mock(
            return_value=httpx.Response(200, json=example_of("ProductExpanded"))
        )
        reads = router.get(f"{BASE}/api/products/prod_1").mock(
            return_value=httpx.Response(200, json=example_of("ProductExpanded"))
        )
        client.products.create(name="Pro", type="service", idempotency_key="order-42")
        client.products.retrieve("prod_1")
    assert route.calls.last.request.headers["idempotency-key"] == "order-42"
    assert "idempotency-key" not in reads.calls.last.request.headers  # reads never carry one


# -- timeouts, options, pools ----------------------------------------------------------------


def test_timeouts_have_a_default_and_can_change_per_call(client: PaymentKit) -> None:
    seen: list[dict[str, Any]] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"count": 0, "list": []})

    with respx.mock() as router:
        router.get(f"{BASE}/api/invoices").mock(side_effect=record)
        client.invoices.list()
        client.with_options(timeout=120).invoices.list()
    assert seen[0]["read"] == 30.0 and seen[0]["connect"] == 5.0
    assert seen[1]["read"] == 120.0


def test_one_pool_for_every_call_and_copies_share_it() -> None:
    with PaymentKit(base_url=BASE, api_key="k") as c, respx.mock() as router:
        router.get(f"{BASE}/api/invoices").mock(return_value=httpx.Response(200, json={"count": 0, "list": []}))
        c.invoices.list()
        pool = c._transport.http()
        c.invoices.list()
        copy = c.with_options(max_retries=0)
        copy.invoices.list()
        assert c._transport.http() is pool and copy._transport.http() is pool
    assert c._transport._http is None  # closed with the client


def test_closing_a_copy_leaves_the_shared_pool_open() -> None:
    with PaymentKit(base_url=BASE, api_key="k") as c, respx.mock() as router:
        router.get(f"{BASE}/api/invoices").mock(return_value=httpx.Response(200, json={"count": 0, "list": []}))
        pool = c._transport.http()
        with c.with_options(max_retries=0) as copy:
            copy.invoices.list()
        assert not pool.is_closed and c._transport._http is pool
        c.invoices.list()  # the parent still works
        assert copy.base_url == c.base_url and copy.max_retries == 0 and c.max_retries == 2
    assert pool.is_closed


async def test_closing_an_async_copy_leaves_the_shared_pool_open() -> None:
    async with AsyncPaymentKit(base_url=BASE, api_key="k") as c:
        pool = c._transport.http()
        async with c.with_options(timeout=5):
            pass
        assert not pool.is_closed
    assert pool.is_closed


def test_per_call_timeout_retries_and_headers(client: PaymentKit) -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) == 1 else 200, json=example_of("PriceExpanded"))

    with respx.mock() as router:
        router.get(f"{BASE}/api/prices/price_1").mock(side_effect=record)
        client.prices.retrieve("price_1", timeout=3, extra_headers={"X-Trace": "t-1"})
        assert seen[0].extensions["timeout"]["read"] == 3.0 and seen[0].headers["x-trace"] == "t-1"
        assert len(seen) == 2 and seen[1].headers["x-trace"] == "t-1"  # the retry carries them too
        seen.clear()
        with pytest.raises(InternalServerError):
            client.prices.retrieve("price_1", max_retries=0)
        assert len(seen) == 1
        seen.clear()
        client.prices.retrieve("price_1")
        assert "x-trace" not in seen[-1].headers and seen[-1].extensions["timeout"]["read"] == 30.0
    with pytest.raises(ValueError, match="max_retries"):
        client.prices.retrieve("price_1", max_retries=-1)


def test_next_page_after_the_last_is_a_documented_error(client: PaymentKit) -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/api/customers").mock(return_value=httpx.Response(200, json=customer_page(2, 2)))
        page = client.customers.list()
        assert not page.has_next_page()
        with pytest.raises(NoMorePagesError, match="last"):
            page.next_page()


def test_bring_your_own_http_client_and_auth() -> None:
    class HeaderAuth(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Any:
            request.headers["X-Component-Sig"] = "signed"
            yield request

    with respx.mock() as router:
        route = router.get(f"{BASE}/api/invoices").mock(return_value=httpx.Response(200, json={"count": 0, "list": []}))
        with httpx.Client(headers={"X-Team": "billing"}) as own:
            client = PaymentKit(base_url=BASE, http_client=own, auth=HeaderAuth(), default_headers={"X-App": "shop"})
            client.invoices.list()
            client.close()  # does not close a client it was given
            assert not own.is_closed
    request = route.calls.last.request
    assert request.headers["x-component-sig"] == "signed"
    assert request.headers["x-team"] == "billing" and request.headers["x-app"] == "shop"
    assert "authorization" not in request.headers


# -- pagination -------------------------------------------------------------------------------


def test_auto_paging_is_lazy_and_walks_every_page(client: PaymentKit) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/api/customers").mock(
            side_effect=[
                httpx.Response(200, json=customer_page(5, 2)),
                httpx.Response(200, json=customer_page(5, 2)),
                httpx.Response(200, json=customer_page(5, 1)),
            ]
        )
        first = client.customers.list(page_size=2)
        assert (first.count, len(first.list), route.call_count) == (5, 2, 1)
        walker = first.auto_paging_iter()
        next(walker), next(walker)
        assert route.call_count == 1  # the second page is fetched only when needed
        next(walker)
        assert route.call_count == 2
        rest = list(walker)
    assert len(rest) == 2 and route.call_count == 3
    assert [c.request.url.params.get("page") for c in route.calls] == [None, "2", "3"]
    assert all(c.request.url.params["pageSize"] == "2" for c in route.calls)


def test_without_a_page_size_the_server_default_is_kept_explicitly(client: PaymentKit) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/api/customers").mock(
            side_effect=[
                httpx.Response(200, json=customer_page(13, 10)),
                httpx.Response(200, json=customer_page(13, 3)),
            ]
        )
        rows = list(client.customers.list().auto_paging_iter())
    assert len(rows) == 13
    assert route.calls[1].request.url.params["pageSize"] == "10"


def test_plain_array_lists_are_one_page(client: PaymentKit) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/api/payment-methods").mock(
            return_value=httpx.Response(200, json=[example_of("PaymentMethodExpanded")] * 3)
        )
        page = client.payment_methods.list()
        assert page.count == 3 and not page.has_next_page() and len(list(page.auto_paging_iter())) == 3
    assert route.call_count == 1


async def test_async_auto_paging() -> None:
    async with AsyncPaymentKit(base_url=BASE, api_key="k") as client:
        with respx.mock() as router:
            route = router.get(f"{BASE}/api/customers").mock(
                side_effect=[
                    httpx.Response(200, json=customer_page(3, 2)),
                    httpx.Response(200, json=customer_page(3, 1)),
                ]
            )
            page = await client.customers.list(page_size=2)
            rows = [row async for row in page.auto_paging_iter()]
    assert len(rows) == 3 and route.call_count == 2


async def test_async_retries_use_the_async_sleep() -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    async with AsyncPaymentKit(base_url=BASE, api_key="k") as client:
        client._transport.sleep = fake_sleep
        client._transport.jitter = lambda: 0.0
        with respx.mock() as router:
            router.get(f"{BASE}/api/invoices").mock(
                side_effect=[
                    httpx.Response(502, text="bad gateway"),
                    httpx.Response(200, json={"count": 0, "list": []}),
                ]
            )
            await client.invoices.list()
    assert slept == [0.5]


# -- raw responses, logging, secrets -----------------------------------------------------------


def test_with_raw_response_gives_status_headers_and_parsed(client: PaymentKit) -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/api/prices/price_1").mock(
            return_value=httpx.Response(200, json=example_of("PriceExpanded"), headers={"x-request-id": "req-9"})
        )
        with client.with_raw_response() as raw:
            price = client.prices.retrieve("price_1")
    assert raw.status_code == 200 and raw.headers["x-request-id"] == "req-9"
    assert raw.parsed is price and raw.last.operation == "prices.retrieve"


def test_requests_are_logged_and_the_key_never_leaks(client: PaymentKit, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="payment_kit")
    with respx.mock() as router:
        router.get(f"{BASE}/api/prices/price_1").mock(
            side_effect=[httpx.Response(500, json={"error": "oops"}), httpx.Response(401, json={"error": "bad key"})]
        )
        with pytest.raises(AuthenticationError) as caught:
            client.prices.retrieve("price_1")
    lines = [r.getMessage() for r in caplog.records]
    assert any("GET /payment/api/prices/price_1 -> 500" in line and "retry 0" in line for line in lines)
    assert any("-> 401" in line and "retry 1" in line for line in lines)
    everything = "\n".join(lines) + str(caught.value) + repr(caught.value) + repr(client) + repr(client._options)
    assert SECRET not in everything


def test_credit_helpers_match_the_node_sdk() -> None:
    assert format_credit_amount("20", "USD") == "$20 credits"
    assert format_credit_amount("100", "minutes") == "100 minutes"
    assert format_credit_amount("50", "arcsphere credits") == "50 arcsphere credits"
    assert format_credit_amount("50", "custom", False) == "50"
    assert format_credit_amount("7") == "7"
    assert format_credit_amount("1,000.50", "EUR", show_unit=False) == "€1,000.50 credits"
    assert get_currency_symbol("USD") == "$" and get_currency_symbol("minutes") is None
    assert has_currency_symbol("NZD") and not has_currency_symbol("usd")


def test_the_query_is_written_as_httpx_would() -> None:
    from payment_kit._transport import encode_query

    params = {"livemode": False, "active": True, "status": "paid,open", "q": "a b&c/é", "ids": ["x", "y"], "n": 2}
    assert httpx.URL("http://h/p?" + encode_query(params)).params == httpx.URL("http://h/p", params=params).params
