// Runs the official Coze JS SDK (@coze/api), unchanged, against the simulator.
//
// Usage: node coze_node_check.mjs BASE_URL AUDIO_DIR EMPTY_FILE NODE_PREFIX
//   NODE_PREFIX is the folder whose node_modules holds @coze/api (and its axios peer).
//
// Prints one `PASS node ...` / `FAIL node ...` line per check; exits non-zero if any failed.
// Public API only: `new CozeAPI({ token, baseURL })`, `.audio.transcriptions.create({ file })`
// and the exported error classes with their `.code`, `.msg`, `.logid`, `.status`.
// coze-js returns only `{ text }` on success (no logid accessor), so the success logid is
// observed through an interceptor on the default axios instance the SDK sends with; the
// interceptor only records, it changes nothing. Afterwards the simulator's journal is asked,
// through /__admin/requests/find and /count, what the SDK sent: the file part and the token,
// redacted.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [baseURL, audioDir, emptyFile, prefix] = process.argv.slice(2);
if (!prefix) {
  console.error('usage: coze_node_check.mjs BASE_URL AUDIO_DIR EMPTY_FILE NODE_PREFIX');
  process.exit(2);
}

const require = createRequire(path.join(path.resolve(prefix), 'package.json'));
// The CommonJS build shares `require('axios')` with this script, so the interceptor below
// sees exactly the requests the SDK makes.
const coze = require('@coze/api');
const axios = require('axios');
const { CozeAPI, APIError, AuthenticationError, PermissionDeniedError, BadRequestError } = coze;
const cozeRoot = path.dirname(path.dirname(path.dirname(require.resolve('@coze/api'))));
const cozePkg = JSON.parse(fs.readFileSync(path.join(cozeRoot, 'package.json'), 'utf8'));

// 14 digits of Beijing time + 20 uppercase hex digits (spec: "logid format").
const LOGID_RE = /^\d{14}[0-9A-F]{20}$/;
const GOOD = 'pat_good';
const MSG_AUTH_INVALID = 'authentication is invalid';

// ---- wire recorder (diagnostics only) -------------------------------------------------
let wire = {};
axios.interceptors.request.use((config) => {
  const data = config.data;
  wire = {
    request: `${(config.method || '').toUpperCase()} ${config.url}`,
    form: data && typeof data.getHeaders === 'function' ? data.getHeaders() : typeof data,
    // form-data keeps the part headers it will send as strings in _streams.
    parts: data && Array.isArray(data._streams)
      ? data._streams.filter((s) => typeof s === 'string' && s.includes('Content-Disposition')).map((s) => s.trim())
      : [],
  };
  return config;
});
const onResponse = (response) => {
  if (response) {
    wire.status = response.status;
    wire.headers = { 'content-type': response.headers['content-type'], 'x-tt-logid': response.headers['x-tt-logid'] };
    wire.body = response.data;
  }
};
axios.interceptors.response.use(
  (response) => { onResponse(response); return response; },
  (error) => { onResponse(error && error.response); return Promise.reject(error); },
);
const describe = () => ` | wire: ${JSON.stringify(wire)}`;

// ---- checks ----------------------------------------------------------------------------
const results = [];
function record(ok, name, detail) {
  results.push(ok);
  // One line per check.
  console.log(`${ok ? 'PASS' : 'FAIL'} node ${name}: ${String(detail).replace(/\r?\n/g, ' ')}`);
}

const client = (token, Ctor = CozeAPI) => new Ctor({ token, baseURL });

async function checkSuccess(name, file, expectEmpty, Ctor) {
  let resp;
  try {
    resp = await client(GOOD, Ctor).audio.transcriptions.create({ file: fs.createReadStream(file) });
  } catch (e) {
    record(false, name, `threw ${e && e.name}: ${e && e.message}${describe()}`);
    return;
  }
  const problems = [];
  const text = resp && resp.text;
  if (typeof text !== 'string') problems.push(`text is ${typeof text} (${JSON.stringify(resp)})`);
  else if (expectEmpty && text !== '') problems.push(`expected empty text, got ${JSON.stringify(text)}`);
  else if (!expectEmpty && !text.trim()) problems.push('expected non-empty text, got empty');
  const headerLogid = wire.headers && wire.headers['x-tt-logid'];
  const bodyLogid = wire.body && wire.body.detail && wire.body.detail.logid;
  if (!LOGID_RE.test(headerLogid || '')) problems.push(`x-tt-logid ${JSON.stringify(headerLogid)} is not a 34-char logid`);
  if (headerLogid !== bodyLogid) problems.push(`x-tt-logid ${headerLogid} != detail.logid ${bodyLogid}`);
  if (problems.length) record(false, name, problems.join('; ') + describe());
  else record(true, name, `text=${JSON.stringify(text)} logid=${headerLogid} (header = detail.logid; the SDK returns only {text})`);
}

// Sends the same failing request `times` times: an error answered before the upload is read
// can reach axios as a socket error (EPIPE/ECONNRESET) on some attempts only.
async function checkError(name, token, file, expected) {
  const times = expected.times || 1;
  for (let i = 1; i <= times; i++) {
    const outcome = await errorOutcome(token, file, expected);
    if (!outcome.ok || i === times) {
      const attempt = times > 1 ? ` [attempt ${i}/${times}]` : '';
      record(outcome.ok, name, outcome.detail + attempt);
      return;
    }
  }
}

