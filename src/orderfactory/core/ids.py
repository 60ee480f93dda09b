"""Resource ids: 10-character random base62 strings, like Commerce Layer's (e.g. ``XAyRWNUzyN``)."""

import secrets
import string

ALPHABET = string.ascii_letters + string.digits
LENGTH = 10


def new_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == LENGTH and all(c in ALPHABET for c in value)
