// Runs the official Coze JS SDK's WebSocket transcription client (@coze/api), unchanged,
// against the simulator over ws://.
//
// Usage: node coze_node_ws_check.mjs BASE_URL AUDIO_DIR NODE_PREFIX
//   BASE_URL is the simulator's http:// address; the same address as ws:// is the SDK's
//   `baseWsURL`. NODE_PREFIX is the folder whose node_modules holds @coze/api.
//
// Prints one `PASS node-ws ...` / `FAIL node-ws ...` line per check; exits non-zero if any
// failed. Public API only: `new CozeAPI({ token, baseURL, baseWsURL })`,
// `websockets.audio.transcriptions.create(req, options)` and the WebSocketAPI it returns
// (onopen/onmessage/onclose/onerror, send, close). The number and timing of interim
// `transcriptions.message.update`s are left unchecked; the final text, that updates are
// cumulative, and the event order are checked.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const [baseURL, audioDir, prefix] = process.argv.slice(2);
if (!prefix) {
  console.error('usage: coze_node_ws_check.mjs BASE_URL AUDIO_DIR NODE_PREFIX');
  process.exit(2);
}
const baseWsURL = baseURL.replace(/^http/, 'ws');
const require = createRequire(path.join(path.resolve(prefix), 'package.json'));
const { CozeAPI } = require('@coze/api');

const GOOD = 'pat_good';
const MSG_AUTH_INVALID = 'authentication is invalid';
const CHUNK = 6400; // bytes per append: 200 ms of 16 kHz mono 16-bit audio
const TIMEOUT_MS = 15000;
const WAV_16K = { format: 'wav', codec: 'pcm', sample_rate: 16000, channel: 1, bit_depth: 16 };
const CREATED = 'transcriptions.created';
const UPDATED = 'transcriptions.updated';
const BUFFER_COMPLETED = 'input_audio_buffer.completed';
const UPDATE = 'transcriptions.message.update';
const COMPLETED = 'transcriptions.message.completed';
const ERROR = 'error';

const results = [];
function record(ok, name, detail) {
  results.push(ok);
  console.log(`${ok ? 'PASS' : 'FAIL'} node-ws ${name}: ${String(detail).replace(/\r?\n/g, ' ')}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One SDK connection and everything it reported, in order.
async function openSession(token, options) {
  const api = new CozeAPI({ token, baseURL, baseWsURL });
  const ws = await api.websockets.audio.transcriptions.create(undefined, options);
  const s = { ws, events: [], opens: 0, closes: [], transportErrors: [], wake: () => {} };
  const changed = () => s.wake();
  ws.onopen = () => { s.opens += 1; changed(); };
  ws.onmessage = (event) => { s.events.push(event); changed(); };
  ws.onclose = (e) => { s.closes.push({ code: e.code, wasClean: e.wasClean }); changed(); };
  ws.onerror = (e) => { s.transportErrors.push(e.data); changed(); };
  // Resolves once `pred(s)` holds; rejects with what arrived so far after TIMEOUT_MS.
  s.until = async (pred, what) => {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!pred(s)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${TIMEOUT_MS} ms; ${brief(s)}`);
      await new Promise((resolve) => { s.wake = resolve; setTimeout(resolve, left); });
    }
    return s;
  };
  s.count = (type) => s.events.filter((e) => e.event_type === type).length;
  return s;
}

function brief(s) {
  const events = s.events.slice(0, 30).map((e) => (e.data ? `${e.event_type}=${JSON.stringify(e.data)}` : e.event_type));
  return `events: [${events.join(', ')}] opens=${s.opens} closes=${JSON.stringify(s.closes)}`;
}

// The samples of a 16-bit PCM WAV (its `data` chunk).
function wavData(buf) {
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'data') return buf.subarray(at + 8, at + 8 + size);
    at += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}

// A 16 kHz mono 16-bit WAV of the given samples.
function wavFile(samples) {
  const head = Buffer.alloc(44);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(36 + samples.length, 4);
  head.write('WAVEfmt ', 8, 'ascii');
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20); // PCM
  head.writeUInt16LE(1, 22); // mono
  head.writeUInt32LE(16000, 24);
  head.writeUInt32LE(32000, 28); // bytes per second
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36, 'ascii');
  head.writeUInt32LE(samples.length, 40);
  return Buffer.concat([head, samples]);
}

async function httpText(file) {
  const api = new CozeAPI({ token: GOOD, baseURL });
  return (await api.audio.transcriptions.create({ file: fs.createReadStream(file) })).text;
}

