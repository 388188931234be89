"""The SDK's version, written here once: the package metadata (pyproject.toml's dynamic
`version`), `payment_kit.__version__` and the `User-Agent` header all read it."""

__version__ = "0.1.0"
