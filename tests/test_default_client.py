"""The module-level `payment` client is configured at its first use, not at import (issue 26,
finding 1): the environment set after the import counts, `payment_kit.configure` reconfigures it,
`with_options` takes `base_url` and `api_key`, and a bad environment fails the first call, never
the import. Answers come from respx; no server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

import payment_kit
from payment_kit import ConfigurationError, DefaultPaymentKit, PaymentKit

ROOT = Path(__file__).resolve().parent.parent
FIRST = "http://127.0.0.1:9/first"
SECOND = "http://127.0.0.1:9/second"
EMPTY_PAGE = {"count": 0, "list": []}
ENV = ("PAYMENT_KIT_BASE_URL", "PAYMENT_KIT_API_KEY", "PAYMENT_LIVEMODE", "PAYMENT_LIVE_MODE", "PAYMENT_TEST_MODE")


@pytest.fixture
def default(monkeypatch: pytest.MonkeyPatch) -> Iterator[DefaultPaymentKit]:
    """A default client as `payment_kit` builds it, in an environment with none of its variables."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    client = DefaultPaymentKit()
    yield client
    client.close()


def list_customers(client: PaymentKit, base: str) -> httpx.Request:
    with respx.mock() as router:
        route = router.get(f"{base}/api/customers").mock(return_value=httpx.Response(200, json=EMPTY_PAGE))
        client.customers.list()
    request: httpx.Request = route.calls.last.request
    return request


