"""The `payment-kit` command line, run for real: each command in a subprocess (`python -m
payment_kit.cli`, what the `payment-kit` script runs) against this module's own sandbox on a free
loopback port, as a user at a terminal runs it. Subprocesses cost about half a second each, so each
test runs few and asks much of each (trigger takes every type in one run)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from waiting import wait_for, wait_until

from payment_kit import NotFoundError, PaymentKit
from payment_kit.cli import _trigger as trigger_module
from payment_kit.cli import build_parser, main
from payment_kit.cli._trigger import NOT_PRODUCED, RECIPES
from payment_kit_sandbox.server import RunningSandbox

pytestmark = pytest.mark.sandbox_only  # the sandbox's own routes, a loopback relay and receiver

ROOT = Path(__file__).resolve().parents[2]
EVENT_LINE = re.compile(r"^  event (evt_\w+)  (\S+)  (\S*)$", re.MULTILINE)


def environment(sandbox: RunningSandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PAYMENT_LIVEMODE", "PAYMENT_LIVE_MODE")}
    return env | {
        "PAYMENT_KIT_BASE_URL": sandbox.base_url,
        "PAYMENT_KIT_API_KEY": sandbox.api_key,
        "PAYMENT_TEST_MODE": "true",
        "PYTHONUNBUFFERED": "1",
    }


def cli(sandbox: RunningSandbox, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "payment_kit.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment(sandbox),
        cwd=ROOT,
    )


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[PaymentKit]:
    with PaymentKit(base_url=sandbox.base_url, api_key=sandbox.api_key, livemode=False, max_retries=0) as c:
        yield c


def sandbox_events(sandbox: RunningSandbox, event_type: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{sandbox.base_url}/sandbox/events",
        params={"type": event_type, "livemode": "false", "limit": 100},
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        timeout=30,
    )
    answer.raise_for_status()
    events: list[dict[str, Any]] = answer.json()["list"]
    return events


def test_a_create_a_retrieve_a_list_of_every_page_and_a_404(sandbox: RunningSandbox, client: PaymentKit) -> None:
    tag = uuid.uuid4().hex[:10]
    created = cli(
        sandbox, "products", "create", "--name", f"CLI {tag}", "--type", "service", "-d", f"metadata[run]={tag}"
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.count("\n") == 1  # piped: one compact line
    product = json.loads(created.stdout)
    assert product["id"].startswith("prod_") and product["name"] == f"CLI {tag}" and product["metadata"] == {"run": tag}
    assert client.products.retrieve(product["id"]).livemode is False  # PAYMENT_TEST_MODE, as the SDK reads it
    others = [client.products.create(name=f"CLI {tag} {i}", type="service", metadata={"run": tag}) for i in range(2)]

    retrieved = cli(sandbox, "products", "retrieve", product["id"])
    assert retrieved.returncode == 0, retrieved.stderr
    assert json.loads(retrieved.stdout)["id"] == product["id"]

    walked = cli(sandbox, "products", "list", "--metadata", f"run={tag}", "--page-size", "2", "--all")
    assert walked.returncode == 0, walked.stderr
    rows = [json.loads(line) for line in walked.stdout.splitlines()]
    assert sorted(row["id"] for row in rows) == sorted([product["id"], *(p.id for p in others)])
    assert all(row["metadata"] == {"run": tag} for row in rows)

    missing = cli(sandbox, "products", "retrieve", f"prod_missing{tag}")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith("payment-kit: 404 Not Found: ") and f"prod_missing{tag}" in missing.stderr


def test_trigger_makes_every_supported_event_happen(sandbox: RunningSandbox) -> None:
    result = cli(sandbox, "trigger", *RECIPES, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    printed: dict[str, set[str]] = {}
    for event_id, event_type, _object_id in EVENT_LINE.findall(result.stdout):
        printed.setdefault(event_type, set()).add(event_id)
    assert set(printed) == set(RECIPES)
    for event_type, ids in printed.items():
        recorded = {event["id"] for event in sandbox_events(sandbox, event_type)}
        assert ids <= recorded, f"{event_type}: printed {ids}, the sandbox has {recorded}"
    assert (
        "created checkout session cs_" in result.stdout
        and "advanced the test clock" in result.stdout
        and "created test clock clock_" in result.stdout
    )


def test_trigger_covers_every_type_the_document_lists_and_its_help_says_so(sandbox: RunningSandbox) -> None:
    documented = list(yaml.safe_load((ROOT / "openapi" / "payment-kit.yaml").read_text())["x-webhooks"])
    assert set(RECIPES) | set(NOT_PRODUCED) == set(documented), "a documented event type needs a recipe (or a reason)"
    assert not set(RECIPES) & set(NOT_PRODUCED)
    shown = cli(sandbox, "trigger", "--help")
    assert shown.returncode == 0, shown.stderr
    listed = shown.stdout.split("Event types (the OpenAPI document's x-webhooks):", 1)[1]
    assert max(len(line) for line in listed.splitlines()) <= trigger_module.HELP_COLUMNS
    # The types with a recipe, sorted, a row each (wrapped onto lines indented deeper), with what it does.
    rows = re.split(r"\n(?=  \S)", listed.split("\n\n", 1)[0].strip("\n"))
    assert [row.split()[0] for row in rows] == sorted(RECIPES)
    for row in rows:
        event_type, does = row.split(None, 1)
        assert " ".join(does.split()) == RECIPES[event_type].does
    assert ("the sandbox never raises them" in listed) == bool(NOT_PRODUCED)
    assert "with no recipe" not in listed


class VerifyingReceiver:
    """An app's webhook route: verifies each delivery with the secret `listen` printed."""

    def __init__(self) -> None:
        self.secret = ""
        self.verified: list[dict[str, Any]] = []
        self.refused: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    receiver.verified.append(Webhook(receiver.secret).verify(body, dict(self.headers.items())))
                    status = 200
                except WebhookVerificationError as exc:
                    receiver.refused.append(str(exc))
                    status = 400
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Listening:
    """`payment-kit listen` in the background, its output collected line by line as it comes."""

    def __init__(self, sandbox: RunningSandbox, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "payment_kit.cli", "listen", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(sandbox),
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def line(self, pattern: str) -> re.Match[str]:
        found = wait_for(
            lambda: next((m for line in self.lines if (m := re.search(pattern, line))), None),
            lambda match: match is not None or self.process.poll() is not None,
            timeout=30,
            message=f"listen printed nothing like {pattern!r}",
        )
        assert found is not None, f"listen ended ({self.process.poll()}): {self.lines} {self.stop()[1]}"
        return found

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=30)
        self.reader.join(timeout=10)
        return self.process.returncode, err


