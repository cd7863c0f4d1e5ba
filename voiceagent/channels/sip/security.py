"""Who may call the agent, how often, and where the agent may call (toll-fraud guard).

The agent never places a call of its own: the only outgoing INVITE or REFER it makes is a
transfer to one of the targets the clinic configured, looked up by :class:`TransferTargets`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import time
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path

PASSWORD_ENV = "VOICEAGENT_SIP_PASSWORD"
PASSWORD_FILE_ENV = "VOICEAGENT_SIP_PASSWORD_FILE"


class SipSecurityError(ValueError):
    """A SIP security setting cannot be used; the message says how to fix it."""


class Allowlist:
    """Source addresses (IP authentication) whose INVITEs the agent accepts."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def add(self, network: str) -> None:
        self.networks.append(ipaddress.ip_network(network, strict=False))


class InviteRateLimiter:
    """At most ``per_minute`` INVITEs per source address in any 60 s window."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._seen: dict[str, deque[float]] = {}

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen.setdefault(address, deque())
        while seen and now - seen[0] >= self.window_s:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return False
        seen.append(now)
        if len(self._seen) > 10000:  # a scan from many addresses must not grow this forever
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._seen.items() if not v or now - v[-1] >= self.window_s]:
            del self._seen[key]


class TransferTargets:
    """The only destinations the agent may ring: names (``front_desk``) mapped to SIP URIs."""

    def __init__(self, targets: Mapping[str, str]) -> None:
        for name, uri in targets.items():
            if not uri.startswith(("sip:", "sips:")):
                raise SipSecurityError(
                    f"transfer target {name!r}: {uri!r} is not a SIP URI; "
                    "write it like sip:frontdesk@pbx.example.com"
                )
        self.targets = dict(targets)

    def resolve(self, target: str) -> str | None:
        """The URI for a configured name or URI; None for anything else (toll fraud)."""
        if target in self.targets:
            return self.targets[target]
        if target in self.targets.values():
            return target
        return None


def sip_password(
    configured: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The digest password: ``VOICEAGENT_SIP_PASSWORD``, else the file named by
    ``VOICEAGENT_SIP_PASSWORD_FILE`` (e.g. a systemd credential), else the config value."""
    env = os.environ if environ is None else environ
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV]
    path = env.get(PASSWORD_FILE_ENV)
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SipSecurityError(
                f"{PASSWORD_FILE_ENV}={path}: cannot read the SIP password file ({exc.strerror}); "
                "check the path and that the service user may read it"
            ) from exc
    return configured


class DigestAuthenticator:
    """Digest (RFC 2617, MD5) for INVITEs from outside the allowlist: a PBX or phone that
    cannot be known by its address proves itself with a username and password.

    Nonces are an HMAC of their issue time, so no state is kept and they expire.
    """

    def __init__(self, users: Mapping[str, str], realm: str = "voiceagent",
                 nonce_ttl_s: float = 60.0, secret: bytes | None = None) -> None:
        self.users = dict(users)
        self.realm = realm
        self.nonce_ttl_s = nonce_ttl_s
        self._secret = secret if secret is not None else os.urandom(32)

    def _nonce(self, issued: int) -> str:
        mac = hmac.new(self._secret, str(issued).encode(), hashlib.sha256).hexdigest()[:24]
        return f"{issued:x}.{mac}"

    def challenge(self, now: float | None = None) -> str:
        """The WWW-Authenticate header value for a 401."""
        issued = int(time.time() if now is None else now)
        return (f'Digest realm="{self.realm}", nonce="{self._nonce(issued)}", '
                'algorithm=MD5, qop="auth"')

    def verify(self, method: str, authorization: str, now: float | None = None) -> str | None:
        """The authenticated username, or None for a wrong, stale or malformed answer."""
        fields = parse_digest(authorization)
        user = fields.get("username", "")
        password = self.users.get(user)
        nonce = fields.get("nonce", "")
        if password is None or fields.get("realm") != self.realm or "." not in nonce:
            return None
        try:
            issued = int(nonce.split(".", 1)[0], 16)
        except ValueError:
            return None
        current = time.time() if now is None else now
        if not hmac.compare_digest(nonce, self._nonce(issued)):
            return None
        if not 0 <= current - issued <= self.nonce_ttl_s:
            return None
        ha1 = _md5(f"{user}:{self.realm}:{password}")
        ha2 = _md5(f"{method}:{fields.get('uri', '')}")
        if fields.get("qop") == "auth":
            expected = _md5(f"{ha1}:{nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}"
                            f":auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        if hmac.compare_digest(expected, fields.get("response", "").lower()):
            return user
        return None


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 (SIP digest is MD5)


_DIGEST_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def parse_digest(value: str) -> dict[str, str]:
    """The parameters of a ``Digest ...`` Authorization header value."""
    value = value.strip()
    if not value.lower().startswith("digest"):
        return {}
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _DIGEST_PARAM.finditer(value[6:])}