def test_the_environment_set_after_the_import_is_read_at_the_first_call(
    default: DefaultPaymentKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENT_KIT_BASE_URL", FIRST)
    monkeypatch.setenv("PAYMENT_KIT_API_KEY", "sk_first")
    monkeypatch.setenv("PAYMENT_TEST_MODE", "true")
    request = list_customers(default, FIRST)
    assert request.headers["authorization"] == "Bearer sk_first"
    assert request.url.params["livemode"] == "false"
    # Read once: a later change of the environment alone does not move a client in use.
    monkeypatch.setenv("PAYMENT_KIT_BASE_URL", SECOND)
    assert default.base_url == FIRST


def test_a_missing_base_url_fails_the_first_call_and_names_the_variable(default: DefaultPaymentKit) -> None:
    with pytest.raises(ConfigurationError, match="PAYMENT_KIT_BASE_URL"):
        default.customers.list()


def test_a_bad_environment_fails_the_first_use_not_the_import() -> None:
    script = (
        "import os, payment_kit\n"
        "print(repr(payment_kit.payment))\n"
        "try:\n"
        "    payment_kit.payment.customers.list()\n"
        "except payment_kit.ConfigurationError as exc:\n"
        "    print('first use:', exc)\n"
        "os.environ['PAYMENT_KIT_BASE_URL'] = 'http://127.0.0.1:9'\n"
        "os.environ['PAYMENT_KIT_API_KEY'] = 'sk_fixed'\n"
        "payment_kit.configure(api_key=None)\n"  # read the environment again
        "print('now:', payment_kit.payment.base_url)\n"
    )
    env = {**os.environ, "PAYMENT_KIT_BASE_URL": "ftp://files.example.com", "PAYMENT_KIT_API_KEY": "k\nx"}
    run = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "PaymentKit(default client: configured at its first use)"
    # The key is checked before the URL; neither message shows the key.
    assert lines[1].startswith("first use: the API key (PAYMENT_KIT_API_KEY) contains a line break")
    assert "k\nx" not in run.stdout
    assert lines[2] == "now: http://127.0.0.1:9"


def test_configure_sets_base_url_key_and_mode_and_none_returns_to_the_environment(
    default: DefaultPaymentKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENT_KIT_BASE_URL", FIRST)
    monkeypatch.setenv("PAYMENT_KIT_API_KEY", "sk_env")
    default.configure(base_url=SECOND, api_key="sk_configured", livemode=False)
    request = list_customers(default, SECOND)
    assert request.headers["authorization"] == "Bearer sk_configured"
    assert request.url.params["livemode"] == "false"

    default.configure(api_key=None)  # only the key goes back to the environment
    request = list_customers(default, SECOND)
    assert request.headers["authorization"] == "Bearer sk_env"

    default.configure(base_url=None, livemode=None)
    monkeypatch.setenv("PAYMENT_LIVEMODE", "true")
    request = list_customers(default, FIRST)
    assert request.url.params["livemode"] == "true"


def test_configure_checks_what_it_is_given_at_once(default: DefaultPaymentKit) -> None:
    with pytest.raises(ConfigurationError, match="has no scheme"):
        default.configure(base_url="pay.example.com")
    with pytest.raises(ValueError, match="max_retries"):
        default.configure(max_retries=-1)
    with pytest.raises(TypeError):
        default.configure(base_urll=FIRST)  # type: ignore[call-arg]
    assert default._settings == {}  # a refused configure changes nothing


def test_configure_keeps_an_explicit_mode_and_closes_the_pool_it_opened(default: DefaultPaymentKit) -> None:
    default.configure(base_url=FIRST)
    default.environments.set_test_mode(True)
    list_customers(default, FIRST)
    transport = default._transport
    assert transport._http is not None  # the pool of the first call
    default.configure(api_key="sk_other")
    assert transport._http is None and default._transport is not transport
    assert list_customers(default, FIRST).url.params["livemode"] == "false"  # the mode set stays


def test_configure_with_an_http_client_uses_it_and_never_closes_it(default: DefaultPaymentKit) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=EMPTY_PAGE)

    with httpx.Client(transport=httpx.MockTransport(answer)) as mine:
        default.configure(base_url=FIRST, http_client=mine)
        default.customers.list()
        default.configure(http_client=None)
        assert not mine.is_closed
    assert [str(r.url.copy_with(query=None)) for r in seen] == [f"{FIRST}/api/customers"]


def test_payment_kit_configure_is_the_default_clients() -> None:
    assert payment_kit.configure == payment_kit.payment.configure
    assert isinstance(payment_kit.payment, PaymentKit)


def test_with_options_takes_a_base_url_and_a_key(default: DefaultPaymentKit) -> None:
    default.configure(base_url=FIRST, api_key="sk_parent")
    other = default.with_options(base_url=SECOND, api_key="sk_copy")
    assert type(other) is PaymentKit and other.base_url == SECOND
    request = list_customers(other, SECOND)
    assert request.headers["authorization"] == "Bearer sk_copy"
    assert list_customers(default, FIRST).headers["authorization"] == "Bearer sk_parent"  # the parent is unchanged
    anonymous = default.with_options(api_key="")
    assert "authorization" not in list_customers(anonymous, FIRST).headers
    with pytest.raises(ConfigurationError, match="base_url has no scheme"):
        default.with_options(base_url="pay.example.com")
    other.close()


def test_with_options_keeps_a_custom_auth_unless_given_a_key() -> None:
    class Signed(httpx.Auth):
        def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
            request.headers["X-Signed"] = "yes"
            yield request

    with PaymentKit(base_url=FIRST, auth=Signed()) as client:
        assert list_customers(client.with_options(max_retries=0), FIRST).headers["x-signed"] == "yes"
        keyed = list_customers(client.with_options(api_key="sk_copy"), FIRST)
        assert "x-signed" not in keyed.headers and keyed.headers["authorization"] == "Bearer sk_copy"


def test_a_snapshot_restores_settings_and_mode(default: DefaultPaymentKit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_KIT_BASE_URL", FIRST)
    before = default._snapshot()
    default.configure(base_url=SECOND, api_key="sk_temporary", livemode=False)
    assert list_customers(default, SECOND).headers["authorization"] == "Bearer sk_temporary"
    default._reset(before)
    request = list_customers(default, FIRST)
    assert "authorization" not in request.headers and request.url.params["livemode"] == "true"
