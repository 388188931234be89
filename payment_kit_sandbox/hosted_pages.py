"""The hosted checkout page behind `session.url` (`/checkout/pay/cs_…`), and the payment
link page (`/checkout/pay/plink_…`, by id or lookup key) that opens a session on it.

Plain server-rendered HTML with one form; it works without JavaScript. The page shows
the line items (quantities and amounts in the currency's human units and symbol), the
discount, a promotion-code field, and Pay / Decline. Pay runs `engine.checkout.complete`,
the function `POST /sandbox/checkout-sessions/{id}/complete` runs, then follows
`success_url`; Decline follows `cancel_url`. On a real deployment the payer's wallet
does the paying; here the form's DID field stands in for it.

The page takes no bearer key (a customer opens it), as PaymentKit's does; ids are
unguessable, and the page only ever pays the session it names. What it does guard against:

- a POST that is not the page's own form. Only `application/x-www-form-urlencoded` is read
  (else 415: a JSON body, such as a webhook delivery aimed at the page, is never read as a
  form), and the form must carry the page's token (`form_token`: an HMAC of the session id,
  keyed by a secret derived from the sandbox's API key, so every worker agrees; else 403).
  Another site, or anything the sandbox itself sends, cannot know it.
- being framed, sniffed, or leaking the session's URL: every answer carries a
  Content-Security-Policy (no script at all; the one inline style by its hash; the form may
  go only to the page itself and the session's success and cancel URLs), `X-Frame-Options`,
  `X-Content-Type-Options`, `Referrer-Policy: no-referrer` and `Cache-Control: no-store`.
- a payment link page opening a session for a request that is not a visit: a HEAD, or a
  prefetch (`Sec-Purpose`, `Purpose`, `X-Purpose` or `X-Moz` naming one), is answered with a
  page that opens nothing.
- redirects anywhere but http(s): stored URLs are checked when written
  (`engine.redirect_urls`), and again here before a `Location` is answered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .context import Context, Wiring
from .database import Store
from .engine import checkout, discounts, events
from .engine.money import from_units, units
from .engine.redirect_urls import is_redirect_url
from .refusals import ApiError
from .resources import payment_links

__all__ = ["FORM_TYPE", "PAGE_PATHS", "form_token", "page_secret", "routes"]

PAGE_PATHS = ("/checkout/pay/{id}",)
PAYER_FIELDS = ("customer_did", "customer_name", "customer_email", "promotion_code")
FORM_LIMIT = 16 * 1024  # bytes of form a payer could need
FORM_TYPE = "application/x-www-form-urlencoded"  # what the page's own form sends
PREFETCH_HEADERS = ("sec-purpose", "purpose", "x-purpose", "x-moz")
STYLE = (
    "body{font-family:sans-serif;max-width:40em;margin:2em auto}table{width:100%;border-collapse:collapse}\n"
    "td,th{padding:.3em;border-bottom:1px solid #ddd;text-align:left}.amount,.qty{text-align:right}\n"
    ".problem{color:#a00}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# A host as a CSP source may hold only these: anything else (an IDN, a stray `;`) is left out of
# form-action, where it could otherwise end the directive.
_CSP_HOST = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")


def page_secret(api_key: str) -> bytes:
    """The key of the pages' form tokens: derived from the API key, which every worker shares, and
    never the API key itself."""
    return hashlib.sha256(b"payment-kit sandbox checkout page\0" + api_key.encode()).digest()


def form_token(secret: bytes, session_id: str) -> str:
    """The token a session's page puts in its form, and the only one a POST to that page may carry."""
    return hmac.new(secret, session_id.encode(), hashlib.sha256).hexdigest()


