"""Runtime configuration, read from the environment once.

Every setting is optional; the defaults give the embedded service (SQLite under ./var, in-process worker).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# The database URL schemes we run on (dj-database-url's names for SQLite and PostgreSQL).
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")
DATABASE_URL_HELP = (
    "set ORDERFACTORY_DATABASE_URL to postgresql://user:password@host:5432/name or sqlite:///path/file.sqlite3, "
    "or leave it unset for SQLite in the data directory"
)


class ConfigError(ImproperlyConfigured):
    """A setting that cannot work. The message is one line: the variable, what is wrong, what to set. The CLI
    prints it instead of a traceback."""


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def data_dir() -> Path:
    path = Path(env("ORDERFACTORY_DATA_DIR", "./var") or "./var").resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"ORDERFACTORY_DATA_DIR: cannot create {path} ({exc.strerror}); set it to a writable directory"
        ) from None
    return path


def database_url() -> str:
    """ORDERFACTORY_DATABASE_URL, checked to name a database we run on, or SQLite in the data directory."""
    url = env("ORDERFACTORY_DATABASE_URL")
    if url is None:
        return f"sqlite:///{data_dir() / 'orderfactory.sqlite3'}"
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        what = f"the scheme {scheme!r} is not supported" if scheme else "it is not a URL"
        raise ConfigError(
            f"ORDERFACTORY_DATABASE_URL: {what} (supported: {', '.join(s + '://' for s in DATABASE_SCHEMES)}); "
            + DATABASE_URL_HELP
        )
    return url


def number(name: str, default: float, *, minimum: float = 0, integer: bool = False) -> float:
    """A numeric setting: at least ``minimum``, a whole number when ``integer``."""
    raw = env(name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or value != value or value < minimum or value == float("inf"):
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name}={raw!r}: set it to {kind} of at least {minimum:g} (default {default:g})")
    return value


def integer(name: str, default: int, *, minimum: int = 0) -> int:
    return int(number(name, default, minimum=minimum, integer=True))


def choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env(name) or default).lower()
    if value not in choices:
        raise ConfigError(f"{name}={env(name)!r}: set it to one of {', '.join(choices)} (default {default})")
    return value


def secret_key() -> str:
    """ORDERFACTORY_SECRET_KEY, or one generated once into the data directory."""
    value = env("ORDERFACTORY_SECRET_KEY")
    if value:
        return value
    path = data_dir() / "secret_key"
    if not path.exists():
        # Several processes may start at once on a fresh data directory (serve and its workers, parallel
        # commands): the key is written whole to a private file, then linked into place; the first link wins
        # and everyone reads the winner's key, never a half-written or missing one.
        fd, draft = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            os.unlink(draft)
    return path.read_text().strip()


def public_url() -> str:
    return (env("ORDERFACTORY_PUBLIC_URL") or "").rstrip("/")


def auth_domain() -> str:
    return env("ORDERFACTORY_AUTH_DOMAIN", "localhost") or "localhost"


def redis_url() -> str | None:
    url = env("ORDERFACTORY_REDIS_URL")
    if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            "ORDERFACTORY_REDIS_URL: set it to redis://host:6379/0 (rediss:// for TLS, unix:///path.sock), "
            "or unset it to count rate limits in process"
        )
    return url


TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def flag(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() not in TRUE + FALSE:
        raise ConfigError(f"{name}={value!r}: set it to on or off (default {'on' if default else 'off'})")
    return value.lower() in TRUE


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
            raise ConfigError(
                f"ORDERFACTORY_CORS_ORIGINS={item.strip()!r} is not an origin: set comma-separated "
                "scheme://host[:port] origins, or *"
            )
        origins.add(origin)
    return frozenset(origins)
