"""The embedded database engine: Django's SQLite backend with its writers queued in this process (see base)."""
