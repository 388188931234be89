// The flow, with openapi-typescript's types and openapi-fetch, compiled with `tsc --strict`.
// openapi-fetch serialises object query parameters as `deepObject` unless told otherwise: the
// document's metadata filter is `style: form, explode: true`, which the client is given here.
// Run by tests/other_languages/run.py with PK_BASE_URL, PK_API_KEY and PK_TAG set.
import createClient from "openapi-fetch";
import type { paths } from "../../build/other-languages/openapi-fetch/schema";

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };
const BASE = process.env.PK_BASE_URL as string;
const KEY = process.env.PK_API_KEY as string;
const TAG = process.env.PK_TAG as string;
const AFTER_2038 = 4102444800; // 2100-01-01: past a signed 32-bit Unix time
const CUSTOM = { foo: "bar", n: 2, nested: { list: [1, "two"], on: true } };

function check(condition: boolean, what: string): void {
  if (!condition) {
    console.log(`FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

// JSON with object keys sorted, to compare values whatever order the server wrote their keys in.
const json = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    console.log(`FAILED: ${result.response.status} ${json(result.error)}`);
    process.exit(1);
  }
  return result.data;
}

async function main(): Promise<void> {
  const client = createClient<paths>({
    baseUrl: BASE,
    headers: { Authorization: `Bearer ${KEY}` },
    querySerializer: { object: { style: "form", explode: true } },
  });
  const product = ok(await client.POST("/api/products", { body: { name: `Pro ${TAG}`, type: "service" } }));
  const price = ok(
    await client.POST("/api/prices", {
      body: { product_id: product.id, type: "recurring", unit_amount: "0.001", recurring: { interval: "month", interval_count: 1 } },
    }),
  );
  check(price.product_id === product.id && price.recurring?.interval === "month", "a recurring price");

  const session = ok(
    await client.POST("/api/checkout-sessions", {
      body: { success_url: "https://example.com/ok", line_items: [{ price_id: price.id, quantity: 1 }] },
    }),
  );
  // A sandbox-only route (outside the PaymentKit document, so outside the generated types).
  const answer = await fetch(`${BASE}/sandbox/checkout-sessions/${session.id}/complete`, {
    method: "POST",
    headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ customer_did: `z${TAG}` }),
  });
  const completed = (await answer.json()) as { status: string; customer_id: string };
  const customerId = completed.customer_id;
  check(completed.status === "complete" && !!customerId, "checkout session completed");

  const subs = ok(await client.GET("/api/subscriptions", { params: { query: { customer_id: customerId } } }));
  const sub = subs.list[0];
  check(subs.count === 1 && ["active", "trialing"].includes(sub.status), `subscription ${sub.status}`);
  check(json(sub.items.map((item) => item.price_id)) === json([price.id]), "the subscription's items");

  const meter = ok(
    await client.POST("/api/meters", { body: { name: "API calls", event_name: `calls_${TAG}`, unit: "call" } }),
  );
  const source = [
    { key: "model", label: "Model", value: "m-1" },
    { key: "r", label: { zh: "区", en: "Region" }, value: "eu" },
  ];
  const event = ok(
    await client.POST("/api/meter-events", {
      body: {
        event_name: meter.event_name,
        payload: { customer_id: customerId, value: "1" },
        identifier: `${TAG}-1`,
        source_data: source,
      },
    }),
  );
  const read = ok(await client.GET("/api/meter-events/{id}", { params: { path: { id: event.id } } }));
  check(json(read.source_data) === json(source), "a meter event, its source data read back (string and localized labels)");

  ok(
    await client.POST("/api/credit-grants", {
      body: {
        amount: "100",
        currency_id: meter.currency_id as string,
        customer_id: customerId,
        category: "promotional",
        expires_at: AFTER_2038,
      },
    }),
  );
  const grants = ok(await client.GET("/api/credit-grants", { params: { query: { customer_id: customerId } } }));
  check(json(grants.list.map((g) => g.expires_at)) === json([AFTER_2038]), "a credit grant expiring in 2100, listed");

  for (const tagged of [TAG, TAG, "other"]) {
    ok(await client.POST("/api/products", { body: { name: `Tagged ${tagged}`, type: "service", metadata: { run: tagged } } }));
  }
  const metadata = { [`metadata.run`]: TAG };
  const only = ok(await client.GET("/api/products", { params: { query: { metadata } } }));
  check(only.count === 2 && only.list.every((p) => p.metadata?.run === TAG), "a list filtered by metadata");

  const first = ok(await client.GET("/api/products", { params: { query: { metadata, page: 1, pageSize: 1 } } }));
  const second = ok(await client.GET("/api/products", { params: { query: { metadata, page: 2, pageSize: 1 } } }));
  check(first.count === 2 && first.list[0].id !== second.list[0].id, "page by page and pageSize");
  const after = ok(
    await client.GET("/api/products", { params: { query: { metadata, limit: 1, starting_after: first.list[0].id } } }),
  );
  check(json(after.list.map((p) => p.id)) === json([second.list[0].id]), "page by cursor (limit, starting_after)");

  const missing = await client.GET("/api/products/{id}", { params: { path: { id: `prod_missing_${TAG}` } } });
  check(missing.response.status === 404 && missing.data === undefined && !!missing.error?.error, "a 404 read as an error");

  const setting = ok(
    await client.POST("/api/settings", {
      body: { type: `custom_${TAG}`, mountLocation: `/app-${TAG}`, description: "flow", settings: CUSTOM },
    }),
  );
  const again = ok(await client.GET("/api/settings/{id}", { params: { path: { id: setting.id } } }));
  check(json(again.settings) === json(CUSTOM), "a custom setting read back unchanged");
}

main().catch((error: unknown) => {
  console.log(`FAILED: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
