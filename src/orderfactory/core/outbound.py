"""Calls to URLs that tenants give: webhook callbacks, external payment gateways (and the tax and promotion
services to come). Every such call goes through here, so none can be turned against this server's network
(server-side request forgery).

- ``problem(url)`` says why a URL may not be stored (a 422 at create and update), or None. It sees what the URL
  itself says: its scheme, and a host that is an address in any spelling (``127.1``, ``2130706433``,
  ``0x7f000001``, ``[::ffff:127.0.0.1]``) or a ``localhost`` name. Other names are not resolved then: the
  answer may change at any time, and the request would wait on DNS inside its transaction.
- ``post(url, body, headers, ...)`` resolves the host once, refuses the call when any of its addresses is not
  allowed, and connects to an address it checked, never to the name again (a DNS answer that changes between
  the check and the connection, DNS rebinding, is never used). It sends one POST, never follows a redirect (a
  3xx is the answer, and its body is not read), and reads at most ``limit`` bytes of the answer.

Refused unless the operator allows them: loopback, private, link-local (cloud metadata at 169.254.169.254),
carrier-grade NAT, unspecified (0.0.0.0, ::), documentation, reserved and multicast addresses, including
IPv4 addresses inside IPv6 ones (mapped, 6to4, Teredo, NAT64). ``ORDERFACTORY_OUTBOUND_ALLOW_PRIVATE=on``
allows them all (GitLab's "allow requests to the local network"); ``ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS``
allows the listed CIDRs only. Both are read at each call. Calls connect directly: proxy variables
(``HTTP_PROXY``) are not used, since a proxy would resolve the name itself.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import http.client
import ipaddress
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from orderfactory import config

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

REFUSED = "must point at a public address (loopback, private and link-local addresses are refused)"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class Refused(Exception):
    """The call was not made: the URL, or an address its host resolves to, is not allowed. Its message, as the
    others' here, completes a sentence about the target ("the gateway ...")."""


class Unreached(Exception):
    """The request never left: the name did not resolve or the connection was refused (safe to retry)."""


class Failed(Exception):
    """The request may have reached the other side, but no answer came (timeout, reset, TLS error)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most ``limit`` bytes; empty for a redirect, whose body is never read

    @property
    def redirect(self) -> bool:
        return 300 <= self.status < 400


def _addresses(host: str, port: int) -> list[str]:
    """The addresses a name resolves to (getaddrinfo), in its order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


# The name resolver. A test may replace it to play a DNS server whose answers change.
resolve: Callable[[str, int], list[str]] = _addresses


def _embedded(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo's client, NAT64), else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _public(address: Address) -> bool:
    """Global (``ipaddress``'s word: not private, loopback, link-local, carrier-grade NAT, reserved...) and not
    multicast, and so is the IPv4 address it carries, if any."""
    return all(a.is_global and not a.is_multicast for a in {address, _embedded(address)})


@functools.cache
def _networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
        )
    except ValueError as exc:
        raise config.ConfigError(
            f"ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS: {exc}; set it to CIDRs separated by commas, "
            "e.g. 10.20.0.0/16,fd00:1::/64"
        ) from None


def check_settings() -> None:
    """Raise config.ConfigError when the operator's settings cannot be read (the CLI checks at start)."""
    config.flag("ORDERFACTORY_OUTBOUND_ALLOW_PRIVATE", False)
    _networks(config.env("ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS", "") or "")


def allowed(address: Address) -> bool:
    """Whether a call may connect to ``address``: a public one, or one the operator allows."""
    if _public(address) or config.flag("ORDERFACTORY_OUTBOUND_ALLOW_PRIVATE", False):
        return True
    networks = _networks(config.env("ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS", "") or "")
    return any(address in network or _embedded(address) in network for network in networks)


def literal_address(host: str) -> Address | None:
    """The address a host names without DNS, in any spelling the system's resolver accepts (``127.1``,
    ``2130706433``, ``0x7f.0.0.1``, ``017700000001``), or None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def problem(url: str) -> str | None:
    """Why ``url`` may not be called, from the URL alone (see the module's docstring), or None."""
    try:
        parts = urlsplit(url)
        _port(parts)
    except ValueError:
        return "is invalid"
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        return "is invalid"
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return None if allowed(ipaddress.IPv4Address("127.0.0.1")) else REFUSED
    address = literal_address(host)
    if address is not None and not allowed(address):
        return REFUSED
    return None


def _port(parts: SplitResult) -> int:
    """The URL's port, or its scheme's; a ValueError when the port is not a number from 0 to 65535."""
    return parts.port or (443 if parts.scheme == "https" else 80)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, limit: int) -> Answer:
    """POST ``body`` to ``url`` at an address checked after resolving its host. Raises Refused, Unreached or
    Failed; any HTTP answer, 3xx and 5xx included, is returned."""
    why = problem(url)
    if why is not None:
        raise Refused(why)
    parts = urlsplit(url)
    assert parts.hostname is not None
    port = _port(parts)
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise Unreached(f"could not be reached: {getattr(exc, 'strerror', None) or exc}") from None
    checked = [literal_address(a) for a in addresses]
    if not checked or any(a is None or not allowed(a) for a in checked):
        raise Refused(
            "resolves to an address that is not public (loopback, private and link-local addresses are "
            "refused)"
        )
    target = f"{parts.path or '/'}{'?' + parts.query if parts.query else ''}"
    last: Exception = ConnectionRefusedError()
    for address in checked:
        connection = _connection(parts.scheme, parts.hostname, port, str(address), timeout)
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            status = response.status
            answer = b"" if 300 <= status < 400 else response.read(limit)
            return Answer(status, answer)
        except ConnectionRefusedError as exc:
            last = exc
            continue
        except TimeoutError:
            raise Failed("did not answer in time") from None
        except (OSError, http.client.HTTPException) as exc:
            raise Failed(f"connection failed: {exc}") from None
        finally:
            connection.close()
    raise Unreached(f"refused the connection ({last})")


def _connection(
    scheme: str, host: str, port: int, address: str, timeout: float
) -> http.client.HTTPConnection:
    """A connection whose Host header and TLS server name are ``host`` and whose socket goes to ``address``."""
    if scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def connect(destination: tuple[str, int], timeout: float, source: object = None) -> socket.socket:
        return socket.create_connection((address, destination[1]), timeout)

    connection._create_connection = connect  # type: ignore[attr-defined]
    return connection


SIGNATURE_HEADER = "X-CommerceLayer-Signature"


def signed_json_headers(body: bytes, shared_secret: str) -> dict[str, str]:
    """The headers of a signed JSON call to a merchant's service (a gateway, a tax calculator, an external
    promotion): its body's signature under the called resource's shared secret."""
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        SIGNATURE_HEADER: sign(body, shared_secret),
    }


def sign(body: bytes, shared_secret: str) -> str:
    """Commerce Layer's signature of a call's body (``X-CommerceLayer-Signature``): base64 of its HMAC-SHA256
    keyed with the shared secret of the resource that is called."""
    return base64.b64encode(hmac.new(shared_secret.encode(), body, hashlib.sha256).digest()).decode()


def timeout_setting(name: str, default: float = 5.0) -> float:
    """Seconds to wait for an answer, from the environment variable ``name``: ``default`` when it is unset,
    not a number or not positive."""
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        return default
    return value if value > 0 else default
