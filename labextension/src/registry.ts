/**
 * The live text of streaming turns, shared by the comm handler (the frontend plugin,
 * `index.ts`) and the renderer (the mime extension, `mime.ts`).
 *
 * JupyterLab loads the two entry points of an extension as separate modules, so a
 * module-level singleton is not guaranteed to be one object: the registry lives on
 * `window` under a well-known key, and whichever module asks first creates it.
 */
import { IToolCall } from './types';

/** What has arrived for one turn so far. */
export interface IStreamState {
  readonly answer: string;
  readonly reasoning: string;
  readonly toolCalls: IToolCall[] | null;
  /** Comm messages applied (each counted once, however many connections saw it). */
  readonly deltas: number;
}

type Listener = (state: IStreamState) => void;

interface IEntry {
  state: IStreamState;
  seen: Set<string>;
  listeners: Set<Listener>;
}

/** How many finished-or-orphaned turns to keep before the oldest is dropped. */
const MAX_IDLE_TURNS = 64;

export class StreamRegistry {
  /** Bumped when the shape of this class changes incompatibly. */
  readonly version = 1;

  /**
   * Apply one comm message (`delta` or `tool_calls`). Each carries its turn's sequence
   * number `seq`; `msgId` is the kernel message id. A message is applied once, however many
   * comms or connections carried it. Returns whether it was applied.
   */
  apply(msgId: string, data: Record<string, unknown>): boolean {
    const turn = data.turn;
    if (typeof turn !== 'string' || !turn) {
      return false;
    }
    const entry = this._entry(turn);
    const key = typeof data.seq === 'number' ? `seq:${data.seq}` : msgId;
    if (key && entry.seen.has(key)) {
      return false;
    }
    const prev = entry.state;
    if (data.type === 'delta') {
      const answer = typeof data.answer === 'string' ? data.answer : '';
      const reasoning =
        typeof data.reasoning === 'string' ? data.reasoning : '';
      entry.state = {
        ...prev,
        answer: prev.answer + answer,
        reasoning: prev.reasoning + reasoning,
        deltas: prev.deltas + 1
      };
    } else if (data.type === 'tool_calls' && Array.isArray(data.tool_calls)) {
      entry.state = {
        ...prev,
        toolCalls: data.tool_calls as IToolCall[],
        deltas: prev.deltas + 1
      };
    } else {
      return false;
    }
    if (key) {
      entry.seen.add(key);
    }
    for (const listener of Array.from(entry.listeners)) {
      try {
        listener(entry.state);
      } catch (err) {
        console.error('jupyter-chat: stream listener failed', err);
      }
    }
    return true;
  }

  /** What arrived so far for `turn`, if anything did. */
  state(turn: string): IStreamState | undefined {
    return this._turns.get(turn)?.state;
  }

  /** Call `listener` on each change of `turn`; returns the unsubscribe function. */
  subscribe(turn: string, listener: Listener): () => void {
    const entry = this._entry(turn);
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
    };
  }

  /** The turn has its final display: forget it. */
  finish(turn: string): void {
    const entry = this._turns.get(turn);
    if (entry && entry.listeners.size === 0) {
      this._turns.delete(turn);
    }
  }

  /** Turns currently held (for tests and debugging). */
  get size(): number {
    return this._turns.size;
  }

  private _entry(turn: string): IEntry {
    let entry = this._turns.get(turn);
    if (!entry) {
      entry = {
        state: { answer: '', reasoning: '', toolCalls: null, deltas: 0 },
        seen: new Set(),
        listeners: new Set()
      };
      this._turns.set(turn, entry);
      this._prune();
    }
    return entry;
  }

  /** Bound memory: drop the oldest turns nobody renders (a kernel died mid-stream...). */
  private _prune(): void {
    if (this._turns.size <= MAX_IDLE_TURNS) {
      return;
    }
    for (const [turn, entry] of this._turns) {
      if (this._turns.size <= MAX_IDLE_TURNS) {
        break;
      }
      if (entry.listeners.size === 0) {
        this._turns.delete(turn);
      }
    }
  }

  private _turns = new Map<string, IEntry>();
}

/** The window property holding the one registry of this page. */
export const REGISTRY_KEY = '__jupyterChatStreams';

/** The page's stream registry, created on first use. */
export function streamRegistry(): StreamRegistry {
  const holder = window as unknown as Record<
    string,
    StreamRegistry | undefined
  >;
  let registry = holder[REGISTRY_KEY];
  if (!registry || registry.version !== 1) {
    registry = new StreamRegistry();
    holder[REGISTRY_KEY] = registry;
  }
  return registry;
}
