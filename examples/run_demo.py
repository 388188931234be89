"""`make demo`: start a sandbox on a free loopback port with a temporary
database, run examples/quickstart.py and then examples/credits.py (a credit
pack bought through a payment link, a welcome bonus, auto-recharge) against
it, stop the sandbox, and exit with the first failing script's status."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from payment_kit_sandbox.app import SandboxConfig
from payment_kit_sandbox.server import start_in_thread

HERE = Path(__file__).resolve().parent
SCRIPTS = ("quickstart.py", "credits.py")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="payment-kit-demo-") as scratch:
        config = SandboxConfig(db=str(Path(scratch) / "sandbox.sqlite"), api_key="sk_demo_sandbox")
        with start_in_thread(config) as sandbox:
            print(f"sandbox listening on {sandbox.base_url} (database {config.db})\n", flush=True)
            env = {**os.environ, "PAYMENT_KIT_BASE_URL": sandbox.base_url, "PAYMENT_KIT_API_KEY": sandbox.api_key}
            status = 0
            for script in SCRIPTS:
                status = subprocess.run([sys.executable, str(HERE / script)], env=env, check=False).returncode
                if status:
                    break
                print(flush=True)
        print("sandbox stopped")
        return status


if __name__ == "__main__":
    sys.exit(main())