def test_listen_forwards_a_triggered_event_that_verifies_with_the_printed_secret_and_ctrl_c_removes_it(
    sandbox: RunningSandbox, client: PaymentKit
) -> None:
    receiver = VerifyingReceiver()
    listening = Listening(sandbox, "--forward-to", receiver.url)
    try:
        receiver.secret = listening.line(r"^Ready\. Webhook signing secret: (whsec_\S+)$")[1]
        assert listening.lines[0].startswith("Ready. Webhook signing secret: whsec_")  # the secret comes first
        endpoint_id = listening.line(r"\(endpoint (we_\w+)\)")[1]
        assert client.webhook_endpoints.retrieve(endpoint_id).status == "enabled"

        triggered = cli(sandbox, "trigger", "checkout.session.completed")
        assert triggered.returncode == 0, triggered.stderr
        event_id = EVENT_LINE.search(triggered.stdout)[1]  # type: ignore[index]
        wait_until(
            lambda: any(event["id"] == event_id for event in receiver.verified),
            timeout=30,
            message=f"the receiver never verified {event_id} ({receiver.refused})",
        )
        assert receiver.refused == []
        line = listening.line(rf"checkout\.session\.completed +{event_id}  -> 200 OK \(\d+ ms\)$")
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  ", line.string)

        code, err = listening.stop(signal.SIGINT)
        assert code == 0, err
        assert f"removed webhook endpoint {endpoint_id}" in err
        with pytest.raises(NotFoundError):
            client.webhook_endpoints.retrieve(endpoint_id)
    finally:
        listening.stop()
        receiver.close()


def test_listen_removes_its_endpoint_on_sigterm_and_says_when_the_app_is_down(
    sandbox: RunningSandbox, client: PaymentKit
) -> None:
    listening = Listening(sandbox, "--forward-to", "http://127.0.0.1:9/nothing-listens", "--events", "product.created")
    try:
        endpoint_id = listening.line(r"\(endpoint (we_\w+)\)")[1]
        assert client.webhook_endpoints.retrieve(endpoint_id).enabled_events == ["product.created"]
        product = client.products.create(name="listen down", type="service")
        event_id = next(
            e["id"] for e in sandbox_events(sandbox, "product.created") if e["data"]["object"]["id"] == product.id
        )
        listening.line(rf"product\.created +{event_id}  -> no answer: ")
        code, err = listening.stop(signal.SIGTERM)
        assert code == 0 and f"removed webhook endpoint {endpoint_id}" in err
        with pytest.raises(NotFoundError):
            client.webhook_endpoints.retrieve(endpoint_id)
    finally:
        listening.stop()


