// The official Coze SDK (@coze/api), unchanged, against asr-mock started from Node, over HTTP
// and WebSocket; and the icu provider driven with the control helpers on a manual clock.
//
//   node --test coze.test.mjs      (AUDIO_DIR: the folder with the speech WAVs; default ./audio)
//
// Needs `asr-mock` and `@coze/api` (with its axios peer) installed next to this file.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CozeAPI, AuthenticationError } from '@coze/api';
import { startAsrMock, AsrMockError } from 'asr-mock';

const AUDIO_DIR = process.env.AUDIO_DIR ?? 'audio';
const SPEECH = path.join(AUDIO_DIR, 'speech-cmn-16k.wav'); // 16 kHz mono 16-bit speech
const ENGLISH = path.join(AUDIO_DIR, 'speech-en-16k.wav');
const GOOD = 'pat_good';
const CI = 'pat_ci';

let mock;
let dir;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coze-example-'));
  const tokens = path.join(dir, 'tokens.toml'); // only these tokens are accepted
  fs.writeFileSync(tokens, [GOOD, CI].map((t) => `[[tokens]]\ntoken = "${t}"\npermissions = ["createTranscription"]\n`).join('\n'));
  mock = await startAsrMock({
    seed: 7,
    clock: 'manual',
    tokens,
    icuSubmitRate: 0, // no rate limit between the tests' submits
  });
});
after(async () => {
  await mock.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const coze = (token = GOOD) => new CozeAPI({ token, baseURL: mock.baseURL, baseWsURL: mock.baseWsURL });
const transcribe = async (file, token) =>
  (await coze(token).audio.transcriptions.create({ file: fs.createReadStream(file) })).text;

// Streams a WAV through the SDK's WebSocket API; resolves to the final text and the events,
// rejects with an `error` event's data.
async function transcribeStreaming(file, token = GOOD) {
  const ws = await coze(token).websockets.audio.transcriptions.create();
  const events = [];
  let text = '';
  return new Promise((resolve, reject) => {
    const fail = (error) => {
      ws.close(); // the SDK reconnects after any close it did not start itself
      reject(error);
    };
    ws.onerror = (err) => fail(new Error(`WebSocket error ${JSON.stringify(err)}`));
    ws.onmessage = (event) => {
      events.push(event.event_type);
      switch (event.event_type) {
        case 'transcriptions.created': {
          ws.send({
            id: 'update-1',
            event_type: 'transcriptions.update',
            data: { input_audio: { format: 'wav', codec: 'pcm', sample_rate: 16000, channel: 1, bit_depth: 16 } },
          });
          const audio = fs.readFileSync(file);
          for (let at = 0; at < audio.length; at += 32 * 1024) {
            const delta = audio.subarray(at, at + 32 * 1024).toString('base64');
            ws.send({ id: `append-${at}`, event_type: 'input_audio_buffer.append', data: { delta } });
          }
          ws.send({ id: 'complete-1', event_type: 'input_audio_buffer.complete' });
          break;
        }
        case 'transcriptions.message.update':
          text = event.data.content; // cumulative: the latest holds everything so far
          break;
        case 'transcriptions.message.completed':
          ws.close();
          resolve({ text, events });
          break;
        case 'error':
          fail(Object.assign(new Error(`error event ${JSON.stringify(event.data)}`), event.data));
          break;
        default:
      }
    };
  });
}

let httpText;
test('HTTP: the SDK transcribes a WAV', async () => {
  httpText = await transcribe(SPEECH);
  assert.equal(typeof httpText, 'string');
  assert.ok(httpText.trim().length > 0, 'speech gives text');
  assert.equal(await transcribe(SPEECH), httpText, 'the same audio gives the same text');
});

test('WebSocket: the SDK streams the same WAV to the same text', { timeout: 30_000 }, async () => {
  const { text, events } = await transcribeStreaming(SPEECH);
  assert.equal(text, httpText ?? (await transcribe(SPEECH)));
  assert.equal(events[0], 'transcriptions.created');
  const at = (type) => events.indexOf(type);
  assert.ok(at('transcriptions.updated') > 0, `updated after created: ${events}`);
  assert.ok(at('input_audio_buffer.completed') > at('transcriptions.updated'), `completed after updated: ${events}`);
  assert.ok(at('transcriptions.message.update') > 0, `at least one message.update: ${events}`);
  assert.equal(events.at(-1), 'transcriptions.message.completed');
  const journal = (await mock.requests(10)).filter((r) => r.stream);
  assert.equal(journal.at(-1).stream.final_text, text, 'the journal records the streamed text');
});

test('a token not in the tokens file gets AuthenticationError 4100', async () => {
  await assert.rejects(transcribe(SPEECH, 'pat_unknown'), (e) => {
    assert.ok(e instanceof AuthenticationError, `${e.name}: ${e.message}`);
    assert.equal(e.code, 4100);
    return true;
  });
});

test('find/count verify what the SDK sent: the part, the redacted token, the code', async () => {
  const audio = fs.readFileSync(SPEECH);
  const sha256 = crypto.createHash('sha256').update(audio).digest('hex');
  const refused = { method: 'POST', path: '/v1/audio/transcriptions', code: 4100, header: { Authorization: 'Bearer …nown' } };
  const found = await mock.find(refused);
  assert.ok(found.length >= 1, 'the refused upload is in the journal');
  const entry = found.at(-1);
  assert.equal(entry.status, 401);
  assert.ok(!JSON.stringify(entry).includes('pat_unknown'), 'the token itself is never kept');
  const file = entry.body.parts.find((p) => p.name === 'file');
  assert.equal(file.filename, path.basename(SPEECH));
  assert.equal(file.size, audio.length);
  assert.equal(file.sha256, sha256);
  assert.equal(await mock.count(refused), found.length);
  // A credential of 8 characters or fewer keeps none of them: pat_good shows as 'Bearer …'.
  assert.ok((await mock.count({ provider: 'coze', status: 200, header: { authorization: 'Bearer …' } })) >= 2);
  assert.equal(await mock.count({ ...refused, since: new Date(Date.UTC(2100, 0, 1)) }), 0);
  await assert.rejects(mock.count({ pathPattern: '(' }), (e) => e instanceof AsrMockError && e.status === 400 && /pathPattern/.test(e.message));
});

test('WebSocket: a token not in the tokens file gets an error event 4100', async () => {
  await assert.rejects(transcribeStreaming(SPEECH, 'pat_unknown'), { code: 4100, msg: 'authentication is invalid' });
});

test('a scenario activated for one token changes only that token', async () => {
  const active = await mock.activate('coze-invalid-token', CI);
  assert.deepEqual(active.by_token[CI], ['coze-invalid-token']);
  await assert.rejects(transcribe(SPEECH, CI), (e) => e instanceof AuthenticationError && e.code === 4100);
  assert.equal(await transcribe(SPEECH, GOOD), httpText, 'another token is not affected');
  await mock.deactivate('coze-invalid-token', CI);
  assert.equal(await transcribe(SPEECH, CI), httpText);
  await assert.rejects(mock.deactivate('coze-invalid-token', CI), (e) => {
    assert.ok(e instanceof AsrMockError);
    assert.match(e.message, /is not active/, 'the server\'s own message');
    return true;
  });
});

// icu: submit a recording task (provider B) with the audio inline.
async function submitIcu(file, headers = {}) {
  const res = await fetch(`${mock.baseURL}/openapi/asr/voiceToText`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      EngineModelType: '16k_zh',
      ChannelNum: 1,
      ResTextFormat: 0,
      SourceType: 1,
      Data: fs.readFileSync(file).toString('base64'),
      CallbackUrl: `${mock.baseURL}/__admin/sink`, // the simulator's own callback receiver
    }),
  });
  const raw = await res.text();
  assert.equal(res.status, 200, raw);
  // The TaskId as written: a double cannot hold every uint64.
  return /"TaskId":(\d+)/.exec(raw)[1];
}

