"""`make contract`: schemathesis over every operation of openapi/payment-kit.yaml.

    make contract                                               # against a sandbox this starts
    make contract BASE_URL=https://staging.example.com/payment API_KEY=...   # against any server
    make contract BASE_URL=... API_KEY=... CONTRACT_WRITES=1    # ... writes included

Against a server that is not a sandbox started here, only read operations
(GET) run unless CONTRACT_WRITES=1: a contract run creates, updates and
deletes objects. The report (JUnit XML and a HAR of every exchange) goes to
contract-report/; each failure is printed with a curl line that reproduces it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "payment-kit.yaml"
CONFIG = ROOT / "contract" / "schemathesis.toml"
REPORTS = ROOT / "contract-report"
READ_ONLY = """
# Added by contract/run.py for a server other than its own sandbox, without CONTRACT_WRITES=1.
[phases.coverage]
unexpected-methods = []      # no probes with undeclared methods (they would be writes)

[phases.stateful]
enabled = false              # its walks start from creates, which a read-only run leaves out

[[operations]]
exclude-method = "GET"       # every operation that is not a GET is disabled
enabled = false
"""


def schemathesis_command(base_url: str, config: Path, max_time: str) -> list[str]:
    return [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        str(SPEC),
        "--url",
        base_url,
        "--max-time",
        max_time,
        "--report",
        "junit,har",
        "--report-dir",
        str(REPORTS),
        "--no-color",
    ]


def key_is_accepted(base_url: str, api_key: str) -> bool:
    """A wrong key would make every answer a 401, which the checks accept as documented: refuse to start
    instead. (Schemathesis' own "missing auth" warning also fires, falsely, for operations whose only
    answers within the budget were its unauthenticated probes.)"""
    answer = httpx.get(
        f"{base_url.rstrip('/')}/api/payment-currencies",
        params={"livemode": "false"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
    )
    return answer.status_code not in (401, 403)


def run(base_url: str, api_key: str, *, remote: bool, writes: bool, max_time: str) -> int:
    if not key_is_accepted(base_url, api_key):
        print(f"contract: {base_url} refuses the API key (401/403 on GET /api/payment-currencies)", file=sys.stderr)
        return 1
    config = CONFIG
    if remote:
        config = Path(tempfile.mkdtemp(prefix="pk-contract-")) / "schemathesis.toml"
        config.write_text(CONFIG.read_text() + ("" if writes else READ_ONLY))
        if not writes:
            print("contract: read-only run (GET operations only); set CONTRACT_WRITES=1 to include writes", flush=True)
    env = {**os.environ, "CONTRACT_API_KEY": api_key}
    print(f"contract: {base_url}, at most {max_time} s; report in {REPORTS.relative_to(ROOT)}/", flush=True)
    return subprocess.run(schemathesis_command(base_url, config, max_time), env=env, cwd=ROOT, check=False).returncode


def main() -> int:
    base_url = os.environ.get("BASE_URL", "").strip()
    api_key = os.environ.get("API_KEY", "").strip()
    max_time = os.environ.get("CONTRACT_MAX_TIME", "600")
    writes = os.environ.get("CONTRACT_WRITES") == "1"
    if base_url:
        if not api_key:
            print("contract: BASE_URL needs API_KEY (the bearer key of that server)", file=sys.stderr)
            return 2
        return run(base_url, api_key, remote=True, writes=writes, max_time=max_time)

    from payment_kit_sandbox.app import SandboxConfig
    from payment_kit_sandbox.server import start_in_thread

    with start_in_thread(SandboxConfig(api_key="sk_contract_sandbox")) as sandbox:
        print(f"contract: started a sandbox on {sandbox.base_url}", flush=True)
        return run(sandbox.base_url, sandbox.api_key, remote=False, writes=True, max_time=max_time)


if __name__ == "__main__":
    sys.exit(main())
