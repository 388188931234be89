"""`python -m payment_kit_sandbox` / `payment-kit sandbox`: run a local PaymentKit.

payment-kit sandbox --host 127.0.0.1 --port 8787 --db sandbox.sqlite --api-key KEY
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

import uvicorn

from .app import SandboxConfig, create_app
from .input_limits import MAX_BODY_BYTES


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="payment-kit sandbox", description="A stateful local PaymentKit-compatible server."
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    p.add_argument("--db", default="sandbox.sqlite", help="SQLite file, or :memory: (default sandbox.sqlite)")
    p.add_argument(
        "--max-body",
        type=int,
        default=MAX_BODY_BYTES,
        help=f"largest request body in bytes; larger ones get 413 (default {MAX_BODY_BYTES})",
    )
    p.add_argument("--api-key", help="the bearer key clients must send (default: a random one, printed)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["sandbox"]:  # `payment-kit sandbox ...`
        args = args[1:]
    elif args and not args[0].startswith("-"):
        print(f"payment-kit: unknown command {args[0]!r} (try: payment-kit sandbox --help)", file=sys.stderr)
        return 2
    options = parser().parse_args(args)
    if not _is_loopback(options.host) and not options.api_key:
        print(
            f"refusing to listen on {options.host} (not loopback) without an explicit --api-key",
            file=sys.stderr,
        )
        return 2
    config = SandboxConfig(db=options.db, api_key=options.api_key, max_body=options.max_body)
    app = create_app(config)
    print(f"PaymentKit sandbox: http://{options.host}:{options.port}  (database: {options.db})")
    print(f"  PAYMENT_KIT_BASE_URL=http://{options.host}:{options.port}")
    print(f"  PAYMENT_KIT_API_KEY={config.api_key}")
    sys.stdout.flush()
    try:
        uvicorn.run(app, host=options.host, port=options.port, log_level="warning")
    finally:
        app.state.store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
