"""The sandbox's billing rules, with no HTTP in them: money units,
checkout completion, subscription transitions, invoices, discounts,
credits and webhooks. Handlers call these; tests can call them directly."""
