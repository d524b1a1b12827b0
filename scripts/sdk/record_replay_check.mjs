// Record through the proxy, replay without it: the official Coze JS SDK (@coze/api),
// unchanged, over HTTP and WebSocket on both sides.
//
// Usage: node record_replay_check.mjs record|replay BASE_URL AUDIO_DIR STATE_JSON NODE_PREFIX
//
// `record` runs against a simulator started with `--proxy-coze UPSTREAM --record DIR` and
// keeps the texts in STATE_JSON; `replay` runs against a fresh simulator started with
// `--fixtures DIR/fixtures` (another seed, no upstream) and checks the same files give the
// same texts: an upload, and a streaming session (its audio's hash keys the recording).
// Prints one `PASS record-replay-node ...` / `FAIL ...` line per check.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [mode, baseURL, audioDir, statePath, prefix] = process.argv.slice(2);
if (!prefix) {
  console.error('usage: record_replay_check.mjs record|replay BASE_URL AUDIO_DIR STATE_JSON NODE_PREFIX');
  process.exit(2);
}
const baseWsURL = baseURL.replace(/^http/, 'ws');
const require = createRequire(path.join(path.resolve(prefix), 'package.json'));
const { CozeAPI } = require('@coze/api');

const TOKEN = 'pat_good';
const UPLOADED = 'speech-cmn.ogg';
const STREAMED = 'speech-cmn-16k.wav';
const CHUNK = 6400;
const TIMEOUT_MS = 15000;
const WAV_16K = { format: 'wav', codec: 'pcm', sample_rate: 16000, channel: 1, bit_depth: 16 };

const results = [];
function check(ok, name, detail) {
  results.push(ok);
  console.log(`${ok ? 'PASS' : 'FAIL'} record-replay-node ${mode}: ${name}: ${String(detail).replace(/\r?\n/g, ' ')}`);
}

async function upload(file) {
  const api = new CozeAPI({ token: TOKEN, baseURL });
  return (await api.audio.transcriptions.create({ file: fs.createReadStream(file) })).text;
}

// One streaming cycle of the whole file; the last message.update before message.completed.
async function stream(file) {
  const api = new CozeAPI({ token: TOKEN, baseURL, baseWsURL });
  const ws = await api.websockets.audio.transcriptions.create();
  const events = [];
  let wake = () => {};
  ws.onmessage = (event) => { events.push(event); wake(); };
  const until = async (pred, what) => {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${TIMEOUT_MS} ms: ${events.map((e) => e.event_type)}`);
      await new Promise((resolve) => { wake = resolve; setTimeout(resolve, left); });
    }
  };
  try {
    await until(() => events.length > 0, 'transcriptions.created');
    ws.send({ event_type: 'transcriptions.update', data: { input_audio: WAV_16K } });
    const bytes = fs.readFileSync(file);
    for (let i = 0; i < bytes.length; i += CHUNK) {
      ws.send({ event_type: 'input_audio_buffer.append', data: { delta: bytes.subarray(i, i + CHUNK).toString('base64') } });
    }
    ws.send({ event_type: 'input_audio_buffer.complete' });
    await until(() => events.some((e) => e.event_type === 'transcriptions.message.completed' || e.event_type === 'error'), 'message.completed');
  } finally {
    ws.close();
  }
  const errors = events.filter((e) => e.event_type === 'error');
  if (errors.length) throw new Error(`error events: ${JSON.stringify(errors.map((e) => e.data))}`);
  const updates = events.filter((e) => e.event_type === 'transcriptions.message.update').map((e) => e.data.content);
  return updates.at(-1) ?? '';
}

async function main() {
  const texts = {
    upload: await upload(path.join(audioDir, UPLOADED)),
    stream: await stream(path.join(audioDir, STREAMED)),
  };
  if (mode === 'record') {
    check(Boolean(texts.upload && texts.stream), 'an upload and a streaming session through the proxy', JSON.stringify(texts));
    fs.writeFileSync(statePath, JSON.stringify(texts));
    return;
  }
  const kept = JSON.parse(fs.readFileSync(statePath, 'utf8'));
  check(texts.upload === kept.upload, `${UPLOADED} uploaded gives the recorded text`, JSON.stringify(texts.upload));
  check(texts.stream === kept.stream, `${STREAMED} streamed gives the recorded text`, JSON.stringify(texts.stream));
}

main()
  .catch((e) => check(false, 'unexpected error', e && e.stack ? e.stack : e))
  .finally(() => process.exit(results.length && results.every(Boolean) ? 0 : 1));
