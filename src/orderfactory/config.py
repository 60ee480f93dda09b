"""Runtime configuration, read from the environment once.

Every setting is optional; the defaults give the embedded service (SQLite under ./var, in-process worker).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def data_dir() -> Path:
    path = Path(env("ORDERFACTORY_DATA_DIR", "./var") or "./var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    return env("ORDERFACTORY_DATABASE_URL") or f"sqlite:///{data_dir() / 'orderfactory.sqlite3'}"


def secret_key() -> str:
    """ORDERFACTORY_SECRET_KEY, or one generated once into the data directory."""
    value = env("ORDERFACTORY_SECRET_KEY")
    if value:
        return value
    path = data_dir() / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def public_url() -> str:
    return (env("ORDERFACTORY_PUBLIC_URL") or "").rstrip("/")


def auth_domain() -> str:
    return env("ORDERFACTORY_AUTH_DOMAIN", "localhost") or "localhost"


def redis_url() -> str | None:
    return env("ORDERFACTORY_REDIS_URL")


def flag(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes", "on")


def cors_origins() -> frozenset[str]:
    """``ORDERFACTORY_CORS_ORIGINS``: comma-separated ``scheme://host[:port]`` origins, or ``*``, lower-cased as
    browsers send scheme and host; none by default. A value that is no origin stops the start-up."""
    origins = set()
    for item in (env("ORDERFACTORY_CORS_ORIGINS") or "").split(","):
        origin = item.strip().rstrip("/").lower()
        if not origin:
            continue
        scheme, sep, host = origin.partition("://")
        if origin != "*" and (not sep or scheme not in ("http", "https") or not host or "/" in host):
            raise ValueError(
                f"ORDERFACTORY_CORS_ORIGINS: {item.strip()!r} is not an origin (scheme://host[:port])"
            )
        origins.add(origin)
    return frozenset(origins)
