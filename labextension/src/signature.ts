/**
 * EigenCloud signatures checked in the browser (providers.md 3), so a saved notebook's badge
 * is true on any machine, with no kernel: EIP-191 over chain id + model + prompts + outputs,
 * Keccak-256, secp256k1 public-key recovery (the audited @noble libraries), and the recovered
 * address compared with the network's known signer. A turn is "verified" only when, besides,
 * the answer and reasoning it shows derive exactly from the signed content. The record's own
 * `signature` field is never believed.
 */
import { keccak_256 } from '@noble/hashes/sha3';
import { Signature } from '@noble/secp256k1';

import { derive } from './harmony';

/** The signer of each network (jupyter_chat/verify.py DEFAULT_SIGNERS). */
export const SIGNERS: Record<number, string> = {
  1: '0x7053bfb0433a16a2405de785d547b1b32cee0cf3',
  11155111: '0xb876f1301b39c673554ee0259f11395565dcd295'
};

export type SignatureState = 'verified' | 'invalid' | 'not verifiable';

export interface IVerdict {
  state: SignatureState;
  reason: string;
}

/** What a turn shows that a signature must cover. */
export interface IShownTurn {
  answer: string;
  reasoning: string;
  model?: string;
}

interface ISigned {
  chain_id: number;
  model: string;
  request_contents: string[];
  response_contents: string[];
  signature: string;
}

function isSigned(value: unknown): value is ISigned {
  const s = value as Record<string, unknown>;
  const strings = (v: unknown) =>
    Array.isArray(v) && v.every(x => typeof x === 'string');
  return (
    !!s &&
    typeof s === 'object' &&
    Number.isInteger(s.chain_id) &&
    typeof s.model === 'string' &&
    typeof s.signature === 'string' &&
    strings(s.request_contents) &&
    strings(s.response_contents)
  );
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

/** keccak256("\x19Ethereum Signed Message:\n" + byte length + message). */
function eip191(message: string): Uint8Array {
  const body = new TextEncoder().encode(message);
  const head = new TextEncoder().encode(
    `\x19Ethereum Signed Message:\n${body.length}`
  );
  const all = new Uint8Array(head.length + body.length);
  all.set(head);
  all.set(body, head.length);
  return keccak_256(all);
}

/** The address that signed `message`, or an error text. */
export function recoverSigner(message: string, signature: string): string {
  let text = signature.trim();
  if (text.slice(0, 2).toLowerCase() === '0x') {
    text = text.slice(2);
  }
  if (!/^[0-9a-fA-F]{130}$/.test(text)) {
    throw new Error(
      `signature has ${text.length} characters, expected 130 hex`
    );
  }
  const raw = Uint8Array.from(text.match(/../g)!.map(b => parseInt(b, 16)));
  const v = raw[64] >= 27 ? raw[64] - 27 : raw[64];
  if (v !== 0 && v !== 1) {
    throw new Error(`recovery id v=${raw[64]} is not 0, 1, 27 or 28`);
  }
  const point = Signature.fromCompact(raw.slice(0, 64))
    .addRecoveryBit(v)
    .recoverPublicKey(eip191(message));
  return '0x' + hex(keccak_256(point.toRawBytes(false).slice(1)).slice(-20));
}

/** Check a turn's signed block against the network's signer and against what it shows. */
export function verifyTurn(signed: unknown, shown: IShownTurn): IVerdict {
  if (!isSigned(signed)) {
    return { state: 'invalid', reason: 'the signed block is malformed' };
  }
  const expected = SIGNERS[signed.chain_id];
  if (!expected) {
    return {
      state: 'not verifiable',
      reason: `no known signer for chain ${signed.chain_id}`
    };
  }
  const message =
    `${signed.chain_id}${signed.model}` +
    signed.request_contents.join('') +
    signed.response_contents.join('');
  let signer: string;
  try {
    signer = recoverSigner(message, signed.signature);
  } catch (err) {
    return {
      state: 'invalid',
      reason: `malformed signature: ${(err as Error).message}`
    };
  }
  if (signer !== expected) {
    return {
      state: 'invalid',
      reason: `signed by ${signer}, not the chain's signer ${expected}`
    };
  }
  if (signed.response_contents.length === 0) {
    return { state: 'invalid', reason: 'nothing was signed' };
  }
  const derived = derive(signed.response_contents[0]);
  if (derived.answer !== shown.answer) {
    return {
      state: 'invalid',
      reason: 'the answer shown differs from the signed content'
    };
  }
  if (derived.reasoning !== shown.reasoning) {
    return {
      state: 'invalid',
      reason: 'the reasoning shown differs from the signed content'
    };
  }
  if (shown.model !== undefined && shown.model !== signed.model) {
    return {
      state: 'invalid',
      reason: 'the model shown differs from the signed model'
    };
  }
  return {
    state: 'verified',
    reason: `signed by ${signer} (chain ${signed.chain_id})`
  };
}

/**
 * The badge of a turn: the browser's own verdict when it holds a signed block; a record that
 * claims "verified" without one is invalid; other states are shown as the kernel said.
 */
export function badge(
  signed: unknown,
  claimed: unknown,
  shown: IShownTurn
): IVerdict | null {
  if (signed !== undefined && signed !== null) {
    return verifyTurn(signed, shown);
  }
  if (claimed === 'verified') {
    return {
      state: 'invalid',
      reason: 'the output claims a verified signature; nothing signed'
    };
  }
  if (claimed === 'invalid' || claimed === 'not verifiable') {
    return { state: claimed, reason: 'as the kernel reported' };
  }
  return null;
}
