"""The signing key: where it comes from, its kid, and the JWKS document."""

from __future__ import annotations

import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import RSAAlgorithm

from orderfactory.auth import keys

pytestmark = pytest.mark.usefixtures("fresh_keys")


def pem_of(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ORDERFACTORY_JWT_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("ORDERFACTORY_JWT_PRIVATE_KEY_FILE", raising=False)
    monkeypatch.setenv("ORDERFACTORY_DATA_DIR", str(tmp_path))
    keys.reset()
    return tmp_path


def test_key_is_generated_once_into_the_data_directory_readable_only_by_its_owner(data_dir) -> None:
    kid = keys.kid()
    path = data_dir / "jwt_signing_key.pem"

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.signing_key().key_size == 2048
    keys.reset()
    assert keys.kid() == kid  # read back, not generated again
    assert [p.name for p in data_dir.iterdir()] == ["jwt_signing_key.pem"]  # no temporary file left


def test_key_from_the_environment_wins(data_dir, monkeypatch) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    monkeypatch.setenv("ORDERFACTORY_JWT_PRIVATE_KEY", pem_of(key))

    assert keys.signing_key().private_numbers() == key.private_numbers()
    assert not (data_dir / "jwt_signing_key.pem").exists()


def test_key_from_the_environment_may_be_on_one_line(data_dir, monkeypatch) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    monkeypatch.setenv("ORDERFACTORY_JWT_PRIVATE_KEY", pem_of(key).replace("\n", "\\n"))

    assert keys.signing_key().private_numbers() == key.private_numbers()


def test_key_from_a_file(data_dir, monkeypatch, tmp_path_factory) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("secrets") / "key.pem"
    path.write_text(pem_of(key))
    monkeypatch.setenv("ORDERFACTORY_JWT_PRIVATE_KEY_FILE", str(path))

    assert keys.signing_key().private_numbers() == key.private_numbers()


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("not a key", "not an unencrypted PEM private key"),
        (pem_of(ec.generate_private_key(ec.SECP256R1())), "must be an RSA key"),
        (pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "at least 2048 bits"),
    ],
)
def test_unusable_keys_are_refused(data_dir, monkeypatch, pem: str, message: str) -> None:
    monkeypatch.setenv("ORDERFACTORY_JWT_PRIVATE_KEY", pem)

    with pytest.raises(ImproperlyConfigured, match=message):
        keys.signing_key()


def test_missing_key_file_is_a_configuration_error(data_dir, monkeypatch) -> None:
    monkeypatch.setenv("ORDERFACTORY_JWT_PRIVATE_KEY_FILE", str(data_dir / "absent.pem"))

    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        keys.signing_key()


def test_kid_is_the_rfc7638_thumbprint() -> None:
    # The worked example of RFC 7638, section 3.1.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
        "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c"
        "7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF"
        "44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }

    assert keys._thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_jwks_publishes_the_public_key_under_its_kid(data_dir) -> None:
    (jwk,) = keys.jwks()["keys"]

    assert jwk["kid"] == keys.kid()
    assert RSAAlgorithm.from_jwk(jwk).public_numbers() == keys.signing_key().public_key().public_numbers()
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
