// End-to-end test of `discesa serve` in Debian's chromium, driven by playwright-core.
// Run: npm ci && npm test (from this directory); DISCESA_BIN picks the binary, else the newest of
// target/{release,debug}/discesa. Screenshots go to docs/serve/ at the repository root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, statSync, mkdtempSync, writeFileSync, mkdirSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SHOTS = join(ROOT, 'docs', 'serve');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function binary() {
  if (process.env.DISCESA_BIN) return process.env.DISCESA_BIN;
  const found = ['release', 'debug'].map((p) => join(ROOT, 'target', p, 'discesa')).filter(existsSync);
  found.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return found[0];
}

const BIN = binary();
const skip = !existsSync(CHROMIUM) ? `chromium not found at ${CHROMIUM}` : !BIN ? 'no discesa binary: run cargo build -p discesa-cli first' : false;
if (skip) console.log(`SKIP browser tests: ${skip}`);

// Starts `discesa serve --port 0 ARGS` and resolves with its URL once it prints it.
function serve(args = []) {
  return new Promise((ok, fail) => {
    const child = spawn(BIN, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => fail(new Error(`discesa serve printed no URL: ${out}`)), 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) { clearTimeout(timer); ok({ child, url: m[0], startedIn: performance.now() - t0 }); }
    });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => fail(new Error(`discesa serve exited with ${code}: ${out}`)));
    const t0 = performance.now();
  });
}

let browser, server, profile;
const errors = [];

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'discesa-chromium-'));
  // A fresh profile directory (Playwright passes it to chromium as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1500, height: 1050 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  server = await serve();
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.child.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function newPage() {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  // 4xx answers to bad input are expected (the page shows their message); anything else is not.
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(m.text()); });
  // No request may leave this machine's server.
  await page.route('**/*', (route) => (route.request().url().startsWith(server.url) ? route.continue() : route.abort()));
  return page;
}

test('the page loads fast, small, with no network', { skip }, async () => {
  const page = await newPage();
  const t0 = Date.now();
  await page.goto(server.url);
  await page.waitForSelector('#runs tbody tr');
  const ms = Date.now() - t0;
  const bytes = await page.evaluate(async () => {
    let n = 0;
    for (const p of ['/', '/app.js', '/style.css']) n += (await (await fetch(p)).text()).length;
    return n;
  });
  console.log(`page usable in ${ms} ms (server start ${server.startedIn.toFixed(0)} ms), ${bytes} bytes`);
  assert.ok(bytes < 300 * 1024);
  assert.ok(ms < 5000);
  await page.close();
});

