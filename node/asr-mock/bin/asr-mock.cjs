#!/usr/bin/env node
'use strict';
// `npx asr-mock [flags]`: runs the simulator binary with these arguments, passes signals on,
// and exits the way it exited.

const { spawn } = require('node:child_process');
const os = require('node:os');
const { binaryPath } = require('../lib/binary.cjs');

let bin;
try {
  bin = binaryPath();
} catch (e) {
  console.error(`asr-mock: ${e.message}`);
  process.exit(1);
}

const child = spawn(bin, process.argv.slice(2), { stdio: 'inherit' });
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const forward = (signal) => child.kill(signal);
for (const s of SIGNALS) process.on(s, forward);

child.on('error', (e) => {
  console.error(`asr-mock: cannot run ${bin}: ${e.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  for (const s of SIGNALS) process.removeListener(s, forward);
  if (signal) {
    // Die of the same signal, so the caller sees what the binary saw.
    process.kill(process.pid, signal);
    // Reached only for a signal Node ignores (SIGPIPE): the shell's convention instead.
    process.exit(128 + (os.constants.signals[signal] ?? 0));
  }
  process.exit(code ?? 1);
});
