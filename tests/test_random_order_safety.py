"""pytest-randomly reseeds Python's `random` module before every test (the same seed each time), so
anything drawn from it repeats from test to test. Nothing that must be unique across a session
(object ids, signing secrets, idempotency keys, test tags, database names, ports) may come from it."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from payment_kit._transport import new_idempotency_key
from payment_kit_sandbox.context import new_id
from payment_kit_sandbox.engine.webhooks import new_secret
from payment_kit_sandbox.server import free_port


def unique_things() -> tuple[str, ...]:
    """One of each value the suite relies on being unique (tags and database names are uuid4's)."""
    return new_id("prod"), new_secret(), new_idempotency_key(), uuid.uuid4().hex


def test_reseeding_random_repeats_none_of_them() -> None:
    random.seed(1234)
    first = unique_things()
    random.seed(1234)
    second = unique_things()
    assert all(a != b for a, b in zip(first, second, strict=True)), (first, second)


def test_none_of_them_draws_on_the_random_module(monkeypatch: pytest.MonkeyPatch) -> None:
    def reseeded(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("drew on the random module, which pytest-randomly reseeds before every test")

    for name in ("random", "randrange", "randint", "getrandbits", "choice", "choices", "sample", "shuffle"):
        monkeypatch.setattr(random, name, reseeded)
    assert len({unique_things() for _ in range(50)}) == 50
    assert free_port() > 0  # the OS picks it (bind to port 0)