// The final text, cumulative updates and event order of one complete cycle.
function sessionProblems(s, expected) {
  const problems = [];
  const types = s.events.map((e) => e.event_type);
  const others = types.filter((t) => t !== UPDATE);
  const want = [CREATED, UPDATED, BUFFER_COMPLETED, COMPLETED];
  if (JSON.stringify(others) !== JSON.stringify(want)) problems.push(`order ${JSON.stringify(others)} != ${JSON.stringify(want)}`);
  const updated = s.events.find((e) => e.event_type === UPDATED);
  if (updated && JSON.stringify(sorted(updated.data.input_audio)) !== JSON.stringify(sorted(WAV_16K))) {
    problems.push(`updated echoed ${JSON.stringify(updated.data.input_audio)}`);
  }
  const texts = s.events.filter((e) => e.event_type === UPDATE).map((e) => e.data.content);
  if (!texts.length) problems.push('no transcriptions.message.update');
  else {
    if (types.indexOf(UPDATE) < types.indexOf(UPDATED)) problems.push('a message.update before transcriptions.updated');
    if (types.lastIndexOf(UPDATE) > types.indexOf(COMPLETED)) problems.push('a message.update after message.completed');
    for (let i = 1; i < texts.length; i++) {
      if (!texts[i].startsWith(texts[i - 1])) { problems.push(`not cumulative: ${JSON.stringify(texts[i - 1])} then ${JSON.stringify(texts[i])}`); break; }
    }
    if (texts.at(-1) !== expected) problems.push(`final ${JSON.stringify(texts.at(-1))} != HTTP text ${JSON.stringify(expected)}`);
  }
  if (s.opens !== 1) problems.push(`${s.opens} opens (the SDK reconnected)`);
  return { problems, texts };
}

const sorted = (o) => Object.fromEntries(Object.entries(o || {}).sort());

// created → update → appends (every `paceMs`, or all at once) → complete → message.completed.
async function checkStream(name, file, paceMs) {
  const expected = await httpText(file);
  if (!expected.trim()) { record(false, name, `HTTP text for ${path.basename(file)} is empty: nothing to compare`); return; }
  const bytes = fs.readFileSync(file);
  const s = await openSession(GOOD);
  try {
    await s.until((x) => x.events.length > 0, 'first event');
    s.ws.send({ event_type: 'transcriptions.update', data: { input_audio: WAV_16K } });
    for (let i = 0; i < bytes.length; i += CHUNK) {
      s.ws.send({ event_type: 'input_audio_buffer.append', data: { delta: bytes.subarray(i, i + CHUNK).toString('base64') } });
      if (paceMs) await sleep(paceMs);
    }
    s.ws.send({ event_type: 'input_audio_buffer.complete' });
    await s.until((x) => x.count(COMPLETED) > 0 || x.count(ERROR) > 0, 'transcriptions.message.completed');
  } finally {
    s.ws.close();
  }
  const { problems, texts } = sessionProblems(s, expected);
  if (problems.length) record(false, name, `${problems.join('; ')} | ${brief(s)}`);
  else {
    const appends = `${bytes.length} B in ${Math.ceil(bytes.length / CHUNK)} appends${paceMs ? ` every ${paceMs} ms` : ''}`;
    record(true, name, `final ${JSON.stringify(texts.at(-1))} = HTTP text, ${texts.length} cumulative update(s), ${appends}`);
  }
}

async function checkBadConfig(name) {
  const s = await openSession(GOOD);
  const problems = [];
  try {
    await s.until((x) => x.events.length > 0, 'first event');
    const bad = [{ ...WAV_16K, format: 'pcm', codec: 'g711a' }, { ...WAV_16K, format: 'mp3' }];
    for (const [i, cfg] of bad.entries()) {
      const sent = { event_type: 'transcriptions.update', data: { input_audio: cfg } };
      s.ws.send(sent);
      await s.until((x) => x.count(ERROR) + x.count(UPDATED) > i, `answer to update ${i + 1}`);
      const answer = s.events.filter((e) => e.event_type === ERROR || e.event_type === UPDATED)[i];
      const origin = answer.detail && answer.detail.origin_message;
      if (answer.event_type !== ERROR || answer.data.code !== 4000 || !answer.data.msg) {
        problems.push(`${JSON.stringify(cfg)}: got ${JSON.stringify(answer)}, expected error 4000`);
      } else if (origin !== JSON.stringify(sent)) {
        problems.push(`detail.origin_message ${JSON.stringify(origin)} != the frame sent`);
      }
    }
    s.ws.send({ event_type: 'transcriptions.update', data: { input_audio: WAV_16K } });
    await s.until((x) => x.count(UPDATED) > 0, 'transcriptions.updated');
    const updated = s.events.find((e) => e.event_type === UPDATED);
    if (JSON.stringify(sorted(updated.data.input_audio)) !== JSON.stringify(sorted(WAV_16K))) {
      problems.push(`updated echoed ${JSON.stringify(updated.data.input_audio)}`);
    }
    if (s.opens !== 1 || s.count(CREATED) !== 1 || s.closes.length) problems.push('the connection did not stay open');
  } finally {
    s.ws.close();
  }
  const errors = s.events.filter((e) => e.event_type === ERROR).map((e) => [e.data.code, e.data.msg]);
  if (problems.length) record(false, name, `${problems.join('; ')} | ${brief(s)}`);
  else record(true, name, `errors ${JSON.stringify(errors)}, then transcriptions.updated on the same connection`);
}

