"""`make node-sdk`: PaymentKit's own Node SDK drives the sandbox.

Runs every example of `@blocklet/payment-js`'s README (readme_examples.js beside this file) with the
SDK unchanged, through `@blocklet/sdk`'s own `component.call`, both pinned in package.json. The SDK
is configured only as a blocklet would be: `BLOCKLET_MOUNT_POINTS` names the PaymentKit component
(its DID, mount point `/`, status running) on the port of a loopback proxy started here, which adds
the sandbox's bearer key (a blocklet signs its calls instead; the sandbox reads a key) and forwards
to a sandbox on a free loopback port that checks each of its answers against the document.

Without node or node_modules/@blocklet/payment-js the leg is reported as SKIPPED with the reason;
any other failure fails the run. Exit status: 0 when every example answered as expected.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from payment_kit_sandbox.app import SandboxConfig  # noqa: E402
from payment_kit_sandbox.server import start_in_thread  # noqa: E402

PAYMENT_KIT_DID = "z2qaCNvKMv5GjouKdcDWexv6WqtHbpNPQDnAk"
# @blocklet/constant's BlockletStatus.running: the SDK calls only a component it believes running.
BLOCKLET_STATUS_RUNNING = 6
# Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own, never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
SDK = ROOT / "node_modules" / "@blocklet" / "payment-js"


def start_key_proxy(target: str, api_key: str) -> ThreadingHTTPServer:
    """A loopback proxy to `target` that adds `Authorization: Bearer <api_key>` to every request."""
    upstream = urlsplit(target)

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
            headers["Authorization"] = f"Bearer {api_key}"
            connection = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=30)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            finally:
                connection.close()
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward

        def log_message(self, format: str, *args: object) -> None:  # quiet: the run prints what failed
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=proxy.serve_forever, name="payment-kit-key-proxy", daemon=True).start()
    return proxy


def blocklet_env(proxy_port: int) -> dict[str, str]:
    """The environment a blocklet runs in, as far as the SDK reads it, with PaymentKit on the proxy."""
    component = {
        "did": PAYMENT_KIT_DID,
        "name": "payment-kit",
        "title": "Payment Kit",
        "mountPoint": "/",
        "port": proxy_port,
        "status": BLOCKLET_STATUS_RUNNING,
    }
    return {
        "BLOCKLET_MOUNT_POINTS": json.dumps([component]),
        "BLOCKLET_COMPONENT_DID": f"z{secrets.token_hex(16)}",  # the calling blocklet: any DID
        # component.call signs each request with the app's key: a fresh ed25519 secret key (seed and
        # public key, 64 bytes) that the sandbox never checks.
        "BLOCKLET_APP_SK": "0x" + secrets.token_hex(64),
        # Test mode keeps @blocklet/sdk from subscribing to a blocklet server's notifications.
        "BLOCKLET_MODE": "test",
        "NODE_PATH": str(ROOT / "node_modules"),
    }


def main() -> int:
    started = time.monotonic()
    node = shutil.which("node")
    if node is None or not SDK.is_dir():
        print("== node-sdk: SKIPPED, no node or node_modules/@blocklet/payment-js (make install)")
        return 0
    version = json.loads((SDK / "package.json").read_text())["version"]
    api_key = f"sk_node_sdk_{secrets.token_hex(8)}"
    config = SandboxConfig(db=":memory:", api_key=api_key, validate_responses=True)
    with start_in_thread(config) as sandbox:
        proxy = start_key_proxy(sandbox.base_url, api_key)
        try:
            proxy_url = f"http://127.0.0.1:{proxy.server_port}"
            env = {
                **os.environ,
                **blocklet_env(proxy.server_port),
                "PK_SANDBOX_URL": proxy_url,
                "PK_TAG": secrets.token_hex(5),
            }
            try:
                result = subprocess.run(
                    [node, str(HERE / "readme_examples.js")],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
            except subprocess.TimeoutExpired:
                print("== node-sdk: FAILED, the examples did not finish in 120 s")
                return 1
        finally:
            proxy.shutdown()
            proxy.server_close()
    ok = result.returncode == 0
    print(f"== @blocklet/payment-js {version}, the README's examples: {'passed' if ok else 'FAILED'}")
    output = (result.stdout + ("\n" + result.stderr if not ok else "")).strip()
    print("   " + output.replace("\n", "\n   "))
    print(f"node-sdk: took {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
