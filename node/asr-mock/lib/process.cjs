'use strict';
// Starts the binary, waits for its "listening" line, and makes sure no simulator outlives
// the Node process: close() ends it, and so do process exit and the usual kill signals.

const { spawn } = require('node:child_process');

const READY = /^asr-mock listening on (https?:\/\/\S+)$/;
// Longest first line read, and how much of stderr is kept for error messages.
const MAX_FIRST_LINE = 4096;
const STDERR_KEEP = 16 * 1024;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

// Every simulator still running, each with its synchronous cleanup.
const live = new Map();
let exitHookInstalled = false;

function cleanupAll() {
  for (const [child, cleanup] of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    cleanup();
  }
  live.clear();
}

// On a signal Node would die without running 'exit' listeners, so the children go first;
// then, if nobody else listens for it, the signal is raised again for Node's default action.
function onSignal(signal) {
  cleanupAll();
  removeSignalHooks();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function addSignalHooks() {
  for (const s of SIGNALS) if (!process.listeners(s).includes(onSignal)) process.on(s, onSignal);
}

function removeSignalHooks() {
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

function track(child, cleanup) {
  if (!exitHookInstalled) {
    process.on('exit', cleanupAll);
    exitHookInstalled = true;
  }
  live.set(child, cleanup);
  addSignalHooks();
}

function untrack(child) {
  live.delete(child);
  if (live.size === 0) removeSignalHooks();
}

// Spawns `bin args` and resolves to { child, baseURL, stderrTail } once the first stdout
// line says where it listens; rejects (and kills the child) if it exits, prints something
// else, or stays silent for timeoutMs.
function startChild(bin, args, { env, timeoutMs, stderr, cleanup }) {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(bin, args, {
        env: env ?? process.env,
        stdio: ['ignore', 'pipe', stderr === 'inherit' ? 'inherit' : 'pipe'],
      });
    } catch (e) {
      cleanup();
      reject(new Error(`cannot start ${bin}: ${e.message}`));
      return;
    }
    track(child, cleanup);
    let tail = '';
    const stderrTail = () => tail.trim();
    if (child.stderr) {
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (s) => {
        tail = (tail + s).slice(-STDERR_KEEP);
      });
    }
    let first = '';
    let settled = false;
    const fail = (message) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      const err = stderrTail();
      reject(new Error(err ? `${message}\n${err}` : message));
    };
    const timer = setTimeout(() => fail(`asr-mock printed no address within ${timeoutMs} ms`), timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => {
      if (settled) return; // Later output is read and dropped so the pipe never fills.
      first += s;
      const nl = first.indexOf('\n');
      if (nl < 0) {
        if (first.length > MAX_FIRST_LINE) fail(`asr-mock printed an unexpected first line: ${first.slice(0, 200)}`);
        return;
      }
      const line = first.slice(0, nl).trim();
      const m = READY.exec(line);
      if (!m) {
        fail(`asr-mock printed an unexpected first line: ${line.slice(0, 200)}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve({ child, baseURL: m[1], stderrTail });
    });
    child.on('error', (e) => fail(`cannot start ${bin}: ${e.message}`));
    child.on('exit', () => {
      untrack(child);
      cleanup();
    });
    // 'close' comes after stderr is read to its end, so the message has all of it.
    child.on('close', (code, signal) => {
      fail(`asr-mock exited before it was ready (${signal ? `signal ${signal}` : `exit code ${code}`}); arguments: ${args.join(' ')}`);
    });
  });
}

// Lets Node exit while the simulator runs: the 'exit' hook ends it then.
function unref(child) {
  child.unref();
  child.stdout?.unref?.();
  child.stderr?.unref?.();
}

// SIGTERM, then SIGKILL after graceMs; resolves once the child is gone.
function stopChild(child, graceMs) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      untrack(child);
      resolve();
      return;
    }
    child.ref();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      untrack(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

module.exports = { startChild, stopChild, unref, READY };
