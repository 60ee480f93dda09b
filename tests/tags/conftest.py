from tests.orders.conftest import shop  # noqa: F401  (the small shop fixture)