def test_help_lists_every_command_and_each_command_describes_its_parameters(sandbox: RunningSandbox) -> None:
    top = cli(sandbox, "--help")
    assert top.returncode == 0, top.stderr
    for word in ("sandbox", "listen", "trigger", "events", "open", "products", "checkout", "credit-grants"):
        assert re.search(rf"^    {re.escape(word)} ", top.stdout, re.MULTILINE), word
    assert "Exit codes:" in top.stdout and "PAYMENT_KIT_BASE_URL" in top.stdout
    leaf = cli(sandbox, "checkout", "sessions", "create", "--help")
    assert leaf.returncode == 0, leaf.stderr
    assert "POST /api/checkout-sessions" in leaf.stdout and "--line-items JSON" in leaf.stdout
    assert "-d KEY=VALUE" in leaf.stdout and "--idempotency-key" in leaf.stdout


def run_in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, *argv: str
) -> tuple[int, str, str]:
    """One command in this process (cheaper than a subprocess, for the commands' finer points)."""
    for name, value in environment(sandbox).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PAYMENT_LIVEMODE", raising=False)
    monkeypatch.delenv("PAYMENT_LIVE_MODE", raising=False)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_write_repeated_with_its_idempotency_key_applies_once(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"cli-{uuid.uuid4().hex}"
    create = ("products", "create", "--name", "Once", "--type", "service", "--idempotency-key", key)
    first = run_in_process(capsys, monkeypatch, sandbox, *create)
    again = run_in_process(capsys, monkeypatch, sandbox, *create)
    assert first[0] == again[0] == 0
    assert json.loads(first[1])["id"] == json.loads(again[1])["id"]
    other = run_in_process(capsys, monkeypatch, sandbox, "products", "create", "--name", "Twice", "--type", "service")
    assert other[0] == 0 and json.loads(other[1])["id"] != json.loads(first[1])["id"]  # a new key per command
    reused = run_in_process(capsys, monkeypatch, sandbox, *create[:3], "Other", *create[4:])
    assert reused[0] == 1 and "400 Bad Request" in reused[2] and "already used for a different request" in reused[2]


def test_open_prints_the_hosted_page_of_a_session_or_a_payment_link(
    sandbox: RunningSandbox,
    client: PaymentKit,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    product = client.products.create(name="Open me", type="service")
    price = client.prices.create(product_id=product.id, type="one_time", unit_amount="1")
    line_items = [{"price_id": price.id, "quantity": 1}]
    session = client.checkout.sessions.create(mode="payment", line_items=line_items, success_url="https://e.com/ok")
    link = client.payment_links.create(line_items=line_items)
    code, out, _ = run_in_process(capsys, monkeypatch, sandbox, "open", session.id)
    assert (code, out) == (0, f"{session.url}\n")
    code, out, _ = run_in_process(capsys, monkeypatch, sandbox, "open", link.id, "--no-browser")
    assert (code, out) == (0, f"{sandbox.base_url}/checkout/pay/{link.id}\n")
    visited = httpx.get(out.strip(), timeout=30)  # the link's page opens a session and sends the payer there
    assert visited.status_code == 303 and "/checkout/pay/cs_" in visited.headers["location"]
    code, out, err = run_in_process(capsys, monkeypatch, sandbox, "open", "plink_missing")
    assert code == 1 and out == "" and "404 Not Found" in err


def test_events_list_and_resend(
    sandbox: RunningSandbox, client: PaymentKit, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    product = client.products.create(name="Event me", type="service")
    code, out, _ = run_in_process(
        capsys, monkeypatch, sandbox, "events", "list", "--type", "product.created", "--limit", "5"
    )
    listed = json.loads(out)
    assert code == 0 and listed["count"] >= 1 and len(listed["list"]) <= 5
    assert listed["list"][0]["data"]["object"]["id"] == product.id and listed["list"][0]["type"] == "product.created"
    event_id = listed["list"][0]["id"]
    code, out, _ = run_in_process(capsys, monkeypatch, sandbox, "events", "resend", event_id)
    assert code == 0 and json.loads(out)["event"] == event_id
    code, _, err = run_in_process(capsys, monkeypatch, sandbox, "events", "resend", "evt_missing")
    assert code == 1 and "404 Not Found" in err


def test_test_clocks_commands_and_the_test_clock_option(
    sandbox: RunningSandbox, client: PaymentKit, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(*argv: str) -> Any:
        code, out, err = run_in_process(capsys, monkeypatch, sandbox, *argv)
        assert code == 0, err
        return json.loads(out)

    clock = run("test-clocks", "create", "--name", "cli", "--frozen-time", "1900000000")
    assert (clock["name"], clock["frozen_time"]) == ("cli", 1900000000)
    assert run("test-clocks", "retrieve", clock["id"]) == clock
    assert clock["id"] in [c["id"] for c in run("test-clocks", "list", "--limit", "5")["list"]]
    # --test-clock puts an API command on the clock: the customer it makes belongs to it.
    customer = run("customers", "retrieve", "did:abt:zclicustomer", "--create", "--test-clock", clock["id"])
    assert customer["created_at"].startswith("2030-03-17")
    moved = run("test-clocks", "advance", clock["id"], "--days", "2")
    assert (moved["previous_frozen_time"], moved["frozen_time"]) == (1900000000, 1900000000 + 2 * 86400)
    monkeypatch.setenv("PAYMENT_KIT_TEST_CLOCK", clock["id"])
    assert run("customers", "update", customer["id"], "--name", "Clocked")["updated_at"].startswith("2030-03-19")
    monkeypatch.delenv("PAYMENT_KIT_TEST_CLOCK")
    assert run("test-clocks", "delete", clock["id"])["deleted"] is True
    code, _, err = run_in_process(capsys, monkeypatch, sandbox, "test-clocks", "advance", clock["id"], "--to", "1")
    assert code == 1 and "404 Not Found" in err
    with pytest.raises(SystemExit):
        run_in_process(capsys, monkeypatch, sandbox, "test-clocks", "advance", clock["id"])  # --days, --seconds or --to
    assert "one of the arguments --days --seconds --to is required" in capsys.readouterr().err


def test_trigger_names_types_it_cannot_make_and_a_recipe_that_raises_nothing(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    documented = trigger_module.document_event_types()
    monkeypatch.setattr(trigger_module, "document_event_types", lambda: [*documented, "customer.brand_new"])
    with pytest.raises(SystemExit):
        build_parser("trigger").parse_args(["trigger", "--help"])
    listed = capsys.readouterr().out.split("with no recipe in this version of payment-kit yet:", 1)[1]
    assert listed.split() == ["customer.brand_new"]  # a type the document gains shows up at once
    code, _, err = run_in_process(capsys, monkeypatch, sandbox, "trigger", "customer.brand_new")
    assert code == 2 and "customer.brand_new has no recipe" in err
    code, _, err = run_in_process(capsys, monkeypatch, sandbox, "trigger", "invoice.paid", "no.such")
    assert code == 2 and "no.such is not an event type of the API" in err
    idle = trigger_module.Recipe("does nothing", lambda scenario: None)
    monkeypatch.setitem(trigger_module.RECIPES, "invoice.voided", idle)
    code, _, err = run_in_process(capsys, monkeypatch, sandbox, "trigger", "invoice.voided")
    assert code == 1 and "the sandbox recorded no invoice.voided event" in err

    # A documented type no sandbox rule raises is listed apart, with why, and refused (every type has
    # a recipe today, so one is taken away for this).
    monkeypatch.delitem(trigger_module.RECIPES, "invoice.voided")
    monkeypatch.setitem(trigger_module.NOT_PRODUCED, "invoice.voided", "no rule voids an invoice")
    with pytest.raises(SystemExit):
        build_parser("trigger").parse_args(["trigger", "--help"])
    unproduced = capsys.readouterr().out.split("Documented, but the sandbox never raises them:", 1)[1]
    assert unproduced.split("\n\n", 1)[0].split(None, 1) == ["invoice.voided", "no rule voids an invoice"]
    code, _, err = run_in_process(capsys, monkeypatch, sandbox, "trigger", "invoice.paid", "invoice.voided")
    assert code == 2 and "invoice.voided cannot be triggered: no rule voids an invoice" in err
