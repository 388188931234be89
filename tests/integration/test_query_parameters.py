"""The sandbox refuses a query parameter the operation does not declare (a misspelt filter would
otherwise answer the whole list), and reads `metadata.<key>` filters the way stock clients send
them (issue 23)."""

from __future__ import annotations

import httpx
import pytest

from payment_kit import PaymentKit

pytestmark = pytest.mark.sandbox_only


def get(server: tuple[str, str], path: str, params: list[tuple[str, str]]) -> httpx.Response:
    base_url, api_key = server
    return httpx.get(base_url + path, params=params, headers={"Authorization": f"Bearer {api_key}"}, timeout=10)


@pytest.mark.parametrize("name", ["run", "pagesize", "Livemode", "run[0]"])
def test_an_undeclared_query_parameter_is_a_400_naming_it(server: tuple[str, str], name: str) -> None:
    answer = get(server, "/api/products", [("livemode", "false"), (name, "1")])
    assert answer.status_code == 400
    assert repr(name) in answer.json()["error"]
    assert "listProducts" in answer.json()["error"]


def test_metadata_filters_as_stock_clients_send_them(server: tuple[str, str], client: PaymentKit, tag: str) -> None:
    for run in (tag, tag, "other"):
        client.products.create(name=f"Tagged {run}", type="service", metadata={"run": run})
    answer = get(server, "/api/products", [("livemode", "false"), ("metadata.run", tag)])
    assert answer.status_code == 200
    assert answer.json()["count"] == 2
    assert client.products.list(metadata={"run": tag}).count == 2


# What PaymentKit's Node SDK sends (axios with qs.stringify), read as its Express server would (issue 29).


def test_a_qs_array_is_the_comma_list_where_one_is_taken(server: tuple[str, str], client: PaymentKit) -> None:
    as_list = get(server, "/api/invoices", [("status", "paid,void"), ("livemode", "false")])
    as_array = get(server, "/api/invoices", [("status[0]", "paid"), ("status[1]", "void"), ("livemode", "false")])
    only_void = get(server, "/api/invoices", [("status[]", "void"), ("livemode", "false")])
    assert as_list.status_code == as_array.status_code == only_void.status_code == 200
    assert [i["id"] for i in as_array.json()["list"]] == [i["id"] for i in as_list.json()["list"]]
    assert {i["status"] for i in only_void.json()["list"]} <= {"void"}


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ([("customer_id[0]", "cus_a"), ("customer_id[1]", "cus_b")], "'customer_id' takes one value, not a list"),
        ([("page[0]", "1")], "'page' takes one value, not a list"),
        ([("status[a]", "paid")], "not an object"),
        ([("status[0][x]", "paid")], "not an object"),
        ([("status[0]", "paid,open")], "cannot hold a comma"),
        ([("status", "paid"), ("status[0]", "open")], "both as a value and as a list"),
        ([("metadata[run]", "x")], "`metadata.run=x`"),
        ([("customer_id", "")], "'customer_id' is empty (customer_id=)"),
    ],
)
def test_what_a_qs_query_cannot_mean_is_a_400_naming_the_form(
    server: tuple[str, str], params: list[tuple[str, str]], says: str
) -> None:
    answer = get(server, "/api/invoices", [*params, ("livemode", "false")])
    assert answer.status_code == 400
    assert says in answer.json()["error"]


def test_a_body_on_a_get_is_refused_not_ignored(server: tuple[str, str], client: PaymentKit) -> None:
    base_url, api_key = server
    coupon = client.coupons.create(name="Body on GET", percent_off=10, duration="once").coupon
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    url = f"{base_url}/api/coupons/{coupon.id}/redemptions?livemode=false"
    sent = httpx.request("GET", url, content=b'{"type": "customer", "page": 2}', headers=headers, timeout=10)
    assert sent.status_code == 400
    assert "(type, page)" in sent.json()["error"] and "query string" in sent.json()["error"]
    not_json = httpx.request("GET", url, content=b"type=customer", headers=headers, timeout=10)
    assert not_json.status_code == 400 and "takes no request body" in not_json.json()["error"]
    empty = httpx.request("GET", url, content=b"{}", headers=headers, timeout=10)
    assert empty.status_code == 200
