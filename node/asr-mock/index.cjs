'use strict';
// asr-mock for Node: start the simulator binary on a free port and drive its control API.
//
//   const { startAsrMock } = require('asr-mock');
//   const mock = await startAsrMock({ seed: 7, clock: 'manual' });
//   new CozeAPI({ token, baseURL: mock.baseURL, baseWsURL: mock.baseWsURL });
//   await mock.close();

const fs = require('node:fs');
const { binaryPath } = require('./lib/binary.cjs');
const { buildArgs, removeTempFiles } = require('./lib/options.cjs');
const { ControlClient, AsrMockError } = require('./lib/control.cjs');
const { startChild, stopChild, unref } = require('./lib/process.cjs');

const DEFAULT_START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

// A task id as the control API's path wants it: a non-negative integer, exact beyond 2^53
// when given as a string or bigint.
function taskIdOf(taskId) {
  const exact =
    (typeof taskId === 'number' && Number.isSafeInteger(taskId)) || typeof taskId === 'string' || typeof taskId === 'bigint';
  const s = exact ? String(taskId) : '';
  if (!/^\d{1,20}$/.test(s)) {
    throw new TypeError(`taskId must be a non-negative integer (a string or bigint above 2^53), got ${String(taskId)}`);
  }
  return s;
}

// A matcher as the control API reads it: a Date `since` as RFC 3339 text, the rest as given
// (the server checks every field and names a bad one).
function matcherBody(matcher) {
  if (matcher === null || typeof matcher !== 'object' || Array.isArray(matcher)) {
    throw new TypeError(`a matcher is an object such as {method: 'POST'}, got ${String(matcher)}`);
  }
  const body = { ...matcher };
  if (body.since instanceof Date) body.since = body.since.toISOString();
  return body;
}

class AsrMock {
  constructor(child, baseURL, control, stderrTail) {
    this._child = child;
    this._control = control;
    this._stderrTail = stderrTail;
    this._closing = null;
    /** `http://127.0.0.1:PORT` (https with TLS): CozeAPI's baseURL. */
    this.baseURL = baseURL;
    /** `ws://127.0.0.1:PORT` (wss with TLS): CozeAPI's baseWsURL. */
    this.baseWsURL = baseURL.replace(/^http/, 'ws');
    /** The simulator's process id. */
    this.pid = child.pid;
  }

  _call(method, path, body) {
    if (this._closing) return Promise.reject(new AsrMockError('asr-mock is closed', { method, path }));
    return this._control.request(method, path, body);
  }

  /** `GET /__admin/health`: status, version, seed, simulated time, counters. */
  health() {
    return this._call('GET', '/__admin/health');
  }

  /** Forgets the journal, fixtures added here, tasks, callbacks, hosted audio and activations. */
  async reset() {
    await this._call('POST', '/__admin/reset', {});
  }

