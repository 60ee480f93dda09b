"""The operator console: server-rendered pages at /console/ where a merchant's operations and support people see
and act on copies, subscriptions, orders and failures, through the same services as the API (docs/console.md)."""
