"""Resource ids: 10-character random base62 strings, like Commerce Layer's (e.g. ``XAyRWNUzyN``)."""

import secrets
import string

ALPHABET = string.ascii_letters + string.digits
LENGTH = 10


# Bytes below 248 (4 x 62) map to the alphabet without bias; the rest are skipped. One read of 16 random bytes
# nearly always yields the 10 characters (secrets.choice read the system's randomness once per character).
_UNBIASED = 4 * len(ALPHABET)


def new_id() -> str:
    chars: list[str] = []
    while len(chars) < LENGTH:
        chars += [ALPHABET[b % len(ALPHABET)] for b in secrets.token_bytes(16) if b < _UNBIASED]
    return "".join(chars[:LENGTH])