def routes(store: Store, wiring: Wiring, after_commit: Callable[[Context], None], secret: bytes) -> list[Route]:
    """The hosted pages' routes on `store`; `secret` keys their form tokens (`page_secret`)."""

    def context(request: Request, livemode: bool, body: dict[str, Any] | None = None) -> Context:
        return Context(
            op=None,
            store=store,
            livemode=livemode,
            wiring=wiring,
            path=dict(request.path_params),
            query=dict(request.query_params),
            body=body or {},
            base_url=str(request.base_url).rstrip("/"),
        )

    def session_of(key: str) -> tuple[dict[str, Any], bool] | None:
        with store.transaction():
            for livemode in (True, False):
                found = store.get(checkout.KIND, key, livemode)
                if found is not None:
                    return found, livemode
        return None

    def show(request: Request, _form: bytes) -> Response:
        key = request.path_params["id"]
        found = session_of(key)
        if found is not None:
            return render(context(request, found[1]), found[0], secret)
        if request.method == "HEAD" or _prefetch(request):
            return link_preview(request, key)
        return open_from_link(request, key)

    def link_preview(request: Request, key: str) -> Response:
        """What a HEAD or a prefetch of a link's page gets: the page a visit leads to, opened by none."""
        for livemode in _modes(request):
            try:
                with store.transaction():
                    link = payment_links.find(context(request, livemode), key)
            except ApiError:
                continue
            body = (
                f"<h1>{html.escape(link.get('name') or 'Payment link')}</h1>"
                "<p class=message>Opening this payment link starts a checkout.</p>"
                f'<p><a href="/checkout/pay/{html.escape(quote(key, safe=""))}">Continue to checkout</a></p>'
            )
            return _page("Payment link", body, 200)
        return message_page("Not found", f"There is no checkout session or payment link {key}.", 404)

    def open_from_link(request: Request, key: str) -> Response:
        for livemode in _modes(request):
            base = context(request, livemode)
            ctx = base

            def open_once(base: Context = base) -> dict[str, Any]:
                nonlocal ctx
                ctx = base.afresh()
                payment_links.find(ctx, key)  # a 404 here: try the other mode
                opened = payment_links.open_(ctx)
                events.record(ctx)
                return opened

            try:
                session = store.run(open_once)
            except ApiError as exc:
                if exc.status == 404:
                    continue
                return message_page("This payment link cannot be paid", exc.message, exc.status)
            after_commit(ctx)
            return _guarded(RedirectResponse(f"/checkout/pay/{session['id']}", status_code=303))
        return message_page("Not found", f"There is no checkout session or payment link {key}.", 404)

    def act(request: Request, raw: bytes) -> Response:
        found = session_of(request.path_params["id"])
        if found is None:
            return message_page("Not found", f"There is no checkout session {request.path_params['id']}.", 404)
        session, livemode = found
        sent_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if sent_type != FORM_TYPE:
            return message_page(
                "Unsupported form",
                f"This page takes its own form ({FORM_TYPE}), not {sent_type or 'a body without a Content-Type'}.",
                415,
            )
        if len(raw) > FORM_LIMIT:
            return message_page("Too large", "The form sent is larger than a checkout needs.", 413)
        form = {k: v[0].strip() for k, v in parse_qs(raw.decode("utf-8", "replace")).items() if v and v[0].strip()}
        if not hmac.compare_digest(form.get("token", "").encode(), form_token(secret, session["id"]).encode()):
            return message_page(
                "Form not accepted",
                "This form did not come from this checkout page (its token is missing or wrong): nothing was paid."
                " Open the checkout page again and use its buttons.",
                403,
            )
        action = form.get("action")
        payer = {k: form[k] for k in PAYER_FIELDS if k in form}
        base = ctx = context(request, livemode, payer)
        if action == "decline":
            return leave(session.get("cancel_url"), "Checkout declined", "Nothing was paid.")
        if action == "apply":
            return render(ctx, session, secret, form, preview=True)
        if action != "pay":
            return render(
                ctx, session, secret, form, problem=f"Unknown action {action!r}: use Pay or Decline.", status=400
            )

        def pay_once() -> dict[str, Any]:
            nonlocal ctx
            ctx = base.afresh()
            # Read again inside the paying transaction: another worker may have paid it meanwhile.
            current = store.get(checkout.KIND, session["id"], livemode) or session
            completed = checkout.complete(ctx, current, payer)
            events.record(ctx)
            return completed

        try:
            paid = store.run(pay_once)
        except ApiError as exc:
            fresh = session_of(session["id"])  # as stored: the refused attempt changed nothing
            return render(ctx, fresh[0] if fresh else session, secret, form, problem=exc.message, status=exc.status)
        after_commit(ctx)
        return leave(paid.get("success_url"), "Payment complete", f"Checkout session {paid['id']} is paid.")

    return [
        Route(PAGE_PATHS[0], _page_in_thread(show), methods=["GET"]),
        Route(PAGE_PATHS[0], _page_in_thread(act), methods=["POST"]),
    ]