async function errorOutcome(token, file, { cls, code, status, msg }) {
  let resp;
  try {
    resp = await client(token).audio.transcriptions.create({ file: fs.createReadStream(file) });
  } catch (e) {
    const problems = [];
    if (!(e instanceof APIError)) problems.push(`threw ${e && e.name} which is not an APIError: ${e && e.message}`);
    else {
      if (!(e instanceof cls)) problems.push(`threw ${e.name}, expected ${cls.name}`);
      if (e.code !== code) problems.push(`code ${JSON.stringify(e.code)} != ${code}`);
      if (e.status !== status) problems.push(`status ${e.status} != ${status}`);
      if (msg !== undefined && e.msg !== msg) problems.push(`msg ${JSON.stringify(e.msg)} != ${JSON.stringify(msg)}`);
      if (msg === undefined && !e.msg) problems.push('msg is empty');
      if (!LOGID_RE.test(e.logid || '')) problems.push(`logid ${JSON.stringify(e.logid)} is not a 34-char logid`);
      const headerLogid = e.headers && e.headers['x-tt-logid'];
      if (e.logid !== headerLogid) problems.push(`logid ${e.logid} (from detail.logid) != x-tt-logid ${headerLogid}`);
    }
    if (problems.length) return { ok: false, detail: problems.join('; ') + (e && e.message ? ` (message: ${e.message})` : '') + describe() };
    return { ok: true, detail: `${e.name} code=${e.code} status=${e.status} msg=${JSON.stringify(e.msg)} logid=${e.logid} (HTTP ${wire.status})` };
  }
  return { ok: false, detail: `no error thrown, got ${JSON.stringify(resp)}${describe()}` };
}

// A control-API call: { status, json }.
async function admin(pathname, body) {
  const res = await fetch(baseURL + pathname, body === undefined ? {} : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function checkJournal(sinceMs, file) {
  const audio = fs.readFileSync(file);
  const sha256 = crypto.createHash('sha256').update(audio).digest('hex');
  const refused = {
    method: 'POST', path: '/v1/audio/transcriptions', code: 4100,
    header: { authorization: 'Bearer …nown' }, since: sinceMs,
  };
  const entries = (await admin('/__admin/requests/find', refused)).json.requests ?? [];
  const { count } = (await admin('/__admin/requests/count', refused)).json;
  const problems = [];
  if (!entries.length) problems.push(`no entry for ${JSON.stringify(refused)}`);
  else if (count !== entries.length) problems.push(`count ${count} != ${entries.length} entries found`);
  const last = entries.at(-1);
  const part = last?.body?.parts?.find((p) => p.name === 'file');
  const expected = { name: 'file', filename: path.basename(file), size: audio.length, sha256 };
  if (last && (!part || Object.entries(expected).some(([k, v]) => part[k] !== v))) {
    problems.push(`file part ${JSON.stringify(part)} != ${JSON.stringify(expected)}`);
  }
  const everything = JSON.stringify((await admin('/__admin/requests/find', { since: sinceMs, limit: 1000 })).json);
  if (everything.includes('pat_unknown') || everything.includes('pat_readonly')) problems.push('a token appears in the journal');
  record(!problems.length, '(h) find/count: the refused upload, its file part and the redacted token',
    problems.join('; ') || `${entries.length} entries, file part sha256=${sha256.slice(0, 12)}…`);

  const ok = await admin('/__admin/requests/count', { provider: 'coze', status: 200, code: 0, since: sinceMs });
  record(ok.json.count === 3, '(i) count: the three successful uploads', `count=${JSON.stringify(ok.json)}`);

  const bad = await admin('/__admin/requests/find', { since: 'yesterday' });
  record(bad.status === 400 && /since/.test(bad.json.error ?? ''), '(j) a bad matcher -> 400 naming the field',
    `HTTP ${bad.status} ${JSON.stringify(bad.json)}`);
}

console.log(`# @coze/api ${cozePkg.version} (axios ${axios.VERSION}) against ${baseURL}`);
const sinceMs = (await admin('/__admin/health')).json.now_ms; // this checker's requests only
const speech = path.join(audioDir, 'speech-cmn-16k.wav');
const silence = path.join(audioDir, 'silence-2s-16k.wav');
const notAudio = path.join(audioDir, 'not-audio.txt');

const checks = [
  () => checkSuccess('(a) speech wav -> text + logid', speech, false),
  () => checkSuccess('(b) silent wav -> empty text', silence, true),
  () => checkError('(c) unknown token -> AuthenticationError 4100', 'pat_unknown', speech,
    { cls: AuthenticationError, code: 4100, status: 401, msg: MSG_AUTH_INVALID, times: 10 }),
  () => checkError('(d) token without createTranscription -> PermissionDeniedError 4101', 'pat_readonly', speech,
    { cls: PermissionDeniedError, code: 4101, status: 403, times: 10 }),
  () => checkError('(e) empty file -> BadRequestError 4300', GOOD, emptyFile,
    { cls: BadRequestError, code: 4300, status: 400 }),
  () => checkError('(f) not-audio.txt -> BadRequestError 4303', GOOD, notAudio,
    { cls: BadRequestError, code: 4303, status: 400 }),
  async () => {
    // The ES-module build, as `import { CozeAPI } from '@coze/api'` loads it.
    const esm = await import(pathToFileURL(path.join(cozeRoot, cozePkg.exports['.'].import)).href);
    let resp;
    try {
      resp = await new esm.CozeAPI({ token: GOOD, baseURL }).audio.transcriptions.create({ file: fs.createReadStream(speech) });
    } catch (e) {
      record(false, '(g) ESM build -> text', `threw ${e && e.name}: ${e && e.message}`);
      return;
    }
    record(typeof resp.text === 'string' && resp.text.trim() !== '', '(g) ESM build -> text', `text=${JSON.stringify(resp.text)}`);
  },
  () => checkJournal(sinceMs, speech),
];

for (const check of checks) {
  try {
    await check();
  } catch (e) {
    record(false, 'check crashed', String(e && e.stack).replace(/\n/g, ' | '));
  }
}
process.exit(results.every(Boolean) ? 0 : 1);
