from __future__ import annotations

import hashlib
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from signed import FIXTURE  # noqa: E402

from jupyter_chat.errors import ConfigError
from jupyter_chat.providers.eigencloud import (
    DEFAULT_SIGNERS,
    Verdict,
    eip191_digest,
    recover_signer,
    signed_message,
    verify,
)

RESPONSE = FIXTURE["response"]
MESSAGES: list[dict[str, Any]] = FIXTURE["request"]["messages"]
OUTPUTS: list[str] = [c["message"]["content"] for c in RESPONSE["choices"]]
SIG: str = RESPONSE["signature"]
MODEL: str = RESPONSE["model"]
SIGNER: str = FIXTURE["expected_signer"]
MESSAGE = signed_message(1, MODEL, [m["content"] for m in MESSAGES], OUTPUTS)


def run(**overrides: Any) -> Verdict:
    kwargs: dict[str, Any] = dict(
        chain_id=1,
        model=MODEL,
        request_messages=MESSAGES,
        response_contents=OUTPUTS,
        signature=SIG,
    )
    kwargs.update(overrides)
    return verify(**kwargs)


def keccak(data: bytes) -> bytes:
    from Crypto.Hash import keccak as k

    return k.new(digest_bits=256, data=data).digest()


def with_char(text: str, pos: int, char: str | None = None) -> str:
    char = char if char is not None else ("x" if text[pos] != "x" else "y")
    assert char != text[pos]
    return text[:pos] + char + text[pos + 1 :]


def messages_with(index: int, content: str) -> list[dict[str, Any]]:
    out = [dict(m) for m in MESSAGES]
    out[index]["content"] = content
    return out


# --- the real fixture -------------------------------------------------------------------


def test_fixture_verifies_and_recovers_the_expected_signer():
    assert FIXTURE["chain_id"] == 1 and MODEL == "gpt-oss-120b-f16"
    assert DEFAULT_SIGNERS[1] == SIGNER
    v = run()
    assert v == Verdict("verified", v.reason, signer=SIGNER)
    assert recover_signer(MESSAGE, SIG) == SIGNER


def test_signed_message_matches_the_spec_reproduction():
    m = MESSAGE.encode("utf-8")
    assert len(m) == 2790 and len(MESSAGE) == 2782
    assert hashlib.sha256(m).hexdigest() == (
        "6c3337901f65f1458a5d41fe742381ca6c8a0d1d965956499dd6d440a95374cb"
    )
    assert MESSAGE.startswith("1gpt-oss-120b-f16You are a crypto")
    # the docs' example: no separators anywhere, and it is 43 bytes (not 42 as the docs say)
    small = signed_message(1, "gpt-oss-120b-f16", ["Hello", "World"], ["AI response here"])
    assert small == "1gpt-oss-120b-f16HelloWorldAI response here" and len(small) == 43


def test_digest_uses_byte_length_not_character_count():
    digest = eip191_digest(MESSAGE)
    assert digest.hex() == "bccea4f26365e5403add4e4e5c49f80416ac5f0d585fde23a57d3fc8b1739dda"
    m = MESSAGE.encode("utf-8")
    by_chars = keccak(b"\x19Ethereum Signed Message:\n" + str(len(MESSAGE)).encode() + m)
    assert by_chars != digest


def test_hand_signed_non_ascii_message_uses_byte_length():
    from coincurve import PrivateKey

    key = PrivateKey(b"\x01" * 32)
    address = "0x" + keccak(key.public_key.format(compressed=False)[1:])[-20:].hex()
    prompt, output = "a → b", "ok ✓ ünïcode"
    msg = f"11155111m{prompt}{output}"
    m = msg.encode("utf-8")
    assert len(m) != len(msg)
    digest = keccak(b"\x19Ethereum Signed Message:\n%d" % len(m) + m)
    raw = key.sign_recoverable(digest, hasher=None)
    sig27 = (raw[:64] + bytes([raw[64] + 27])).hex()
    kwargs: dict[str, Any] = dict(
        chain_id=11155111,
        model="m",
        request_messages=[{"role": "user", "content": prompt}],
        response_contents=[output],
        signers={11155111: address.upper().replace("0X", "0x")},
    )
    for sig in (raw.hex(), sig27, "0x" + sig27):
        v = verify(signature=sig, **kwargs)
        assert (v.state, v.signer) == ("verified", address)
    # the same key signing the character-count variant does not verify
    wrong = keccak(b"\x19Ethereum Signed Message:\n%d" % len(msg) + m)
    bad = key.sign_recoverable(wrong, hasher=None).hex()
    assert verify(signature=bad, **kwargs).state == "invalid"


# --- tampering ----------------------------------------------------------------------------


def test_arrows_are_in_the_user_prompt():
    assert MESSAGES[1]["content"].count("\u2192") == 4


@pytest.mark.parametrize("where", [0, 1, 500, "arrow", -1])
def test_changed_prompt_character_is_invalid(where: int | str):
    user = MESSAGES[1]["content"]
    pos = user.index("\u2192") if where == "arrow" else int(where) % len(user)
    v = run(request_messages=messages_with(1, with_char(user, pos)))
    assert v.state == "invalid" and v.signer is None
    assert "expected " + SIGNER in v.reason and "for chain 1" in v.reason


