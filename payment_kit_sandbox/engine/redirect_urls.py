"""The URLs a payer's browser is sent to after checkout (`success_url`, `cancel_url`, a payment
link's `after_completion.redirect.url`): absolute `http` or `https` URLs only.

The hosted page answers them as `Location`; a `javascript:` or `data:` URL there would run in the
page's origin or show content of the sender's choosing, so they are refused when written. What
PaymentKit itself accepts is not published: this is the sandbox's own rule (README, "The
sandbox refuses").
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..refusals import bad_request

__all__ = ["check_redirect_url", "is_redirect_url"]

_SCHEMES = ("http", "https")
# Browsers strip leading and trailing spaces and C0 controls and drop tabs and newlines inside a URL
# before reading its scheme ("java\tscript:"), so a URL holding any of them is refused outright.
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def is_redirect_url(url: Any) -> bool:
    """Whether `url` is an absolute http(s) URL with a host and no spaces or control characters."""
    if not isinstance(url, str) or _CONTROL_OR_SPACE.search(url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed IPv6 host or port
        return False
    return parts.scheme.lower() in _SCHEMES and bool(host)


def check_redirect_url(url: Any, field: str) -> None:
    """A 400 naming `field` unless `url` is absent or `is_redirect_url`."""
    if url is not None and not is_redirect_url(url):
        shown = url if not isinstance(url, str) or len(url) <= 80 else f"{url[:80]}…"
        raise bad_request(
            f"{field}: {shown!r} is not an absolute http or https URL (the payer's browser is sent there)"
        )
