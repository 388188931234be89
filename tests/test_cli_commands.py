"""The `payment-kit` command line without a server: its commands cover every operation, each
command's help comes from the document, values (flags and `-d`) become the facade's arguments as
the document types them, and each failure ends with its documented exit code.
(`tests/integration/test_cli.py` runs the commands against a sandbox.)"""

from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import sys
import tomllib
import webbrowser
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from standardwebhooks.webhooks import Webhook

from payment_kit import APIResponseValidationError, APIStatusError, NoMorePagesError
from payment_kit._generated_namespaces import OPERATIONS
from payment_kit.cli import _api_commands as api_commands
from payment_kit.cli import build_parser, main
from payment_kit.cli._api_commands import arguments_from
from payment_kit.cli._command_specs import CommandSpec
from payment_kit.cli._generated_commands import COMMANDS
from payment_kit.cli._listen import ANSWER_BYTES, Relay
from payment_kit.cli._output import EXIT_CONNECTION, CommandError, exit_code_of, print_json

ROOT = Path(__file__).resolve().parents[1]
BASE = "http://pk.test"


def spec_of(*words: str) -> CommandSpec:
    return next(spec for spec in COMMANDS if spec.words == words)


def read(words: tuple[str, ...], *options: str) -> dict[str, Any]:
    """The facade's keyword arguments for a command line."""
    namespace = build_parser(words[0]).parse_args([*words, *options])
    return arguments_from(spec_of(*words), namespace)


def test_every_operation_is_a_command_named_like_the_facade() -> None:
    assert sorted(spec.operation_id for spec in COMMANDS) == sorted(OPERATIONS)
    assert len({spec.words for spec in COMMANDS}) == len(COMMANDS)
    assert spec_of("checkout", "sessions", "retrieve").operation_id == "retrieveCheckoutSession"
    assert spec_of("credit-grants", "summary").operation_id == "getCreditGrantSummary"
    assert spec_of("subscription-items", "create-usage-record").namespace == "subscription_items"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["payment-kit"] == "payment_kit.cli:main"


def test_each_command_has_help_with_its_description_and_every_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    for spec in COMMANDS:
        with pytest.raises(SystemExit) as ended:
            build_parser(spec.words[0]).parse_args([*spec.words, "--help"])
        assert ended.value.code == 0
        shown = " ".join(capsys.readouterr().out.split())  # unwrapped
        assert spec.summary in shown and spec.http in shown, spec.words
        if spec.description:
            assert " ".join(spec.description.split())[:60] in shown, spec.words
        for param in spec.params:
            assert param.flag in shown, (spec.words, param.flag)
        for param in spec.path_params:
            assert param.name.upper() in shown, (spec.words, param.name)
        assert "--base-url" in shown and "-d KEY=VALUE" in shown


def test_nested_values_with_d_are_read_as_the_document_types_them() -> None:
    got = read(
        ("checkout", "sessions", "create"),
        "-d", "line_items[0][price_id]=price_a",
        "-d", "line_items[0][quantity]=2",
        "-d", "line_items[1][price_id]=price_b",
        "-d", "line_items[1][cross_sell]=true",
        "-d", "metadata[plan]=pro",
        "-d", "metadata[seats]=10",
        "-d", "payment_method_types[]=arcblock",
        "-d", "payment_method_types[]=ethereum",
        "--success-url", "https://example.com/ok",
    )  # fmt: skip
    assert got == {
        "line_items": [{"price_id": "price_a", "quantity": 2}, {"price_id": "price_b", "cross_sell": True}],
        "metadata": {"plan": "pro", "seats": "10"},  # metadata values are text
        "payment_method_types": ["arcblock", "ethereum"],
        "success_url": "https://example.com/ok",
    }
    price = read(
        ("prices", "create"),
        "-d", "product_id=prod_x",
        "-d", "type=recurring",
        "-d", "unit_amount=0.10",
        "-d", "recurring[interval]=month",
        "-d", "recurring[interval_count]=3",
        "-d", "tiers[0][up_to]=10",
        "-d", "tiers[0][unit_amount]=1.5",
    )  # fmt: skip
    assert price["unit_amount"] == "0.10"  # money stays a decimal string
    assert price["recurring"] == {"interval": "month", "interval_count": 3}
    assert price["tiers"] == [{"up_to": 10, "unit_amount": "1.5"}]


