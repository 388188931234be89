"""Query strings as PaymentKit's Node clients write them, read as its Express server (qs) would.

`@blocklet/payment-js` sends its params through axios with `qs.stringify`: an array goes as
`status[0]=paid&status[1]=open`, an object as `metadata[run]=x`, a null as `key=`. The document's
forms are `status=paid,open` and `metadata.run=x`. Here the bracket keys are read into those forms
or refused with a 400 naming the form to use; none is dropped, so no filter is ever lost silently.
"""

from __future__ import annotations

import re
from typing import Any

from .refusals import bad_request

_BRACKET_KEY = re.compile(r"([^\[\]]+)\[([^\[\]]*)\](.*)")


class QueryList(str):
    """A list sent as `name[0]=a&name[1]=b`: the comma list `a,b`, for the filters that take one.
    `Context.param` refuses it where a single value is expected (see `accepts_list`)."""

    items: tuple[str, ...]

    def __new__(cls, items: list[str]) -> QueryList:
        made = super().__new__(cls, ",".join(items))
        made.items = tuple(items)
        return made

    def __reduce__(self) -> tuple[type[QueryList], tuple[list[str]]]:
        # A retried request starts from a deep copy of its context: rebuild from the items, not the joined text.
        return QueryList, (list(self.items),)


def bracket_base(key: str) -> str | None:
    """`status` for `status[0]` (or `status[]`), `metadata` for `metadata[run]`; None for a plain key."""
    match = _BRACKET_KEY.fullmatch(key)
    return match.group(1) if match else None


def fold_lists(params: Any, declared: set[str], metadata_prefix: str | None) -> dict[str, QueryList]:
    """The declared parameters sent as qs arrays, each as one QueryList in index order.

    A declared name sent both plainly and as an array, an array member that holds a comma (it would
    read as two), a bracket key that is not an array index (`status[a]`, `status[0][x]`), and an
    object of metadata filters (`metadata[run]=x`, which PaymentKit's typings never declare: their
    keys are `metadata.<key>`) are each a 400 naming the form to send."""
    lists: dict[str, list[tuple[int, str]]] = {}
    for key, value in params.multi_items():
        match = _BRACKET_KEY.fullmatch(key)
        if match is None:
            continue
        base, inside, rest = match.groups()
        if base == "metadata" and metadata_prefix:
            example = f"{metadata_prefix}{inside or '<key>'}={value}"
            raise bad_request(
                f"query parameter {key!r}: metadata filters are sent as `{metadata_prefix}<key>=<value>` "
                f"(here `{example}`); a Node client writes `metadata[{inside}]` for a nested object, so "
                f"give its params the key `'{metadata_prefix}{inside}'` instead"
            )
        if base not in declared:
            continue  # an undeclared name: refused with the others the operation does not take
        if rest or not (inside == "" or inside.isdigit()):
            raise bad_request(
                f"query parameter {key!r}: {base} takes one value or a comma-separated list "
                f"(`{base}=a,b`, or `{base}[0]=a&{base}[1]=b` as qs writes an array), not an object"
            )
        if "," in value:
            raise bad_request(f"query parameter {key!r}: a list member cannot hold a comma ({value!r})")
        index = int(inside) if inside else len(lists.get(base, ()))
        lists.setdefault(base, []).append((index, value))
    for name in lists:
        if name in params:
            raise bad_request(f"query parameter {name!r} is sent both as a value and as a list ({name}[0]=...)")
    return {name: QueryList([value for _, value in sorted(members)]) for name, members in lists.items()}