test('formula explorer: parse error, click-started descent equals the CLI, divergence', { skip }, async () => {
  const page = await newPage();
  await page.goto(server.url + '#explorer');
  const formula = page.locator('#formula');
  await formula.fill('');
  await formula.pressSequentially('x^2 + * y');
  await page.waitForFunction(() => /column 5/.test(document.getElementById('formula-error').textContent));
  assert.equal(await page.isVisible('#formula-error'), true);

  await formula.fill('');
  await formula.pressSequentially('x^2 + 3*y^2 + x*y');
  await page.waitForFunction(() => document.getElementById('formula-error').hidden && document.querySelectorAll('#runs tbody tr').length > 0);
  // Click a start point at a quarter of the canvas: (-2, 2) in the default view [-4, 4]².
  const box = await page.locator('#overlay').boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.6);
  await page.waitForFunction(() => /\|∇f\|₂/.test(document.getElementById('cursor-info').textContent));
  await page.mouse.click(box.x + box.width * 0.25, box.y + box.height * 0.25);
  await page.waitForFunction(() => new URLSearchParams(location.hash.split('?')[1]).get('from') === '-2,2');
  await page.waitForFunction(() => document.getElementById('point-info').textContent.startsWith('at x = -2, y = 2'));
  const rows = await page.$$eval('#runs tbody tr', (trs) => trs.map((t) => ({ opt: t.dataset.optimizer, value: Number(t.dataset.endValue), stop: t.dataset.stop })));
  const params = new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1]);
  const cli = JSON.parse(execFileSync(BIN, ['descend', params.get('f'), '--from', 'x=-2,y=2', '--lr', params.get('lr'),
    '--steps', params.get('steps'), '--optimizer', params.get('opt'), '--json']).toString());
  assert.equal(rows.length, cli.runs.length);
  for (const [i, run] of cli.runs.entries()) {
    const last = run.steps[run.steps.length - 1];
    assert.equal(rows[i].opt, run.optimizer);
    assert.equal(rows[i].stop, run.stop.reason);
    assert.equal(rows[i].value, last.value, `${run.optimizer}: page ${rows[i].value} vs CLI ${last.value}`);
  }
  assert.equal(await page.getAttribute('#point-info', 'data-verdict'), 'bowl');
  await page.screenshot({ path: join(SHOTS, 'explorer-2d.png') });

  // The shared link restores the same state in a fresh page.
  const link = page.url();
  const again = await newPage();
  await again.goto(link);
  await again.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length > 0);
  assert.equal(await again.inputValue('#formula'), 'x^2 + 3*y^2 + x*y');
  assert.equal(Number(await again.getAttribute('#runs tbody tr:first-child', 'data-end-value')), rows[0].value);
  await again.close();

  // The saddle from the gallery: verdict at the clicked origin.
  await page.click('[data-example=saddle]');
  await page.waitForFunction(() => document.getElementById('formula').value === 'x^2 - y^2' && document.getElementById('point-info').dataset.verdict === 'saddle');

  // 1-D: x² from the gallery converges at η = 0.3; the slider moved to the right diverges.
  await page.click('[data-example=parabola]');
  await page.waitForFunction(() => document.querySelector('#runs tbody tr')?.dataset.stop === 'converged' && document.getElementById('formula').value === 'x^2');
  assert.doesNotMatch(await page.textContent('#descent-status'), /diverged/i);
  for (let k = 0; k < 3; k++) await page.click('#step-1d');
  assert.match(await page.textContent('#k-1d'), /^step 3 of/);
  await page.screenshot({ path: join(SHOTS, 'explorer-1d.png') });
  const slider = await page.locator('#lr').boundingBox();
  await page.mouse.click(slider.x + slider.width * 0.82, slider.y + slider.height / 2);
  await page.waitForFunction(() => /diverged/i.test(document.getElementById('descent-status').textContent));
  const lr = Number(await page.textContent('#lr-out'));
  assert.ok(lr > 1, `η = ${lr}`);
  await page.waitForFunction(() => /η > 2\/L/.test(document.getElementById('step-rule').textContent));
  await page.click('#step-1d');
  await page.screenshot({ path: join(SHOTS, 'explorer-diverged.png') });
  await page.close();
});

test('network playground: spirals to over 90% test accuracy, vanishing gradients, trace', { skip }, async () => {
  const page = await newPage();
  await page.goto(server.url + '#play?data=spirals&noise=0.05&ratio=0.5&points=600&seed=1&hidden=32,32&act=relu&opt=adam&lr=0.01&batch=16&l2=0');
  await page.waitForFunction(() => Number(document.getElementById('p-stats').dataset.step) === 0);
  await page.fill('#p-per-frame', '10');
  const t0 = Date.now();
  await page.click('#p-play');
  await page.waitForFunction(() => Number(document.getElementById('p-stats').dataset.testAccuracy) > 0.93, null, { timeout: 90000, polling: 100 });
  await page.click('#p-play');
  await page.waitForFunction(() => document.getElementById('p-stats').dataset.playing === 'no' && !window.Play?.busy);
  const step = Number(await page.getAttribute('#p-stats', 'data-step'));
  const acc = Number(await page.getAttribute('#p-stats', 'data-test-accuracy'));
  console.log(`spirals: test accuracy ${(100 * acc).toFixed(1)}% after ${step} steps, ${((Date.now() - t0) / 1000).toFixed(1)} s in the page`);
  assert.ok(acc > 0.9, `test accuracy ${acc}`);
  await page.click('#p-boundary', { position: { x: 210, y: 150 } });
  await page.waitForFunction(() => /Backprop trace of training point/.test(document.getElementById('p-trace').textContent));
  assert.match(await page.textContent('#p-trace'), /∂L\/∂z/);
  await page.screenshot({ path: join(SHOTS, 'playground.png'), fullPage: true });

  // A 2-8-8-2 network while redrawing: steps per second of wall clock.
  await page.fill('#p-hidden', '8,8');
  await page.dispatchEvent('#p-hidden', 'change');
  await page.waitForFunction(() => Number(document.getElementById('p-stats').dataset.step) === 0);
  await page.fill('#p-per-frame', '5');
  await page.click('#p-play');
  await page.waitForTimeout(3000);
  await page.click('#p-play');
  await page.waitForFunction(() => !window.Play.busy);
  const rate = Number(await page.getAttribute('#p-stats', 'data-rate'));
  console.log(`playground 2-8-8-2: ${rate.toFixed(0)} steps/s with the boundary redrawn after every 5 steps`);
  assert.ok(rate >= 30, `${rate} steps/s`);

  // Ten sigmoid layers: the first layer's gradient is far smaller than the last one's.
  await page.click('#p-deep');
  await page.waitForFunction(() => Number(document.getElementById('p-stats').dataset.step) === 0);
  for (let k = 1; k <= 3; k++) {
    await page.click('#p-step');
    await page.waitForFunction((k) => Number(document.getElementById('p-stats').dataset.step) === k, k);
  }
  const norms = JSON.parse(await page.getAttribute('#p-stats', 'data-grad-norms'));
  assert.equal(norms.length, 11);
  console.log(`10 sigmoid layers: gradient norms first ${norms[0].toExponential(2)}, last ${norms[10].toExponential(2)}`);
  assert.ok(norms[0] * 100 < norms[10], JSON.stringify(norms));
  await page.screenshot({ path: join(SHOTS, 'playground-sigmoid.png'), fullPage: true });
  await page.close();
});

