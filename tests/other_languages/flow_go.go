// The flow, with openapi-generator's `go` client (default options), built in GOPATH mode with
// Debian's Go packages. Run by tests/other_languages/run.py with PK_BASE_URL, PK_API_KEY and
// PK_TAG set.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"

	openapi "paymentkit"
)

const after2038 = int64(4102444800) // 2100-01-01: past a signed 32-bit Unix time

var (
	base = os.Getenv("PK_BASE_URL")
	key  = os.Getenv("PK_API_KEY")
	tag  = os.Getenv("PK_TAG")
	ctx  = context.Background()
)

func check(ok bool, what string) {
	if !ok {
		fmt.Println("FAILED:", what)
		os.Exit(1)
	}
	fmt.Println("ok:", what)
}

func must[T any](value T, _ *http.Response, err error) T {
	if err != nil {
		detail := ""
		if apiErr, ok := err.(*openapi.GenericOpenAPIError); ok {
			detail = string(apiErr.Body())
		}
		fmt.Println("FAILED:", err, detail)
		os.Exit(1)
	}
	return value
}

// decode builds a request model from its JSON, as a Go program reading it from a file would.
func decode[T any](text string) T {
	var value T
	if err := json.Unmarshal([]byte(text), &value); err != nil {
		fmt.Println("FAILED: decoding", text, err)
		os.Exit(1)
	}
	return value
}

// plain is a value as generic JSON, to compare what was sent with what came back.
func plain(value interface{}) interface{} {
	raw, _ := json.Marshal(value)
	var out interface{}
	_ = json.Unmarshal(raw, &out)
	return out
}

