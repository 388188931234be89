"""`python -m payment_kit.cli`: the `payment-kit` command."""

from . import main

raise SystemExit(main())
