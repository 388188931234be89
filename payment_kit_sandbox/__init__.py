"""A stateful local PaymentKit-compatible server."""