def test_flags_take_json_repeated_items_key_value_filters_booleans_and_null() -> None:
    sessions = read(
        ("checkout", "sessions", "create"),
        "--line-items", '[{"price_id": "price_a", "quantity": 1}]',
        "--payment-method-types", "arcblock",
        "--payment-method-types", '["ethereum", "base"]',
        "--success-url", "https://example.com/ok",
    )  # fmt: skip
    assert sessions["line_items"] == [{"price_id": "price_a", "quantity": 1}]
    assert sessions["payment_method_types"] == ["arcblock", "ethereum", "base"]
    listed = read(("products", "list"), "--metadata", "plan=pro", "--metadata", '{"tier": 2}', "--no-active")
    assert listed == {"metadata": {"plan": "pro", "tier": "2"}, "active": False}
    assert read(("products", "list"), "-d", "metadata[plan]=pro", "-d", "pageSize=5") == {
        "metadata": {"plan": "pro"},
        "page_size": 5,  # the API's own name works with -d too
    }
    assert read(("products", "list"), "-d", "active=false", "--page", "2") == {"active": False, "page": 2}
    assert read(("customers", "update"), "cus_x", "--currency-id", "null") == {"currency_id": None}
    assert read(("products", "create"), "--name", "P", "--type", "service", "--idempotency-key", "k1") == {
        "name": "P",
        "type": "service",
        "idempotency_key": "k1",
    }


@pytest.mark.parametrize(
    ("words", "options", "says"),
    [
        (("products", "create"), ["--name", "P"], "products create needs --type (or -d type=...)"),
        (("products", "list"), ["--page-size", "five"], "--page-size: expected a whole number, not 'five'"),
        (("products", "list"), ["-d", "nope=1"], "products list has no parameter 'nope'"),
        (("products", "list"), ["-d", "page"], "expected KEY=VALUE"),
        (("products", "list"), ["-d", "page=1", "--page", "2"], "page is given twice"),
        (("products", "list"), ["-d", "page=1", "-d", "page=2"], "page is given twice"),
        (("products", "list"), ["-d", "page[0]=1"], "page is a number, which has no parts"),
        (("products", "list"), ["-d", "active=maybe"], "expected true or false, not 'maybe'"),
        (("products", "list"), ["--metadata", "plan"], "expected key=value"),
        (("products", "create"), ["--name", "P", "--type", "service", "--metadata", "{x"], "is not valid JSON"),
        (("checkout", "sessions", "create"), ["-d", "line_items[0]=a", "-d", "line_items[x]=b"], "both as a list"),
        (("checkout", "sessions", "create"), ["-d", "line_items[0][quantity]=one"], "expected a whole number"),
        (("checkout", "sessions", "create"), ["-d", "metadata[a]=1", "-d", "metadata[a]=2"], "given twice"),
        (("checkout", "sessions", "create"), ["-d", "metadata[a]=1", "-d", "metadata=2"], "given whole and in parts"),
        (("meter-events", "stats"), ["--meter-id", "m", "-d", "granularity=week"], "'week' is not one of minute"),
    ],
)
def test_values_that_cannot_be_read_are_named(words: tuple[str, ...], options: list[str], says: str) -> None:
    with pytest.raises(CommandError, match=None) as refused:
        read(words, *options)
    assert says in str(refused.value) and refused.value.exit_code == 2


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_failures_end_with_their_documented_exit_codes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYMENT_KIT_BASE_URL", raising=False)
    code, _, err = run(capsys, "products", "list")
    assert code == 3 and "no PaymentKit base URL: pass --base-url URL or set PAYMENT_KIT_BASE_URL" in err
    # A malformed environment is the SDK's ConfigurationError, and the flag wins over it.
    monkeypatch.setenv("PAYMENT_KIT_BASE_URL", "127.0.0.1:8787")
    code, _, err = run(capsys, "products", "list")
    assert code == 3 and "PAYMENT_KIT_BASE_URL has no scheme: did you mean http://127.0.0.1:8787 ?" in err
    with respx.mock() as router:
        router.get(f"{BASE}/api/products/prod_x").mock(
            return_value=httpx.Response(404, json={"error": "Product not found: prod_x"})
        )
        router.get(f"{BASE}/api/products").mock(side_effect=httpx.ConnectError("refused"))
        router.get(f"{BASE}/sandbox/health").mock(return_value=httpx.Response(404, json={"error": "no such route"}))
        code, out, err = run(capsys, "products", "retrieve", "prod_x", "--base-url", BASE)
        assert (code, out) == (1, "") and err == "payment-kit: 404 Not Found: Product not found: prod_x\n"
        code, _, err = run(capsys, "products", "list", "--base-url", BASE, "--max-retries", "0")
        assert code == 3 and "Connection error: GET /api/products" in err and "(server http://pk.test)" in err
        code, _, err = run(capsys, "events", "list", "--base-url", BASE)
        assert code == 3 and "payment-kit events needs a PaymentKit sandbox" in err
    code, _, err = run(capsys, "trigger", "invoice.paid", "--base-url", BASE, "--max-retries", "0")
    assert code == 3 and "Connection error" in err  # the document was read; the server was not there
    with pytest.raises(SystemExit) as usage:
        main(["products", "list", "--timeout", "soon"])
    assert usage.value.code == 2