  /** Moves the simulated clock forward; resolves to the clock ({now_ms, now, mode}). */
  advance(seconds) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      return Promise.reject(new TypeError(`seconds must be a finite number >= 0, got ${seconds}`));
    }
    return this._call('POST', '/__admin/clock/advance', { seconds });
  }

  /** Activates a scenario for every request, or for one bearer token. */
  activate(name, token) {
    return this._call('POST', '/__admin/scenarios/activate', token === undefined ? { name } : { name, token });
  }

  /** Undoes activate() with the same arguments. */
  deactivate(name, token) {
    return this._call('POST', '/__admin/scenarios/deactivate', token === undefined ? { name } : { name, token });
  }

  /** icu tasks, newest first: [{task_id, status, created_ms, engine, polls}]. */
  async tasks({ status, limit } = {}) {
    const q = new URLSearchParams();
    if (status !== undefined) q.set('status', status);
    if (limit !== undefined) q.set('limit', String(limit));
    const qs = q.toString();
    return (await this._call('GET', `/__admin/tasks${qs ? `?${qs}` : ''}`)).tasks;
  }

  /** One task: {task_id, status, task, callbacks}. */
  async task(taskId) {
    return this._call('GET', `/__admin/tasks/${taskIdOf(taskId)}`);
  }

  /** Moves a task forward: 'doing', 'success', or 'failed' with a code and message. */
  async transition(taskId, status, code, message) {
    const body = { status };
    if (code !== undefined) body.code = code;
    if (message !== undefined) body.message = message;
    return this._call('POST', `/__admin/tasks/${taskIdOf(taskId)}/transition`, body);
  }

  /** Callback attempts, oldest first, of every task or of one. */
  async callbacks(taskId) {
    const qs = taskId === undefined ? '' : `?task_id=${taskIdOf(taskId)}`;
    return (await this._call('GET', `/__admin/callbacks${qs}`)).attempts;
  }

  /** The newest journal entries (oldest first). */
  async requests(limit) {
    const qs = limit === undefined ? '' : `?limit=${Number(limit)}`;
    return (await this._call('GET', `/__admin/requests${qs}`)).requests;
  }

  /**
   * `POST /__admin/requests/find`: the newest journal entries (at most `limit`, default 100),
   * oldest first, that match every field given: provider, method, path, pathPattern (a regex
   * the whole path matches), header / parameter ({name: exact value}; credentials in their
   * redacted form, 'Bearer …1234'), status (HTTP), code (provider), scenario, since (epoch ms,
   * RFC 3339 text or a Date). A bad field rejects with AsrMockError 400 naming it.
   */
  async find(matcher = {}) {
    return (await this._call('POST', '/__admin/requests/find', matcherBody(matcher))).requests;
  }

  /** `POST /__admin/requests/count`: how many journal entries match (the fields of find()). */
  async count(matcher = {}) {
    return (await this._call('POST', '/__admin/requests/count', matcherBody(matcher))).count;
  }

  /** Registers a transcript for the audio in audioPath or with this SHA-256; resolves to the hash. */
  async addFixture(text, { audioPath, sha256, sentences } = {}) {
    if (typeof text !== 'string') throw new TypeError('addFixture: text must be a string');
    if ((audioPath === undefined) === (sha256 === undefined)) {
      throw new TypeError('addFixture: give exactly one of audioPath and sha256');
    }
    const body = { text };
    if (sha256 !== undefined) body.sha256 = sha256;
    else body.audio_base64 = (await fs.promises.readFile(audioPath)).toString('base64');
    if (sentences !== undefined) body.sentences = sentences;
    return (await this._call('POST', '/__admin/fixtures', body)).sha256;
  }

  /** Stops the simulator (SIGTERM, SIGKILL after 5 s). Safe to call twice. */
  close() {
    if (!this._closing) this._closing = stopChild(this._child, STOP_GRACE_MS);
    return this._closing;
  }

  /** What the simulator wrote to stderr lately (the last 16 KiB), unless stderr is 'inherit'. */
  stderr() {
    return this._stderrTail();
  }
}

/** Starts a simulator on a free port; resolves once it listens. */
async function startAsrMock(options = {}) {
  const { args, tempFiles, library } = buildArgs(options);
  const cleanup = () => removeTempFiles(tempFiles);
  let bin;
  try {
    bin = library.bin ?? binaryPath();
  } catch (e) {
    cleanup();
    throw e;
  }
  const timeoutMs = library.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const { child, baseURL, stderrTail } = await startChild(bin, args, {
    env: library.env,
    timeoutMs,
    stderr: library.stderr,
    cleanup,
  });
  let ca;
  const certFile = options.tlsSelfSigned ?? options.tlsCert;
  try {
    if (baseURL.startsWith('https:') && typeof certFile === 'string') ca = fs.readFileSync(certFile);
  } catch (e) {
    await stopChild(child, STOP_GRACE_MS);
    throw new Error(`asr-mock serves TLS, but its certificate cannot be read: ${e.message}`);
  }
  const control = new ControlClient(baseURL, { ca, adminToken: options.adminToken });
  unref(child);
  return new AsrMock(child, baseURL, control, stderrTail);
}

module.exports = { startAsrMock, AsrMock, AsrMockError, binaryPath };
