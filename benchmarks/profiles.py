"""`python benchmarks/run.py --profile NAME`: where the SDK's (or the sandbox's) time goes
in one measurement, as cProfile's top functions by own time and by cumulative time."""

from __future__ import annotations

import cProfile
import json
import pstats
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import payloads
from client_side import _client
from stub_server import start_stub

TOP = 18


def _report(work: Callable[[], object]) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(work)
    _print(profiler)


def _print(profiler: cProfile.Profile) -> None:
    for order in ("tottime", "cumulative"):
        print(f"\n== by {order} ==")
        pstats.Stats(profiler).strip_dirs().sort_stats(order).print_stats(TOP)


def calls() -> None:
    answer = payloads.dumps(payloads.customer())
    with start_stub([("GET", "/api/customers/", answer)]) as stub, _client(stub.base_url) as client:
        client.customers.retrieve("cus_bench")
        _report(lambda: [client.customers.retrieve("cus_bench") for _ in range(2000)])


def decode() -> None:
    import payment_kit_client.models as models

    body = payloads.page("SubscriptionExpanded", 100)
    models.SubscriptionPage.from_dict(json.loads(body))
    _report(lambda: [models.SubscriptionPage.from_dict(json.loads(body)) for _ in range(20)])


def async_() -> None:
    import asyncio

    from payment_kit import AsyncPaymentKit

    with start_stub([("POST", "/api/meter-events", payloads.dumps(payloads.meter_event()))]) as stub:

        async def main() -> None:
            async with AsyncPaymentKit(base_url=stub.base_url, api_key="k", livemode=False) as client:
                counter = iter(range(1000))

                async def worker() -> None:  # 64 in flight, as the measurement
                    for n in counter:
                        await client.meter_events.create(**payloads.meter_event_body(n))

                await asyncio.gather(*(worker() for _ in range(64)))

        _report(lambda: asyncio.run(main()))


def sandbox_list() -> None:
    """The sandbox's own handler path for a customer list page, in-process."""
    from sandbox_side import seed_customers
    from starlette.testclient import TestClient

    from payment_kit_sandbox.app import SandboxConfig, create_app

    with tempfile.TemporaryDirectory(prefix="pk-bench-profile-") as folder:
        db = Path(folder) / "large.sqlite"
        seed_customers(db, 100_000)
        app = create_app(SandboxConfig(db=str(db), api_key="k"))
        with TestClient(app, headers={"Authorization": "Bearer k"}) as http:
            pages = [1, 1250, 2500, 3750, 5000] * 4
            _report(lambda: [http.get("/api/customers", params={"livemode": "false", "page": p}) for p in pages])
        app.state.store.close()


def sandbox_events() -> None:
    """The sandbox's handler path for meter events after 1,000 are stored, in-process (ASGI, one
    thread), so that the profile sees the server's functions too."""
    import asyncio

    from payment_kit import AsyncPaymentKit
    from payment_kit_sandbox.app import SandboxConfig, create_app

    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="pk-bench-profile-") as folder:
        app = create_app(SandboxConfig(db=str(Path(folder) / "events.sqlite"), api_key="k"))

        async def main() -> None:
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")
            async with AsyncPaymentKit(base_url="", api_key="k", livemode=False, http_client=http) as client:
                meter = await client.meters.create(name="Calls", event_name="calls", aggregation_method="sum", unit="c")
                customer = await client.customers.retrieve("did:abt:zProfiled", create=True)
                await client.credit_grants.create(
                    customer_id=customer.id, amount="100000", currency_id=meter.currency_id, category="promotional"
                )
                for n in range(1300):
                    if n == 1000:
                        profiler.enable()
                    await client.meter_events.create(
                        event_name="calls", payload={"customer_id": customer.id, "value": "1"}, identifier=f"p{n}"
                    )
                profiler.disable()
            await http.aclose()

        asyncio.run(main())
        app.state.store.close()
    _print(profiler)


PROFILES: dict[str, Callable[[], None]] = {
    "calls": calls,
    "decode": decode,
    "async": async_,
    "list": sandbox_list,
    "events": sandbox_events,
}
