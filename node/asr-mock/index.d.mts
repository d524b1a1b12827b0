// The ES-module entry exports exactly what the CommonJS one does.
export * from './index.js';
