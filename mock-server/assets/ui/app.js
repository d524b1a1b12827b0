// The asr-mock dashboard: reads the control API, listens to /__admin/events (server-sent
// events) and reloads what an event touches. Plain DOM, no framework, nothing from a CDN.
'use strict';

const TOKEN_KEY = 'asrMockAdminToken';
const MAX_EVENTS = 50;
const DETAILED_TASKS = 20;

const $ = (sel) => document.querySelector(sel);
const state = { token: sessionStorage.getItem(TOKEN_KEY) || '', clock: null, requests: [], openStreams: new Map(), source: null };

/** Thrown for a refused token, so the page asks for it again. */
class Unauthorized extends Error {}

/** TaskIds above 2^53 would lose digits in JSON.parse: keep them as strings. */
function parseJson(text) {
  return JSON.parse(text.replace(/"(task_id|id)":(\d{16,})/g, '"$1":"$2"'));
}

async function api(path, options = {}) {
  const headers = { Accept: 'application/json' };
  if (state.token) headers['X-Admin-Token'] = state.token;
  const init = { method: options.method || 'GET', headers, credentials: 'same-origin' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  if (response.status === 401) throw new Unauthorized(text);
  const body = text ? parseJson(text) : null;
  if (!response.ok) throw new Error((body && body.error) || `${response.status}`);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

const fmtTime = (ms) => (ms === null || ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
const fmtDuration = (ms) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const nowMs = () => (state.clock ? state.clock.now_ms : Date.now());

// ---- clock ----------------------------------------------------------------------------

function showClock(view) {
  state.clock = view;
  const mode = view.mode || {};
  $('#clock-mode').textContent = mode.mode === 'scaled' ? `scaled ×${mode.factor}` : mode.mode || '?';
  $('#clock-now').textContent = view.now;
}

async function loadClock() {
  showClock(await api('/__admin/clock'));
}

async function advance(event) {
  event.preventDefault();
  const seconds = Number($('#advance-seconds').value);
  $('#clock-error').textContent = '';
  try {
    showClock(await api('/__admin/clock/advance', { method: 'POST', body: { seconds } }));
  } catch (e) {
    $('#clock-error').textContent = e.message;
  }
}

// ---- tasks and callbacks --------------------------------------------------------------

/** Where a task is on its plan: queued, recognising (with progress) or ended. */
function planCell(detail, now) {
  if (!detail) return '';
  const t = detail.task;
  if (t.finished_ms !== null && t.finished_ms !== undefined) return `ended ${fmtTime(t.finished_ms)}`;
  if (t.script) return `scenario ${t.script.scenario}, step ${t.script.step + 1}`;
  if (!t.plan) return now < t.queue_until_ms ? `queued until ${fmtTime(t.queue_until_ms)}` : 'examining audio';
  const { doing_at_ms: doing, done_at_ms: done } = t.plan;
  if (done >= 9e15) return 'held until forced';
  const bar = el('progress', { max: Math.max(1, done - t.created_ms), value: Math.max(0, Math.min(now, done) - t.created_ms) });
  const phase = now < doing ? `queued, doing at ${fmtTime(doing)}` : `doing, done at ${fmtTime(done)}`;
  return el('span', {}, bar, ' ', phase);
}

function callbackCell(attempts) {
  if (!attempts.length) return '';
  const last = attempts[attempts.length - 1];
  const mark = last.acknowledged ? '✓' : '✗';
  return el('span', { class: last.acknowledged ? 'ack-yes' : 'ack-no' }, `${attempts.length} · ${last.status ?? 'no answer'} ${mark}`);
}

async function loadTasks() {
  const [list, log] = await Promise.all([api('/__admin/tasks?limit=100'), api('/__admin/callbacks')]);
  const details = new Map();
  await Promise.all(list.tasks.slice(0, DETAILED_TASKS).map(async (t) => {
    try { details.set(String(t.task_id), await api(`/__admin/tasks/${t.task_id}`)); } catch (_) { /* gone meanwhile */ }
  }));
  const byTask = new Map();
  for (const a of log.attempts) {
    const key = String(a.task_id);
    if (!byTask.has(key)) byTask.set(key, []);
    byTask.get(key).push(a);
  }
  const now = nowMs();
  $('#tasks-count').textContent = `(${list.tasks.length})`;
  fill($('#tasks tbody'), list.tasks.map((t) => {
    const id = String(t.task_id);
    const detail = details.get(id);
    const status = detail ? detail.status : t.status;
    const end = detail && detail.task.finished_ms != null ? detail.task.finished_ms : now;
    return el('tr', { 'data-task-id': id, 'data-status': status },
      el('td', { class: 'mono' }, id),
      el('td', { class: `status status-${status}` }, status),
      el('td', {}, t.engine),
      el('td', {}, fmtDuration(Math.max(0, end - t.created_ms))),
      el('td', {}, planCell(detail, now)),
      el('td', {}, t.polls),
      el('td', {}, callbackCell(byTask.get(id) || [])));
  }));
  $('#callbacks-pending').textContent = log.pending ? `(${log.pending} pending)` : '';
  fill($('#callbacks tbody'), log.attempts.slice(-100).reverse().map((a) => el('tr', { 'data-task-id': String(a.task_id), 'data-acknowledged': String(a.acknowledged) },
    el('td', { class: 'mono' }, String(a.task_id)),
    el('td', {}, a.copy ? `${a.attempt} (copy ${a.copy})` : a.attempt),
    el('td', {}, a.status ?? a.error ?? ''),
    el('td', { class: a.acknowledged ? 'ack-yes' : 'ack-no' }, a.acknowledged ? 'yes' : `no${a.error ? `: ${a.error}` : ''}`),
    el('td', { class: 'mono' }, a.url),
    el('td', {}, el('details', {}, el('summary', {}, 'body and answer'),
      el('div', {}, 'Sent:'), el('pre', { class: 'callback-body' }, a.body),
      el('div', {}, 'Answer:'), el('pre', { class: 'callback-answer' }, a.answer ?? '(none)'))))));
}

// ---- request journal and streaming sessions -------------------------------------------

async function loadRequests() {
  state.requests = (await api('/__admin/requests?limit=500')).requests;
  showRequests();
  showStreams();
}

function showRequests() {
  const provider = $('#f-provider').value;
  const path = $('#f-path').value.trim();
  const code = $('#f-code').value.trim();
  const rows = state.requests.filter((r) => (!provider || r.provider === provider)
    && (!path || r.path.includes(path))
    && (!code || String(r.status) === code || String(r.code) === code));
  fill($('#requests tbody'), rows.slice(-200).reverse().map((r) => el('tr', { 'data-seq': r.seq },
    el('td', {}, r.seq), el('td', {}, fmtTime(r.time_ms)), el('td', {}, r.method),
    el('td', { class: 'mono' }, r.path + (r.query ? `?${r.query}` : '')), el('td', {}, r.status),
    el('td', {}, r.provider ?? ''), el('td', {}, r.code ?? ''), el('td', { class: 'mono' }, r.id ?? ''),
    el('td', {}, (r.scenarios || []).join(', ')))));
}

function showStreams() {
  fill($('#streams-open'), [...state.openStreams.keys()].map((logid) => el('li', {}, `open: ${logid}`)));
  const sessions = state.requests.filter((r) => r.stream);
  fill($('#streams tbody'), sessions.slice(-50).reverse().map((r) => el('tr', {},
    el('td', { class: 'mono' }, r.id ?? ''),
    el('td', {}, `${r.stream.frames_in} / ${r.stream.frames_out}`),
    el('td', {}, `${r.stream.bytes_in} / ${r.stream.bytes_out}`),
    el('td', {}, r.stream.ended_by), el('td', {}, r.stream.close_code ?? ''),
    el('td', {}, r.stream.final_text ?? ''))));
}

// ---- scenarios and fixtures -----------------------------------------------------------

async function loadScenarios() {
  const list = await api('/__admin/scenarios');
  const global = new Set(list.active.global);
  const byToken = list.active.by_token || {};
  fill($('#scenarios tbody'), list.scenarios.map((s) => {
    const tokens = Object.entries(byToken).filter(([, names]) => names.includes(s.name)).map(([t]) => t);
    const on = global.has(s.name);
    const button = el('button', { type: 'button', class: on ? 'deactivate' : 'activate', 'data-name': s.name }, on ? 'Deactivate' : 'Activate');
    return el('tr', { 'data-scenario': s.name, 'data-active': String(on) },
      el('td', { class: 'mono' }, s.name), el('td', {}, s.description),
      el('td', {}, [on ? 'for every request' : '', tokens.length ? `tokens: ${tokens.join(', ')}` : ''].filter(Boolean).join('; ')),
      el('td', {}, button));
  }));
}

async function toggleScenario(event) {
  const button = event.target.closest('button[data-name]');
  if (!button) return;
  const action = button.classList.contains('deactivate') ? 'deactivate' : 'activate';
  $('#scenario-error').textContent = '';
  try {
    await api(`/__admin/scenarios/${action}`, { method: 'POST', body: { name: button.dataset.name } });
    await loadScenarios();
  } catch (e) {
    $('#scenario-error').textContent = e.message;
  }
}

async function loadFixtures() {
  const list = await api('/__admin/fixtures');
  fill($('#fixtures tbody'), list.fixtures.map((f) => el('tr', {},
    el('td', { class: 'mono' }, f.sha256.slice(0, 16) + '…'), el('td', {}, f.source), el('td', {}, f.fixture.text))));
}

async function loadHealth() {
  const h = await api('/__admin/health');
  $('#health').textContent = `v${h.version} · seed ${h.seed}`;
}

// ---- live updates ---------------------------------------------------------------------

const loaders = { clock: loadClock, tasks: loadTasks, requests: loadRequests, scenarios: loadScenarios, fixtures: loadFixtures, health: loadHealth };
/** Which parts of the page each event touches. */
const touches = {
  task: ['tasks'], callback: ['tasks'], clock: ['clock', 'tasks'], request: ['requests'],
  scenario: ['scenarios'], fixture: ['fixtures'], stream: ['requests'], snapshot: Object.keys(loaders),
};
const pending = new Set();
let timer = null;

/** Reloads the touched parts soon, once for a burst of events. */
function schedule(parts) {
  parts.forEach((p) => pending.add(p));
  if (timer) return;
  timer = setTimeout(async () => {
    timer = null;
    const parts = [...pending];
    pending.clear();
    await Promise.all(parts.map((p) => loaders[p]().catch(onError)));
  }, 50);
}

function logEvent(name, data) {
  const list = $('#events');
  list.prepend(el('li', { 'data-event': name }, `${fmtTime(nowMs())} ${name} ${data}`));
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
}

async function listen() {
  let url = '/__admin/events';
  if (state.token) {
    const { ticket } = await api('/__admin/events/ticket');
    if (ticket) url += `?ticket=${encodeURIComponent(ticket)}`;
  }
  const source = new EventSource(url);
  state.source = source;
  const live = $('#live');
  source.onopen = () => { live.textContent = 'live'; live.className = 'badge on'; };
  source.onerror = () => { live.textContent = 'reconnecting…'; live.className = 'badge off'; };
  for (const name of Object.keys(touches)) {
    source.addEventListener(name, (e) => {
      logEvent(name, e.data);
      if (name === 'stream') {
        const note = JSON.parse(e.data);
        if (note.phase === 'open') state.openStreams.set(note.logid, true);
        else state.openStreams.delete(note.logid);
      }
      schedule(touches[name]);
    });
  }
}

function onError(e) {
  if (e instanceof Unauthorized) {
    showLogin(state.token ? 'the token was refused' : '');
    return;
  }
  console.error(e);
}

function showLogin(message) {
  if (state.source) { state.source.close(); state.source = null; }
  $('#main').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message || '';
  $('#token').focus();
}

async function start() {
  try {
    await loadClock();
  } catch (e) {
    onError(e);
    return;
  }
  $('#login').hidden = true;
  $('#main').hidden = false;
  await listen();
  schedule(Object.keys(loaders));
}

/** Keeps a running clock's display moving between events. */
setInterval(() => {
  const mode = state.clock && state.clock.mode && state.clock.mode.mode;
  if (mode && mode !== 'manual' && !$('#main').hidden) schedule(['clock']);
}, 2000);

document.addEventListener('DOMContentLoaded', () => {
  $('#login').addEventListener('submit', (e) => {
    e.preventDefault();
    state.token = $('#token').value;
    sessionStorage.setItem(TOKEN_KEY, state.token);
    start();
  });
  $('#advance-form').addEventListener('submit', advance);
  $('#filters').addEventListener('input', showRequests);
  $('#filters').addEventListener('submit', (e) => e.preventDefault());
  $('#scenarios').addEventListener('click', toggleScenario);
  start();
});
