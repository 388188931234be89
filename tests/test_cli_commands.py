"""The `payment-kit` command line without a server: its commands cover every operation, each
command's help comes from the document, values (flags and `-d`) become the facade's arguments as
the document types them, and each failure ends with its documented exit code.
(`tests/integration/test_cli.py` runs the commands against a sandbox.)"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from payment_kit._generated_namespaces import OPERATIONS
from payment_kit.cli import build_parser, main
from payment_kit.cli._api_commands import arguments_from
from payment_kit.cli._command_specs import CommandSpec
from payment_kit.cli._generated_commands import COMMANDS
from payment_kit.cli._output import CommandError

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
