// The ES-module entry: the CommonJS core, re-exported, so `import` and `require` share one
// set of running simulators (and one exit hook).
import core from './index.cjs';

export const { startAsrMock, AsrMock, AsrMockError, binaryPath } = core;
