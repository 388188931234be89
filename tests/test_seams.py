"""The seams a maintainer relies on: the facade uses only public names of the generated
package, every endpoint module offers that public seam, and the version is written once
and carried on every request."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import platform
import tomllib
from importlib import metadata
from pathlib import Path

import httpx
import respx
from schema_examples import example_of

import payment_kit
import payment_kit_client.api
from payment_kit import PaymentKit
from payment_kit._generated_namespaces import OPERATIONS

ROOT = Path(__file__).resolve().parents[1]
GENERATED = "payment_kit_client"


def private_uses_of_generated_names(path: Path) -> list[str]:
    """`from payment_kit_client... import _x`, and `name._x` where `name` was imported from it."""
    tree = ast.parse(path.read_text())
    bound: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(GENERATED):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{path.name}:{node.lineno} imports {alias.name}")
                bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(GENERATED):
                    bound.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
        ):
            found.append(f"{path.name}:{node.lineno} reads {node.value.id}.{node.attr}")
    return found


def test_the_facade_touches_no_private_name_of_the_generated_package() -> None:
    offenders = [
        use for path in sorted((ROOT / "payment_kit").glob("*.py")) for use in private_uses_of_generated_names(path)
    ]
    assert offenders == []


def test_the_scan_would_see_a_private_use(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import payment_kit_client.models as models\nfrom payment_kit_client.types import _x\nmodels._private\n"
    )
    assert private_uses_of_generated_names(sample) == ["sample.py:2 imports _x", "sample.py:3 reads models._private"]


def test_every_endpoint_module_offers_the_public_seam() -> None:
    modules = [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(payment_kit_client.api.__path__, "payment_kit_client.api.")
        if not info.ispkg
    ]
    assert len(modules) == len(OPERATIONS) == 130
    for module in modules:
        assert callable(module.build_request) and callable(module.parse_response), module.__name__


def test_the_version_is_written_once_and_is_the_distributions() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"] and "version" not in project["project"]
    assert project["tool"]["hatch"]["version"]["path"] == "payment_kit/_version.py"
    assert metadata.version("blocklet-payment-kit") == payment_kit.__version__
    written = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "payment_kit").glob("*.py")
        if f'"{payment_kit.__version__}"' in path.read_text()
    ]
    assert written == ["payment_kit/_version.py"]


@respx.mock
def test_every_request_says_which_sdk_and_python_sent_it() -> None:
    route = respx.get("http://127.0.0.1:9/api/customers/cus_1").mock(
        return_value=httpx.Response(200, json=example_of("CustomerExpanded"))
    )
    with PaymentKit(base_url="http://127.0.0.1:9", api_key="k", max_retries=0) as client:
        client.customers.retrieve("cus_1")
    agent = route.calls.last.request.headers["User-Agent"]
    assert agent.startswith(f"blocklet-payment-kit-python/{payment_kit.__version__} ")
    assert f"{platform.python_implementation()} {platform.python_version()}" in agent
    assert f"httpx {httpx.__version__}" in agent
