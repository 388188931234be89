"""payment_kit.testing: the sandbox inside an application's own tests. A fresh sandbox per test
(isolation), the default client switched to it and back, sync and async clients, signed deliveries
into ASGI and WSGI applications that verify them, a failing handler and its retry, the clock, and
the `sandbox` extra's error. Everything runs in this process: no port, no server thread."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import payment_kit
from payment_kit import AsyncPaymentKit, PaymentKit, SignatureVerificationError, payment, webhooks
from payment_kit._transport import IN_PROCESS
from payment_kit.testing import Sandbox
from payment_kit_sandbox.engine import webhooks as sandbox_webhooks

ROOT = Path(__file__).resolve().parent.parent


class Receiver:
    """What a webhook receiver saw, shared by the ASGI and the WSGI app below."""

    def __init__(self) -> None:
        self.secret = ""
        self.events: list[webhooks.Event] = []
        self.refused = 0
        self.fail_with: Exception | None = None
        self.on_event: Callable[[webhooks.Event], None] | None = None

    def receive(self, body: bytes, headers: Any) -> tuple[int, dict[str, Any]]:
        try:
            event = webhooks.construct_event(body, headers, self.secret)
        except SignatureVerificationError as exc:
            self.refused += 1
            return 400, {"error": exc.reason}
        if self.fail_with is not None:
            raise self.fail_with
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        return 200, {"received": event.id}

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]


def asgi_app(receiver: Receiver) -> Starlette:
    """A Starlette receiver, answering in an `async def` handler (so a handler that calls the sync
    SDK does it on the running loop, as careless production code does), at two paths."""

    async def hook(request: Request) -> Response:
        status, answer = receiver.receive(await request.body(), request.headers)
        return JSONResponse(answer, status_code=status)

    paths = ("/webhooks", "/hooks/payment-kit")
    return Starlette(routes=[Route(path, hook, methods=["POST"]) for path in paths])


def wsgi_app(receiver: Receiver) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A plain WSGI receiver (what Flask and Django are underneath)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert environ["PATH_INFO"] == "/hooks/payment-kit" and environ["REQUEST_METHOD"] == "POST"
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        status, answer = receiver.receive(body, headers)
        start_response(f"{status} {'OK' if status == 200 else 'Bad Request'}", [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]

    return app


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


# -- the fixture, isolation, the default client ---------------------------------------------------


@pytest.mark.parametrize("turn", [1, 2])
def test_each_test_gets_a_sandbox_of_its_own(payment_kit_sandbox: Sandbox, turn: int) -> None:
    # Whichever of the two runs second must not see the other's product, events or clock.
    assert payment.products.list().count == 0
    assert payment_kit_sandbox.events()["count"] == 0
    assert payment_kit_sandbox.advance_clock(seconds=60)["offset"] == 60
    payment.products.create(name=f"Product of turn {turn}", type="service")
    assert payment.products.list().count == 1


def test_two_sandboxes_share_nothing() -> None:
    with Sandbox() as first, Sandbox() as second:
        first.client.products.create(name="Only in the first", type="service")
        assert first.client.products.list().count == 1
        assert second.client.products.list().count == 0
        assert first.base_url != second.base_url and first.api_key != second.api_key


def test_the_fixture_is_the_default_for_payment_and_for_clients_built_from_the_environment(
    payment_kit_sandbox: Sandbox,
) -> None:
    assert payment.base_url == payment_kit_sandbox.base_url and payment.environments.get_test_mode()
    product = payment.products.create(name="Through the default client", type="service")
    with PaymentKit() as from_env:  # PAYMENT_KIT_BASE_URL / PAYMENT_KIT_API_KEY point at the sandbox
        assert from_env.environments.get_test_mode()
        assert from_env.products.retrieve(product.id).name == "Through the default client"
    assert payment_kit_sandbox.client.products.retrieve(product.id).id == product.id


def test_use_as_default_is_undone_after_the_block_and_at_close(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_KIT_BASE_URL", "http://127.0.0.1:9/before")
    monkeypatch.delenv("PAYMENT_KIT_API_KEY", raising=False)
    monkeypatch.delenv("PAYMENT_LIVEMODE", raising=False)
    payment_kit.configure(max_retries=5)
    payment.environments.set_live_mode(True)
    try:
        with Sandbox() as sandbox:
            with sandbox.use_as_default():
                assert payment.base_url == sandbox.base_url and payment.max_retries == 5
                assert os.environ["PAYMENT_KIT_API_KEY"] == sandbox.api_key
                assert os.environ["PAYMENT_LIVEMODE"] == "false" and payment.environments.get_test_mode()
                payment.customers.list()
            assert os.environ["PAYMENT_KIT_BASE_URL"] == "http://127.0.0.1:9/before"
            assert "PAYMENT_KIT_API_KEY" not in os.environ and "PAYMENT_LIVEMODE" not in os.environ
            assert payment.base_url == "http://127.0.0.1:9/before" and payment.environments.get_live_mode()

            sandbox.use_as_default()  # no block: undone when the sandbox closes
            assert payment.base_url == sandbox.base_url
            assert IN_PROCESS[sandbox.base_url] == (sandbox.transport, sandbox.async_transport)
            left_behind = PaymentKit(max_retries=0)  # built from the environment the sandbox set
            left_behind.customers.list()
        assert payment.base_url == "http://127.0.0.1:9/before" and payment.max_retries == 5
        assert sandbox.base_url not in IN_PROCESS
        with pytest.raises(payment_kit.APIConnectionError):  # a client still pointing at it fails plainly
            left_behind.customers.list()
        left_behind.close()
    finally:
        payment_kit.configure(max_retries=None)
        payment.environments._restore((None, False))


@pytest.mark.payment_kit_sandbox(livemode=True)
def test_the_marker_passes_arguments_to_the_sandbox(payment_kit_sandbox: Sandbox) -> None:
    assert payment_kit_sandbox.livemode and payment.environments.get_live_mode()
    assert payment.products.create(name="Live", type="service").livemode is True


def test_reset_starts_a_shared_sandbox_afresh(receiver: Receiver) -> None:
    with Sandbox() as shared:
        receiver.secret = shared.forward_webhooks(asgi_app(receiver)).secret
        shared.client.products.create(name="Before the reset", type="service")
        shared.advance_clock(days=2)
        assert shared.deliveries
        shared.reset()
        assert shared.client.products.list().count == 0 and shared.events()["count"] == 0
        assert shared.deliveries == [] and shared.advance_clock(seconds=1)["offset"] == 1
        shared.client.products.create(name="After the reset", type="service")
        assert shared.deliveries == []  # its endpoint went with the reset: forward the app again
        assert receiver.types == ["product.created"]


# -- webhooks into the application ----------------------------------------------------------------


def test_deliveries_reach_an_asgi_app_that_verifies_them_before_the_call_returns(
    payment_kit_sandbox: Sandbox, receiver: Receiver
) -> None:
    endpoint = payment_kit_sandbox.forward_webhooks(asgi_app(receiver), "/webhooks")
    receiver.secret = endpoint.secret
    assert endpoint.secret.startswith("whsec_") and endpoint.url.endswith(".localhost/webhooks")
    product = payment.products.create(name="Pro", type="service")
    assert receiver.types == ["product.created"]  # already: no sleeping, no flushing
    assert receiver.events[0].data.object.id == product.id
    [delivery] = payment_kit_sandbox.deliveries
    assert delivery.ok and delivery.status_code == 200 and delivery.response == {"received": delivery.event_id}
    assert delivery.event_type == "product.created" and delivery.retry == 0 and delivery.error is None
    assert payment_kit_sandbox.flush_webhooks() == []  # nothing was left
    # No background worker delivers them too: the sandbox's store never got one.
    assert payment_kit_sandbox._app.state.store not in sandbox_webhooks._DISPATCHERS


def test_deliveries_reach_a_wsgi_app(payment_kit_sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.secret = payment_kit_sandbox.forward_webhooks(wsgi_app(receiver), "/hooks/payment-kit").secret
    price = payment.prices.create(
        product_id=payment.products.create(name="Seats", type="service").id,
        type="one_time",
        unit_amount="2",
        currency_id=payment.payment_currencies.list().list[0].id,
    )
    assert receiver.types == ["product.created", "price.created"]  # in the order they happened
    assert receiver.events[1].data.object.id == price.id
    assert [d.status_code for d in payment_kit_sandbox.deliveries] == [200, 200]


def test_an_app_with_the_wrong_secret_refuses_and_the_test_sees_it(
    payment_kit_sandbox: Sandbox, receiver: Receiver
) -> None:
    payment_kit_sandbox.forward_webhooks(asgi_app(receiver))
    receiver.secret = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="  # not the endpoint's
    payment.products.create(name="Forged?", type="service")
    [delivery] = payment_kit_sandbox.deliveries
    assert not delivery.ok and delivery.status_code == 400 and delivery.response == {"error": "bad_signature"}
    assert receiver.refused == 1 and receiver.events == []


def test_only_the_subscribed_types_are_delivered(payment_kit_sandbox: Sandbox, receiver: Receiver) -> None:
    endpoint = payment_kit_sandbox.forward_webhooks(asgi_app(receiver), enabled_events=["price.created"])
    receiver.secret = endpoint.secret
    product = payment.products.create(name="Quiet", type="service")
    assert receiver.types == []
    currency_id = payment.payment_currencies.list().list[0].id
    payment.prices.create(product_id=product.id, type="one_time", unit_amount="1", currency_id=currency_id)
    assert receiver.types == ["price.created"]


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_a_failing_handler_is_recorded_and_its_retry_is_driven_by_the_test(
    payment_kit_sandbox: Sandbox, receiver: Receiver, interface: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = asgi_app(receiver) if interface == "asgi" else wsgi_app(receiver)
    receiver.secret = payment_kit_sandbox.forward_webhooks(app, "/hooks/payment-kit").secret
    receiver.fail_with = RuntimeError("the database is down")
    payment.products.create(name="Unlucky", type="service")
    [failed] = payment_kit_sandbox.deliveries
    assert failed.status_code == 500 and not failed.ok
    assert failed.error == "RuntimeError: the database is down"
    assert "the application's webhook handler raised RuntimeError" in caplog.text  # with its traceback

    # Nothing retries on its own, however long the test takes: the test decides.
    payment.customers.list()
    assert len(payment_kit_sandbox.deliveries) == 1

    receiver.fail_with = None
    [retried] = payment_kit_sandbox.retry_failed_deliveries()
    assert retried.ok and retried.retry == 1 and retried.event_id == failed.event_id
    assert receiver.types == ["product.created"]
    assert payment_kit_sandbox.retry_failed_deliveries() == []  # nothing failed is left


def test_a_delivery_that_used_up_its_retries_can_still_be_retried(
    payment_kit_sandbox: Sandbox, receiver: Receiver
) -> None:
    receiver.secret = payment_kit_sandbox.forward_webhooks(asgi_app(receiver)).secret
    receiver.fail_with = ValueError("no")
    payment.products.create(name="Stubborn", type="service")
    for _ in range(4):  # the first try and three retries (the default policy)
        payment_kit_sandbox.retry_failed_deliveries()
    assert [d.retry for d in payment_kit_sandbox.deliveries] == [0, 1, 2, 3, 4]
    receiver.fail_with = None
    assert payment_kit_sandbox.retry_failed_deliveries()[0].ok


def test_a_handler_that_calls_the_api_gets_those_events_delivered_too(
    payment_kit_sandbox: Sandbox, receiver: Receiver
) -> None:
    currency = payment.payment_currencies.list().list[0]

    def price_every_product(event: webhooks.Event) -> None:
        if event.type == "product.created":  # the sync SDK, from inside the async handler
            product_id = event.data.object.id
            payment.prices.create(product_id=product_id, type="one_time", unit_amount="3", currency_id=currency.id)

    receiver.on_event = price_every_product
    receiver.secret = payment_kit_sandbox.forward_webhooks(asgi_app(receiver)).secret
    payment.products.create(name="Priced by its webhook", type="service")
    assert receiver.types == ["product.created", "price.created"]


def test_a_url_no_app_is_forwarded_at_gets_no_request(payment_kit_sandbox: Sandbox) -> None:
    payment.webhook_endpoints.create(url="http://localhost:9/elsewhere", enabled_events=["*"])
    payment.webhook_endpoints.create(url="https://example.com/hooks", enabled_events=["*"])
    payment.products.create(name="Unheard", type="service")
    reasons = sorted(str(d.response) for d in payment_kit_sandbox.deliveries)
    assert all(d.status_code == 0 for d in payment_kit_sandbox.deliveries) and len(reasons) == 2
    assert "no application is forwarded at http://localhost:9" in reasons[0]
    assert "loopback addresses only" in reasons[1]


def test_an_app_that_is_neither_asgi_nor_wsgi_is_refused(payment_kit_sandbox: Sandbox) -> None:
    with pytest.raises(TypeError, match="pass interface='asgi' or interface='wsgi'"):
        payment_kit_sandbox.forward_webhooks(lambda: None)
    with pytest.raises(ValueError, match="path must start with '/'"):
        payment_kit_sandbox.forward_webhooks(asgi_app(Receiver()), "webhooks")


# -- the control methods and the clock ------------------------------------------------------------


def test_a_paid_checkout_and_a_renewal_reach_the_app(payment_kit_sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.secret = payment_kit_sandbox.forward_webhooks(
        asgi_app(receiver), enabled_events=["checkout.session.completed", "invoice.paid"]
    ).secret
    currency = payment.payment_currencies.list().list[0]
    price = payment.prices.create(
        product_id=payment.products.create(name="Monthly", type="service").id,
        type="recurring",
        unit_amount="1",
        currency_id=currency.id,
        recurring={"interval": "month", "interval_count": 1},
    )
    session = payment.checkout.sessions.create(
        mode="subscription",
        success_url="https://example.com/ok",
        line_items=[{"price_id": price.id, "quantity": 1}],
    )
    payment_kit_sandbox.complete_checkout(session.id, customer_did="z1renewing")
    assert receiver.types == ["invoice.paid", "checkout.session.completed"]

    payment_kit_sandbox.advance_clock(days=31)  # a month passes: the renewal is invoiced and paid
    assert receiver.types == ["invoice.paid", "checkout.session.completed", "invoice.paid"]
    renewal = receiver.events[-1].data.object
    assert renewal.billing_reason == "subscription_cycle" and renewal.status == "paid"


def test_resend_event_delivers_it_again(payment_kit_sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.secret = payment_kit_sandbox.forward_webhooks(asgi_app(receiver)).secret
    payment.products.create(name="Twice", type="service")
    [event] = payment_kit_sandbox.events(type="product.created")["list"]
    payment_kit_sandbox.resend_event(event["id"])
    assert [e.id for e in receiver.events] == [event["id"], event["id"]]


# -- async ----------------------------------------------------------------------------------------


async def test_the_async_client_delivers_on_the_running_loop(payment_kit_sandbox: Sandbox, receiver: Receiver) -> None:
    loops: list[asyncio.AbstractEventLoop] = []
    receiver.on_event = lambda event: loops.append(asyncio.get_running_loop())
    receiver.secret = payment_kit_sandbox.forward_webhooks(asgi_app(receiver)).secret
    await payment_kit_sandbox.async_client.products.create(name="Async", type="service")
    assert receiver.types == ["product.created"] and loops == [asyncio.get_running_loop()]

    async with AsyncPaymentKit() as from_env:  # built from the environment the fixture set
        assert (await from_env.products.list()).count == 1
        await asyncio.gather(*(from_env.products.create(name=f"Gathered {n}", type="service") for n in range(3)))
    assert receiver.types.count("product.created") == 4  # every delivery made once all have returned

    # A control method from async code: the sandbox works in a thread, the app hears on this loop.
    await payment_kit_sandbox.arun(payment_kit_sandbox.resend_event, receiver.events[0].id)
    assert len(receiver.events) == 5 and set(loops) == {asyncio.get_running_loop()}


async def test_the_sync_client_works_inside_a_running_loop(payment_kit_sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.secret = payment_kit_sandbox.forward_webhooks(wsgi_app(receiver), "/hooks/payment-kit").secret
    payment.products.create(name="Sync call in async code", type="service")  # blocks this loop, as it would
    assert receiver.types == ["product.created"]
    assert await payment_kit_sandbox.aretry_failed_deliveries() == []


# -- the extra ------------------------------------------------------------------------------------


def test_without_the_sandbox_extra_the_error_names_it() -> None:
    script = (
        "import sys\n"
        "sys.modules['sqlalchemy'] = None  # what `import sqlalchemy` meets when the extra is not installed\n"
        "import payment_kit\n"  # the SDK itself needs none of it
        "try:\n"
        "    import payment_kit.testing\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "del sys.modules['sqlalchemy']\n"
        "sys.modules['payment_kit_sandbox.hosted_pages'] = None  # not the extra: left as it is\n"
        "try:\n"
        "    import payment_kit.testing\n"
        "except ImportError as exc:\n"
        "    print('other:', exc)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "needs the `sandbox` extra: pip install 'blocklet-payment-kit[sandbox]'" in run.stdout
    assert "(sqlalchemy is not installed)" in run.stdout
    assert (
        run.stdout.splitlines()[-1] == "other: import of payment_kit_sandbox.hosted_pages halted; None in sys.modules"
    )


def test_the_plugin_is_registered_by_the_entry_point_and_loads_nothing_of_the_sandbox() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points.pytest11]\npayment_kit = "payment_kit.pytest_plugin"' in pyproject
    run = subprocess.run(
        [sys.executable, "-c", "import sys, payment_kit.pytest_plugin; print('starlette' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout.strip() == "False", run.stderr


def test_an_httpx_client_of_ones_own_can_use_the_transport(payment_kit_sandbox: Sandbox) -> None:
    with httpx.Client(transport=payment_kit_sandbox.transport, base_url=payment_kit_sandbox.base_url) as http:
        health = http.get("/sandbox/health", headers={"Authorization": f"Bearer {payment_kit_sandbox.api_key}"})
    assert health.status_code == 200 and health.json()["ok"] is True


def test_a_raw_asgi_app_that_raises_before_answering_is_a_500(payment_kit_sandbox: Sandbox) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # no framework to turn it into a 500
        raise KeyError("customer_id")

    def generator_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("204 No Content", [])
        yield b""  # a generator answer is closed once read, as a WSGI server closes it

    payment_kit_sandbox.forward_webhooks(app, "/raw")
    payment_kit_sandbox.forward_webhooks(generator_app, "/generator")
    payment.products.create(name="Raw", type="service")
    by_path = {d.url.rpartition("/")[2]: d for d in payment_kit_sandbox.deliveries}
    assert by_path["raw"].status_code == 500 and by_path["raw"].error == "KeyError: 'customer_id'"
    assert by_path["generator"].status_code == 204 and by_path["generator"].ok


def test_how_an_app_is_told_asgi_or_wsgi(payment_kit_sandbox: Sandbox) -> None:
    from payment_kit.testing._bridge import AsyncAppTransport, app_interface

    class LegacyASGI:  # a sync `__call__(scope, receive, send)` that returns a coroutine
        def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
            return asgi_app(Receiver())(scope, receive, send)

    assert app_interface(asgi_app(Receiver())) == "asgi" and app_interface(LegacyASGI()) == "asgi"
    assert app_interface(wsgi_app(Receiver())) == "wsgi"
    with pytest.raises(TypeError, match="cannot be called"):
        app_interface(object())
    with pytest.raises(TypeError, match="cannot tell whether"):
        app_interface(len)  # no signature inspect can read
    with pytest.raises(ValueError, match="interface must be 'asgi' or 'wsgi'"):
        AsyncAppTransport().add("x.localhost", wsgi_app(Receiver()), "cgi")


async def test_a_closed_sandbox_refuses_and_closing_twice_is_harmless() -> None:
    sandbox = Sandbox()
    switch = sandbox.use_as_default()
    switch.restore()
    switch.restore()  # a second restore changes nothing
    client = AsyncPaymentKit(base_url=sandbox.base_url, api_key=sandbox.api_key, max_retries=0)
    await client.customers.list()
    sandbox.close()
    sandbox.close()
    assert repr(sandbox) == f"Sandbox({sandbox.base_url}, mode=test, closed)"
    with pytest.raises(payment_kit.APIConnectionError):
        await client.customers.list()
    await client.close()
