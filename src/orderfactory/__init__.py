"""orderfactory: an order-copy and recurring-order engine speaking the Commerce Layer Core API."""

__version__ = "0.1.0"
