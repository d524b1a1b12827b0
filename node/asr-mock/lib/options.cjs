'use strict';
// Turns startAsrMock's options into the binary's command line: every option that is not the
// library's own becomes a flag, `cozeModel: 'small'` -> `--coze-model small`. The binary
// checks names and values itself, so a wrong one fails start-up with its own message.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// Options the library reads itself; they never reach the binary.
const LIBRARY_OPTIONS = new Set(['bin', 'env', 'startTimeoutMs', 'stderr']);

function kebab(name) {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function flagValue(name, value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`option ${name} must be a finite number, got ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  throw new TypeError(`option ${name} must be a string, number, boolean or an array of them, got ${typeof value}`);
}

// `tokens` may be a file path (as on the command line) or the tokens themselves, written to
// a temporary TOML file that close() removes.
function tokensFile(tokens, tempFiles) {
  if (!Array.isArray(tokens) || tokens.some((t) => typeof t === 'string')) return null;
  const lines = [];
  tokens.forEach((t, i) => {
    if (!t || typeof t.token !== 'string' || t.token === '') {
      throw new TypeError(`tokens[${i}] must be {token: string, permissions?: string[]}`);
    }
    const permissions = t.permissions === undefined ? ['createTranscription'] : t.permissions;
    if (!Array.isArray(permissions) || permissions.some((p) => typeof p !== 'string')) {
      throw new TypeError(`tokens[${i}].permissions must be an array of strings`);
    }
    // A JSON string is a valid TOML basic string.
    lines.push('[[tokens]]', `token = ${JSON.stringify(t.token)}`, `permissions = ${JSON.stringify(permissions)}`, '');
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asr-mock-'));
  tempFiles.push(dir);
  const file = path.join(dir, 'tokens.toml');
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

// -> { args, tempFiles, library } where library holds the library's own options.
function buildArgs(options = {}) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('startAsrMock takes an options object');
  }
  const args = [];
  const tempFiles = [];
  const library = {};
  const given = { port: 0, ...options };
  try {
    for (const [name, raw] of Object.entries(given)) {
      if (LIBRARY_OPTIONS.has(name)) {
        library[name] = raw;
        continue;
      }
      if (!/^[a-z][a-zA-Z0-9]*$/.test(name)) {
        throw new TypeError(`option ${JSON.stringify(name)} is not a camelCase flag name (cozeModel for --coze-model)`);
      }
      const flag = `--${kebab(name)}`;
      let value = raw;
      if (name === 'tokens') value = tokensFile(raw, tempFiles) ?? raw;
      const values = Array.isArray(value) ? value : [value];
      for (const v of values) {
        if (v === undefined || v === null || v === false) continue;
        if (v === true) args.push(flag);
        else args.push(flag, flagValue(name, v));
      }
    }
  } catch (e) {
    removeTempFiles(tempFiles);
    throw e;
  }
  return { args, tempFiles, library };
}

// Synchronous, so the process 'exit' hook can call it too.
function removeTempFiles(tempFiles) {
  for (const dir of tempFiles.splice(0)) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: a leftover temporary folder is harmless.
    }
  }
}

module.exports = { buildArgs, removeTempFiles, kebab, LIBRARY_OPTIONS };
