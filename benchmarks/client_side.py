"""The SDK against raw httpx (and stripe-python), on the loopback stub.

Each function returns `(figures, details)`: the figures are the keys of
`results.json`, the details the raw numbers behind them.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import httpx
import payloads
from stub_server import start_stub
from timing import interleaved, median_of

API_KEY = "sk_bench"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does; `quick()` is for the smoke test."""

    rounds: int = 21
    batch: int = 200
    async_calls: int = 1000
    async_in_flight: int = 64
    async_rounds: int = 7
    paged_objects: int = 10_000
    page_size: int = 100
    hygiene_calls: int = 10_000
    decode_rows: int = 100
    decode_repeat: int = 5
    import_rounds: int = 15
    sandbox_events: int = 2000
    sandbox_clients: int = 8
    statement_events: int = 50
    list_rows: int = 100_000
    scale_customers: int = 10_000  # other customers each holding a grant (sandbox_events_scale_ratio_10k)
    list_rounds: int = 9
    sandbox_rounds: int = 31
    quickstart_rounds: int = 7

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            rounds=3,
            batch=20,
            async_calls=64,
            async_in_flight=16,
            async_rounds=2,
            paged_objects=250,
            page_size=20,
            hygiene_calls=200,
            decode_rows=5,
            decode_repeat=1,
            import_rounds=2,
            sandbox_events=40,
            statement_events=5,
            list_rows=1000,
            scale_customers=200,
            list_rounds=2,
            sandbox_rounds=3,
            quickstart_rounds=1,
        )


Figures = tuple[dict[str, float], dict[str, Any]]


def _client(base_url: str, http: httpx.Client | None = None) -> Any:
    from payment_kit import PaymentKit

    return PaymentKit(base_url=base_url, api_key=API_KEY, livemode=False, http_client=http)


def per_call_and_peer(sizes: Sizes) -> Figures:
    """`customers.retrieve` vs raw httpx + json.loads on the same connection, and the same
    comparison for stripe-python's `customers.retrieve` against a Stripe-shaped stub."""
    import stripe

    routes = [
        ("GET", "/api/customers/", payloads.dumps(payloads.customer())),
        ("GET", "/v1/customers/", payloads.dumps(payloads.stripe_customer())),
    ]
    with start_stub(routes) as stub, httpx.Client() as http, httpx.Client() as stripe_raw_http:
        client = _client(stub.base_url, http)
        peer = stripe.StripeClient(
            "sk_test_bench",
            base_addresses={"api": stub.base_url},
            http_client=stripe.HTTPXClient(allow_sync_methods=True),
        )
        ours_url = f"{stub.base_url}/api/customers/cus_bench?livemode=false"
        stripe_url = f"{stub.base_url}/v1/customers/cus_bench"
        stripe_auth = {"Authorization": "Bearer sk_test_bench"}
        times = interleaved(
            sizes.rounds,
            sizes.batch,
            {
                "raw": lambda: json.loads(http.get(ours_url, headers=AUTH).content),
                "sdk": lambda: client.customers.retrieve("cus_bench"),
                "stripe_raw": lambda: json.loads(stripe_raw_http.get(stripe_url, headers=stripe_auth).content),
                "stripe": lambda: peer.v1.customers.retrieve("cus_bench"),
            },
        )
        served = stub.counts()
    ours = times["sdk"] - times["raw"]
    theirs = times["stripe"] - times["stripe_raw"]
    details = {f"{name}_us": round(value * 1e6, 1) for name, value in times.items()}
    details["stripe_ratio_to_raw"] = round(times["stripe"] / times["stripe_raw"], 3)
    details["requests_served"] = served
    return {
        "per_call_ratio": times["sdk"] / times["raw"],
        "peer_overhead_ratio": ours / theirs if theirs > 0 else math.inf,
    }, details


def async_throughput(sizes: Sizes) -> Figures:
    """`meter_events.create` with N in flight: AsyncPaymentKit vs raw httpx.AsyncClient."""
    from payment_kit import AsyncPaymentKit

    answer = payloads.dumps(payloads.meter_event())
    with start_stub([("POST", "/api/meter-events", answer)]) as stub:
        url = f"{stub.base_url}/api/meter-events?livemode=false"

        async def main() -> dict[str, float]:
            limits = httpx.Limits(max_connections=sizes.async_in_flight * 2)
            async with httpx.AsyncClient(limits=limits) as http:
                client = AsyncPaymentKit(base_url=stub.base_url, api_key=API_KEY, livemode=False, http_client=http)

                async def raw(n: int) -> None:
                    response = await http.post(url, json=payloads.meter_event_body(n), headers=AUTH)
                    json.loads(response.content)

                async def sdk(n: int) -> None:
                    await client.meter_events.create(**payloads.meter_event_body(n))

                async def rate(call: Any) -> float:
                    counter = iter(range(sizes.async_calls))

                    async def worker() -> None:
                        for n in counter:
                            await call(n)

                    started = time.perf_counter()
                    await asyncio.gather(*(worker() for _ in range(sizes.async_in_flight)))
                    return sizes.async_calls / (time.perf_counter() - started)

                await rate(raw), await rate(sdk)  # warm-up: open the pool's connections
                samples: dict[str, list[float]] = {"raw": [], "sdk": [], "ratio": []}
                for _ in range(sizes.async_rounds):
                    samples["raw"].append(await rate(raw))
                    samples["sdk"].append(await rate(sdk))
                    # Each round's own ratio: a throughput swings with the machine's load from one
                    # second to the next, and adjacent runs swing together.
                    samples["ratio"].append(samples["sdk"][-1] / samples["raw"][-1])
                return {name: statistics.median(v) for name, v in samples.items()}

        rates = asyncio.run(main())
    details = {"raw_calls_per_s": round(rates["raw"]), "sdk_calls_per_s": round(rates["sdk"])}
    return {"async_throughput_ratio": rates["ratio"]}, details


