/**
 * The structured turn the kernel sends as `application/vnd.jupyter-chat+json`
 * (jupyter_chat/render.py `bundle()`), and the comm messages of protocol v1.
 */

/** The MIME type of a chat turn. */
export const MIME_TYPE = 'application/vnd.jupyter-chat+json';

/** The comm target the kernel opens at `%load_ext jupyter_chat`. */
export const COMM_TARGET = 'jupyter_chat';

/** The protocol version this frontend speaks. */
export const PROTOCOL_VERSION = 1;

export type TurnStatus =
  | 'streaming'
  | 'complete'
  | 'incomplete'
  | 'interrupted'
  | 'error';

/** Content parts as OpenAI sends them (text, image_url, ...). */
export interface IContentPart {
  type?: string;
  text?: string;
  [key: string]: unknown;
}

export interface IChatMessage {
  role: string;
  content: string | IContentPart[] | null;
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
  params?: { seed?: number | null; [key: string]: unknown };
  thread?: string;
  request_hash?: string;
  finish_reason?: string | null;
  usage?: IUsage | null;
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
}

/** Comm messages kernel -> frontend while a turn streams. */
export interface IDeltaMessage {
  type: 'delta';
  turn: string;
  answer?: string;
  reasoning?: string;
}

export interface IToolCallsMessage {
  type: 'tool_calls';
  turn: string;
  tool_calls: IToolCall[];
}
