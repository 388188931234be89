"""The transport against a real, imperfect server: a deadline per attempt, a size cap, a key that
never shows, local mistakes refused before sending, unreadable `Retry-After`s ignored, and only
documented errors escaping. The server is tests/faults.py's loopback server (its `HOSTILE`
answers), started per test on a free port and stopped after it."""

from __future__ import annotations

import contextlib
import gzip
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
import respx
from faults import FaultServer, Seen

from payment_kit import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncPaymentKit,
    ConfigurationError,
    InternalServerError,
    PaymentKit,
)
from payment_kit._transport import _WATCHDOG, DEFAULT_MAX_RESPONSE_BYTES, ClientOptions, retry_delay

SECRET = "sk_live_hardening_do_not_leak_7f3a"
MiB = 2**20


def always(fault: str) -> Callable[[Seen], str | None]:
    return lambda seen: fault


def first_only(fault: str) -> Callable[[Seen], str | None]:
    calls = iter(range(1_000_000))
    return lambda seen: fault if next(calls) == 0 else None


def sync_client(base_url: str, sleeps: list[float] | None = None, **options: Any) -> PaymentKit:
    options.setdefault("max_retries", 0)
    client = PaymentKit(base_url=base_url, api_key=SECRET, livemode=False, **options)
    client._transport.jitter = lambda: 0.0
    if sleeps is not None:
        client._transport.sleep = sleeps.append
    return client


def async_client(base_url: str, sleeps: list[float] | None = None, **options: Any) -> AsyncPaymentKit:
    options.setdefault("max_retries", 0)
    client = AsyncPaymentKit(base_url=base_url, api_key=SECRET, livemode=False, **options)
    client._transport.jitter = lambda: 0.0
    if sleeps is not None:

        async def record(seconds: float) -> None:
            sleeps.append(seconds)

        client._transport.sleep = record
    return client


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


# -- a real deadline ------------------------------------------------------------------------------


# A byte every 2.5 s never trips httpx's per-read timeout of 3 s. A check between reads alone
# would end the call at the first byte after the deadline, at 5 s; the deadline ends it at 3 s.
TRICKLE = 2.5