def pagination(sizes: Sizes) -> Figures:
    """Peak traced memory of `auto_paging_iter` over N objects, in pages; and its request count."""
    row = payloads.page_row(payloads.customer())
    with start_stub([], pages=[("/api/customers", row, sizes.paged_objects)]) as stub, _client(stub.base_url) as client:
        client.customers.list(page_size=sizes.page_size)  # warm-up: connection, lazy imports
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            one = client.customers.list(page=2, page_size=sizes.page_size)
            page_bytes = tracemalloc.get_traced_memory()[0] - before
            del one
            gc.collect()
            stub.reset()
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            walked = 0
            for _ in client.customers.list(page_size=sizes.page_size).auto_paging_iter():
                walked += 1
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
        requests = stub.counts().get("/api/customers", 0)
    details = {
        "objects_walked": walked,
        "requests": requests,
        "expected_requests": math.ceil(sizes.paged_objects / sizes.page_size),
        "page_kib": round(page_bytes / 1024, 1),
        "peak_kib": round(peak / 1024, 1),
    }
    return {"pagination_peak_pages": peak / page_bytes}, details


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def hygiene(sizes: Sizes) -> Figures:
    """Resident memory and open files before and after N calls on one client."""
    with start_stub([("GET", "/api/customers/", payloads.dumps(payloads.customer()))]) as stub:
        with _client(stub.base_url) as client:
            for _ in range(max(50, sizes.hygiene_calls // 20)):  # warm-up: pool, caches, allocator arenas
                client.customers.retrieve("cus_bench")
            gc.collect()
            memory, files = _rss_mb(), _open_files()
            for _ in range(sizes.hygiene_calls):
                client.customers.retrieve("cus_bench")
            gc.collect()
            grown_memory, grown_files = _rss_mb() - memory, _open_files() - files
        served = stub.counts().get("/api/customers/", 0)
    details = {"calls": sizes.hygiene_calls, "rss_mb_before": round(memory, 1), "requests_served": served}
    return {"hygiene_mem_growth_mb": max(0.0, grown_memory), "hygiene_fd_growth": float(grown_files)}, details


from payment_kit_client.model_runtime import Model  # noqa: E402  (the models' base, for the walk below)


def read_every_field(value: Any) -> None:
    """Read every field of a model at every depth: what a program that touches all of it pays."""
    if isinstance(value, Model):
        for key in value:
            read_every_field(value[key])
    elif isinstance(value, list):
        for item in value:
            read_every_field(item)


def walk_json(value: Any) -> None:
    """The same walk over the plain JSON: what reading everything costs with no models at all."""
    if isinstance(value, dict):
        for key in value:
            walk_json(value[key])
    elif isinstance(value, list):
        for item in value:
            walk_json(item)


def touch_rows(page: Any) -> None:
    for row in page.list:
        row.id  # noqa: B018  (the rows exist as models)


def decode(sizes: Sizes) -> Figures:
    """A page of expanded objects, bytes to models, vs `json.loads` of the same bytes.

    Models decode a field when it is first read, so two figures: the page's rows as models
    (`decode_ratio*`), and every field at every depth read, against the same walk over the
    plain JSON (`read_all_ratio*`: what the models add to a program that reads everything).
    """
    import payment_kit_client.models as models

    figures: dict[str, float] = {}
    details: dict[str, Any] = {}
    for suffix, schema, page_model in (
        ("", "SubscriptionExpanded", "SubscriptionPage"),
        ("_customers", "CustomerExpanded", "CustomerPage"),
    ):
        body = payloads.page(schema, sizes.decode_rows)
        model = getattr(models, page_model)
        times = interleaved(
            sizes.rounds,
            sizes.decode_repeat,
            {
                "json_loads": lambda body=body: json.loads(body),
                "models": lambda body=body, model=model: touch_rows(model.from_dict(json.loads(body))),
                "json_walked": lambda body=body: walk_json(json.loads(body)),
                "models_walked": lambda body=body, model=model: read_every_field(model.from_dict(json.loads(body))),
            },
        )
        figures[f"decode_ratio{suffix}"] = times["models"] / times["json_loads"]
        figures[f"read_all_ratio{suffix}"] = times["models_walked"] / times["json_walked"]
        details[schema] = {name: round(seconds * 1e3, 2) for name, seconds in times.items()} | {
            "page_kib": round(len(body) / 1024)
        }
    return figures, details


_IMPORT_HTTPX = "import time; t = time.perf_counter(); import httpx; print(time.perf_counter() - t)"
_IMPORT_SDK = (
    "import time; t = time.perf_counter(); import payment_kit; "
    "c = payment_kit.PaymentKit(base_url='http://127.0.0.1:9', api_key='k'); c.customers; "
    "print(time.perf_counter() - t)"
)


def _fresh(code: str) -> float:
    # Bytecode caches are written and used, as in any installed package (a shell may disable them).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env).stdout
    return float(out.strip().splitlines()[-1])


def import_time(sizes: Sizes) -> Figures:
    """`import payment_kit` + a client + its first namespace, minus `import httpx`, in fresh interpreters."""
    _fresh(_IMPORT_SDK)  # bytecode caches written, as on any second start
    times = median_of(sizes.import_rounds, {"httpx": lambda: _fresh(_IMPORT_HTTPX), "sdk": lambda: _fresh(_IMPORT_SDK)})
    details = {"import_httpx_ms": round(times["httpx"] * 1e3, 1), "import_sdk_ms": round(times["sdk"] * 1e3, 1)}
    return {"import_ms_over_httpx": (times["sdk"] - times["httpx"]) * 1e3}, details