function npy(path, shape, values) {
  const header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = header + ' '.repeat(pad % 64) + '\n';
  const buf = Buffer.alloc(10 + h.length + 8 * values.length);
  buf.write('\x93NUMPY', 0, 'latin1'); buf[6] = 1; buf[7] = 0; buf.writeUInt16LE(h.length, 8); buf.write(h, 10, 'latin1');
  values.forEach((v, i) => buf.writeDoubleLE(v, 10 + h.length + 8 * i));
  writeFileSync(path, buf);
}

test('training dashboard: a growing metrics file is followed live; a landscape directory is drawn', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'discesa-run-'));
  const file = join(dir, 'metrics.csv');
  const row = (e) => `${e},${e * 50},0.01,${(1.5 / e).toFixed(4)},${(1 - 0.5 / e).toFixed(4)},${(1.6 / e).toFixed(4)},${(1 - 0.55 / e).toFixed(4)},0.5,${1000 + e},${(0.2 / e).toFixed(5)},${(0.5 / e).toFixed(5)}\n`;
  writeFileSync(file, 'epoch,step,lr,train_loss,train_metric,val_loss,val_metric,seconds,samples_per_second,grad_norm:layers.0,grad_norm:layers.2\n' + row(1) + row(2));
  const run = await serve(['--run', file]);
  const page = await newPage();
  await page.route('**/*', (route) => route.continue());
  await page.goto(run.url + '#dashboard');
  await page.waitForFunction(() => document.getElementById('d-status').dataset.epochs === '2');
  for (let e = 3; e <= 6; e++) appendFileSync(file, row(e));
  await page.waitForFunction(() => document.getElementById('d-status').dataset.epochs === '6', null, { timeout: 10000 });
  await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
  await page.close();
  run.child.kill();

  const ls = join(dir, 'landscape');
  mkdirSync(ls);
  const xs = Array.from({ length: 31 }, (_, i) => -1 + i / 15), ys = Array.from({ length: 25 }, (_, j) => -1 + j / 12);
  const loss = ys.flatMap((y) => xs.map((x) => 0.3 + x * x + 2 * y * y + 0.3 * Math.sin(5 * x) * Math.cos(4 * y)));
  npy(join(ls, 'x.npy'), [31], xs); npy(join(ls, 'y.npy'), [25], ys); npy(join(ls, 'loss.npy'), [25, 31], loss);
  writeFileSync(join(ls, 'landscape.json'), JSON.stringify({ directions: 'random', norm: 'filter', grid: '-1:1:31,-1:1:25' }));
  const land = await serve(['--run', ls]);
  const p2 = await newPage();
  await p2.route('**/*', (route) => route.continue());
  await p2.goto(land.url + '#dashboard');
  await p2.waitForFunction(() => /"directions": "random"/.test(document.getElementById('d-settings').textContent));
  assert.match(await p2.textContent('#d-settings'), /shape \[25,31\]/);
  const box = await p2.locator('#d-surface').boundingBox();
  await p2.mouse.move(box.x + 200, box.y + 200); await p2.mouse.down(); await p2.mouse.move(box.x + 280, box.y + 230, { steps: 5 }); await p2.mouse.up();
  await p2.screenshot({ path: join(SHOTS, 'landscape.png') });
  await p2.close();
  land.child.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('no error in any page', { skip }, () => {
  assert.deepEqual(errors, []);
});