@pytest.mark.parametrize("fault", ["trickle_body", "trickle_head"])
def test_a_trickling_server_cannot_hold_a_call_past_its_timeout(fault: str) -> None:
    with (
        FaultServer(plan=always(fault), trickle_seconds=TRICKLE) as fs,
        sync_client(fs.base_url, timeout=3) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.products.list()
        took = time.monotonic() - started
    assert 2.9 <= took < 4.0, f"{fault}: {took:.2f} s"
    assert len(fs.seen) == 1


@pytest.mark.parametrize("fault", ["trickle_body", "trickle_head"])
async def test_a_trickling_server_cannot_hold_an_async_call_past_its_timeout(fault: str) -> None:
    with FaultServer(plan=always(fault), trickle_seconds=TRICKLE) as fs:
        async with async_client(fs.base_url, timeout=3) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                await client.products.list()
            took = time.monotonic() - started
    assert 2.9 <= took < 4.0, f"{fault}: {took:.2f} s"


def test_a_retried_trickle_ends_within_two_deadlines_and_the_wait() -> None:
    """max_retries=1, a byte every 2 s: two attempts of 3 s and the 0.5 s wait between them, really
    slept (a check between reads alone would take 8.5 s)."""
    with FaultServer(plan=always("trickle_body")) as fs, sync_client(fs.base_url, timeout=3, max_retries=1) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.products.list()
        took = time.monotonic() - started
    assert len(fs.seen) == 2
    assert 6.4 <= took < 2 * 3 + 0.5 + 1.0, f"{took:.2f} s"


async def test_a_retried_async_trickle_ends_within_two_deadlines_and_the_wait() -> None:
    with FaultServer(plan=always("trickle_body")) as fs:
        async with async_client(fs.base_url, timeout=3, max_retries=1) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                await client.products.list()
            took = time.monotonic() - started
    assert len(fs.seen) == 2
    assert 6.4 <= took < 2 * 3 + 0.5 + 1.0, f"{took:.2f} s"


def test_the_deadline_holds_with_your_own_http_client_too() -> None:
    with FaultServer(plan=always("trickle_body"), trickle_seconds=TRICKLE) as fs, httpx.Client() as own:
        with PaymentKit(base_url=fs.base_url, api_key=SECRET, http_client=own, timeout=3, max_retries=0) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                client.products.list()
            took = time.monotonic() - started
        assert 2.9 <= took < 4.0, f"{took:.2f} s"
        assert not own.is_closed


@pytest.mark.parametrize("fault", ["trickle_body", "trickle_head"])
def test_the_deadline_holds_over_tls(fault: str, tmp_path: Path) -> None:
    """The watchdog shuts the TCP socket under the TLS one down, so the read in progress ends
    as a connection error the transport turns into the timeout."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate for 127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "1",
            *subject,
        ],
        check=True,
        capture_output=True,
    )
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    with (
        FaultServer(plan=always(fault), trickle_seconds=TRICKLE, tls=tls) as fs,
        httpx.Client(verify=ssl.create_default_context(cafile=cert)) as own,
        PaymentKit(base_url=fs.base_url, api_key=SECRET, http_client=own, timeout=3, max_retries=0) as client,
    ):
        assert fs.base_url.startswith("https://")
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.products.list()
        took = time.monotonic() - started
    assert 2.9 <= took < 4.0, f"{fault}: {took:.2f} s"


def test_the_deadline_of_an_httpx_timeout_is_its_largest_value() -> None:
    def seconds(timeout: httpx.Timeout) -> float | None:
        return ClientOptions(base_url=None, auth=None, timeout=timeout, max_retries=0).attempt_seconds

    assert seconds(httpx.Timeout(3)) == 3
    assert seconds(httpx.Timeout(30.0, connect=5.0)) == 30
    assert seconds(httpx.Timeout(1.0, read=2.5)) == 2.5
    assert seconds(httpx.Timeout(None, connect=4.0)) == 4
    assert seconds(httpx.Timeout(None)) is None
    # ... and it is what bounds a trickled answer: 1.5 s here, not the 0.5 s of each other step.
    with (
        FaultServer(plan=always("trickle_body"), trickle_seconds=0.4) as fs,
        sync_client(fs.base_url, timeout=httpx.Timeout(0.5, read=1.5)) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.products.list()
        took = time.monotonic() - started
    assert 1.4 <= took < 2.5, f"{took:.2f} s"


def test_no_timeout_at_all_means_no_deadline() -> None:
    with (
        FaultServer(plan=always("trickle_body"), trickle_seconds=0.05, canned=b'{"count":0,"list":[]}') as fs,
        sync_client(fs.base_url, timeout=httpx.Timeout(None)) as client,
    ):
        assert client.products.list().count == 0  # 21 bytes, a byte every 50 ms: about a second


def test_answers_in_time_keep_their_connection_after_their_deadlines_pass() -> None:
    """The watchdog forgets an attempt when it ends: a deadline that passes later, with the
    connection carrying another call or idle in the pool, shuts nothing down."""
    with FaultServer() as fs, sync_client(fs.base_url, timeout=1) as client:
        started = time.monotonic()
        while time.monotonic() - started < 2.5:  # the first calls' deadlines pass during the later ones
            client.products.list()
            time.sleep(0.005)
        time.sleep(1.2)  # ... and the last ones' while the connection waits in the pool
        client.products.list()
    assert fs.connections_made == 1 and len(fs.seen) > 100


def test_one_watchdog_thread_and_no_pile_of_finished_attempts() -> None:
    with FaultServer() as fs, sync_client(fs.base_url, timeout=30) as client:
        for _ in range(2_000):
            client.products.list()
        watching = len(_WATCHDOG._heap)
    threads = [t for t in threading.enumerate() if t.name == "payment-kit-deadlines"]
    assert len(threads) == 1 and threads[0].daemon
    assert watching < 200, f"{watching} attempts still watched after 2,000 finished"


# -- a size cap -----------------------------------------------------------------------------------


def peak_while(call: Callable[[], Any]) -> tuple[BaseException, int, float]:
    """The exception `call` raised, the traced memory peak above the start, and the seconds it took."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            call()
        took = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return caught.value, peak, took


@pytest.mark.parametrize(("cap", "peak_under"), [(MiB, 8 * MiB), (None, 48 * MiB)])
def test_an_endless_answer_is_refused_at_the_cap_with_memory_bounded(cap: int | None, peak_under: int) -> None:
    """200 MB of JSON-ish bytes: refused once past the cap (32 MiB by default), never held whole."""
    options = {} if cap is None else {"max_response_bytes": cap}
    with FaultServer(plan=always("endless")) as fs, sync_client(fs.base_url, max_retries=2, **options) as client:
        error, peak, took = peak_while(client.products.list)
    assert isinstance(error, APIResponseValidationError), repr(error)
    assert f"max_response_bytes ({cap or DEFAULT_MAX_RESPONSE_BYTES:,} bytes)" in str(error)
    assert len(fs.seen) == 1  # not retried
    assert peak < peak_under, f"peak {peak / MiB:.1f} MiB"
    assert took < 15, f"{took:.1f} s"


async def test_an_endless_async_answer_is_refused_at_the_cap() -> None:
    with FaultServer(plan=always("endless")) as fs:
        async with async_client(fs.base_url, max_retries=2, max_response_bytes=MiB) as client:
            tracemalloc.start()
            try:
                base = tracemalloc.get_traced_memory()[0]
                with pytest.raises(APIResponseValidationError, match="max_response_bytes"):
                    await client.products.list()
                peak = tracemalloc.get_traced_memory()[1] - base
            finally:
                tracemalloc.stop()
    assert len(fs.seen) == 1 and peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB"


def test_an_error_answer_obeys_the_cap_too() -> None:
    with (
        FaultServer(plan=always("endless_500")) as fs,
        sync_client(fs.base_url, max_retries=2, max_response_bytes=MiB) as client,
        pytest.raises(APIResponseValidationError, match="too large") as caught,
    ):
        client.products.list()
    assert caught.value.status_code == 500 and len(fs.seen) == 1


def test_a_content_length_over_the_cap_is_refused_before_reading() -> None:
    """The server sends only the headers, then waits: reading any of the body would hang."""
    with FaultServer(plan=always("declared_huge")) as fs, sync_client(fs.base_url, timeout=10) as client:
        started = time.monotonic()
        with pytest.raises(APIResponseValidationError, match=r"Content-Length, 209,715,200 bytes, passed"):
            client.products.list()
        assert time.monotonic() - started < 2


async def test_an_async_content_length_over_the_cap_is_refused_before_reading() -> None:
    with FaultServer(plan=always("declared_huge")) as fs:
        async with async_client(fs.base_url, timeout=10) as client:
            started = time.monotonic()
            with pytest.raises(APIResponseValidationError, match="Content-Length"):
                await client.products.list()
            assert time.monotonic() - started < 2


@pytest.mark.parametrize(("cap", "peak_under"), [(MiB, 12 * MiB), (None, 48 * MiB)])
def test_a_gzip_bomb_counts_its_inflated_bytes(cap: int | None, peak_under: int) -> None:
    """200 MB of zeros in 200 KB of gzip: the cap counts what the body inflates to, and the
    inflating happens a few KiB of gzip at a time (one 64 KiB read would make 64 MiB at once)."""
    options = {} if cap is None else {"max_response_bytes": cap}
    with FaultServer(plan=always("gzip_bomb")) as fs, sync_client(fs.base_url, **options) as client:
        error, peak, _ = peak_while(client.products.list)
    assert isinstance(error, APIResponseValidationError) and "too large" in str(error), repr(error)
    assert peak < peak_under, f"peak {peak / MiB:.1f} MiB"


def test_the_cap_is_an_option_of_the_client_and_its_copies() -> None:
    with PaymentKit(base_url="https://pay.example.com", api_key="k") as client:
        assert client.max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES == 32 * MiB
        assert client.with_options(max_response_bytes=10).max_response_bytes == 10
        assert client.with_options(max_retries=0).max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES
    assert AsyncPaymentKit(base_url="https://pay.example.com", max_response_bytes=5).max_response_bytes == 5
    for bad in (0, -1, True, 1.5, "1"):
        with pytest.raises(ValueError, match="max_response_bytes"):
            PaymentKit(base_url="https://pay.example.com", max_response_bytes=bad)  # type: ignore[arg-type]


# -- key hygiene ----------------------------------------------------------------------------------


def test_whitespace_around_the_key_is_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key read from a file, or a secret store, arrives with its newline: it just works."""
    with FaultServer() as fs:
        with PaymentKit(base_url=fs.base_url, api_key=f"  {SECRET}\n") as client:
            client.products.list()
        monkeypatch.setenv("PAYMENT_KIT_API_KEY", f"\t{SECRET}\r\n")
        with PaymentKit(base_url=fs.base_url) as client:
            client.products.list()
    assert [s.headers["authorization"] for s in fs.seen] == [f"Bearer {SECRET}"] * 2


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (f"{SECRET[:12]}\n{SECRET[12:]}", "a line break at position 12"),
        (f"{SECRET[:5]}\r{SECRET[5:]}", "a line break at position 5"),
        (f"{SECRET}\x00x", f"a control character at position {len(SECRET)}"),
        (f"{SECRET[:3]}\x7f{SECRET[3:]}", "a control character at position 3"),
        (f"{SECRET[:3]}\tx", "a control character at position 3"),
        (f"{SECRET[:7]}é{SECRET[7:]}", "a non-ASCII character at position 7"),
        (f"{SECRET[:7]}\u00a0{SECRET[7:]}", "a non-ASCII character at position 7"),
    ],
)
def test_a_key_a_header_cannot_carry_is_refused_without_showing_it(
    key: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = [("api_key", lambda: PaymentKit(base_url="https://pay.example.com", api_key=key))]
    if "\x00" not in key:  # an environment variable cannot hold one
        monkeypatch.setenv("PAYMENT_KIT_API_KEY", key)
        builds.append(("PAYMENT_KIT_API_KEY", lambda: AsyncPaymentKit(base_url="https://pay.example.com")))
    for source, build in builds:
        with pytest.raises(ConfigurationError) as caught:
            build()
        assert f"the API key ({source}) contains {problem}" in str(caught.value)
        assert SECRET[:5] not in everything_shown_by(caught.value)
        assert caught.value.__cause__ is None and caught.value.__context__ is None


def exception_chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is not None and all(current is not seen for seen in found):
            found.append(current)
            todo += [current.__cause__, current.__context__]
    return found


def everything_shown_by(error: BaseException) -> str:
    """The formatted traceback, and str/repr/args of every exception in the chain and their requests."""
    shown = ["".join(traceback.format_exception(error))]
    for link in exception_chain(error):
        shown += [str(link), repr(link), repr(link.args)]
        for name in ("request", "response"):
            with contextlib.suppress(RuntimeError):  # httpx: "The .request property has not been set."
                shown.append(repr(getattr(link, name, None)))
    return "\n".join(shown)


class LeakyAuth(httpx.Auth):
    """An auth that puts the key in a header h11 refuses, and whose refusal quotes the value."""

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["X-Key"] = f"{SECRET}\n"
        yield request


FAILING = {
    "connection refused": ({"plan": None}, APIConnectionError),
    "reset": ({"plan": always("reset_before")}, APIConnectionError),
    "timeout": ({"plan": always("trickle_body"), "trickle_seconds": 0.3}, APITimeoutError),
    "status": ({"plan": always("html_502")}, InternalServerError),
    "too large": ({"plan": always("endless")}, APIResponseValidationError),
    "bad gzip": ({"plan": always("bad_gzip")}, APIResponseValidationError),
    "refused locally": ({"plan": None, "auth": LeakyAuth()}, ConfigurationError),
}


@pytest.mark.parametrize("case", list(FAILING))
def test_no_log_and_no_exception_chain_shows_the_key(case: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: httpx's, httpcore's and ours
    server, expected = FAILING[case]
    with FaultServer(plan=server["plan"] or always("none"), trickle_seconds=server.get("trickle_seconds", 2.0)) as fs:
        base_url = f"http://127.0.0.1:{closed_port()}" if case == "connection refused" else fs.base_url
        extra = {"auth": server["auth"]} if "auth" in server else {}
        with (
            PaymentKit(
                base_url=base_url, api_key=SECRET, timeout=1, max_retries=1, max_response_bytes=MiB, **extra
            ) as client,
            pytest.raises(expected) as caught,
        ):
            client._transport.sleep = lambda seconds: None
            client.products.list()
    assert SECRET not in everything_shown_by(caught.value)
    if case == "refused locally":
        # httpcore's own debug log quotes the header value h11 refused. Only an auth of your own can
        # get one that far: the SDK refuses a bad key or header before sending.
        return
    assert SECRET not in caplog.text and all(SECRET not in str(r.args) for r in caplog.records)
    assert any(r.name.startswith("httpcore") for r in caplog.records)


async def test_no_async_log_or_exception_chain_shows_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    shown = []
    with FaultServer(plan=always("trickle_body"), trickle_seconds=0.3) as fs:
        for base_url in (fs.base_url, f"http://127.0.0.1:{closed_port()}"):
            async with async_client(base_url, timeout=1, max_retries=1) as client:
                with pytest.raises(APIConnectionError) as caught:
                    await client.products.list()
                shown.append(everything_shown_by(caught.value))
        logged = caplog.text
        async with async_client(fs.base_url, auth=LeakyAuth()) as client:
            with pytest.raises(ConfigurationError) as refused:
                await client.products.list()
            shown.append(everything_shown_by(refused.value))
    assert isinstance(caught.value, APIConnectionError) and not any(SECRET in text for text in shown)
    assert SECRET not in logged and "httpcore" in logged


# -- local mistakes: refused before sending, never retried, never a connection error -----------------


def test_bad_default_headers_are_refused_when_the_client_is_built() -> None:
    for headers, problem in [
        ({"X-Api-Key": f"{SECRET}\n"}, "the value of 'X-Api-Key' contains a line break at position 34"),
        ({"X-Trace": "café"}, "the value of 'X-Trace' contains a non-ASCII character at position 3"),
        ({"X-Trace": " padded "}, "the value of 'X-Trace' starts or ends with whitespace"),
        ({"X Trace": "v"}, "'X Trace' is not a valid header name"),
        ({"X-Trace:": "v"}, "'X-Trace:' is not a valid header name"),
    ]:
        with pytest.raises(ConfigurationError) as caught:
            PaymentKit(base_url="https://pay.example.com", default_headers=headers)
        assert str(caught.value) == f"default_headers: {problem}" and SECRET not in str(caught.value)
    with PaymentKit(base_url="https://pay.example.com") as client, pytest.raises(ConfigurationError, match="X-A"):
        client.with_options(default_headers={"X-A": "b\r\n"})


def test_bad_extra_headers_and_idempotency_keys_are_value_errors_before_sending() -> None:
    with FaultServer() as fs, sync_client(fs.base_url, max_retries=3) as client:
        with pytest.raises(ValueError, match="extra_headers: the value of 'X-Trace' contains a line break"):
            client.products.list(extra_headers={"X-Trace": "a\nb"})
        with pytest.raises(ValueError, match="extra_headers: 'bad name' is not a valid header name"):
            client.products.list(extra_headers={"bad name": "x"})
        with pytest.raises(ValueError, match="idempotency_key contains a non-ASCII character"):
            client.products.create(name="Pro", type="service", idempotency_key="order-é")
        client.products.list(extra_headers={"X-Trace": "fine"})  # the client is still usable
    assert [s.headers.get("x-trace") for s in fs.seen] == ["fine"]


@pytest.mark.parametrize(
    "raised",
    [
        h11.LocalProtocolError("Illegal header value b'" + SECRET + "'"),
        httpx.LocalProtocolError("Illegal header value b'" + SECRET + "'"),
        httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."),
    ],
)
def test_a_local_httpx_or_h11_error_is_a_configuration_error_never_retried(raised: Exception) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise raised

    sleeps: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(handler)) as own:
        client = PaymentKit(base_url="https://pay.example.com", http_client=own, max_retries=3)
        client._transport.sleep = sleeps.append
        with pytest.raises(ConfigurationError) as caught:
            client.products.list()
    error = caught.value
    assert not isinstance(error, APIConnectionError) and len(calls) == 1 and sleeps == []
    assert type(raised).__name__ in str(error) and "GET /api/products" in str(error)
    assert error.__cause__ is None and error.__context__ is None and SECRET not in everything_shown_by(error)


def test_an_unsupported_scheme_from_your_own_http_client_is_a_configuration_error() -> None:
    with (
        httpx.Client(base_url="ftp://files.example.com") as own,
        PaymentKit(base_url="", http_client=own) as client,
        pytest.raises(ConfigurationError, match="ftp"),
    ):
        client.products.list()


# -- base_url is checked --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("ftp://x", "must be an http:// or https:// URL, not ftp://"),
        ("127.0.0.1:8787", "has no scheme: did you mean http://127.0.0.1:8787 ?"),
        ("localhost:8787/payment", "has no scheme: did you mean http://localhost:8787/payment ?"),
        ("app.example.com/payment", "has no scheme: did you mean https://app.example.com/payment ?"),
        ("http://", "has no host"),
        ("https:///payment", "has no host"),
        ("http://127.0.0.1:99999", "has port 99999, outside 1-65535"),
        ("http://127.0.0.1:port", "is not a valid URL"),
    ],
)
def test_a_base_url_that_is_not_http_with_a_host_is_refused(
    base_url: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        PaymentKit(base_url=base_url)
    assert str(caught.value).startswith(f"base_url {problem}")
    monkeypatch.setenv("PAYMENT_KIT_BASE_URL", base_url)
    with pytest.raises(ConfigurationError) as from_env:
        AsyncPaymentKit()
    assert str(from_env.value).startswith(f"PAYMENT_KIT_BASE_URL {problem}")


def test_plain_http_to_another_machine_warns_once_per_client(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet = [
        "http://localhost:8787",
        "http://LOCALHOST.:8787/payment",
        "http://sandbox.localhost",
        "http://127.0.0.1",
        "http://127.9.8.7:1",
        "http://[::1]:8787",
        "https://pay.example.com/payment",
    ]
    for base_url in quiet:
        PaymentKit(base_url=base_url).close()
    assert [r for r in caplog.records if r.name == "payment_kit"] == []

    with PaymentKit(base_url="http://pay.example.com/payment") as client:
        client.with_options(max_retries=0)  # a copy is not a new build: no second warning
    monkeypatch.setenv("PAYMENT_KIT_BASE_URL", "http://10.0.0.5:8787")
    AsyncPaymentKit()
    warnings = [r for r in caplog.records if r.name == "payment_kit"]
    assert [r.levelno for r in warnings] == [logging.WARNING] * 2
    assert "base_url is plain http:// to pay.example.com" in warnings[0].getMessage()
    assert "PAYMENT_KIT_BASE_URL is plain http:// to 10.0.0.5" in warnings[1].getMessage()


def test_an_empty_base_url_still_means_the_http_clients_own() -> None:
    with respx.mock() as router, httpx.Client(base_url="https://own.example.com/payment") as own:
        route = router.get("https://own.example.com/payment/api/products").mock(
            return_value=httpx.Response(200, json={"count": 0, "list": []})
        )
        with PaymentKit(base_url="", api_key="k", http_client=own) as client:
            assert client.base_url is None and client.products.list().count == 0
    assert route.called


def test_surrounding_whitespace_and_trailing_slashes_leave_the_base_url() -> None:
    with PaymentKit(base_url=" https://pay.example.com/payment/\n") as client:
        assert client.base_url == "https://pay.example.com/payment"


# -- Retry-After ----------------------------------------------------------------------------------

UNREADABLE_RETRY_AFTER = ["soon", "Wed, 99 Foo 2026 99:99:99 GMT", "-5", "NaN", "inf", "1e400", "", "3 s", "1_0"]


@pytest.mark.parametrize("value", UNREADABLE_RETRY_AFTER)
def test_an_unreadable_retry_after_is_ignored_for_the_usual_backoff(value: str) -> None:
    sleeps: list[float] = []
    with (
        FaultServer(plan=first_only("retry_after"), retry_after=value) as fs,
        sync_client(fs.base_url, sleeps, max_retries=1) as client,
    ):
        assert client.products.list().count == 0
    assert sleeps == [0.5] and len(fs.seen) == 2


@pytest.mark.parametrize("value", ["soon", "Wed, 99 Foo 2026 99:99:99 GMT", "NaN"])
async def test_an_unreadable_retry_after_is_ignored_by_the_async_client(value: str) -> None:
    sleeps: list[float] = []
    with FaultServer(plan=first_only("retry_after"), retry_after=value) as fs:
        async with async_client(fs.base_url, sleeps, max_retries=1) as client:
            assert (await client.products.list()).count == 0
    assert sleeps == [0.5]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        ("0", 0.0),
        (" 1.5 ", 1.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 -0000", 0.0),
    ],
)
def test_a_readable_retry_after_is_still_honoured(value: str, expected: float) -> None:
    sleeps: list[float] = []
    with (
        FaultServer(plan=first_only("retry_after"), retry_after=value) as fs,
        sync_client(fs.base_url, sleeps, max_retries=1) as client,
    ):
        client.products.list()
    assert sleeps == [expected]


def test_retry_after_ms_wins_when_readable() -> None:
    answer = httpx.Response(429, headers={"retry-after-ms": "NaN", "retry-after": "soon"})
    assert retry_delay(0, answer, lambda: 0.0) == 0.5
    answer = httpx.Response(429, headers={"retry-after-ms": "-1", "retry-after": "2"})
    assert retry_delay(0, answer, lambda: 0.0) == 2.0
    assert retry_delay(0, httpx.Response(429, headers={"retry-after-ms": "1500"}), lambda: 0.0) == 1.5


# -- nothing escapes but documented errors ----------------------------------------------------------


def test_a_body_its_content_encoding_cannot_decode_is_a_validation_error_not_retried() -> None:
    with (
        FaultServer(plan=always("bad_gzip")) as fs,
        sync_client(fs.base_url, max_retries=3) as client,
        pytest.raises(APIResponseValidationError, match=r"cannot be decoded as its Content-Encoding \(gzip\)"),
    ):
        client.products.list()
    assert len(fs.seen) == 1


async def test_an_async_body_that_cannot_be_decoded_is_a_validation_error() -> None:
    with FaultServer(plan=always("bad_gzip")) as fs:
        async with async_client(fs.base_url, max_retries=3) as client:
            with pytest.raises(APIResponseValidationError, match="cannot be decoded"):
                await client.products.list()
    assert len(fs.seen) == 1


def test_too_many_redirects_is_a_connection_error_not_retried() -> None:
    """Only an http_client of your own follows redirects; a loop of them is not worth a retry."""
    with (
        FaultServer(plan=always("redirect_loop")) as fs,
        httpx.Client(follow_redirects=True) as own,
        PaymentKit(base_url=fs.base_url, http_client=own, max_retries=3) as client,
        pytest.raises(APIConnectionError, match="TooManyRedirects: GET /api/products"),
    ):
        client.products.list()
    assert len(fs.seen) == 21  # the first request and httpx's 20 redirects, once


@pytest.mark.parametrize(
    "raised",
    [OSError(113, "No route to host"), h11.RemoteProtocolError("peer sent garbage"), ConnectionResetError()],
)
async def test_os_and_h11_errors_are_retried_then_a_connection_error(raised: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    sleeps: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(handler)) as own:
        client = sync_client("https://pay.example.com", sleeps, http_client=own, max_retries=2)
        with pytest.raises(APIConnectionError) as caught:
            client.products.list()
    assert sleeps == [0.5, 1.0] and caught.value.__cause__ is raised

    async def async_handler(request: httpx.Request) -> httpx.Response:
        raise raised

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(async_handler)) as own_async,
        async_client("https://pay.example.com", [], http_client=own_async, max_retries=1) as aclient,
    ):
        with pytest.raises(APIConnectionError):
            await aclient.products.list()


def test_the_answer_read_under_the_cap_is_whole_and_free_of_its_stream() -> None:
    """A gzip answer read in pieces is the same answer; its stream no longer points back at it."""
    # The product is deliberately partial (only the bytes matter here), so the client reads leniently.
    page = b'{"count":1,"list":[' + b'{"id":"prod_1","name":"' + b"x" * 200_000 + b'"}]}'
    with respx.mock() as router:
        router.get("https://pay.example.com/api/products").mock(
            return_value=httpx.Response(200, content=gzip.compress(page), headers={"content-encoding": "gzip"})
        )
        with (
            PaymentKit(base_url="https://pay.example.com", api_key="k", strict_responses=False) as client,
            client.with_raw_response() as raw,
        ):
            client.products.list()
    response = raw.last.http_response
    assert response.content == page and isinstance(response.stream, httpx.ByteStream)
