"""The hosted checkout page behind `session.url`, driven by a real browser: headless Chromium
from Debian's `chromium` package through `chromium-driver` (`make install` installs both; no
browser is downloaded). The page is paid as a customer would, and what it leaves behind is
compared with what the sandbox's control route (`SandboxControl.complete_checkout`) leaves.

Every page the browser opens is on loopback: the sandbox, and a "merchant" server this test
starts for `success_url` / `cancel_url`; the browser resolves no other host.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from payment_kit import PaymentKit
from payment_kit_sandbox.control import SandboxControl

pytestmark = pytest.mark.sandbox_only  # uses /sandbox/ routes and pages on loopback

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MONTHLY = {"interval": "month", "interval_count": 1, "usage_type": "licensed"}


class Merchant:
    """The application's own pages that checkout returns to; records the paths opened."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        merchant = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                merchant.opened.append(self.path)
                page = b"<!doctype html><title>Merchant</title><h1 id=merchant>Back at the shop</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        why = (
            f"{' and '.join(missing)} missing: run `make install` as root, or apt-get install chromium chromium-driver"
        )
        if os.environ.get("CI"):
            pytest.fail(why)  # CI installs the browser; its absence there is a failure, not a skip
        pytest.skip(why)
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never fetch a browser or driver
    profile = tempfile.mkdtemp(prefix="payment-kit-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def merchant() -> Iterator[Merchant]:
    shop = Merchant()
    try:
        yield shop
    finally:
        shop.stop()


def press(browser: Any, button_id: str) -> None:
    """Click a form's button and wait until the page it leads to has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, button_id).click()
    # Mid-navigation Chromium may answer the staleness probe with an inspector error ("Node with
    # given id does not belong to the document") instead of a stale reference: ask again.
    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(expected_conditions.staleness_of(page))


def a_discounted_plan(client: PaymentKit, tag: str) -> tuple[str, str]:
    """A monthly 0.25-token price and a 50%-off promotion code for it."""
    product = client.products.create(name=f"Team plan {tag}", type="service")
    price = client.prices.create(product_id=product.id, unit_amount="0.25", recurring=MONTHLY)
    coupon = client.coupons.create(name=f"Half {tag}", duration="once", percent_off=50).coupon
    code = client.promotion_codes.create(coupon_id=coupon.id, code=f"HALF{tag}".upper()).code
    return price.id, code


def open_session(client: PaymentKit, price_id: str, merchant: Merchant) -> Any:
    return client.checkout.sessions.create(
        line_items=[{"price_id": price_id, "quantity": 2}],
        mode="subscription",
        allow_promotion_codes=True,
        success_url=f"{merchant.url}/done",
        cancel_url=f"{merchant.url}/cancelled",
    )


def outcome(client: PaymentKit, session_id: str) -> dict[str, Any]:
    """What paying left behind, without the ids and times that differ between two payments."""
    session = client.checkout.sessions.retrieve(session_id)
    subscription = client.subscriptions.retrieve(session.subscription_id)
    invoices = list(client.invoices.list(subscription_id=subscription.id))
    return {
        "session": (session.status, session.payment_status, session.amount_subtotal, session.amount_total),
        "discount": session.total_details.amount_discount,
        "subscription": (subscription.status, [i.quantity for i in subscription.items]),
        "invoices": [(i.status, i.subtotal, i.total, i.amount_paid) for i in invoices],
    }


def test_paying_on_the_hosted_page_does_what_the_control_route_does(
    client: PaymentKit, server: tuple[str, str], browser: Any, merchant: Merchant, tag: str
) -> None:
    price_id, code = a_discounted_plan(client, tag)
    session = open_session(client, price_id, merchant)
    browser.get(session.url)
    assert f"Team plan {tag}" in browser.find_element(By.TAG_NAME, "tbody").text
    # The page's one inline style is allowed by its Content-Security-Policy (by hash), and applied.
    assert browser.find_element(By.ID, "total").value_of_css_property("text-align") == "right"
    assert browser.find_element(By.ID, "subtotal").text == "0.5 TBA"
    assert browser.find_element(By.ID, "discount").text == "0 TBA"

    browser.find_element(By.ID, "customer_did").send_keys(f"zpage{tag}")
    browser.find_element(By.ID, "promotion_code").send_keys("NOT-A-CODE")
    press(browser, "pay")
    assert "NOT-A-CODE" in browser.find_element(By.CLASS_NAME, "problem").text  # refused, nothing paid
    assert client.checkout.sessions.retrieve(session.id).status == "open"

    code_field = browser.find_element(By.ID, "promotion_code")
    code_field.clear()
    code_field.send_keys(code)
    press(browser, "apply")
    assert browser.find_element(By.ID, "discount").text == "0.25 TBA"
    assert browser.find_element(By.ID, "total").text == "0.25 TBA"
    assert browser.find_element(By.ID, "customer_did").get_attribute("value") == f"zpage{tag}"
    press(browser, "pay")
    assert browser.current_url == f"{merchant.url}/done"
    assert browser.find_element(By.ID, "merchant").text == "Back at the shop"

    control_session = open_session(client, price_id, merchant)
    with SandboxControl(*server, livemode=False) as control:
        control.complete_checkout(control_session.id, customer_did=f"zctl{tag}", promotion_code=code)
    paid_on_page = outcome(client, session.id)
    assert paid_on_page == outcome(client, control_session.id)
    assert paid_on_page["session"] == ("complete", "paid", str(5 * 10**17), str(25 * 10**16))
    assert paid_on_page["subscription"][0] == "active" and paid_on_page["invoices"][0][0] == "paid"
    assert client.customers.retrieve(f"zpage{tag}").did.endswith(f"zpage{tag}")

    browser.get(session.url)  # a paid session's page says so, and offers nothing to press
    assert "complete" in browser.find_element(By.CLASS_NAME, "status").text
    assert browser.find_elements(By.ID, "pay") == []


def test_declining_follows_the_cancel_url_and_pays_nothing(
    client: PaymentKit, browser: Any, merchant: Merchant, tag: str
) -> None:
    price_id, _ = a_discounted_plan(client, tag)
    session = open_session(client, price_id, merchant)
    browser.get(session.url)
    press(browser, "decline")
    assert browser.current_url == f"{merchant.url}/cancelled"
    assert client.checkout.sessions.retrieve(session.id).status == "open"
    assert merchant.opened[0] == "/cancelled" and "/done" not in merchant.opened


def test_a_payment_link_page_opens_a_checkout_session_on_the_same_page(
    client: PaymentKit, server: tuple[str, str], browser: Any, tag: str
) -> None:
    price_id, _ = a_discounted_plan(client, tag)
    link = client.payment_links.create(line_items=[{"price_id": price_id, "quantity": 3}], lookup_key=f"plan-{tag}")
    for key in (link.id, f"plan-{tag}"):
        browser.get(f"{server[0]}/checkout/pay/{key}")
        assert "/checkout/pay/cs_" in browser.current_url
        assert browser.find_element(By.CLASS_NAME, "qty").text == "3"
        assert browser.find_element(By.ID, "total").text == "0.75 TBA"
    opened = client.checkout.sessions.list(payment_link_id=link.id)
    assert len(list(opened)) == 2
    nowhere = httpx.get(f"{server[0]}/checkout/pay/plink_nothing_here")
    assert nowhere.status_code == 404 and "text/html" in nowhere.headers["content-type"]


def page_token(page_url: str) -> str:
    """The token in a checkout page's form, as a browser posts it back."""
    found = re.search(r'name=token value="([0-9a-f]+)"', httpx.get(page_url).text)
    assert found, "the page's form carries no token"
    return found.group(1)


def test_a_form_posted_to_the_page_that_is_unknown_too_large_or_no_action_is_refused(
    client: PaymentKit, server: tuple[str, str], merchant: Merchant, tag: str
) -> None:
    price_id, _ = a_discounted_plan(client, tag)
    session = open_session(client, price_id, merchant)
    page = f"{server[0]}/checkout/pay/{session.id}"
    token = page_token(page)
    for url, form, status, says in (
        (f"{server[0]}/checkout/pay/cs_missing{tag}", {"action": "pay"}, 404, f"cs_missing{tag}"),
        (page, {"action": "pay", "name": "x" * 20_000}, 413, "larger than a checkout needs"),
        (page, {"action": "refund", "token": token}, 400, "Unknown action &#x27;refund&#x27;: use Pay or Decline."),
    ):
        answer = httpx.post(url, data=form)
        assert (answer.status_code, says in answer.text) == (status, True), answer.text
    assert client.checkout.sessions.retrieve(session.id).status == "open"
