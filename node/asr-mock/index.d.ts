// Types of asr-mock's Node API (the CommonJS and ES-module entries export the same).

/** A TaskId: a number when it fits a double exactly, else its decimal string. */
export type TaskId = number | string;
/** The id a method takes: a number up to 2^53, or a string or bigint of any uint64. */
export type TaskIdInput = number | string | bigint;
export type TaskStatus = 'waiting' | 'doing' | 'success' | 'failed';
type FlagValue = string | number | bigint | boolean | null | undefined;

export interface TokenSpec {
  token: string;
  /** Default: ["createTranscription"]. */
  permissions?: string[];
}

/**
 * Options of startAsrMock. Every option but `bin`, `env`, `startTimeoutMs` and `stderr`
 * becomes the binary's flag of the same name in kebab case (`cozeModel` -> `--coze-model`):
 * `true` gives the bare flag, `false`/`null`/`undefined` leave it out, an array repeats it.
 */
export interface AsrMockOptions {
  /** Root of every random choice (default 1). */
  seed?: number | bigint | string;
  /** `real` (default), `scaled` (with `timeScale`) or `manual` (moves only by advance()). */
  clock?: 'real' | 'scaled' | 'manual';
  timeScale?: number;
  /** A folder of scenario files, added to the built-in library. */
  scenarios?: string;
  /** A folder of transcript fixtures (`*.toml`). */
  fixtures?: string;
  /** A tokens file (TOML), or the tokens themselves (written to a temporary file). */
  tokens?: string | TokenSpec[];
  cozeModel?: 'large' | 'small';
  /** Default 0: a free port. */
  port?: number;
  host?: string;
  /** Sent by the control helpers as a bearer token. */
  adminToken?: string;
  /** TLS with a generated certificate written here; the helpers trust it. */
  tlsSelfSigned?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** The binary to run (default: ASR_MOCK_BIN, else the platform package's). */
  bin?: string;
  /** The simulator's environment (default: this process's). */
  env?: Record<string, string | undefined>;
  /** How long to wait for the "listening" line (default 20000). */
  startTimeoutMs?: number;
  /** `pipe` (default: kept for error messages and stderr()) or `inherit`. */
  stderr?: 'pipe' | 'inherit';
  /** Any other flag of `asr-mock --help`, camelCase. */
  [flag: string]: FlagValue | FlagValue[] | TokenSpec[] | Record<string, string | undefined>;
}

export interface Health {
  status: string;
  version: string;
  seed: number | string;
  now_ms: number;
  fixtures: number;
  icu_tasks: number;
  callbacks_pending: number;
}

export interface ClockView {
  now_ms: number;
  now: string;
  mode: { mode: 'real' | 'manual' } | { mode: 'scaled'; factor: number } | Record<string, unknown>;
}

export interface Active {
  global: string[];
  by_token: Record<string, string[]>;
}

export interface TaskLine {
  task_id: TaskId;
  status: TaskStatus;
  created_ms: number;
  engine: string;
  polls: number;
}

export interface CallbackAttempt {
  task_id: TaskId;
  attempt: number;
  time_ms: number;
  url: string;
  body: string;
  status: number | null;
  answer: string | null;
  latency_ms: number;
  error: string | null;
  acknowledged: boolean;
  final_attempt: boolean;
  scenario: string | null;
  copy: number;
}

export interface TaskDetail {
  task_id: TaskId;
  status: TaskStatus;
  /** The task as stored: plan, outcome, polls. */
  task: Record<string, unknown>;
  callbacks: CallbackAttempt[];
}

export interface Transitioned {
  task_id: TaskId;
  status: TaskStatus;
}

export interface RequestEntry {
  seq: number;
  time_ms: number;
  method: string;
  path: string;
  query: string | null;
  status: number;
  provider: string | null;
  code: number | null;
  msg: string | null;
  id: string | null;
  scenarios?: string[];
  fault?: string;
  stream?: {
    frames_in: number;
    bytes_in: number;
    frames_out: number;
    bytes_out: number;
    final_text: string | null;
    close_code: number | null;
    ended_by: string;
  };
  truncated?: boolean;
  /** Request headers by lowercase name; credentials as their scheme and last four characters. */
  headers?: Record<string, string>;
  /** What the body held, when a handler read it. */
  body?: BodySummary;
}

/** A request body as the journal summarises it. */
export type BodySummary =
  | {
      kind: 'multipart';
      parts: { name: string | null; filename?: string; content_type?: string; size: number; sha256?: string }[];
      omitted?: number;
    }
  | { kind: 'params'; params: Record<string, unknown>; omitted?: number }
  | { kind: 'text'; text: string; size: number; truncated?: boolean };

/** What find() and count() look for: every field given must match. */
export interface RequestMatcher {
  provider?: 'coze' | 'icu';
  method?: string;
  /** The exact path, without the query. */
  path?: string;
  /** A regular expression (Rust regex syntax) the whole path must match. */
  pathPattern?: string;
  /** Header name (any case) → exact value as journaled (credentials redacted: 'Bearer …1234'). */
  header?: Record<string, string>;
  /** Query-string or icu body parameter → exact value. */
  parameter?: Record<string, string>;
  /** HTTP status answered. */
  status?: number;
  /** Provider code answered. */
  code?: number;
  /** A scenario that applied. */
  scenario?: string;
  /** At or after this time on the simulator's clock: epoch ms, RFC 3339 text or a Date. */
  since?: number | string | Date;
}

export interface FixtureSentence {
  start_ms: number;
  end_ms: number;
  text: string;
  speaker?: number;
}

/** A control request the simulator refused: `message` is its own `error`. */
export declare class AsrMockError extends Error {
  readonly status?: number;
  readonly body?: unknown;
  readonly method?: string;
  readonly path?: string;
}

/** A running simulator. Integers above 2^53 in answers come back as decimal strings. */
export declare class AsrMock {
  /** `http://127.0.0.1:PORT`: CozeAPI's `baseURL`. */
  readonly baseURL: string;
  /** `ws://127.0.0.1:PORT`: CozeAPI's `baseWsURL`. */
  readonly baseWsURL: string;
  readonly pid: number;
  health(): Promise<Health>;
  reset(): Promise<void>;
  advance(seconds: number): Promise<ClockView>;
  activate(name: string, token?: string): Promise<Active>;
  deactivate(name: string, token?: string): Promise<Active>;
  tasks(query?: { status?: TaskStatus; limit?: number }): Promise<TaskLine[]>;
  task(taskId: TaskIdInput): Promise<TaskDetail>;
  transition(taskId: TaskIdInput, status: 'doing' | 'success' | 'failed', code?: number, message?: string): Promise<Transitioned>;
  callbacks(taskId?: TaskIdInput): Promise<CallbackAttempt[]>;
  requests(limit?: number): Promise<RequestEntry[]>;
  /** The newest matching journal entries (at most `limit`, default 100), oldest first. */
  find(matcher?: RequestMatcher & { limit?: number }): Promise<RequestEntry[]>;
  /** How many journal entries match. */
  count(matcher?: RequestMatcher): Promise<number>;
  addFixture(text: string, audio: { audioPath: string; sentences?: FixtureSentence[] } | { sha256: string; sentences?: FixtureSentence[] }): Promise<string>;
  /** Stops the simulator; safe to call twice. */
  close(): Promise<void>;
  /** The last 16 KiB the simulator wrote to stderr (with `stderr: 'pipe'`). */
  stderr(): string;
}

/** Starts a simulator on a free port and resolves once it listens. */
export declare function startAsrMock(options?: AsrMockOptions): Promise<AsrMock>;

/** The binary startAsrMock and `npx asr-mock` run; throws naming what is missing. */
export declare function binaryPath(): string;
