"""`python -m payment_kit_sandbox` / `payment-kit sandbox`: run a local PaymentKit.

payment-kit sandbox --host 127.0.0.1 --port 8787 --db sandbox.sqlite --api-key KEY
payment-kit sandbox --db postgresql://user:pass@host:5432/db --workers 4 --host 0.0.0.0 --api-key KEY

PAYMENT_KIT_SANDBOX_DB and PAYMENT_KIT_SANDBOX_WORKERS stand in for --db and --workers (containers).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

import uvicorn

from .app import SandboxConfig, create_app
from .body_limits import MAX_BODY_BYTES
from .database import DatabaseUnavailable, DriverMissing, SchemaMismatch, Store, describe_url
from .server import ENV_API_KEY, ENV_DB, ENV_MAX_BODY, ENV_WORKERS, uvicorn_settings


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
    p.add_argument(
        "--db",
        default=os.environ.get(ENV_DB) or "sandbox.sqlite",
        help=f"SQLite file, :memory:, or postgresql://user:pass@host:port/db (default ${ENV_DB}, else sandbox.sqlite)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=_workers_from_env(),
        help=f"worker processes serving the one port (default ${ENV_WORKERS}, else 1)",
    )
    p.add_argument(
        "--max-body",
        type=int,
        default=MAX_BODY_BYTES,
        help=f"largest request body in bytes; larger ones get 413 (default {MAX_BODY_BYTES})",
    )
    p.add_argument("--api-key", help="the bearer key clients must send (default: a random one, printed)")
    return p


def _workers_from_env() -> int:
    raw = os.environ.get(ENV_WORKERS) or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{ENV_WORKERS} must be a whole number of processes, 1 or more, not {raw!r}")
    return int(raw)


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
    if options.workers < 1:
        print(f"--workers must be 1 or more, not {options.workers}", file=sys.stderr)
        return 2
    if options.workers > 1 and options.db == ":memory:":
        print("--workers above 1 needs a database the processes share (a file or a URL), not :memory:", file=sys.stderr)
        return 2
    config = SandboxConfig(db=options.db, api_key=options.api_key, max_body=options.max_body, workers=options.workers)
    try:
        if options.workers == 1:
            app = create_app(config)
        else:  # schema, upgrade and seed once, before the workers start: a bad database fails here
            Store(options.db).close()
    except (DatabaseUnavailable, DriverMissing, SchemaMismatch, ValueError) as exc:
        print(f"payment-kit sandbox: {exc}", file=sys.stderr)
        return 2
    where = f"http://{options.host}:{options.port}"
    print(f"PaymentKit sandbox: {where}  (database: {describe_url(options.db)}, workers: {options.workers})")
    print(f"  PAYMENT_KIT_BASE_URL={where}")
    print(f"  PAYMENT_KIT_API_KEY={config.api_key}")
    sys.stdout.flush()
    if options.workers > 1:
        # uvicorn's workers are fresh processes: they build their app from the environment.
        os.environ.update(
            {ENV_DB: options.db, ENV_API_KEY: config.api_key, ENV_MAX_BODY: str(options.max_body),
             ENV_WORKERS: str(options.workers)}
        )  # fmt: skip
        uvicorn.run(
            "payment_kit_sandbox.server:app_from_env",
            factory=True,
            host=options.host,
            port=options.port,
            workers=options.workers,
            log_level="warning",
            **uvicorn_settings(),
        )
        return 0
    try:
        uvicorn.run(app, host=options.host, port=options.port, log_level="warning", **uvicorn_settings())
    finally:
        app.state.store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
