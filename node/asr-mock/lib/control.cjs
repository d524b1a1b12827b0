'use strict';
// A small client of the control API (`/__admin/...`) on node:http/node:https: JSON in and
// out, answers bounded in size and time, and an error that carries the server's message.

const http = require('node:http');
const https = require('node:https');
const { parseJson } = require('./json.cjs');

// The largest answer read (the request journal alone may hold 16 MiB by default).
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

// A control request the simulator refused (status >= 400), or one that got no usable answer.
class AsrMockError extends Error {
  constructor(message, { status, body, method, path } = {}) {
    super(message);
    this.name = 'AsrMockError';
    this.status = status;
    this.body = body;
    this.method = method;
    this.path = path;
  }
}

class ControlClient {
  // baseURL: `http://127.0.0.1:PORT`; ca: PEM to trust for https; adminToken: --admin-token.
  constructor(baseURL, { ca, adminToken } = {}) {
    this.url = new URL(baseURL);
    this.ca = ca;
    this.adminToken = adminToken;
  }

  // Sends one request; resolves to the parsed JSON answer (or null for an empty body).
  request(method, path, body) {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.adminToken) headers.authorization = `Bearer ${this.adminToken}`;
    const secure = this.url.protocol === 'https:';
    const transport = secure ? https : http;
    const where = `${method} ${path}`;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port,
          method,
          path,
          headers,
          ca: secure ? this.ca : undefined,
          timeout: TIMEOUT_MS,
          agent: false,
        },
        (res) => {
          const chunks = [];
          let size = 0;
          res.on('data', (chunk) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              req.destroy(new AsrMockError(`${where}: answer larger than ${MAX_ANSWER_BYTES} bytes`, { method, path }));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed = null;
            if (text !== '') {
              try {
                parsed = parseJson(text);
              } catch {
                parsed = undefined;
              }
            }
            const status = res.statusCode;
            if (status >= 400) {
              const reason = parsed && typeof parsed.error === 'string' ? parsed.error : text.slice(0, 500) || `HTTP ${status}`;
              reject(new AsrMockError(reason, { status, body: parsed === undefined ? text : parsed, method, path }));
            } else if (parsed === undefined) {
              reject(new AsrMockError(`${where}: answer is not JSON: ${text.slice(0, 200)}`, { status, body: text, method, path }));
            } else {
              resolve(parsed);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new AsrMockError(`${where}: no answer within ${TIMEOUT_MS} ms`, { method, path })));
      req.on('error', (e) => {
        if (e instanceof AsrMockError) reject(e);
        else reject(new AsrMockError(`${where}: ${e.message}`, { method, path }));
      });
      req.end(payload ?? undefined);
    });
  }
}

module.exports = { ControlClient, AsrMockError };
