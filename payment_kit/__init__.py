"""payment-kit for Python: the PaymentKit billing API SDK."""