test('icu: a task moves only when the manual clock does', async () => {
  const id = await submitIcu(SPEECH);
  const listed = (await mock.tasks()).find((t) => String(t.task_id) === id);
  assert.equal(listed?.status, 'waiting');
  assert.equal((await mock.task(id)).status, 'waiting');
  await mock.advance(60); // queue delay plus recognition, on the simulated clock
  assert.equal((await mock.task(id)).status, 'success');
  assert.deepEqual(await mock.tasks({ status: 'waiting' }), []);
  // The callback goes out as soon as the task ends; wait (boundedly) for its delivery.
  let attempts = [];
  for (let i = 0; i < 100 && !attempts.some((a) => a.acknowledged); i++) {
    attempts = await mock.callbacks(id);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(attempts.some((a) => a.acknowledged && String(a.task_id) === id), JSON.stringify(attempts));
});

test('icu: transition forces a failure; control errors carry the server\'s message', async () => {
  const id = await submitIcu(SPEECH);
  const moved = await mock.transition(id, 'failed', 10001, 'forced by the test');
  assert.equal(moved.status, 'failed');
  const detail = await mock.task(id);
  assert.equal(detail.status, 'failed');
  assert.match(JSON.stringify(detail.task), /forced by the test/);
  await assert.rejects(mock.transition(id, 'success'), AsrMockError);
  await assert.rejects(mock.task('1'), { name: 'AsrMockError', status: 404, message: 'no task 1' });
});

test('icu: TaskIds above 2^53 come back exact', async () => {
  const id = await submitIcu(SPEECH, { 'X-Mock-Scenario': 'huge-task-ids' });
  assert.ok(BigInt(id) > BigInt(Number.MAX_SAFE_INTEGER), id);
  assert.equal((await mock.tasks({ limit: 1 }))[0].task_id, id);
  assert.equal((await mock.task(id)).task_id, id);
  assert.equal((await mock.task(BigInt(id))).status, 'waiting');
});

test('fixtures, the journal, health and reset', async () => {
  const sha = await mock.addFixture('hello from a fixture', { audioPath: ENGLISH });
  assert.match(sha, /^[0-9a-f]{64}$/);
  assert.equal(await transcribe(ENGLISH), 'hello from a fixture');
  const last = (await mock.requests(1))[0];
  assert.equal(last.path, '/v1/audio/transcriptions');
  assert.equal(last.status, 200);
  const health = await mock.health();
  assert.equal(health.seed, 7);
  assert.equal(health.fixtures, 1);
  assert.ok(health.icu_tasks >= 3);
  await mock.reset();
  assert.deepEqual(await mock.tasks(), []);
  assert.deepEqual(await mock.requests(), []);
  assert.notEqual(await transcribe(ENGLISH), 'hello from a fixture', 'reset forgets API fixtures');
});
