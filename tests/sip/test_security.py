"""Admission rules for INVITEs and the toll-fraud guard on transfer targets."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from voiceagent.channels.sip.security import (
    Allowlist,
    DigestAuthenticator,
    InviteRateLimiter,
    SipSecurityError,
    TransferTargets,
    admit,
    header_value,
    parse_digest,
    sip_password,
)

pytestmark = pytest.mark.unit


def decide(source: str = "10.0.0.5", active: int = 0, max_calls: int = 4,
           per_minute: int = 30, overflow: str | None = None, accepting: bool = True):
    return admit(source, active, max_calls, Allowlist(["10.0.0.0/24"]),
                 InviteRateLimiter(per_minute), overflow, accepting)


def test_allowlisted_source_with_a_free_line_is_accepted() -> None:
    assert decide().accept


def test_source_outside_the_allowlist_gets_403() -> None:
    result = decide(source="192.0.2.7")
    assert (result.accept, result.status, result.reason) == (False, 403, "source_not_allowed")


def test_garbage_address_is_never_allowed() -> None:
    assert not Allowlist(["0.0.0.0/0"]).allows("not-an-ip")


def test_full_agent_answers_busy_or_redirects_to_the_overflow_target() -> None:
    assert decide(active=4).status == 486
    redirected = decide(active=4, overflow="sip:frontdesk@pbx")
    assert (redirected.status, redirected.redirect_to) == (302, "sip:frontdesk@pbx")


def test_stopping_agent_refuses_new_calls_with_503() -> None:
    assert decide(accepting=False).status == 503


def test_invites_past_the_per_minute_limit_are_refused_until_the_window_moves() -> None:
    limiter = InviteRateLimiter(per_minute=3)
    assert [limiter.allow("10.0.0.5", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("10.0.0.6", now=3), "other sources have their own budget"
    assert limiter.allow("10.0.0.5", now=60.5)


def test_rate_limited_source_gets_503_even_when_allowlisted() -> None:
    allowlist, limiter = Allowlist(["10.0.0.0/24"]), InviteRateLimiter(1)
    first = admit("10.0.0.5", 0, 4, allowlist, limiter, None)
    second = admit("10.0.0.5", 0, 4, allowlist, limiter, None)
    assert first.accept and (second.status, second.reason) == (503, "rate_limited")


def test_only_configured_transfer_targets_resolve() -> None:
    targets = TransferTargets({"front_desk": "sip:100@pbx.example.com"})
    assert targets.resolve("front_desk") == "sip:100@pbx.example.com"
    assert targets.resolve("sip:100@pbx.example.com") == "sip:100@pbx.example.com"
    assert targets.resolve("sip:900555@pbx.example.com") is None
    assert targets.resolve("tel:+19005550100") is None


def test_transfer_target_that_is_not_a_sip_uri_is_a_config_error_naming_the_fix() -> None:
    with pytest.raises(SipSecurityError, match="sip:frontdesk@"):
        TransferTargets({"front_desk": "100"})


def test_password_comes_from_env_then_secret_file_then_config(tmp_path: Path) -> None:
    secret = tmp_path / "sip-password"
    secret.write_text("from-file\n")
    assert sip_password("cfg", {"VOICEAGENT_SIP_PASSWORD": "from-env"}) == "from-env"
    assert sip_password("cfg", {"VOICEAGENT_SIP_PASSWORD_FILE": str(secret)}) == "from-file"
    assert sip_password("cfg", {}) == "cfg"


def test_unreadable_password_file_says_which_variable_to_fix(tmp_path: Path) -> None:
    with pytest.raises(SipSecurityError, match="VOICEAGENT_SIP_PASSWORD_FILE"):
        sip_password(None, {"VOICEAGENT_SIP_PASSWORD_FILE": str(tmp_path / "missing")})


def answer(auth: DigestAuthenticator, challenge: str, user: str, password: str) -> str:
    fields = parse_digest(challenge)
    uri, nc, cnonce = "sip:agent@10.0.0.1", "00000001", "abc"
    ha1 = hashlib.md5(f"{user}:{fields['realm']}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"INVITE:{uri}".encode()).hexdigest()
    response = hashlib.md5(
        f"{ha1}:{fields['nonce']}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
    return (f'Digest username="{user}", realm="{fields["realm"]}", nonce="{fields["nonce"]}", '
            f'uri="{uri}", response="{response}", qop=auth, nc={nc}, cnonce="{cnonce}"')


def test_digest_answer_with_the_right_password_authenticates_the_user() -> None:
    auth = DigestAuthenticator({"pbx": "s3cret"})
    header = answer(auth, auth.challenge(now=1000), "pbx", "s3cret")
    assert auth.verify("INVITE", header, now=1010) == "pbx"


def test_digest_answer_with_a_wrong_password_unknown_user_or_stale_nonce_fails() -> None:
    auth = DigestAuthenticator({"pbx": "s3cret"}, nonce_ttl_s=60)
    challenge = auth.challenge(now=1000)
    assert auth.verify("INVITE", answer(auth, challenge, "pbx", "guess"), now=1010) is None
    assert auth.verify("INVITE", answer(auth, challenge, "eve", "s3cret"), now=1010) is None
    assert auth.verify("INVITE", answer(auth, challenge, "pbx", "s3cret"), now=2000) is None


def test_nonce_from_another_agent_instance_is_rejected() -> None:
    other = DigestAuthenticator({"pbx": "s3cret"})
    auth = DigestAuthenticator({"pbx": "s3cret"})
    assert auth.verify("INVITE", answer(other, other.challenge(), "pbx", "s3cret")) is None


def test_authorization_header_is_found_case_insensitively_in_a_raw_message() -> None:
    message = "INVITE sip:a@b SIP/2.0\r\nVia: x\r\nauthorization: Digest a=1\r\n\r\nv=0\r\n"
    assert header_value(message, "Authorization") == "Digest a=1"
    assert header_value(message, "Contact") is None
