"""`make other-languages`: clients other teams generate from the document work at run time.

Generates four clients from openapi/payment-kit.yaml with stock generators and default options
(openapi-generator's `python`, `typescript-fetch` and `go`; openapi-typescript's types with
openapi-fetch), builds each (python: import; TypeScript: `tsc --strict`; go: `go build` and
`go vet`), then runs one flow per client (`flow_*` beside this file) against a sandbox started here
on a free loopback port, which checks each of its answers against the document. The flow:
a product and a recurring price; a checkout session, completed through the sandbox's route; the
customer's subscriptions, their status and items; a meter and a meter event with source data;
a credit grant expiring after 2038, listed back; a list filtered by metadata (only the tagged
objects); paging by `page`/`pageSize` and by cursor (`limit` + `starting_after`); a 404 read as
an error; a custom setting created and read back unchanged.

A client whose tools this machine lacks (no `go`, no `node_modules`) is reported as SKIPPED with
the reason, and the rest run; any other failure fails the run. Exit status: 0 when every client
that could run passed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from payment_kit_sandbox.app import SandboxConfig  # noqa: E402
from payment_kit_sandbox.server import start_in_thread  # noqa: E402

SPEC = ROOT / "openapi" / "payment-kit.yaml"
OUT = ROOT / "build" / "other-languages"
BIN = Path(sys.executable).parent
NODE_BIN = ROOT / "node_modules" / ".bin"
GENERATORS = ("python", "typescript-fetch", "go")
# The go client's one dependency, from Debian's package (`make install`): go modules are not
# downloaded here, so the client builds in GOPATH mode against /usr/share/gocode.
DEBIAN_GOCODE = Path("/usr/share/gocode")
TSC_FLAGS = ["--strict", "--target", "es2020", "--lib", "es2020,dom", "--module", "commonjs", "--skipLibCheck"]


@dataclass
class Outcome:
    client: str
    status: str  # "passed", "FAILED", "SKIPPED"
    detail: str
    seconds: float


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> tuple[bool, str]:
    try:
        result = subprocess.run(
            cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f} s: {' '.join(cmd)}"
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def generate(language: str) -> tuple[str, bool, str]:
    target = OUT / language
    shutil.rmtree(target, ignore_errors=True)
    cmd = [str(BIN / "openapi-generator-cli"), "generate", "-i", str(SPEC), "-g", language, "-o", str(target)]
    ok, output = run(cmd, ROOT)
    errors = [line for line in output.splitlines() if "ERROR" in line or "Exception" in line]
    return language, ok and not errors, "\n".join(errors) or output[-2000:]


def last_lines(text: str, n: int = 25) -> str:
    return "\n".join(text.splitlines()[-n:])


def flow_env(base_url: str, api_key: str, client: str) -> dict[str, str]:
    return {"PK_BASE_URL": base_url, "PK_API_KEY": api_key, "PK_TAG": f"{client[:2]}{secrets.token_hex(5)}"}


def python_client(base_url: str, api_key: str) -> Outcome:
    start = time.monotonic()
    env = {"PYTHONPATH": str(OUT / "python"), **flow_env(base_url, api_key, "python")}
    ok, output = run([sys.executable, "-c", "import openapi_client"], ROOT, env)
    if ok:
        ok, output = run([sys.executable, str(HERE / "flow_openapi_generator_python.py")], ROOT, env)
    return Outcome(
        "openapi-generator python", "passed" if ok else "FAILED", last_lines(output), time.monotonic() - start
    )


def typescript_client(name: str, sources: list[Path], flow: str, base_url: str, api_key: str) -> Outcome:
    start = time.monotonic()
    if not (NODE_BIN / "tsc").exists() or shutil.which("node") is None:
        return Outcome(name, "SKIPPED", "no node or node_modules/.bin/tsc (make install)", 0.0)
    work = OUT / f"{flow}-build"
    shutil.rmtree(work, ignore_errors=True)
    ok, output = run([str(NODE_BIN / "tsc"), *TSC_FLAGS, "--outDir", str(work), *map(str, sources)], ROOT)
    if ok:
        compiled = next(work.rglob(f"{flow}.js"))
        env = {"NODE_PATH": str(ROOT / "node_modules"), **flow_env(base_url, api_key, flow)}
        ok, output = run(["node", str(compiled)], ROOT, env)
    else:
        output = "tsc --strict: " + output
    return Outcome(name, "passed" if ok else "FAILED", last_lines(output), time.monotonic() - start)


def go_client(base_url: str, api_key: str) -> Outcome:
    start = time.monotonic()
    go = shutil.which("go")
    if go is None:
        return Outcome("openapi-generator go", "SKIPPED", "no go toolchain (make install: Debian's golang)", 0.0)
    if not (DEBIAN_GOCODE / "src" / "gopkg.in" / "validator.v2").is_dir():
        return Outcome("openapi-generator go", "SKIPPED", "no golang-gopkg-validator.v2-dev (make install)", 0.0)
    gopath = OUT / "gopath"
    shutil.rmtree(gopath, ignore_errors=True)
    client_dir = gopath / "src" / "paymentkit"
    shutil.copytree(OUT / "go", client_dir, ignore=shutil.ignore_patterns("test", "docs", ".openapi-generator"))
    flow_dir = gopath / "src" / "pkflow"
    flow_dir.mkdir(parents=True)
    shutil.copyfile(HERE / "flow_go.go", flow_dir / "main.go")
    env = {
        "GO111MODULE": "off",
        "GOPATH": f"{gopath}{os.pathsep}{DEBIAN_GOCODE}",
        "GOCACHE": str(OUT / "gocache"),
        "GOFLAGS": "",
        **flow_env(base_url, api_key, "go"),
    }
    output = ""
    for step in (["build", "./..."], ["vet", "./..."]):
        ok, output = run([go, *step], client_dir, env)
        if not ok:
            return Outcome(
                "openapi-generator go", "FAILED", f"go {step[0]}: {last_lines(output)}", time.monotonic() - start
            )
    ok, output = run([go, "run", "."], flow_dir, env)
    status = "passed" if ok else "FAILED"
    return Outcome("openapi-generator go", status, last_lines(output), time.monotonic() - start)


def main() -> int:
    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(len(GENERATORS) + 1) as pool:
        generated = list(pool.map(generate, GENERATORS))
        types = pool.submit(
            run,
            [str(NODE_BIN / "openapi-typescript"), str(SPEC), "--output", str(OUT / "openapi-fetch" / "schema.ts")],
            ROOT,
        )
        types_ok, types_output = types.result() if (NODE_BIN / "openapi-typescript").exists() else (False, "")
    failed = [f"{language}: openapi-generator failed:\n{detail}" for language, ok, detail in generated if not ok]
    if failed:
        print("\n".join(failed), file=sys.stderr)
        return 1
    took = time.monotonic() - started
    print(f"other-languages: generated {', '.join(GENERATORS)} and openapi-typescript in {took:.0f} s")
    api_key = f"sk_other_languages_{secrets.token_hex(8)}"
    outcomes: list[Outcome] = []
    config = SandboxConfig(db=":memory:", api_key=api_key, validate_responses=True)
    with start_in_thread(config) as sandbox:
        base = sandbox.base_url
        outcomes.append(python_client(base, api_key))
        outcomes.append(
            typescript_client(
                "openapi-generator typescript-fetch",
                [HERE / "flow_typescript_fetch.ts", *sorted((OUT / "typescript-fetch").rglob("*.ts"))],
                "flow_typescript_fetch",
                base,
                api_key,
            )
        )
        if types_ok and (ROOT / "node_modules" / "openapi-fetch").is_dir():
            fetch_sources = [HERE / "flow_openapi_fetch.ts", OUT / "openapi-fetch" / "schema.ts"]
            outcomes.append(
                typescript_client(
                    "openapi-typescript + openapi-fetch", fetch_sources, "flow_openapi_fetch", base, api_key
                )
            )
        else:
            reason = types_output[-500:] or "no node_modules/openapi-fetch or openapi-typescript (make install)"
            outcomes.append(
                Outcome("openapi-typescript + openapi-fetch", "SKIPPED" if not types_output else "FAILED", reason, 0.0)
            )
        outcomes.append(go_client(base, api_key))
    for o in outcomes:
        print(f"== {o.client}: {o.status} ({o.seconds:.0f} s)")
        if o.status != "passed" or os.environ.get("VERBOSE"):
            print("   " + o.detail.replace("\n", "\n   "))
    bad = [o for o in outcomes if o.status == "FAILED"]
    ran = [o for o in outcomes if o.status == "passed"]
    print(f"other-languages: the four clients took {time.monotonic() - started:.0f} s")
    print(f"other-languages: {len(ran)} passed, {len(bad)} failed, {len(outcomes) - len(ran) - len(bad)} skipped")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
