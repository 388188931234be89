"""Live and test mode, switched the way the Node SDK switches it.

`PAYMENT_LIVEMODE`, then `PAYMENT_LIVE_MODE` (`"true"` means live), then
`PAYMENT_TEST_MODE` (`"true"` means test) decide the starting mode; with none
of them set a client starts in live mode, as the Node SDK does. Every request
then carries `livemode=<true|false>`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["Environments", "livemode_from_env"]


def livemode_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """The mode the environment asks for (Node SDK precedence; default live)."""
    env = os.environ if environ is None else environ
    if env.get("PAYMENT_LIVEMODE"):
        return env["PAYMENT_LIVEMODE"] == "true"
    if env.get("PAYMENT_LIVE_MODE"):
        return env["PAYMENT_LIVE_MODE"] == "true"
    if env.get("PAYMENT_TEST_MODE"):
        return env["PAYMENT_TEST_MODE"] != "true"
    return True


class Environments:
    """`client.environments`: read or switch the mode of every later request.

    Node's `setLivemode`/`setTestMode`/`getLivemode`/`getTestMode`, in snake_case.
    `livemode=None` (the default `payment` client's) leaves the mode to the environment, read
    when the mode is first needed; a mode set here then stays until set again.
    """

    def __init__(self, livemode: bool | None) -> None:
        self._livemode = None if livemode is None else bool(livemode)
        self._chosen = livemode is not None

    def get_live_mode(self) -> bool:
        if self._livemode is None:
            self._livemode = livemode_from_env()
        return self._livemode

    def get_test_mode(self) -> bool:
        return not self.get_live_mode()

    def set_live_mode(self, value: bool = True) -> None:
        self._livemode, self._chosen = bool(value), True

    def set_test_mode(self, value: bool = True) -> None:
        self._livemode, self._chosen = not value, True

    def _forget_environment(self) -> None:
        """Read the environment again at the next use, unless a mode was set explicitly."""
        if not self._chosen:
            self._livemode = None

    def _state(self) -> tuple[bool | None, bool]:
        return self._livemode, self._chosen

    def _restore(self, state: tuple[bool | None, bool]) -> None:
        self._livemode, self._chosen = state

    # Node's spellings, so code ported line by line keeps working.
    get_livemode = get_live_mode
    set_livemode = set_live_mode

    def __repr__(self) -> str:
        shown = "<from the environment, at first use>" if self._livemode is None else self._livemode
        return f"Environments(livemode={shown})"
