"""The hosted checkout page behind `session.url` (`/checkout/pay/cs_…`), and the payment
link page (`/checkout/pay/plink_…`, by id or lookup key) that opens a session on it.

Plain server-rendered HTML with one form; it works without JavaScript. The page shows
the line items (quantities and amounts in the currency's human units and symbol), the
discount, a promotion-code field, and Pay / Decline. Pay runs `engine.checkout.complete`,
the function `POST /sandbox/checkout-sessions/{id}/complete` runs, then follows
`success_url`; Decline follows `cancel_url`. On a real deployment the payer's wallet
does the paying; here the form's DID field stands in for it.

The page takes no bearer key (a customer opens it), as PaymentKit's does; ids are
unguessable, and the page only ever pays the session it names.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .context import Context, Wiring
from .database import Store
from .engine import checkout, discounts, events
from .engine.money import from_units, units
from .refusals import ApiError
from .resources import payment_links

__all__ = ["PAGE_PATHS", "routes"]

PAGE_PATHS = ("/checkout/pay/{id}",)
PAYER_FIELDS = ("customer_did", "customer_name", "customer_email", "promotion_code")
FORM_LIMIT = 16 * 1024  # bytes of form a payer could need


def routes(store: Store, wiring: Wiring, after_commit: Callable[[Context], None]) -> list[Route]:
    """The hosted pages' routes on `store`."""

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

    async def show(request: Request) -> Response:
        key = request.path_params["id"]
        found = session_of(key)
        if found is not None:
            return render(context(request, found[1]), found[0])
        return open_from_link(request, key)

    def open_from_link(request: Request, key: str) -> Response:
        wanted = request.query_params.get("livemode")
        modes = (wanted == "true",) if wanted in ("true", "false") else (True, False)
        for livemode in modes:
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
            return RedirectResponse(f"/checkout/pay/{session['id']}", status_code=303)
        return message_page("Not found", f"There is no checkout session or payment link {key}.", 404)

    async def act(request: Request) -> Response:
        found = session_of(request.path_params["id"])
        if found is None:
            return message_page("Not found", f"There is no checkout session {request.path_params['id']}.", 404)
        session, livemode = found
        raw = await request.body()
        if len(raw) > FORM_LIMIT:
            return message_page("Too large", "The form sent is larger than a checkout needs.", 413)
        form = {k: v[0].strip() for k, v in parse_qs(raw.decode("utf-8", "replace")).items() if v and v[0].strip()}
        action = form.get("action")
        payer = {k: form[k] for k in PAYER_FIELDS if k in form}
        base = ctx = context(request, livemode, payer)
        if action == "decline":
            return leave(session.get("cancel_url"), "Checkout declined", "Nothing was paid.")
        if action == "apply":
            return render(ctx, session, form, preview=True)
        if action != "pay":
            return render(ctx, session, form, problem=f"Unknown action {action!r}: use Pay or Decline.", status=400)

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
            return render(ctx, fresh[0] if fresh else session, form, problem=exc.message, status=exc.status)
        after_commit(ctx)
        return leave(paid.get("success_url"), "Payment complete", f"Checkout session {paid['id']} is paid.")

    return [
        Route(PAGE_PATHS[0], show, methods=["GET"]),
        Route(PAGE_PATHS[0], act, methods=["POST"]),
    ]


def leave(url: str | None, title: str, text: str) -> Response:
    """Follow the session's URL, or say what happened when it has none."""
    if url:
        return RedirectResponse(url, status_code=303)
    return message_page(title, text, 200)


def render(
    ctx: Context,
    session: dict[str, Any],
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
{"".join(fields)}
{buttons}
</form>"""
    return _page("Checkout", body, status)


def _field(name: str, label: str, form: dict[str, str], *, required: bool = False) -> str:
    value = html.escape(form.get(name, ""), quote=True)
    return (
        f"<p><label for={name}>{label}</label> "
        f'<input id={name} name={name} value="{value}"{" required" if required else ""}></p>'
    )


def message_page(title: str, text: str, status: int) -> Response:
    return _page(title, f"<h1>{html.escape(title)}</h1><p class=message>{html.escape(text)}</p>", status)


def _page(title: str, body: str, status: int) -> Response:
    return HTMLResponse(
        f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>{html.escape(title)} · PaymentKit sandbox</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}table{{width:100%;border-collapse:collapse}}
td,th{{padding:.3em;border-bottom:1px solid #ddd;text-align:left}}.amount,.qty{{text-align:right}}
.problem{{color:#a00}}</style></head>
<body>{body}</body></html>""",
        status_code=status,
    )