def _page_in_thread(page: Callable[[Request, bytes], Response]) -> Callable[[Request], Awaitable[Response]]:
    """A page's database work runs in a worker thread, so that while it waits for the store (another
    request's transaction, a conflict's retry) the event loop goes on serving the worker's other
    requests. A refusal from anywhere under a page (a stored session the engine can no longer
    price, say) is a page saying so, with its status, never a 500."""

    async def answered(request: Request) -> Response:
        form = await request.body() if request.method == "POST" else b""
        try:
            return await run_in_threadpool(page, request, form)
        except ApiError as exc:
            return message_page("This checkout cannot go on", exc.message, exc.status)

    return answered


def _modes(request: Request) -> tuple[bool, ...]:
    """The modes to look a payment link up in: the one `?livemode=` names, else live, then test."""
    wanted = request.query_params.get("livemode")
    return (wanted == "true",) if wanted in ("true", "false") else (True, False)


def _prefetch(request: Request) -> bool:
    """Whether the browser is fetching ahead of a visit the payer may never make."""
    return any(
        word in request.headers.get(name, "").lower() for name in PREFETCH_HEADERS for word in ("prefetch", "preview")
    )


def leave(url: str | None, title: str, text: str) -> Response:
    """Follow the session's URL, or say what happened when it has none (or one no browser should follow)."""
    if url and is_redirect_url(url):
        return _guarded(RedirectResponse(url, status_code=303))
    return message_page(title, text, 200)


