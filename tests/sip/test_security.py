"""The gate's screening of SIP requests and the toll-fraud guard on transfer targets."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from voiceagent.channels.sip.gate import Action, SipRequest, Verdict, parse_request
from voiceagent.channels.sip.screen import Capacity, Refusal, Screen
from voiceagent.channels.sip.security import (
    Allowlist,
    DigestAuthenticator,
    InviteRateLimiter,
    SipSecurityError,
    TransferTargets,
    parse_digest,
    sip_password,
)

pytestmark = pytest.mark.unit


def request(method: str = "INVITE", source: str = "10.0.0.5", call_id: str = "c1",
            to_tag: bool = False, **headers: str) -> SipRequest:
    return SipRequest(method, source, 5060, call_id, to_tag,
                      {k.replace("_", "-"): v for k, v in headers.items()})


def screen(active: int = 0, max_calls: int = 4, per_minute: int = 30,
           overflow: str | None = None, accepting: bool = True, store: bool = True,
           refused: list[Refusal] | None = None, slots: int = 0,
           auth: DigestAuthenticator | None = None) -> Screen:
    return Screen(
        Allowlist(["10.0.0.0/24"]), InviteRateLimiter(per_minute),
        Capacity(lambda: active, lambda: slots or active, lambda: accepting, lambda: store),
        max_calls=max_calls, call_slots=4, overflow_target=overflow, authenticator=auth,
        on_refused=refused.append if refused is not None else None,
    )


def decide(source: str = "10.0.0.5", **kwargs: object) -> Verdict:
    return screen(**kwargs)(request(source=source))  # type: ignore[arg-type]


def test_allowlisted_source_with_a_free_line_is_accepted() -> None:
    assert decide().action is Action.PASS


def test_source_outside_the_allowlist_gets_403() -> None:
    result = decide(source="192.0.2.7")
    assert (result.action, result.status, result.reason) == (Action.RESPOND, 403,
                                                              "source_not_allowed")


def test_refused_source_flooding_invites_gets_403s_then_nothing() -> None:
    gate = screen(per_minute=5)
    verdicts = [gate(request(source="192.0.2.7", call_id=f"c{i}")) for i in range(200)]
    assert [v.action for v in verdicts[:5]] == [Action.RESPOND] * 5
    assert {v.action for v in verdicts[5:]} == {Action.DROP}


@pytest.mark.parametrize("method", ["SUBSCRIBE", "MESSAGE", "OPTIONS", "NOTIFY", "REFER",
                                    "REGISTER", "PUBLISH", "BYE", "INFO"])
def test_refused_source_gets_nothing_back_for_any_other_method(method: str) -> None:
    assert decide_method(method, "192.0.2.7").action is Action.DROP
    assert decide_method(method, "192.0.2.7", to_tag=True).action is Action.DROP


def decide_method(method: str, source: str, to_tag: bool = False) -> Verdict:
    return screen()(request(method, source=source, to_tag=to_tag))


def test_allowed_source_gets_405_for_what_a_trunk_never_sends() -> None:
    for method in ("SUBSCRIBE", "MESSAGE", "PUBLISH", "REGISTER"):
        verdict = decide_method(method, "10.0.0.5")
        assert (verdict.action, verdict.status) == (Action.RESPOND, 405)
    assert decide_method("OPTIONS", "10.0.0.5").action is Action.PASS
    assert decide_method("BYE", "10.0.0.5", to_tag=True).action is Action.PASS


def test_full_agent_answers_busy_or_redirects_to_the_overflow_target_and_records_it() -> None:
    refused: list[Refusal] = []
    assert decide(active=4, refused=refused).status == 486
    redirected = decide(active=4, overflow="sip:frontdesk@pbx", refused=refused)
    assert (redirected.status, redirected.headers) == (302, (("Contact", "<sip:frontdesk@pbx>"),))
    assert [r.outcome for r in refused] == ["busy", "overflow"]


def test_pjsua_slots_held_by_ending_calls_count_against_capacity() -> None:
    assert decide(active=1, slots=4).status == 486


def test_retransmitted_refused_invite_is_answered_again_but_recorded_once() -> None:
    refused: list[Refusal] = []
    gate = screen(active=4, refused=refused)
    assert [gate(request()).status for _ in range(3)] == [486, 486, 486]
    assert len(refused) == 1


def test_retransmitted_accepted_invite_passes_without_counting_against_the_rate() -> None:
    gate = screen(per_minute=1)
    assert [gate(request()).action for _ in range(3)] == [Action.PASS] * 3
    assert gate(request(call_id="c2")).status == 503


def test_stopping_agent_or_unwritable_store_refuses_new_calls_with_503_retry_after() -> None:
    for verdict in (decide(accepting=False), decide(store=False)):
        assert verdict.status == 503
        assert dict(verdict.headers)["Retry-After"].isdigit()
    assert decide(store=False).reason == "store_unavailable"


def test_dialog_of_an_authenticated_outsider_is_followed_but_nothing_else() -> None:
    auth = DigestAuthenticator({"pbx": "s3cret"})
    gate = screen(auth=auth)
    challenge = gate(request(source="192.0.2.7"))
    assert challenge.status == 401
    header = dict(challenge.headers)["WWW-Authenticate"]
    ok = gate(request(source="192.0.2.7", authorization=answer(auth, header, "pbx", "s3cret")))
    assert ok.action is Action.PASS
    assert gate(request("BYE", source="192.0.2.7", to_tag=True)).action is Action.PASS
    assert gate(request("BYE", source="192.0.2.8", to_tag=True)).action is Action.DROP


def test_raw_request_is_parsed_with_compact_headers() -> None:
    raw = (b"SUBSCRIBE sip:a@b SIP/2.0\r\ni: abc\r\nt: <sip:a@b>;tag=9\r\n"
           b"Contact: <sip:victim@198.51.100.1>\r\n\r\n")
    parsed = parse_request(raw, "192.0.2.7", 5060)
    assert parsed is not None
    assert (parsed.method, parsed.call_id, parsed.to_tag) == ("SUBSCRIBE", "abc", True)
    assert parse_request(b"SIP/2.0 200 OK\r\n\r\n", "192.0.2.7", 5060) is None
    assert parse_request(b"\xff\xfe garbage", "192.0.2.7", 5060) is None


def test_garbage_address_is_never_allowed() -> None:
    assert not Allowlist(["0.0.0.0/0"]).allows("not-an-ip")


def test_invites_past_the_per_minute_limit_are_refused_until_the_window_moves() -> None:
    limiter = InviteRateLimiter(per_minute=3)
    assert [limiter.allow("10.0.0.5", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("10.0.0.6", now=3), "other sources have their own budget"
    assert limiter.allow("10.0.0.5", now=60.5)


def test_rate_limited_source_gets_503_even_when_allowlisted() -> None:
    gate = screen(per_minute=1)
    first, second = gate(request(call_id="a")), gate(request(call_id="b"))
    assert first.action is Action.PASS and (second.status, second.reason) == (503, "rate_limited")


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
