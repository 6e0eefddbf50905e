/**
 * The structured turn the kernel sends as `application/vnd.jupyter-chat+json`
 * (jupyter_chat/display/bundle.py `bundle()`); the comm messages of protocol v1 are read in
 * registry.ts.
 */

/** The MIME type of a chat turn. */
export const MIME_TYPE = 'application/vnd.jupyter-chat+json';

/** The comm target the kernel registers at `%load_ext jupyter_chat`. */
export const COMM_TARGET = 'jupyter_chat';

/** The protocol version this frontend speaks. */
export const PROTOCOL_VERSION = 1;

export type TurnStatus =
  'streaming' | 'complete' | 'incomplete' | 'interrupted' | 'error';

export interface IChatMessage {
  role: string;
  /** Text, or content parts as OpenAI sends them (text, image_url, ...). */
  content:
    string | { type?: string; text?: string; [key: string]: unknown }[] | null;
  name?: string;
}

export interface IToolCall {
  id?: string;
  type?: string;
  index?: number;
  function?: { name?: string; arguments?: string };
}

export interface IUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  [key: string]: unknown;
}

export interface IRunRecord {
  provider?: string;
  host?: string;
  model?: string;
  served_model?: string | null;
  response_id?: string | number | null;
  provider_ids?: Record<string, unknown>;
  params?: { seed?: number | null; [key: string]: unknown };
  thread?: string;
  request_hash?: string;
  finish_reason?: string | null;
  usage?: IUsage | null;
  cost?: { usd?: number; source?: string } | null;
  latency_ms?: number | null;
  system_fingerprint?: string | null;
  signature?: string;
  replayed?: boolean;
  complete?: boolean;
  interrupted?: boolean;
  notes?: string[];
  [key: string]: unknown;
}

export interface ITurn {
  version?: number;
  status?: TurnStatus;
  turn_id?: string;
  messages?: IChatMessage[];
  answer?: string;
  reasoning?: string;
  tool_calls?: IToolCall[] | null;
  usage?: IUsage | null;
  record?: IRunRecord;
  error?: string | null;
  signed?: unknown;
  /** With a schema: the validated answer (the raw answer is folded under it). */
  parsed?: { schema: string; value: unknown } | null;
  /** With --logprobs: the tokens and their probabilities (logprobs.ts). */
  logprobs?: unknown;
}
