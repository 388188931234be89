"""The sandbox as a program: its command line, persistence across restarts,
and refusals of malformed requests at the HTTP level."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from waiting import wait_for

from payment_kit import NotFoundError, PaymentKit
from payment_kit_sandbox.app import SandboxConfig
from payment_kit_sandbox.server import free_port, start_in_thread

pytestmark = pytest.mark.sandbox_only  # uses /sandbox/ routes or loopback receivers


def test_objects_survive_a_restart_on_a_file_database(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite")
    with (
        start_in_thread(SandboxConfig(db=db, api_key="k1")) as first,
        PaymentKit(base_url=first.base_url, api_key="k1", livemode=False) as client,
    ):
        product = client.products.create(name="Persistent", type="good", metadata={"kept": "yes"})
        currencies = [c.id for c in client.payment_currencies.list()]
    with (
        start_in_thread(SandboxConfig(db=db, api_key="k2")) as second,
        PaymentKit(base_url=second.base_url, api_key="k2", livemode=False) as client,
    ):
        again = client.products.retrieve(product.id)
        assert again.name == "Persistent" and again.metadata["kept"] == "yes"
        assert [c.id for c in client.payment_currencies.list()] == currencies  # seeded once
        with pytest.raises(NotFoundError):
            client.with_options(livemode=True).products.retrieve(product.id)


def test_malformed_requests_get_a_4xx_naming_the_problem(server: tuple[str, str]) -> None:
    base_url, key = server
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=auth) as http:
        bad_json = http.post("/api/products", content=b"{not json", headers={"content-type": "application/json"})
        assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
        not_object = http.post("/api/products", json=["a"])
        assert not_object.status_code == 400 and "JSON object" in not_object.json()["error"]
        missing = http.post("/api/products", json={"type": "service"})
        assert missing.status_code == 400 and "'name' is a required property" in missing.json()["error"]
        wrong_type = http.get("/api/products", params={"page": "two"})
        assert wrong_type.status_code == 400 and "'page' must be a integer" in wrong_type.json()["error"]
        wrong_bool = http.get("/api/products", params={"active": "maybe"})
        assert wrong_bool.status_code == 400 and "true or false" in wrong_bool.json()["error"]
        no_route = http.get("/api/nowhere")
        assert no_route.status_code == 404 and "no such route" in no_route.json()["error"]
        wrong_method = http.patch("/api/products")
        assert wrong_method.status_code == 405 and "not allowed" in wrong_method.json()["error"]


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "payment_kit_sandbox", *args], capture_output=True, text=True, timeout=timeout
    )


def test_cli_refuses_a_public_interface_without_an_explicit_key() -> None:
    result = run_cli("--host", "0.0.0.0", "--port", str(free_port()))
    assert result.returncode == 2 and "without an explicit --api-key" in result.stderr


def test_cli_serves_and_prints_its_url_and_key(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "payment_kit_sandbox",
            "sandbox",
            "--port",
            str(port),
            "--db",
            ":memory:",
            "--api-key",
            "sk_cli",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline() + process.stdout.readline() + process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and "PAYMENT_KIT_API_KEY=sk_cli" in banner

        def health() -> httpx.Response | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/sandbox/health", headers={"Authorization": "Bearer sk_cli"})
            except httpx.TransportError:
                return None

        answer = wait_for(health, lambda got: got is not None, timeout=15, message=f"the CLI's sandbox on port {port}")
        assert answer is not None
        assert answer.status_code == 200 and answer.json()["ok"] is True
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_every_sandbox_only_route_is_documented_and_outside_the_api() -> None:
    import yaml

    from payment_kit_sandbox.app import wire
    from payment_kit_sandbox.document import load_document
    from payment_kit_sandbox.hosted_pages import PAGE_PATHS

    HELPERS = wire(load_document()).sandbox_routes
    PAGES = {(method, path) for path in PAGE_PATHS for method in ("GET", "POST")}

    document = yaml.safe_load((Path(__file__).parents[2] / "openapi" / "sandbox.yaml").read_text())
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert set(HELPERS) | PAGES == documented
    assert all(path.startswith("/sandbox/") for _, path in HELPERS)
    assert all(path.startswith("/checkout/pay/") for _, path in PAGES)  # where PaymentKit serves its pages


def test_a_retried_write_with_the_same_idempotency_key_applies_once(server: tuple[str, str], tag: str) -> None:
    client = PaymentKit(base_url=server[0], api_key=server[1], livemode=False)
    first = client.products.create(name=f"once {tag}", type="good", idempotency_key=f"key-{tag}")
    again = client.products.create(name=f"once {tag}", type="good", idempotency_key=f"key-{tag}")
    assert again.id == first.id
    assert client.products.search(query=f"once {tag}").count == 1
    from payment_kit import BadRequestError

    with pytest.raises(BadRequestError, match="already used for a different request"):
        client.products.create(name=f"other {tag}", type="good", idempotency_key=f"key-{tag}")
    with pytest.raises(BadRequestError, match="Idempotency-Key"):
        client.products.create(name=f"long {tag}", type="good", idempotency_key="k" * 300)
    client.close()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serve"], "unknown command 'serve' (try: payment-kit sandbox --help)"),
        (["sandbox", "--host", "sandbox.example", "--api-key", ""], "refusing to listen on sandbox.example"),
        (["--workers", "0"], "--workers must be 1 or more, not 0"),
        (["--workers", "2", "--db", ":memory:"], "--workers above 1 needs a database the processes share"),
        (["--host", "localhost", "--db", "{tmp}"], "payment-kit sandbox: cannot open the SQLite database"),
        (["--workers", "2", "--db", "{tmp}"], "payment-kit sandbox: cannot open the SQLite database"),
    ],
)
def test_cli_argument_errors_exit_2_naming_the_problem(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from payment_kit_sandbox.__main__ import main

    # A directory is no database: the sandbox says so before it listens (no port is taken).
    assert main([arg.replace("{tmp}", str(tmp_path)) for arg in args]) == 2
    out, err = capsys.readouterr()
    assert says in err and "PAYMENT_KIT_API_KEY" not in out
    assert list(tmp_path.iterdir()) == []  # nothing was created where the database was named


def test_cli_refuses_a_worker_count_from_the_environment_that_is_not_a_number() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "payment_kit_sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PAYMENT_KIT_SANDBOX_WORKERS": "two"},
    )
    assert result.returncode != 0
    assert "PAYMENT_KIT_SANDBOX_WORKERS must be a whole number of processes, 1 or more, not 'two'" in result.stderr


def test_cli_on_a_port_already_taken_exits_non_zero_naming_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("sandbox", "--port", str(port), "--db", ":memory:", "--api-key", "sk_busy")
    assert result.returncode != 0 and str(port) in result.stderr, result
    assert "address already in use" in result.stderr.lower()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # uvicorn exits its thread
def test_start_in_thread_on_a_port_already_taken_raises_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"the sandbox did not start on 127.0.0.1:{port}"):
            start_in_thread(SandboxConfig(api_key="k"), port=port)


def test_a_worker_process_needs_the_api_key_in_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from payment_kit_sandbox.server import ENV_API_KEY, app_from_env

    monkeypatch.delenv(ENV_API_KEY, raising=False)
    with pytest.raises(RuntimeError, match=f"{ENV_API_KEY} must be set for worker processes"):
        app_from_env()


def test_the_workers_http_protocol_also_serves_a_unix_socket(tmp_path: Path) -> None:
    import threading

    import uvicorn

    from payment_kit_sandbox.app import create_app
    from payment_kit_sandbox.server import NoDelayHTTP

    app = create_app(SandboxConfig(api_key="sk_uds"))
    path = str(tmp_path / "sandbox.sock")
    server = uvicorn.Server(uvicorn.Config(app, uds=path, http=NoDelayHTTP, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, bool, timeout=15, message="the sandbox on a unix socket")
        with httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url="http://sandbox") as http:
            answer = http.get("/sandbox/health", headers={"Authorization": "Bearer sk_uds"})
        assert answer.status_code == 200 and answer.json()["ok"] is True  # no TCP option to set, and no error
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.store.close()
