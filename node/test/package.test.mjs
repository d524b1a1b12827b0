// Checks the packed and installed packages as a user gets them: both entry points, the types,
// `npx asr-mock`, the binary from the platform package, the error without it, and that no
// simulator outlives its Node process.
//
// Run by scripts/node-check.sh:  PROJECT=dir NO_PLATFORM_PROJECT=dir VERSION=x.y.z node --test
//   PROJECT              a project with both tarballs (and typescript) installed
//   NO_PLATFORM_PROJECT  a project with asr-mock installed with --omit=optional

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const { PROJECT, NO_PLATFORM_PROJECT, VERSION } = process.env;
if (!PROJECT || !NO_PLATFORM_PROJECT || !VERSION) throw new Error('set PROJECT, NO_PLATFORM_PROJECT and VERSION');
const HERE = path.dirname(fileURLToPath(import.meta.url));
// The installed packages must find their own binary: no override here.
const ENV = { ...process.env };
delete ENV.ASR_MOCK_BIN;

// Runs node with `code` in `cwd`; resolves to { code, signal, stdout, stderr }.
function runNode(args, { cwd = PROJECT, env = ENV, timeoutMs = 20_000, onStdout } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} ran over ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// Running, as opposed to gone or a zombie (killed; reaped whenever pid 1 gets to it).
const isRunning = (pid) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