def render(
    ctx: Context,
    session: dict[str, Any],
    secret: bytes,
    form: dict[str, str] | None = None,
    *,
    preview: bool = False,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """The checkout page of a session, with the values the payer entered kept."""
    form = form or {}
    with ctx.store.transaction():
        currency = ctx.store.get("payment_currency", session["currency_id"], ctx.livemode) or {}
        rows = []
        for line in session["line_items"]:
            price = ctx.store.get("price", line["price_id"], ctx.livemode) or {}
            product = ctx.store.get("product", price.get("product_id", ""), ctx.livemode) or {}
            amount = checkout.line_amount(ctx, line, price, session["currency_id"], "line") if price else 0
            rows.append(
                (product.get("name") or price.get("nickname") or line["price_id"], int(line["quantity"]), amount)
            )
        subtotal = sum(amount for _, _, amount in rows)
        off = units((session.get("total_details") or {}).get("amount_discount"))
        code = form.get("promotion_code")
        if preview and code and not problem:
            try:
                coupon, _ = discounts.resolve(
                    ctx, promotion_code=code, currency_id=session["currency_id"], subtotal=subtotal
                )
                off = discounts.amount_off(ctx, coupon, session["currency_id"], subtotal)
            except ApiError as exc:
                problem = exc.message
                status = exc.status

    def money(amount: int) -> str:
        return f"{from_units(amount, int(currency.get('decimal') or 0))} {currency.get('symbol') or ''}".strip()

    e = html.escape
    is_open = session["status"] == "open"
    lines = "".join(
        f"<tr><td>{e(name)}</td><td class=qty>{quantity}</td><td class=amount>{e(money(amount))}</td></tr>"
        for name, quantity, amount in rows
    )
    named = session.get("customer_did")
    fields = []
    if is_open and not named:
        fields.append(_field("customer_did", "Your DID (the paying wallet)", form, required=True))
    if is_open:
        fields.append(_field("customer_email", "Email", form))
    if is_open and session.get("allow_promotion_codes"):
        fields.append(
            _field("promotion_code", "Promotion code", form)
            + "<button type=submit name=action value=apply id=apply formnovalidate>Apply</button>"
        )
    buttons = (
        "<p class=buttons><button type=submit name=action value=pay id=pay>Pay</button> "
        "<button type=submit name=action value=decline id=decline formnovalidate>Decline</button></p>"
        if is_open
        else f"<p class=status>This checkout is {e(session['status'])} ({e(session['payment_status'])}).</p>"
    )
    body = f"""
<h1>Checkout</h1>
<p class=session>Session <code>{e(session["id"])}</code>{" for <code>" + e(named) + "</code>" if named else ""}</p>
{f"<p class=problem role=alert>{e(problem)}</p>" if problem else ""}
<table>
<thead><tr><th>Item</th><th>Quantity</th><th>Amount</th></tr></thead>
<tbody>{lines}</tbody>
<tfoot>
<tr><td colspan=2>Subtotal</td><td class=amount id=subtotal>{e(money(subtotal))}</td></tr>
<tr><td colspan=2>Discount</td><td class=amount id=discount>{e(money(off))}</td></tr>
<tr><td colspan=2>Total</td><td class=amount id=total>{e(money(max(0, subtotal - off)))}</td></tr>
</tfoot>
</table>
<form method=post action="/checkout/pay/{e(session["id"])}">
<input type=hidden name=token value="{form_token(secret, session["id"])}">
{"".join(fields)}
{buttons}
</form>"""
    return _page("Checkout", body, status, leaving_to=(session.get("success_url"), session.get("cancel_url")))


def _field(name: str, label: str, form: dict[str, str], *, required: bool = False) -> str:
    value = html.escape(form.get(name, ""), quote=True)
    return (
        f"<p><label for={name}>{label}</label> "
        f'<input id={name} name={name} value="{value}"{" required" if required else ""}></p>'
    )


def message_page(title: str, text: str, status: int) -> Response:
    return _page(title, f"<h1>{html.escape(title)}</h1><p class=message>{html.escape(text)}</p>", status)


def _page(title: str, body: str, status: int, leaving_to: tuple[str | None, ...] = ()) -> Response:
    """An HTML page with the headers every hosted page carries; its form may go to the page itself
    and to the origins of `leaving_to` (a form's answer redirects there, and form-action covers redirects)."""
    page = HTMLResponse(
        f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>{html.escape(title)} · PaymentKit sandbox</title>
<style>{STYLE}</style></head>
<body>{body}</body></html>""",
        status_code=status,
    )
    return _guarded(page, leaving_to)


def _guarded(response: Response, leaving_to: tuple[str | None, ...] = ()) -> Response:
    form_action = " ".join(["'self'", *sorted({origin for url in leaving_to if (origin := _origin(url))})])
    response.headers.update(
        {
            "Content-Security-Policy": (
                f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action {form_action};"
                " frame-ancestors 'none'; base-uri 'none'"
            ),
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",  # the page's URL names the session: it is not for the next site
            "Cache-Control": "no-store",  # the page holds its form's token
        }
    )
    return response


def _origin(url: str | None) -> str | None:
    """`scheme://host[:port]` of a URL a payer may be sent to, as a CSP source; None if it is not one."""
    if not url or not is_redirect_url(url):
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    if not _CSP_HOST.fullmatch(host):
        return None
    return f"{parts.scheme.lower()}://{host}{f':{parts.port}' if parts.port else ''}"
