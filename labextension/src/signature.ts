/**
 * EigenCloud signatures checked in the browser (providers.md 3), so a saved notebook's badge
 * is true on any machine: EIP-191 over chain id + model + prompts + outputs, Keccak-256,
 * secp256k1 public-key recovery (the audited @noble libraries), the recovered address
 * compared with the network's signer, then the one rule on everything the output shows
 * (shown.ts, as the kernel's jupyter_chat/display/shown.py).
 *
 * Never more than the kernel says: the signer table is the package's one file
 * (jupyter_chat/providers/signers.json, imported at build time); a kernel attached over the
 * comm sends its own table (the config's [signers] included), and then its table decides;
 * without one, the verdict is at most the one the kernel wrote into the output. A chain
 * without a known signer is "unknown signer", never verified.
 */
import { keccak_256 } from '@noble/hashes/sha3';
import { Signature } from '@noble/secp256k1';

import BUILT_IN from '../../jupyter_chat/providers/signers.json';
import { decode } from './renderings';
import { ISignedParts, MIME, shownProblem } from './shown';

type Table = Record<number, string>;
type Json = Record<string, unknown>;

function table(value: unknown): Table | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return null;
  }
  const out: Table = {};
  for (const [chain, address] of Object.entries(value as Json)) {
    if (!/^[0-9]+$/.test(chain) || typeof address !== 'string') {
      return null;
    }
    out[Number(chain)] = address.toLowerCase();
  }
  return out;
}

/** The signer of each network, from the package's one table. */
export const SIGNERS: Table = table(BUILT_IN) || {};

const learned = new Map<string, Table>(); // kernel id -> the signers its config names
const listeners = new Set<() => void>();

/** A kernel's signer table (comm message `signers`); verdicts are checked again. */
export function learnSigners(kernel: string, signers: unknown): void {
  const t = table(signers);
  if (t) {
    learned.set(kernel, t);
  } else {
    learned.delete(kernel); // a table that does not read is no table
  }
  listeners.forEach(f => f());
}

/** A kernel went away: its table no longer counts. */
export function forgetSigners(kernel: string): void {
  if (learned.delete(kernel)) {
    listeners.forEach(f => f());
  }
}

/** Call `f` whenever the signer tables change; returns the unsubscribe. */
export function onSignersChanged(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

export type SignatureState = 'verified' | 'invalid' | 'not verifiable';

export interface IVerdict {
  state: SignatureState;
  reason: string;
  /** Shown instead of the state ("unknown signer"). */
  label?: string;
  /** Whose signer table decided: the kernel's, or the package's (capped by the output). */
  signers?: 'kernel' | 'package';
}

const RANK: Record<SignatureState, number> = {
  invalid: 0,
  'not verifiable': 1,
  verified: 2
};

/** The less favourable of two verdicts (the first on a tie). */
function lower(a: IVerdict | null, b: IVerdict | null): IVerdict | null {
  if (!a || !b) {
    return a || b;
  }
  return RANK[b.state] < RANK[a.state] ? b : a;
}

interface ISigned extends ISignedParts {
  chain_id: number;
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

/** Check a signed block against a signer table, then the rule on what the output shows. */
export function verifyOutput(
  data: Json,
  metadata: Json,
  signers: Table
): IVerdict {
  const turn = (data[MIME] || {}) as Json;
  const signed = turn.signed;
  if (!isSigned(signed)) {
    return { state: 'invalid', reason: 'the signed block is malformed' };
  }
  if (!signed.signature) {
    return { state: 'not verifiable', reason: 'no signature' };
  }
  const expected = signers[signed.chain_id];
  if (!expected) {
    return {
      state: 'not verifiable',
      reason: `unknown signer for chain ${signed.chain_id}`,
      label: 'unknown signer'
    };
  }
  if (!signed.model) {
    return { state: 'not verifiable', reason: 'response model missing' };
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
  const problem = shownProblem(data, metadata || {}, signed);
  if (problem) {
    return problem;
  }
  return {
    state: 'verified',
    reason: `signed by ${signer} (chain ${signed.chain_id})`
  };
}

function claimOf(metadata: Json, turn: Json): string[] {
  const claims: string[] = [];
  for (const record of [(metadata || {})['jupyter_chat'], turn.record]) {
    if (record && typeof record === 'object') {
      const s = (record as Json).signature;
      if (typeof s === 'string') {
        claims.push(s);
      }
    }
  }
  return claims;
}

/** At most what the kernel that wrote the output said (when no kernel is attached). */
function cap(claims: string[]): IVerdict | null {
  if (!claims.length) {
    return {
      state: 'not verifiable',
      reason:
        'the output holds no verdict of the kernel, and no kernel is attached to say ' +
        'which signers it trusts'
    };
  }
  let worst: IVerdict | null = null;
  for (const c of claims) {
    worst = lower(
      worst,
      c === 'verified'
        ? null
        : {
            state: c === 'invalid' ? 'invalid' : 'not verifiable',
            reason: `the kernel that wrote this output found it ${c === 'invalid' ? 'invalid' : 'not verifiable'}`
          }
    );
  }
  return worst;
}

const CLAIM = 'signature verified';

function textOf(value: unknown): string {
  return Array.isArray(value) ? value.join('') : String(value ?? '');
}

/**
 * The badge of an output: the browser's own verdict when it holds a signed block (under every
 * attached kernel's signer table, else the package's, capped by the output's own verdict); an
 * output that claims "verified" without one is invalid; other states as the kernel said.
 */
export function badge(data: Json, metadata: Json): IVerdict | null {
  const turn = (data[MIME] || {}) as Json;
  const claims = claimOf(metadata, turn);
  if (turn.signed === undefined || turn.signed === null) {
    const text = ['text/plain', 'text/markdown'].some(m =>
      decode(textOf(data[m])).includes(CLAIM)
    );
    if (claims.includes('verified') || text) {
      return {
        state: 'invalid',
        reason: 'the output claims a verified signature; nothing signed'
      };
    }
    const said = claims.find(c => c === 'invalid' || c === 'not verifiable');
    return said
      ? { state: said as SignatureState, reason: 'as the kernel reported' }
      : null;
  }
  if (learned.size) {
    let worst: IVerdict | null = null;
    for (const t of learned.values()) {
      worst = lower(worst, verifyOutput(data, metadata, t));
    }
    return worst && { ...worst, signers: 'kernel' };
  }
  const own = verifyOutput(data, metadata, SIGNERS);
  const v = lower(own, cap(claims)) || own;
  return { ...v, signers: 'package' };
}
