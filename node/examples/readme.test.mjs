// asr.test.mjs: `node --test`, with asr-mock, @coze/api and axios installed
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CozeAPI, AuthenticationError } from '@coze/api';
import { startAsrMock } from 'asr-mock';

const WAV = 'audio/speech-cmn-16k.wav'; // any speech recording; this one is 16 kHz mono
let mock;
let coze;
before(async () => {
  mock = await startAsrMock({ seed: 7, clock: 'manual', tokens: [{ token: 'pat_test' }] });
  coze = new CozeAPI({ token: 'pat_test', baseURL: mock.baseURL, baseWsURL: mock.baseWsURL });
});
after(() => mock.close());

test('HTTP and WebSocket give the same text', async () => {
  const { text } = await coze.audio.transcriptions.create({ file: fs.createReadStream(WAV) });
  assert.ok(text.length > 0);

  const ws = await coze.websockets.audio.transcriptions.create();
  const streamed = await new Promise((resolve, reject) => {
    let latest = '';
    ws.onmessage = (event) => {
      if (event.event_type === 'transcriptions.created') {
        const input_audio = { format: 'wav', codec: 'pcm', sample_rate: 16000, channel: 1, bit_depth: 16 };
        ws.send({ event_type: 'transcriptions.update', data: { input_audio } });
        const delta = fs.readFileSync(WAV).toString('base64');
        ws.send({ event_type: 'input_audio_buffer.append', data: { delta } });
        ws.send({ event_type: 'input_audio_buffer.complete' });
      } else if (event.event_type === 'transcriptions.message.update') {
        latest = event.data.content; // all the text so far
      } else if (event.event_type === 'transcriptions.message.completed') {
        ws.close(); // or the SDK's reconnecting socket starts a new session
        resolve(latest);
      } else if (event.event_type === 'error') {
        ws.close();
        reject(new Error(event.data.msg));
      }
    };
  });
  assert.equal(streamed, text);
});

test('a token not in the tokens list gets 4100', async () => {
  const other = new CozeAPI({ token: 'pat_other', baseURL: mock.baseURL });
  await assert.rejects(
    other.audio.transcriptions.create({ file: fs.createReadStream(WAV) }),
    (e) => e instanceof AuthenticationError && e.code === 4100,
  );
});

test('a scenario for one token, and the manual clock', async () => {
  await mock.activate('coze-invalid-token', 'pat_test');
  await assert.rejects(coze.audio.transcriptions.create({ file: fs.createReadStream(WAV) }), AuthenticationError);
  await mock.deactivate('coze-invalid-token', 'pat_test');
  const clock = await mock.advance(90);
  assert.equal(clock.now, '2025-01-01T00:01:30.000Z');
});
