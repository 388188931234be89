"""Test-only fault injection, off unless its environment variable is set when the sandbox starts.

`PAYMENT_KIT_SANDBOX_TEST_EXIT_AFTER_COMMITS=N`: the process exits at once (`os._exit`, status
`EXIT_STATUS`: no cleanup, no answer) right after the N-th request that queued webhook deliveries
commits, before that request is answered. That is the crash the webhook outbox must survive
(`tests/integration/test_webhook_outbox.py`): the write stands, its client never hears so, and its
events must still be delivered by the next process on the database. Never set it outside tests.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping

from .context import Context

__all__ = ["ENV_EXIT_AFTER_COMMITS", "EXIT_STATUS", "exit_after_commits"]

ENV_EXIT_AFTER_COMMITS = "PAYMENT_KIT_SANDBOX_TEST_EXIT_AFTER_COMMITS"
EXIT_STATUS = 86  # tells a test the process died where it was told to, not of something else

AfterCommit = Callable[[Context], None]


def exit_after_commits(after_commit: AfterCommit, environ: Mapping[str, str] = os.environ) -> AfterCommit:
    """`after_commit` as it is, or, when the environment arms the fault, preceded by the exit it asks for."""
    raw = environ.get(ENV_EXIT_AFTER_COMMITS)
    if not raw:
        return after_commit
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{ENV_EXIT_AFTER_COMMITS} must be a whole number of commits, 1 or more, not {raw!r}")
    left = int(raw)
    lock = threading.Lock()

    def exit_or_go_on(ctx: Context) -> None:
        nonlocal left
        if ctx.deliveries_queued:
            with lock:
                left -= 1
                if left == 0:
                    sys.stderr.write(f"{ENV_EXIT_AFTER_COMMITS}: exiting after a commit, before its answer\n")
                    sys.stderr.flush()
                    os._exit(EXIT_STATUS)
        after_commit(ctx)

    return exit_or_go_on
