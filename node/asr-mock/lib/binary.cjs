'use strict';
// Finds the simulator binary the esbuild way: a platform package, picked by npm through its
// `os`/`cpu`/`libc` fields, holds it; `require.resolve` finds that package wherever the
// package manager put it. `ASR_MOCK_BIN` overrides both (a binary you built yourself).

const fs = require('node:fs');
const os = require('node:os');

// `${process.platform} ${os.arch()}` -> the package that carries the binary for it.
const PLATFORM_PACKAGES = {
  'linux x64': '@asr-mock/linux-x64',
};

function platformKey() {
  return `${process.platform} ${os.arch()}`;
}

// The binary's path, or an Error saying what is missing and how to fix it.
function binaryPath() {
  const override = process.env.ASR_MOCK_BIN;
  if (override) {
    if (!fs.existsSync(override)) {
      throw new Error(`ASR_MOCK_BIN is set to ${JSON.stringify(override)}, but no file is there`);
    }
    return override;
  }
  const key = platformKey();
  const pkg = PLATFORM_PACKAGES[key];
  if (!pkg) {
    throw new Error(
      `asr-mock has no prebuilt binary for your platform (${key}); there is one for: ` +
        `${Object.keys(PLATFORM_PACKAGES).join(', ')}.\n` +
        'Build one from the repository with `cargo build --release -p asr-mock` and set ' +
        'ASR_MOCK_BIN to target/release/asr-mock.',
    );
  }
  try {
    return require.resolve(`${pkg}/bin/asr-mock`);
  } catch {
    throw new Error(
      `The package "${pkg}" could not be found, and asr-mock needs it on this platform (${key}).\n` +
        'npm installs it as an optional dependency of asr-mock. It is left out when optional ' +
        'dependencies are omitted (`--omit=optional`, `--no-optional`), when node_modules was ' +
        'copied from another platform, or on a Linux without glibc (musl, e.g. Alpine). ' +
        'Reinstall asr-mock without those flags on this machine, or build the binary ' +
        '(`cargo build --release -p asr-mock`) and set ASR_MOCK_BIN to its path.',
    );
  }
}

module.exports = { binaryPath, platformKey, PLATFORM_PACKAGES };
