// The dashboard in a real browser (headless Chromium through playwright-core): submits icu
// tasks with a CallbackUrl to a receiver of our own, opens /__admin/ui, advances the manual
// clock from the page and waits (no reload: server-sent events) for the task to turn to
// success and its callback to appear; switches a scenario on and off from the page; and
// goes through the admin-token flow. Run by scripts/ui-check.sh, which installs everything.
//
// Environment: ASR_MOCK_BIN (the binary), AUDIO (a WAV file), SHOTS (folder for the
// screenshots; unset: none), CHROMIUM (the browser, default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { chromium } from 'playwright-core';

const BIN = process.env.ASR_MOCK_BIN;
const AUDIO = readFileSync(process.env.AUDIO).toString('base64');
const SHOTS = process.env.SHOTS || '';
const TIMEOUT = 15_000;

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
    passed += 1;
  } catch (e) {
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    failed += 1;
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** Starts the simulator on a free port with a manual clock; resolves with its URL. */
function startMock(extra = []) {
  const child = spawn(BIN, ['--port', '0', '--clock', 'manual', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no address from the simulator: ${out}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening\S*\s.*?(http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve({ child, base: m[1] }); }
    });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => reject(new Error(`simulator exited (${code}): ${out}`)));
  });
}

/** A callback receiver that acknowledges like icu's clients ({"code":0}) and keeps bodies. */
function startReceiver() {
  const bodies = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"code":0,"message":"ok"}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ server, bodies, url: `http://127.0.0.1:${server.address().port}/icu-callback` });
  }));
}

async function submit(base, callbackUrl) {
  const body = { EngineModelType: '16k_zh', ChannelNum: '1', ResTextFormat: '0', SourceType: '1', Data: AUDIO };
  if (callbackUrl) body.CallbackUrl = callbackUrl;
  const res = await fetch(`${base}/openapi/asr/voiceToText`, {
    method: 'POST', headers: { 'Content-Type': 'application/json;charset=utf-8' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  const m = text.match(/"TaskId":(\d+)/);
  assert(res.ok && m, `submit failed: ${res.status} ${text}`);
  return m[1];
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});

/** A page that fails the run on any script error or CSP violation. */
async function openPage(url) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.problems = [];
  page.urls = [];
  page.on('request', (r) => page.urls.push(r.url()));
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) page.problems.push(`console: ${m.text()}`); });
  await page.goto(url);
  return page;
}