// `error` instead of `created`, then the server closes with 1000. The SDK would reconnect
// (reconnecting-websocket), so the check closes once it has seen the server's close.
async function checkBadToken(name, token, code, msg) {
  const s = await openSession(token);
  try {
    await s.until((x) => x.closes.length > 0, 'close from the server');
  } finally {
    s.ws.close();
  }
  const problems = [];
  const first = s.events[0];
  if (!first || first.event_type !== ERROR || first.data.code !== code) problems.push(`first event ${JSON.stringify(first)}, expected error ${code}`);
  else if (msg !== undefined && first.data.msg !== msg) problems.push(`msg ${JSON.stringify(first.data.msg)} != ${JSON.stringify(msg)}`);
  else if (!first.detail || !first.detail.logid) problems.push('no detail.logid');
  if (s.count(CREATED)) problems.push('transcriptions.created was sent too');
  const close = s.closes[0];
  if (close.code !== 1000 || !close.wasClean) problems.push(`server close ${JSON.stringify(close)}, expected a clean 1000`);
  if (problems.length) record(false, name, `${problems.join('; ')} | ${brief(s)}`);
  else record(true, name, `error code=${first.data.code} msg=${JSON.stringify(first.data.msg)} logid=${first.detail.logid}, then close 1000`);
}

// What the SDK does on a close it did not start: a new handshake with no session state.
async function checkReconnect(name) {
  const s = await openSession('pat_unknown', { minReconnectionDelay: 50, maxReconnectionDelay: 100, maxRetries: 1 });
  try {
    await s.until((x) => x.count(ERROR) >= 2 && x.closes.length >= 2, 'second error after the reconnect');
  } finally {
    s.ws.close();
  }
  const codes = s.events.map((e) => e.event_type === ERROR ? e.data.code : e.event_type);
  const logids = new Set(s.events.map((e) => e.detail && e.detail.logid));
  const ok = s.opens === 2 && JSON.stringify(codes) === '[4100,4100]' && logids.size === 2;
  record(ok, name, `${s.opens} opens, events ${JSON.stringify(codes)}, ${logids.size} logids${ok ? '' : ` | ${brief(s)}`}`);
}

// The SDK's close() sends a close frame 1000; the server must answer it (RFC 6455 5.5.1),
// or the SDK reports an abnormal closure (1006).
async function checkClientClose(name) {
  const s = await openSession(GOOD);
  await s.until((x) => x.count(CREATED) > 0, 'transcriptions.created');
  s.ws.close();
  await s.until((x) => x.closes.length > 0, 'close event');
  const close = s.closes[0];
  record(close.code === 1000 && close.wasClean, name, `onclose ${JSON.stringify(close)}`);
}

console.log(`# @coze/api WebSocket transcriptions against ${baseWsURL}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coze-node-ws-'));
// Two speech spans (Mandarin, then English after 550 ms of silence), so that more than one
// partial text can come while the audio streams in real time.
const twoSpans = path.join(tmp, 'two-spans-16k.wav');
fs.writeFileSync(twoSpans, wavFile(Buffer.concat(['speech-cmn-16k.wav', 'speech-en-16k.wav']
  .map((f) => wavData(fs.readFileSync(path.join(audioDir, f)))))));

const checks = [
  ["(a) ws stream of speech-cmn-16k.wav, all at once -> HTTP's text", checkStream, path.join(audioDir, 'speech-cmn-16k.wav'), 0],
  ["(b) ws stream of two speech spans in real time -> HTTP's text", checkStream, twoSpans, 200],
  ['(c) bad config -> error 4000, connection still usable', checkBadConfig],
  ['(d) unknown token -> error 4100, then close 1000', checkBadToken, 'pat_unknown', 4100, MSG_AUTH_INVALID],
  ['(e) token without createTranscription -> error 4101, then close 1000', checkBadToken, 'pat_readonly', 4101],
  ["(f) after the server's close the SDK reconnects: new session, same error", checkReconnect],
  ['(g) ws.close() -> the server answers the close frame (clean 1000)', checkClientClose],
];
for (const [name, check, ...args] of checks) {
  try {
    await check(name, ...args);
  } catch (e) {
    record(false, name, String(e && e.stack).replace(/\n/g, ' | '));
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(results.length && results.every(Boolean) ? 0 : 1);