func main() {
	cfg := openapi.NewConfiguration()
	cfg.Servers = openapi.ServerConfigurations{{URL: base}}
	cfg.AddDefaultHeader("Authorization", "Bearer "+key)
	c := openapi.NewAPIClient(cfg)

	product := must(c.ProductsAPI.CreateProduct(ctx).ProductCreateParams(
		decode[openapi.ProductCreateParams](fmt.Sprintf(`{"name": "Pro %s", "type": "service"}`, tag))).Execute())
	price := must(c.PricesAPI.CreatePrice(ctx).PriceCreateParams(decode[openapi.PriceCreateParams](fmt.Sprintf(
		`{"product_id": %q, "type": "recurring", "unit_amount": "0.001", "recurring": {"interval": "month", "interval_count": 1}}`,
		product.GetId()))).Execute())
	recurring := price.GetRecurring()
	check(price.GetProductId() == product.GetId() && plain(recurring.GetInterval()) == "month", "a recurring price")

	session := must(c.CheckoutSessionsAPI.CreateCheckoutSession(ctx).CheckoutSessionCreateParams(
		decode[openapi.CheckoutSessionCreateParams](fmt.Sprintf(
			`{"success_url": "https://example.com/ok", "line_items": [{"price_id": %q, "quantity": 1}]}`, price.GetId()))).Execute())
	// A sandbox-only route (outside the PaymentKit document, so outside the generated client).
	body, _ := json.Marshal(map[string]string{"customer_did": "z" + tag})
	request, _ := http.NewRequest("POST", base+"/sandbox/checkout-sessions/"+session.GetId()+"/complete", bytes.NewReader(body))
	request.Header.Set("Authorization", "Bearer "+key)
	request.Header.Set("Content-Type", "application/json")
	answer, err := http.DefaultClient.Do(request)
	if err != nil {
		check(false, "completing the checkout session: "+err.Error())
	}
	var completed struct {
		Status     string `json:"status"`
		CustomerID string `json:"customer_id"`
	}
	_ = json.NewDecoder(answer.Body).Decode(&completed)
	answer.Body.Close()
	customerID := completed.CustomerID
	check(completed.Status == "complete" && customerID != "", "checkout session completed")

	subs := must(c.SubscriptionsAPI.ListSubscriptions(ctx).CustomerId(customerID).Execute())
	sub := subs.GetList()[0]
	status := plain(sub.GetStatus())
	check(subs.GetCount() == 1 && (status == "active" || status == "trialing"), fmt.Sprintf("subscription %v", status))
	items := sub.GetItems()
	check(len(items) == 1 && items[0].GetPriceId() == price.GetId(), "the subscription's items")

	meter := must(c.MetersAPI.CreateMeter(ctx).MeterCreateParams(decode[openapi.MeterCreateParams](fmt.Sprintf(
		`{"name": "API calls", "event_name": "calls_%s", "unit": "call"}`, tag))).Execute())
	source := `[{"key": "model", "label": "Model", "value": "m-1"}, {"key": "r", "label": {"zh": "区", "en": "Region"}, "value": "eu"}]`
	event := must(c.MeterEventsAPI.CreateMeterEvent(ctx).MeterEventCreateParams(decode[openapi.MeterEventCreateParams](fmt.Sprintf(
		`{"event_name": %q, "payload": {"customer_id": %q, "value": "1"}, "identifier": "%s-1", "source_data": %s}`,
		meter.GetEventName(), customerID, tag, source))).Execute())
	read := must(c.MeterEventsAPI.RetrieveMeterEvent(ctx, event.GetId()).Execute())
	check(reflect.DeepEqual(plain(read.GetSourceData()), plain(decode[interface{}](source))),
		"a meter event, its source data read back (string and localized labels)")

	must(c.CreditGrantsAPI.CreateCreditGrant(ctx).CreditGrantCreateParams(decode[openapi.CreditGrantCreateParams](fmt.Sprintf(
		`{"amount": "100", "currency_id": %q, "customer_id": %q, "category": "promotional", "expires_at": %d}`,
		meter.GetCurrencyId(), customerID, after2038))).Execute())
	grants := must(c.CreditGrantsAPI.ListCreditGrants(ctx).CustomerId(customerID).Execute())
	check(len(grants.GetList()) == 1 && grants.GetList()[0].GetExpiresAt() == after2038, "a credit grant expiring in 2100, listed")

	for _, tagged := range []string{tag, tag, "other"} {
		must(c.ProductsAPI.CreateProduct(ctx).ProductCreateParams(decode[openapi.ProductCreateParams](fmt.Sprintf(
			`{"name": "Tagged %s", "type": "service", "metadata": {"run": %q}}`, tagged, tagged))).Execute())
	}
	metadata := map[string]string{"metadata.run": tag}
	only := must(c.ProductsAPI.ListProducts(ctx).Metadata(metadata).Execute())
	tagged := only.GetCount() == 2
	for _, p := range only.GetList() {
		tagged = tagged && p.GetMetadata()["run"] == tag
	}
	check(tagged, "a list filtered by metadata")

	first := must(c.ProductsAPI.ListProducts(ctx).Metadata(metadata).Page(1).PageSize(1).Execute())
	second := must(c.ProductsAPI.ListProducts(ctx).Metadata(metadata).Page(2).PageSize(1).Execute())
	check(first.GetCount() == 2 && first.GetList()[0].GetId() != second.GetList()[0].GetId(), "page by page and pageSize")
	after := must(c.ProductsAPI.ListProducts(ctx).Metadata(metadata).Limit(1).StartingAfter(first.GetList()[0].GetId()).Execute())
	check(len(after.GetList()) == 1 && after.GetList()[0].GetId() == second.GetList()[0].GetId(), "page by cursor (limit, starting_after)")

	_, missing, err := c.ProductsAPI.RetrieveProduct(ctx, "prod_missing_"+tag).Execute()
	check(err != nil && missing != nil && missing.StatusCode == 404, "a 404 read as an error")

	custom := `{"foo": "bar", "n": 2, "nested": {"list": [1, "two"], "on": true}}`
	setting := must(c.SettingsAPI.CreateSetting(ctx).SettingCreateParams(decode[openapi.SettingCreateParams](fmt.Sprintf(
		`{"type": "custom_%s", "mountLocation": "/app-%s", "description": "flow", "settings": %s}`, tag, tag, custom))).Execute())
	again := must(c.SettingsAPI.RetrieveSetting(ctx, setting.GetId()).Execute())
	check(reflect.DeepEqual(plain(again.GetSettings()), plain(decode[interface{}](custom))), "a custom setting read back unchanged")
}