const receiver = await startReceiver();
const children = [];
try {
  // ---- without a token --------------------------------------------------------------
  const { child, base } = await startMock();
  children.push(child);
  const withCallback = await submit(base, receiver.url);
  const plain = await submit(base);
  // One request with a provider error, for the journal's filters.
  await fetch(`${base}/openapi/asr/searchResult?TaskId=1`);
  const page = await openPage(`${base}/__admin/ui`);

  await check('the page shows the submitted tasks waiting, live over SSE', async () => {
    await page.locator('#live.on').waitFor({ timeout: TIMEOUT });
    for (const id of [withCallback, plain]) {
      await page.locator(`#tasks tr[data-task-id="${id}"][data-status="waiting"]`).waitFor({ timeout: TIMEOUT });
    }
  });

  await check('advancing the clock from the page turns the task to success and shows its callback, without a reload', async () => {
    await page.evaluate(() => { window.notReloaded = true; });
    await page.fill('#advance-seconds', '30');
    await page.click('#advance-btn');
    const row = page.locator(`#tasks tr[data-task-id="${withCallback}"][data-status="success"]`);
    await row.waitFor({ timeout: TIMEOUT });
    const callback = page.locator(`#callbacks tr[data-task-id="${withCallback}"][data-acknowledged="true"]`);
    await callback.waitFor({ timeout: TIMEOUT });
    assert(await page.evaluate(() => window.notReloaded === true), 'the page reloaded');
    const body = await callback.locator('.callback-body').textContent();
    assert(body.includes(`requestId=${withCallback}`), `callback body: ${body}`);
    const answer = await callback.locator('.callback-answer').textContent();
    assert(answer.includes('"code":0'), `callback answer: ${answer}`);
    assert(receiver.bodies.some((b) => b.includes(`requestId=${withCallback}`)), 'the receiver got no callback');
    assert((await page.locator('#clock-now').textContent()).includes('00:00:30'), 'clock not shown advanced');
    await page.locator(`#tasks tr[data-task-id="${plain}"][data-status="success"]`).waitFor({ timeout: TIMEOUT });
  });

  await check('the journal filters by provider, path and code', async () => {
    await page.locator('#requests tbody tr').first().waitFor({ timeout: TIMEOUT });
    await page.fill('#f-path', 'searchResult');
    const rows = await page.locator('#requests tbody tr').allTextContents();
    assert(rows.length === 1 && rows[0].includes('searchResult'), `filtered rows: ${rows}`);
    await page.fill('#f-path', '');
    await page.selectOption('#f-provider', 'coze');
    assert((await page.locator('#requests tbody tr').count()) === 0, 'coze rows where there are none');
    await page.selectOption('#f-provider', 'icu');
    const all = (await (await fetch(`${base}/__admin/requests?limit=500`)).json()).requests;
    const failedQuery = all.find((r) => r.path.includes('searchResult'));
    assert(failedQuery && failedQuery.code !== 0, `the unknown task's query: ${JSON.stringify(failedQuery)}`);
    await page.fill('#f-code', String(failedQuery.code));
    const byCode = await page.locator('#requests tbody tr').allTextContents();
    assert(byCode.length === 1 && byCode[0].includes('searchResult'), `rows with code ${failedQuery.code}: ${byCode}`);
    await page.fill('#f-code', '');
    await page.selectOption('#f-provider', '');
  });

  if (SHOTS) {
    await page.locator(`#callbacks tr[data-task-id="${withCallback}"] details`).first().evaluate((d) => { d.open = true; });
    await page.screenshot({ path: `${SHOTS}/dashboard-tasks.png`, clip: { x: 0, y: 0, width: 1200, height: 900 } });
  }

  await check('a scenario is activated and deactivated from the page', async () => {
    const name = 'flaky-gateway';
    const row = page.locator(`#scenarios tr[data-scenario="${name}"]`);
    await row.locator('button.activate').click();
    await page.locator(`#scenarios tr[data-scenario="${name}"][data-active="true"]`).waitFor({ timeout: TIMEOUT });
    let active = await (await fetch(`${base}/__admin/scenarios`)).json();
    assert(active.active.global.includes(name), `not active: ${JSON.stringify(active.active)}`);
    await page.locator('#events li[data-event="scenario"]').first().waitFor({ timeout: TIMEOUT });
    if (SHOTS) {
      await page.setViewportSize({ width: 1200, height: 420 });
      await row.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/dashboard-scenarios.png` });
      await page.setViewportSize({ width: 1200, height: 900 });
    }
    await row.locator('button.deactivate').click();
    await page.locator(`#scenarios tr[data-scenario="${name}"][data-active="false"]`).waitFor({ timeout: TIMEOUT });
    active = await (await fetch(`${base}/__admin/scenarios`)).json();
    assert(!active.active.global.includes(name), `still active: ${JSON.stringify(active.active)}`);
  });

  await check('no script errors or CSP violations', async () => {
    assert(page.problems.length === 0, page.problems.join('\n'));
  });
  await page.close();

  // ---- with --admin-token ----------------------------------------------------------
  const guarded = await startMock(['--admin-token', 'ui-s3cret']);
  children.push(guarded.child);
  const tokenPage = await openPage(`${guarded.base}/__admin/ui`);

  await check('with --admin-token the page asks for the token and refuses a wrong one', async () => {
    await tokenPage.locator('#login').waitFor({ state: 'visible', timeout: TIMEOUT });
    await tokenPage.fill('#token', 'wrong');
    await tokenPage.click('#login-btn');
    await tokenPage.locator('#login-error', { hasText: 'refused' }).waitFor({ timeout: TIMEOUT });
    assert(await tokenPage.locator('#main').isHidden(), 'main shown with a wrong token');
  });

  await check('with the right token the page goes live and advances the clock', async () => {
    await tokenPage.fill('#token', 'ui-s3cret');
    await tokenPage.click('#login-btn');
    await tokenPage.locator('#live.on').waitFor({ timeout: TIMEOUT });
    const id = await submit(guarded.base, receiver.url);
    await tokenPage.locator(`#tasks tr[data-task-id="${id}"][data-status="waiting"]`).waitFor({ timeout: TIMEOUT });
    await tokenPage.click('#advance-btn');
    await tokenPage.locator(`#tasks tr[data-task-id="${id}"][data-status="success"]`).waitFor({ timeout: TIMEOUT });
    await tokenPage.locator(`#callbacks tr[data-task-id="${id}"][data-acknowledged="true"]`).waitFor({ timeout: TIMEOUT });
    const stored = await tokenPage.evaluate(() => sessionStorage.getItem('asrMockAdminToken'));
    assert(stored === 'ui-s3cret', 'token not kept in sessionStorage');
    const urls = tokenPage.urls;
    assert(!urls.some((u) => u.includes('ui-s3cret')), `the token went into a URL: ${urls}`);
    assert(urls.some((u) => u.includes('/__admin/events?ticket=')), `no event stream with a ticket: ${urls}`);
  });

  await check('the event stream refuses no ticket and a wrong one', async () => {
    for (const q of ['', '?ticket=0000', '?token=ui-s3cret']) {
      const res = await fetch(`${guarded.base}/__admin/events${q}`);
      assert(res.status === 401, `${q}: ${res.status}`);
      await res.body?.cancel();
    }
  });
  await tokenPage.close();
} finally {
  await browser.close();
  for (const c of children) c.kill('SIGTERM');
  receiver.server.close();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
