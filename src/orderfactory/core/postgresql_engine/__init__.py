"""The PostgreSQL engine: Django's backend, reading timestamps with psycopg's C loader (see base)."""