def test_the_sandbox_commands_say_when_the_sandbox_extra_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    code, _, err = run(capsys, "trigger", "invoice.paid", "--base-url", BASE)
    assert code == 3
    assert "payment-kit trigger needs the sandbox extra (yaml is not installed): pip install" in err
    with pytest.raises(SystemExit):
        build_parser("trigger").parse_args(["trigger", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "needs the sandbox extra (yaml is not installed): pip install 'blocklet-payment-kit[sandbox]'" in shown
    monkeypatch.delitem(sys.modules, "payment_kit_sandbox.__main__", raising=False)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    code, _, err = run(capsys, "sandbox", "--port", "1")
    assert code == 3 and "payment-kit sandbox needs the sandbox extra (uvicorn is not installed)" in err


def test_the_api_commands_and_listen_need_only_the_base_install() -> None:
    blocked = ["yaml", "uvicorn", "starlette", "sqlalchemy", "jsonschema", "payment_kit_sandbox"]
    script = (
        f"import sys; sys.modules.update(dict.fromkeys({blocked!r}))\n"
        "from payment_kit.cli import main\n"
        "for argv in (['products', 'create', '--help'], ['listen', '--help'], ['events', 'list', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as ended:\n"
        "        assert ended.code == 0, (argv, ended.code)\n"
        "print(main(['trigger', 'invoice.paid']))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "3"
    assert "payment-kit trigger needs the sandbox extra" in result.stderr


# -- the finer points, without a server ------------------------------------------------------------

ENDPOINT = {
    "id": "we_test",
    "livemode": False,
    "api_version": "2023-09-05",
    "url": "http://127.0.0.1:1/",
    "description": "",
    "enabled_events": ["*"],
    "metadata": {},
    "status": "enabled",
    "created_via": "api",
    "created_at": "2026-01-01T00:00:00.000Z",
    "updated_at": "2026-01-01T00:00:00.000Z",
}


def test_exit_codes_and_messages_for_each_kind_of_failure(capsys: pytest.CaptureFixture[str]) -> None:
    request = httpx.Request("GET", f"{BASE}/api/products")
    odd = httpx.Response(799, request=request, json={"error": "odd"}, headers={"x-request-id": "req_1"})
    cases: list[tuple[BaseException, int, str]] = [
        (
            APIStatusError("x", response=odd, body={"error": "odd"}, server_message="odd"),
            1,
            "799 Error: odd (request req_1)",
        ),
        (APIResponseValidationError(response=httpx.Response(200, request=request), reason="not JSON"), 1, "not JSON"),
        (NoMorePagesError("no more"), 1, "no more"),
        (TypeError("products.create() got an unexpected keyword argument 'x'"), 2, "unexpected keyword"),
        (CommandError("bad", EXIT_CONNECTION), 3, "bad"),
    ]
    for exc, code, says in cases:
        assert exit_code_of(exc) == code
        assert says in capsys.readouterr().err
    with pytest.raises(RuntimeError):
        exit_code_of(RuntimeError("a bug is not hidden"))


def test_answers_are_indented_at_a_terminal_and_one_line_in_a_pipe() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown, piped = Terminal(), io.StringIO()
    print_json({"id": "prod_x", "name": "Pró"}, shown)
    print_json({"id": "prod_x", "name": "Pró"}, piped)
    assert shown.getvalue() == '{\n  "id": "prod_x",\n  "name": "Pró"\n}\n'
    assert piped.getvalue() == '{"id":"prod_x","name":"Pró"}\n'


def test_the_command_line_itself(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main([]) == 0 and "Start here:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as ended:
        main(["--base-url", BASE, "--timeout", "5", "products", "--help"])  # options before the command
    assert ended.value.code == 0 and "archive, create, delete" in capsys.readouterr().out
    for argv in (["--test"], ["products", "list", "--timeout", "0"], ["products", "list", "--max-retries", "-1"]):
        with pytest.raises(SystemExit) as ended:
            main(argv)
        assert ended.value.code == 2
    refusals = capsys.readouterr().err
    assert "must be a positive number of seconds, not '0'" in refusals and "must be a whole number" in refusals

    def interrupted(*args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(api_commands, "run_api_command", interrupted)
    assert main(["products", "list", "--base-url", BASE]) == 130


def test_listen_refuses_what_it_cannot_forward(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "listen", "--forward-to", "ftp://example.com/x", "--base-url", BASE)
    assert code == 2 and "not an http:// or https:// URL with a host" in err
    code, _, err = run(capsys, "listen", "--forward-to", "http://127.0.0.1:9/x", "--events", " , ", "--base-url", BASE)
    assert code == 2 and "names no event type" in err
    code, _, err = run(capsys, "listen", "--forward-to", "http://[::1", "--base-url", BASE)
    assert code == 2 and "is not a URL" in err


def test_listen_against_a_server_that_gives_no_secret_removes_the_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/sandbox/health").mock(return_value=httpx.Response(200, json={"ok": True, "now": 1}))
        router.post(f"{BASE}/api/webhook-endpoints").mock(return_value=httpx.Response(200, json=ENDPOINT))
        removed = router.delete(f"{BASE}/api/webhook-endpoints/we_test").mock(
            return_value=httpx.Response(500, json={"error": "down"})
        )
        code, _, err = run(
            capsys, "listen", "--forward-to", "http://127.0.0.1:9/x", "--base-url", BASE, "--max-retries", "0"
        )
    assert code == 1 and "gave the endpoint no signing secret" in err
    assert removed.called and "remove it with `payment-kit webhook-endpoints delete we_test`" in err


def test_the_relay_forwards_only_signed_deliveries_and_answers_what_the_app_answered() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = json.dumps({"id": "evt_1", "object": "event", "type": "invoice.paid", "data": {"object": {}}}).encode()
    stamp = datetime.now(tz=UTC)
    signature = Webhook(secret).sign("evt_1", stamp, body.decode())
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(int(stamp.timestamp())), "webhook-signature": signature}
    with respx.mock() as router, Relay("http://app.test/hooks") as relay:
        assert relay.deliver(body, headers)[0] == 503  # not ready before its secret is known
        relay.secret = secret
        router.post("http://app.test/hooks").mock(return_value=httpx.Response(299, content=b"x" * (ANSWER_BYTES + 10)))
        status, content, _ = relay.deliver(body, headers)
        assert status == 299 and len(content) == ANSWER_BYTES
        assert relay.deliver(body, {**headers, "webhook-signature": "v1,forged"})[0] == 400
        router.post("http://app.test/hooks").mock(side_effect=httpx.ConnectError("refused"))
        status, content, _ = relay.deliver(body, headers)
        assert status == 502 and b"could not reach http://app.test/hooks" in content
        port = int(relay.url.rsplit(":", 1)[1].rstrip("/"))
        for length, status in (
            ("Content-Length: 99999999\r\n", b" 413 "),
            ("Transfer-Encoding: chunked\r\n", b" 411 "),
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                raw.sendall(f"POST / HTTP/1.1\r\nHost: relay\r\n{length}\r\n".encode())
                assert status in raw.recv(200).split(b"\r\n")[0]  # refused before a byte of the body is read


def test_open_at_a_terminal_opens_the_browser(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYMENT_KIT_STRICT_RESPONSES", raising=False)  # a sketch of a session, read leniently
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with respx.mock() as router:
        router.get(f"{BASE}/api/checkout-sessions/cs_a").mock(
            return_value=httpx.Response(200, json={"id": "cs_a", "url": f"{BASE}/checkout/pay/cs_a"})
        )
        router.get(f"{BASE}/api/checkout-sessions/cs_b").mock(
            return_value=httpx.Response(200, json={"id": "cs_b", "url": None})
        )
        assert main(["open", "cs_a", "--base-url", BASE]) == 0
        assert main(["open", "cs_b", "--base-url", BASE]) == 1
    assert opened == [f"{BASE}/checkout/pay/cs_a"]
    assert "checkout session cs_b has no hosted page" in capsys.readouterr().err
