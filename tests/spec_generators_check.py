"""`make spec-check`: stock openapi-generator clients in other languages build from the document.

Generates go, python and typescript-fetch clients (in parallel, into a temporary folder) and
fails on a generator error or on a warning that renames one of the document's own schemas
(a schema named like a language's built-in, e.g. `Error` → typescript-fetch's `ModelError`).
The typescript-fetch client is then compiled with the project's `tsc`.

Renames the generators make of names the document cannot choose (a query parameter called
`type` in Go, the primitive members of a union) are wire names or generator internals: they
are printed, not fatal.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi" / "payment-kit.yaml"
GENERATORS = ("go", "python", "typescript-fetch")
BIN = Path(sys.executable).parent
TSC = ROOT / "node_modules" / ".bin" / "tsc"
RENAMED = re.compile(
    r"WARN .*?(\S+) \((?:reserved word|model name matches existing language type)\) cannot be used as (?:a )?model name"
)


def generate(language: str, into: Path) -> tuple[str, subprocess.CompletedProcess[str]]:
    command = [
        str(BIN / "openapi-generator-cli"),
        "generate",
        "-i",
        str(SPEC),
        "-g",
        language,
        "-o",
        str(into / language),
    ]
    return language, subprocess.run(command, capture_output=True, text=True, check=False)


def problems(language: str, result: subprocess.CompletedProcess[str], schemas: set[str]) -> list[str]:
    found = []
    output = result.stdout + result.stderr
    if result.returncode != 0:
        found.append(f"{language}: openapi-generator exited {result.returncode}")
    found += [f"{language}: {line.strip()}" for line in output.splitlines() if "ERROR" in line or "Exception" in line]
    renamed = sorted({m.group(1) for m in RENAMED.finditer(output)})
    found += [
        f"{language}: the schema {name} is renamed (a built-in of the language)" for name in renamed if name in schemas
    ]
    others = [name for name in renamed if name not in schemas]
    if others:
        print(f"spec-check: {language} renames generator-internal names (not fatal): {', '.join(others)}")
    return found


def compile_typescript(client: Path) -> list[str]:
    if not TSC.exists():
        return []
    command = [
        str(TSC),
        "--noEmit",
        "--strict",
        "--target",
        "es2019",
        "--lib",
        "es2019,dom",
        "--moduleResolution",
        "node",
    ]
    files = sorted(str(p) for p in client.rglob("*.ts"))
    result = subprocess.run([*command, *files], capture_output=True, text=True, check=False)
    return [] if result.returncode == 0 else [f"typescript-fetch: tsc: {result.stdout[-3000:]}"]


def main() -> int:
    schemas = set(yaml.safe_load(SPEC.read_text())["components"]["schemas"])
    with tempfile.TemporaryDirectory(prefix="pk-spec-clients-") as scratch:
        into = Path(scratch)
        with ThreadPoolExecutor(len(GENERATORS)) as pool:
            results = list(pool.map(lambda language: generate(language, into), GENERATORS))
        found = [p for language, result in results for p in problems(language, result, schemas)]
        if not found:
            found += compile_typescript(into / "typescript-fetch")
    for problem in found:
        print(f"spec-check: {problem}", file=sys.stderr)
    if not found:
        print(f"spec-check: openapi-generator built {', '.join(GENERATORS)} clients; typescript-fetch compiles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
