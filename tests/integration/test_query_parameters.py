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


@pytest.mark.parametrize("name", ["run", "metadata[run]", "pagesize", "Livemode"])
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
