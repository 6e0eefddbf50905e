"""EigenAI (EigenCloud) response-signature verification (spec: providers.md section 3).

The signature is an EIP-191 ``personal_sign`` (secp256k1, Keccak-256) over
``chain_id + model + "".join(prompts) + "".join(outputs)``. The crypto libraries
(``coincurve``, ``pycryptodome``) are an optional extra, imported only when needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

DEFAULT_SIGNERS: dict[int, str] = {
    1: "0x7053bfb0433a16a2405de785d547b1b32cee0cf3",
    11155111: "0xB876f1301b39c673554EE0259F11395565dCd295",
}
_HEX = frozenset("0123456789abcdefABCDEF")


def _keccak256(data: bytes) -> bytes:
    try:
        from Crypto.Hash import keccak
    except ImportError:
        raise _missing() from None
    return keccak.new(digest_bits=256, data=data).digest()


def _missing() -> ConfigError:
    return ConfigError(
        "signature verification needs coincurve and pycryptodome",
        hint="pip install 'jupyter-chat[verify]'",
    )


def signed_message(
    chain_id: int, model: str, request_contents: list, response_contents: list
) -> str:
    """The exact string EigenAI signs: chain id, model, prompts, outputs; no separators."""
    return f"{chain_id}{model}{''.join(request_contents)}{''.join(response_contents)}"


def eip191_digest(message: str) -> bytes:
    """keccak256 of the EIP-191 prefix, the UTF-8 *byte* length, and the message bytes."""
    m = message.encode("utf-8")
    return _keccak256(b"\x19Ethereum Signed Message:\n" + str(len(m)).encode() + m)


def recover_signer(message: str, signature: str) -> str:
    """The lowercase ``0x`` address that signed ``message``; ValueError if malformed."""
    try:
        from coincurve import PublicKey
    except ImportError:
        raise _missing() from None
    digest = eip191_digest(message)
    if not isinstance(signature, str):
        raise ValueError(f"signature is a {type(signature).__name__}, not a hex string")
    text = signature.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    if len(text) != 130:
        raise ValueError(f"signature has {len(text)} hex characters, expected 130")
    if not all(c in _HEX for c in text):
        raise ValueError("signature is not hex")
    raw = bytes.fromhex(text)
    v = raw[64] - 27 if raw[64] >= 27 else raw[64]
    if v not in (0, 1):
        raise ValueError(f"signature recovery id v={raw[64]} is not 0, 1, 27 or 28")
    try:
        pub = PublicKey.from_signature_and_message(raw[:64] + bytes([v]), digest, hasher=None)
    except Exception as exc:  # coincurve raises plain Exception/ValueError on bad r, s
        raise ValueError(f"public key recovery failed: {exc}") from None
    return "0x" + _keccak256(pub.format(compressed=False)[1:])[-20:].hex()


@dataclass(frozen=True)
class Verdict:
    state: str  # "verified" | "invalid" | "not verifiable"
    reason: str
    signer: str | None = None


def verify(
    *,
    chain_id: int | None,
    model: str | None,
    request_messages: list[dict[str, Any]],
    response_contents: list,
    signature: str | None,
    signers: dict[int, str] | None = None,
) -> Verdict:
    """Check an EigenAI signature; never raises for bad data (only for the missing extra)."""

    def nv(reason: str) -> Verdict:
        return Verdict("not verifiable", reason)

    if not signature:
        return nv("no signature (streamed turn?)")
    if chain_id is None:
        return nv("chain id unknown")
    expected = (DEFAULT_SIGNERS if signers is None else signers).get(chain_id)
    if not expected:
        return nv(f"no known signer for chain {chain_id}")
    if not model:
        return nv("response model missing")
    prompts = [m.get("content") if isinstance(m, dict) else None for m in request_messages]
    if not all(isinstance(p, str) for p in prompts):
        return nv("a request message content is not a plain string")
    if not all(isinstance(c, str) for c in response_contents):
        return nv("a response content is not a string (tool call?)")
    message = signed_message(chain_id, model, prompts, response_contents)
    try:
        got = recover_signer(message, signature)
    except ConfigError:
        raise  # the missing extra (ConfigError is also a ValueError)
    except ValueError as exc:
        return Verdict("invalid", f"malformed signature: {exc}")
    if got != expected.lower():
        return Verdict("invalid", f"recovered {got}, expected {expected} for chain {chain_id}")
    return Verdict("verified", f"signed by {got} (chain {chain_id})", signer=got)


def derive(raw: str) -> tuple[str, str]:
    """The answer and reasoning a signed content shows: split as the stream splits it
    (harmony channels, ``<think>`` tags; providers.md 4.5)."""
    from .stream import ContentSplitter

    out: list = []
    splitter = ContentSplitter(lambda call: None)
    splitter.feed(raw, out, 0)
    splitter.finish(out, 0)
    answer = "".join(t for kind, _i, t in out if kind == "answer")
    reasoning = "".join(t for kind, _i, t in out if kind == "reasoning")
    return answer, reasoning


def shown_differs(response_contents: list, shown: list[tuple[str, str]]) -> str | None:
    """Why the shown answers (and reasoning) are not what the signed contents show, or None
    when each shown choice derives from its signed content exactly."""
    if len(shown) > len(response_contents):
        return "more answers are shown than were signed"
    for n, ((answer, reasoning), raw) in enumerate(zip(shown, response_contents)):
        if not isinstance(raw, str):
            return "a signed content is not a string"
        signed_answer, signed_reasoning = derive(raw)
        which = f" (choice {n})" if n else ""
        if answer != signed_answer:
            return "the answer shown differs from the signed content" + which
        if reasoning != signed_reasoning:
            return "the reasoning shown differs from the signed content" + which
    return None


def bind(verdict: Verdict, response_contents: list, shown: list[tuple[str, str]]) -> Verdict:
    """``verified`` only when what is shown derives from the signed bytes."""
    if verdict.state != "verified":
        return verdict
    why = shown_differs(response_contents, shown)
    return verdict if why is None else Verdict("invalid", why)
