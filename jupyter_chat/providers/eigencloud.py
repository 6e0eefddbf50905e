"""EigenAI on EigenCloud: signed responses (spec: providers.md section 3), as profile hooks.

The signature is an EIP-191 ``personal_sign`` (secp256k1, Keccak-256) over
``chain_id + model + "".join(prompts) + "".join(outputs)``. The crypto libraries
(``coincurve``, ``pycryptodome``) are an optional extra, imported only when needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .hooks import Hooks, Verdict

# The one signer table (chain id -> address): signers.json beside this module, which the
# JupyterLab extension imports when it is built (labextension/src/signature.ts); the config
# file's [signers] overrides it in the kernel (providers/config.py).
SIGNERS_FILE = Path(__file__).with_name("signers.json")
DEFAULT_SIGNERS: dict[int, str] = {
    int(k): v for k, v in json.loads(SIGNERS_FILE.read_text(encoding="utf-8")).items()
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
        return nv(f"unknown signer for chain {chain_id}")
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


class SignedHooks(Hooks):
    """Profiles with ``hooks = "signed"``: each answer's signature is checked, and what a later
    check needs is kept (exactly as sent and received)."""

    def check_signature(
        self,
        profile: Any,
        messages: list[dict[str, Any]],
        model: str | None,
        contents: list,
        signature: str | None,
        signers: dict[int, str],
    ) -> Verdict | None:
        return verify(
            chain_id=profile.chain_id,
            model=model,
            request_messages=messages,
            response_contents=contents,
            signature=signature,
            signers=signers,
        )

    def signed_block(
        self,
        profile: Any,
        messages: list[dict[str, Any]],
        model: str | None,
        contents: list,
        signature: str | None,
    ) -> dict[str, Any] | None:
        if profile.chain_id is None or not signature:
            return None
        return {
            "chain_id": profile.chain_id,
            "model": model,
            "request_contents": [m.get("content") for m in messages],
            "response_contents": contents,
            "signature": signature,
        }