def test_arrow_replaced_by_ascii_of_same_char_count_is_invalid():
    user = MESSAGES[1]["content"]
    v = run(request_messages=messages_with(1, user.replace("\u2192", "-", 1)))
    assert v.state == "invalid"


@pytest.mark.parametrize("pos", [0, 100, -1])
def test_changed_system_or_output_character_is_invalid(pos: int):
    system = MESSAGES[0]["content"]
    assert run(request_messages=messages_with(0, with_char(system, pos % len(system)))).state == (
        "invalid"
    )
    out = OUTPUTS[0]
    assert run(response_contents=[with_char(out, pos % len(out))]).state == "invalid"


def test_changed_model_or_chain_is_invalid():
    assert run(model=with_char(MODEL, 3)).state == "invalid"
    v = run(chain_id=11155111)
    assert v.state == "invalid" and DEFAULT_SIGNERS[11155111] in v.reason
    assert "for chain 11155111" in v.reason


def test_user_prompt_alone_is_invalid():
    assert run(request_messages=MESSAGES[1:]).state == "invalid"


PARTS = [MODEL, MESSAGES[0]["content"], MESSAGES[1]["content"], OUTPUTS[0]]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, len(PARTS) - 1),
    st.integers(0, 10**6),
    st.characters(codec="utf-8"),
)
def test_any_single_character_flip_is_invalid(part: int, pos: int, char: str):
    text = PARTS[part]
    pos %= len(text)
    if char == text[pos]:
        char = "x" if char != "x" else "y"
    parts = list(PARTS)
    parts[part] = with_char(text, pos, char)
    v = verify(
        chain_id=1,
        model=parts[0],
        request_messages=[
            {"role": "system", "content": parts[1]},
            {"role": "user", "content": parts[2]},
        ],
        response_contents=[parts[3]],
        signature=SIG,
    )
    assert v.state == "invalid"


# --- signature encodings ------------------------------------------------------------------


def test_prefixed_signature_and_v_0_1_verify():
    assert SIG[128:] == "1b"  # v = 27 in the fixture
    assert run(signature="0x" + SIG).state == "verified"
    assert run(signature="0X" + SIG.upper()).state == "verified"
    assert run(signature=SIG[:128] + "00").state == "verified"
    # the other recovery id recovers another key
    assert run(signature=SIG[:128] + "1c").state == "invalid"
    assert run(signature=SIG[:128] + "01").state == "invalid"


@pytest.mark.parametrize(
    ("sig", "words"),
    [
        (SIG[:-2], "128 hex characters"),
        (SIG + "00", "132 hex characters"),
        ("zz" + SIG[2:], "not hex"),
        (SIG[:10] + " " + SIG[11:], "not hex"),
        (SIG[:128] + "05", "v=5"),
        ("00" * 64 + "1b", "recovery failed"),
        ("ff" * 64 + "1b", "recovery failed"),
    ],
)
def test_malformed_signature_is_invalid_not_an_exception(sig: str, words: str):
    v = run(signature=sig)
    assert v.state == "invalid" and v.signer is None
    assert v.reason.startswith("malformed signature") and words in v.reason
    with pytest.raises(ValueError):
        recover_signer(MESSAGE, sig)


def test_non_string_signature_is_invalid():
    assert run(signature=12345).state == "invalid"


# --- not verifiable -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"signature": None}, "no signature"),
        ({"signature": ""}, "no signature"),
        ({"chain_id": None}, "chain id unknown"),
        ({"chain_id": 5}, "unknown signer for chain 5"),
        ({"model": None}, "model missing"),
        ({"model": ""}, "model missing"),
        ({"response_contents": [None]}, "response content"),
        ({"response_contents": [OUTPUTS[0], None]}, "response content"),
        ({"request_messages": messages_with(0, None)}, "request message content"),
        (
            {"request_messages": messages_with(1, [{"type": "text", "text": "hi"}])},
            "request message content",
        ),
        ({"request_messages": [{"role": "user"}]}, "request message content"),
    ],
)
def test_not_verifiable(overrides: dict[str, Any], words: str):
    v = run(**overrides)
    assert v.state == "not verifiable" and v.signer is None
    assert words in v.reason


# --- configurable signers -----------------------------------------------------------------


def test_updated_signers():
    other = "0x" + "12" * 20
    v = run(signers={1: other})
    assert v.state == "invalid" and other in v.reason and SIGNER in v.reason
    assert run(signers={1: SIGNER.upper().replace("0X", "0x")}).state == "verified"
    assert run(signers={11155111: DEFAULT_SIGNERS[11155111]}).state == "not verifiable"
    assert run(signers={}).state == "not verifiable"


# --- optional dependency ------------------------------------------------------------------


@pytest.mark.parametrize("module", ["coincurve", "Crypto.Hash"])
def test_missing_dependency_raises_config_error(monkeypatch: pytest.MonkeyPatch, module: str):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError) as info:
        run()
    assert "jupyter-chat[verify]" in str(info.value)
    assert "coincurve and pycryptodome" in str(info.value)
    with pytest.raises(ConfigError):
        recover_signer(MESSAGE, SIG)


def test_import_does_not_load_crypto_libraries():
    code = (
        "import sys, jupyter_chat.providers.eigencloud\n"
        "assert 'jupyter_chat.providers.eigencloud' in sys.modules\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('coincurve', 'Crypto')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
