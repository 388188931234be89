// The flow, with openapi-generator's `typescript-fetch` client (default options), compiled with
// `tsc --strict`. Run by tests/other_languages/run.py with PK_BASE_URL, PK_API_KEY and PK_TAG set.
import {
  CheckoutSessionsApi,
  Configuration,
  CreditGrantsApi,
  MeterEventsApi,
  MetersApi,
  PricesApi,
  ProductsApi,
  ResponseError,
  SettingsApi,
  SubscriptionsApi,
} from "../../build/other-languages/typescript-fetch/index";

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

async function main(): Promise<void> {
  const config = new Configuration({ basePath: BASE, accessToken: KEY });
  const products = new ProductsApi(config);
  const product = await products.createProduct({ productCreateParams: { name: `Pro ${TAG}`, type: "service" } });
  const price = await new PricesApi(config).createPrice({
    priceCreateParams: {
      productId: product.id,
      type: "recurring",
      unitAmount: "0.001",
      recurring: { interval: "month", intervalCount: 1 },
    },
  });
  check(price.productId === product.id && String(price.recurring?.interval) === "month", "a recurring price");

  const session = await new CheckoutSessionsApi(config).createCheckoutSession({
    checkoutSessionCreateParams: { successUrl: "https://example.com/ok", lineItems: [{ priceId: price.id, quantity: 1 }] },
  });
  // A sandbox-only route (outside the PaymentKit document, so outside the generated client).
  const answer = await fetch(`${BASE}/sandbox/checkout-sessions/${session.id}/complete`, {
    method: "POST",
    headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
    body: json({ customer_did: `z${TAG}` }),
  });
  const completed = (await answer.json()) as { status: string; customer_id: string };
  const customerId = completed.customer_id;
  check(completed.status === "complete" && !!customerId, "checkout session completed");

  const subs = await new SubscriptionsApi(config).listSubscriptions({ customerId });
  const sub = subs.list[0];
  check(subs.count === 1 && ["active", "trialing"].includes(String(sub.status)), `subscription ${String(sub.status)}`);
  check(json(sub.items.map((item) => item.priceId)) === json([price.id]), "the subscription's items");

  const meter = await new MetersApi(config).createMeter({
    meterCreateParams: { name: "API calls", eventName: `calls_${TAG}`, unit: "call" },
  });
  const source = [
    { key: "model", label: "Model", value: "m-1" },
    { key: "r", label: { zh: "区", en: "Region" }, value: "eu" },
  ];
  const events = new MeterEventsApi(config);
  const event = await events.createMeterEvent({
    meterEventCreateParams: {
      eventName: meter.eventName,
      payload: { customerId, value: "1" },
      identifier: `${TAG}-1`,
      sourceData: source,
    },
  });
  const read = await events.retrieveMeterEvent({ id: event.id });
  check(json(read.sourceData) === json(source), "a meter event, its source data read back (string and localized labels)");

  const grants = new CreditGrantsApi(config);
  await grants.createCreditGrant({
    creditGrantCreateParams: {
      amount: "100",
      currencyId: meter.currencyId as string,
      customerId,
      category: "promotional",
      expiresAt: AFTER_2038,
    },
  });
  const listed = await grants.listCreditGrants({ customerId });
  check(json(listed.list.map((g) => g.expiresAt)) === json([AFTER_2038]), "a credit grant expiring in 2100, listed");

  for (const tagged of [TAG, TAG, "other"]) {
    await products.createProduct({ productCreateParams: { name: `Tagged ${tagged}`, type: "service", metadata: { run: tagged } } });
  }
  const metadata = { [`metadata.run`]: TAG };
  const only = await products.listProducts({ metadata });
  check(only.count === 2 && only.list.every((p) => p.metadata?.run === TAG), "a list filtered by metadata");

  const first = await products.listProducts({ metadata, page: 1, pageSize: 1 });
  const second = await products.listProducts({ metadata, page: 2, pageSize: 1 });
  check(first.count === 2 && first.list[0].id !== second.list[0].id, "page by page and pageSize");
  const after = await products.listProducts({ metadata, limit: 1, startingAfter: first.list[0].id });
  check(json(after.list.map((p) => p.id)) === json([second.list[0].id]), "page by cursor (limit, starting_after)");

  try {
    await products.retrieveProduct({ id: `prod_missing_${TAG}` });
    check(false, "a 404");
  } catch (error) {
    check(error instanceof ResponseError && error.response.status === 404, "a 404 read as an error");
  }

  const settings = new SettingsApi(config);
  const setting = await settings.createSetting({
    settingCreateParams: { type: `custom_${TAG}`, mountLocation: `/app-${TAG}`, description: "flow", settings: CUSTOM },
  });
  const again = await settings.retrieveSetting({ id: setting.id });
  check(json(again.settings) === json(CUSTOM), "a custom setting read back unchanged");
}

main().catch((error: unknown) => {
  console.log(`FAILED: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
