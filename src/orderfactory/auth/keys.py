"""The RSA key that signs access tokens, and the public JWKS document that lets anyone verify them.

Where the private key comes from, first match wins:

1. ``ORDERFACTORY_JWT_PRIVATE_KEY``: the PEM text itself (containers, secret managers);
2. ``ORDERFACTORY_JWT_PRIVATE_KEY_FILE``: a path to a PEM file;
3. ``<data dir>/jwt_signing_key.pem``, generated on first use (RSA 2048, mode 0600), so the embedded
   service works with no configuration and its tokens survive a restart.

The key is loaded once per process: every token issued or verified needs it, and parsing PEM costs
milliseconds.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import RSAAlgorithm

from orderfactory import config

KEY_FILE_NAME = "jwt_signing_key.pem"
ALGORITHM = "RS512"
MIN_KEY_BITS = 2048


def signing_key() -> rsa.RSAPrivateKey:
    """The private key tokens are signed with."""
    return _loaded()[0]


def public_key() -> rsa.RSAPublicKey:
    """The public half, which is all that verifying a token needs."""
    return _loaded()[1]


def kid() -> str:
    """The key id put in every token header: the RFC 7638 thumbprint, so it changes exactly when the key does."""
    return _loaded()[2]


def jwks() -> dict[str, Any]:
    """The public JWKS document served at ``/.well-known/jwks.json``."""
    return {"keys": [dict(_public_jwk())]}


def reset() -> None:
    """Forget the cached key, so the next call reads the environment again (tests, key rotation)."""
    _loaded.cache_clear()
    _public_jwk.cache_clear()


@cache
def _loaded() -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey, str]:
    private = _parse(_read_pem())
    public = private.public_key()
    return private, public, _thumbprint(RSAAlgorithm.to_jwk(public, as_dict=True))


@cache
def _public_jwk() -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(public_key(), as_dict=True)
    # PyJWT adds key_ops; RFC 7517 section 4.3 advises against it next to "use", which verifiers look for.
    return {"kty": jwk["kty"], "n": jwk["n"], "e": jwk["e"], "kid": kid(), "alg": ALGORITHM, "use": "sig"}


def _read_pem() -> bytes:
    pem = config.env("ORDERFACTORY_JWT_PRIVATE_KEY")
    if pem:
        if "\n" not in pem:
            pem = pem.replace("\\n", "\n")  # .env files and CI secrets often hold the PEM on one line
        return pem.encode()
    path = config.env("ORDERFACTORY_JWT_PRIVATE_KEY_FILE")
    if path:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"ORDERFACTORY_JWT_PRIVATE_KEY_FILE: cannot read {path}: {exc}"
            ) from exc
    return _generated_key_file()


def _generated_key_file() -> bytes:
    """Read the data-directory key, creating it first if needed.

    The key is written to a private temporary file and then hard-linked into place: linking fails if the name
    exists, so when two processes start at once exactly one key wins and nobody reads a half-written file.
    """
    directory = config.data_dir()
    path = directory / KEY_FILE_NAME
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".jwt_signing_key.")  # created with mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            with contextlib.suppress(FileExistsError):  # another process won the race: use its key
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_bytes()


def _parse(pem: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"the JWT signing key is not an unencrypted PEM private key: {exc}"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured("the JWT signing key must be an RSA key (tokens are signed RS512)")
    if key.key_size < MIN_KEY_BITS:
        raise ImproperlyConfigured(f"the JWT signing key must have at least {MIN_KEY_BITS} bits")
    return key


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members (e, kty, n), sorted, no whitespace; base64url, no padding."""
    required = {name: jwk[name] for name in ("e", "kty", "n")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