async function assertGone(pid) {
  assert.ok(Number.isInteger(pid) && pid > 0, `not a pid: ${pid}`);
  for (let i = 0; i < 40 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(isRunning(pid), false, `simulator ${pid} is still running`);
}

const healthOf = async (url) => (await fetch(`${url}/__admin/health`)).json();

test('require() loads the CommonJS entry and runs the platform package\'s binary', async () => {
  const r = await runNode(['-e', `
    const m = require('asr-mock');
    (async () => {
      const mock = await m.startAsrMock({ seed: 3 });
      const health = await mock.health();
      await mock.close();
      console.log(JSON.stringify({ entry: require.resolve('asr-mock'), bin: m.binaryPath(), health }));
    })().catch((e) => { console.error(e); process.exit(1); });`]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.entry, /node_modules\/asr-mock\/index\.cjs$/);
  assert.match(out.bin, /node_modules\/@asr-mock\/linux-x64\/bin\/asr-mock$/);
  assert.equal(out.health.status, 'ok');
  assert.equal(out.health.seed, 3);
  assert.equal(out.health.version, VERSION);
});

test('import() loads the ES-module entry, sharing the CommonJS core', async () => {
  const r = await runNode(['--input-type=module', '-e', `
    import { createRequire } from 'node:module';
    import * as m from 'asr-mock';
    const mock = await m.startAsrMock({ clock: 'manual' });
    const clock = await mock.advance(1.5);
    await mock.close();
    const cjs = createRequire(import.meta.url)('asr-mock');
    console.log(JSON.stringify({
      entry: import.meta.resolve('asr-mock'),
      exports: Object.keys(m).sort(),
      shared: cjs.AsrMock === m.AsrMock && mock instanceof cjs.AsrMock,
      now: clock.now,
    }));`]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.entry, /node_modules\/asr-mock\/index\.mjs$/);
  assert.deepEqual(out.exports, ['AsrMock', 'AsrMockError', 'binaryPath', 'startAsrMock']);
  assert.equal(out.shared, true);
  assert.equal(out.now, '2025-01-01T00:00:01.500Z');
});

test('the TypeScript types check for ESM and CommonJS users (tsc --strict)', () => {
  const dir = fs.mkdtempSync(path.join(PROJECT, 'types-'));
  for (const f of fs.readdirSync(path.join(HERE, 'types'))) fs.copyFileSync(path.join(HERE, 'types', f), path.join(dir, f));
  const tsc = spawnSync(process.execPath, [path.join(PROJECT, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test('npx asr-mock runs the binary with the given arguments', () => {
  const r = spawnSync('npx', ['--no-install', 'asr-mock', '--version'], { cwd: PROJECT, env: ENV, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `asr-mock ${VERSION}`);
});

test('npx asr-mock passes on the exit code', () => {
  const r = spawnSync('npx', ['--no-install', 'asr-mock', '--no-such-flag'], { cwd: PROJECT, env: ENV, encoding: 'utf8' });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /unexpected argument '--no-such-flag'/);
});

test('the asr-mock command passes SIGTERM on and ends with the server', async () => {
  let url;
  const r = await runNode([path.join(PROJECT, 'node_modules/asr-mock/bin/asr-mock.cjs'), '--port', '0'], {
    onStdout: (out, child) => {
      const m = /^asr-mock listening on (\S+)/.exec(out);
      if (m && !url) {
        url = m[1];
        healthOf(url).then(
          (h) => (h.status === 'ok' ? child.kill('SIGTERM') : child.kill('SIGKILL')),
          () => child.kill('SIGKILL'),
        );
      }
    },
  });
  assert.ok(url, `no listening line: ${r.stdout} ${r.stderr}`);
  // The binary shuts down gracefully on SIGTERM and exits 0; the command exits as it did.
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  await assert.rejects(healthOf(url), 'the server is gone');
});

// A script that starts a simulator and prints its pid; `end` says how the script ends.
const orphanScript = (end) => `
  const { startAsrMock } = require('asr-mock');
  startAsrMock().then((mock) => {
    console.log(mock.pid);
    ${end}
  });`;

test('no simulator outlives Node: the script ends without close()', async () => {
  // Also shows that a forgotten close() does not keep Node running.
  const r = await runNode(['-e', orphanScript('')]);
  assert.equal(r.code, 0, r.stderr);
  await assertGone(Number(r.stdout));
});

test('no simulator outlives Node: process.exit()', async () => {
  const r = await runNode(['-e', orphanScript('process.exit(3);')]);
  assert.equal(r.code, 3, r.stderr);
  await assertGone(Number(r.stdout));
});

test('no simulator outlives Node: SIGTERM keeps its default action', async () => {
  let pid;
  const r = await runNode(['-e', orphanScript('setInterval(() => {}, 1000);')], {
    onStdout: (out, child) => {
      if (!pid && out.includes('\n')) {
        pid = Number(out);
        child.kill('SIGTERM');
      }
    },
  });
  assert.equal(r.signal, 'SIGTERM', `exit ${r.code}: ${r.stderr}`);
  await assertGone(pid);
});

test('tokens given as a list go to a temporary file that close() removes', async () => {
  const r = await runNode(['-e', `
    const fs = require('node:fs');
    const { startAsrMock } = require('asr-mock');
    (async () => {
      const mock = await startAsrMock({ tokens: [{ token: 'pat_a' }, { token: 'pat_b', permissions: [] }] });
      const args = fs.readFileSync('/proc/' + mock.pid + '/cmdline', 'utf8').split('\\0');
      const file = args[args.indexOf('--tokens') + 1];
      const toml = fs.readFileSync(file, 'utf8');
      await mock.close();
      console.log(JSON.stringify({ file, toml, after: fs.existsSync(file) }));
    })();`]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.file, /asr-mock-[^/]+\/tokens\.toml$/);
  assert.equal(out.toml, '[[tokens]]\ntoken = "pat_a"\npermissions = ["createTranscription"]\n\n[[tokens]]\ntoken = "pat_b"\npermissions = []\n');
  assert.equal(out.after, false, 'close() removes it');
});

test('with --tls-self-signed the URLs are https/wss and the helpers trust the certificate', async () => {
  const r = await runNode(['-e', `
    const fs = require('node:fs');
    const os = require('node:os');
    const path = require('node:path');
    const { startAsrMock } = require('asr-mock');
    (async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asr-mock-tls-'));
      const mock = await startAsrMock({ tlsSelfSigned: path.join(dir, 'cert.pem') });
      const health = await mock.health();
      await mock.close();
      fs.rmSync(dir, { recursive: true });
      console.log(JSON.stringify({ baseURL: mock.baseURL, baseWsURL: mock.baseWsURL, status: health.status }));
    })().catch((e) => { console.error(e); process.exit(1); });`]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.baseURL, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(out.baseWsURL, out.baseURL.replace('https:', 'wss:'));
  assert.equal(out.status, 'ok');
});

test('start-up errors name the cause', async () => {
  const r = await runNode(['-e', `
    const { startAsrMock } = require('asr-mock');
    const outcome = (p) => p.then(() => 'started', (e) => e.name + ': ' + e.message);
    (async () => {
      console.log(JSON.stringify([
        await outcome(startAsrMock({ cozeModel: 'medium' })),
        await outcome(startAsrMock({ seed: { not: 'a number' } })),
        await outcome(startAsrMock({ tokens: [{ permissions: [] }] })),
        await outcome(startAsrMock({ bin: '/nonexistent/asr-mock' })),
      ]));
    })();`]);
  assert.equal(r.code, 0, r.stderr);
  const [model, seed, tokens, bin] = JSON.parse(r.stdout);
  assert.match(model, /exited before it was ready \(exit code 2\)[\s\S]*invalid value 'medium' for '--coze-model/);
  assert.match(seed, /^TypeError: option seed must be/);
  assert.match(tokens, /^TypeError: tokens\[0\] must be/);
  assert.match(bin, /cannot start \/nonexistent\/asr-mock: spawn \/nonexistent\/asr-mock ENOENT/);
  const badEnv = await runNode(['-e', `require('asr-mock').startAsrMock().catch((e) => { console.log(e.message); })`], {
    env: { ...ENV, ASR_MOCK_BIN: '/nonexistent/asr-mock' },
  });
  assert.match(badEnv.stdout, /ASR_MOCK_BIN is set to "\/nonexistent\/asr-mock", but no file is there/);
});

test('without the platform package: a clear error naming it, from the API and the command', async () => {
  assert.equal(fs.existsSync(path.join(NO_PLATFORM_PROJECT, 'node_modules/@asr-mock/linux-x64')), false);
  const api = await runNode(['-e', `require('asr-mock').startAsrMock().then(() => console.log('started'), (e) => console.log(e.message))`], {
    cwd: NO_PLATFORM_PROJECT,
  });
  assert.match(api.stdout, /The package "@asr-mock\/linux-x64" could not be found, and asr-mock needs it on this platform \(linux x64\)/);
  assert.match(api.stdout, /--omit=optional/);
  const cmd = spawnSync(process.execPath, [path.join(NO_PLATFORM_PROJECT, 'node_modules/asr-mock/bin/asr-mock.cjs'), '--version'], {
    env: ENV,
    encoding: 'utf8',
  });
  assert.equal(cmd.status, 1);
  assert.match(cmd.stderr, /^asr-mock: The package "@asr-mock\/linux-x64" could not be found/);
});
