// discesa serve: the page. Plain JavaScript on canvas; every number comes from the server's API.
'use strict';

const $ = (id) => document.getElementById(id);
const COLORS = { gd: '#d62728', momentum: '#1f77b4', nesterov: '#9467bd', rmsprop: '#ff7f0e', adam: '#2ca02c', adamw: '#17becf' };

async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const r = await fetch(path, init);
  let j;
  try { j = await r.json(); } catch (_) { j = { error: `${r.status} ${r.statusText}` }; }
  if (!r.ok) {
    const e = new Error(j.error || r.statusText);
    e.column = j.column; e.length = j.length; e.status = r.status;
    throw e;
  }
  return j;
}

function fmt(v, digits = 6) {
  if (v === null || v === undefined || Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e7)) return v.toExponential(4);
  return String(Number(v.toPrecision(digits)));
}

// ---------- colours, grids and little charts ----------

const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function viridis(t) {
  t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

// Values mapped to [0, 1] on a log scale above the minimum, so bowls and valleys both show.
function normaliser(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (v !== null && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const span = Math.log1p(Math.max(hi - lo, 1e-12));
  return { lo, hi, t: (v) => (v === null || !Number.isFinite(v)) ? null : Math.log1p(Math.max(v - lo, 0)) / span };
}

// Filled cells plus marching-squares isolines of a ny×nx grid drawn into a w×h box (row 0 at the bottom).
function drawField(ctx, grid, nx, ny, w, h, norm, levels = 14) {
  const img = ctx.createImageData(w, h);
  for (let py = 0; py < h; py++) {
    const j = Math.min(ny - 1, Math.floor((1 - (py + 0.5) / h) * ny));
    for (let px = 0; px < w; px++) {
      const i = Math.min(nx - 1, Math.floor((px + 0.5) / w * nx));
      const t = norm.t(grid[j * nx + i]);
      const k = 4 * (py * w + px);
      if (t === null) { img.data[k + 3] = 0; continue; }
      const c = viridis(t);
      img.data[k] = c[0]; img.data[k + 1] = c[1]; img.data[k + 2] = c[2]; img.data[k + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  ctx.strokeStyle = 'rgba(255,255,255,0.55)';
  ctx.lineWidth = 1;
  const X = (i) => (i + 0.5) / nx * w, Y = (j) => h - (j + 0.5) / ny * h;
  const T = grid.map((v) => norm.t(v));
  ctx.beginPath();
  for (let l = 1; l < levels; l++) {
    const c = l / levels;
    for (let j = 0; j + 1 < ny; j++) for (let i = 0; i + 1 < nx; i++) {
      const a = T[j * nx + i], b = T[j * nx + i + 1], d = T[(j + 1) * nx + i], e = T[(j + 1) * nx + i + 1];
      if (a === null || b === null || d === null || e === null) continue;
      const pts = [];
      const edge = (v0, v1, x0, y0, x1, y1) => {
        if ((v0 < c) !== (v1 < c)) { const f = (c - v0) / (v1 - v0); pts.push([x0 + f * (x1 - x0), y0 + f * (y1 - y0)]); }
      };
      edge(a, b, X(i), Y(j), X(i + 1), Y(j));
      edge(b, e, X(i + 1), Y(j), X(i + 1), Y(j + 1));
      edge(e, d, X(i + 1), Y(j + 1), X(i), Y(j + 1));
      edge(d, a, X(i), Y(j + 1), X(i), Y(j));
      for (let p = 0; p + 1 < pts.length; p += 2) { ctx.moveTo(pts[p][0], pts[p][1]); ctx.lineTo(pts[p + 1][0], pts[p + 1][1]); }
    }
  }
  ctx.stroke();
}

// A line chart: series [{name, color, xs, ys}], optional log y axis.
function lineChart(canvas, title, series, opts = {}) {
  const ctx = canvas.getContext('2d'), W = canvas.width, H = canvas.height;
  const L = 52, R = 10, T = 22, B = 26;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#1d2330'; ctx.font = '12px system-ui'; ctx.fillText(title, L, 14);
  const tr = (v) => opts.log ? Math.log10(v) : v;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) s.xs.forEach((x, k) => {
    const y = s.ys[k];
    if (y === null || !Number.isFinite(y) || (opts.log && y <= 0)) return;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, tr(y)); y1 = Math.max(y1, tr(y));
  });
  if (!Number.isFinite(x0)) { ctx.fillStyle = '#667'; ctx.fillText('no data yet', L, H / 2); return; }
  if (opts.y0 !== undefined) y0 = Math.min(y0, opts.y0);
  if (opts.y1 !== undefined) y1 = Math.max(y1, opts.y1);
  if (x1 === x0) x1 = x0 + 1;
  if (y1 - y0 < 1e-12) { y0 -= 0.5; y1 += 0.5; }
  const px = (x) => L + (x - x0) / (x1 - x0) * (W - L - R), py = (y) => H - B - (tr(y) - y0) / (y1 - y0) * (H - T - B);
  ctx.strokeStyle = '#ccd'; ctx.lineWidth = 1; ctx.strokeRect(L, T, W - L - R, H - T - B);
  ctx.fillStyle = '#667'; ctx.font = '11px system-ui';
  for (let k = 0; k <= 4; k++) {
    const v = y0 + (y1 - y0) * k / 4, y = H - B - k / 4 * (H - T - B);
    ctx.fillText(opts.log ? '1e' + v.toFixed(1) : fmt(v, 3), 2, y + 4);
  }
  ctx.fillText(fmt(x0, 4), L, H - 8); ctx.fillText(fmt(x1, 4), W - R - 40, H - 8);
  if (opts.xlabel) ctx.fillText(opts.xlabel, W / 2 - 20, H - 8);
  let lx = L + 8;
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.lineWidth = 1.6; ctx.beginPath();
    let started = false;
    s.xs.forEach((x, k) => {
      const y = s.ys[k];
      if (y === null || !Number.isFinite(y) || (opts.log && y <= 0)) { started = false; return; }
      if (started) ctx.lineTo(px(x), py(y)); else { ctx.moveTo(px(x), py(y)); started = true; }
    });
    ctx.stroke();
    if (s.name) { ctx.fillStyle = s.color; ctx.fillRect(lx, T + 6, 10, 3); ctx.fillText(s.name, lx + 13, T + 11); lx += 18 + ctx.measureText(s.name).width; }
  }
}

// A rotatable wireframe of a ny×nx grid with optional polylines on it; returns a redraw function.
function surfaceView(canvas, getScene) {
  const view = { az: -0.9, el: 0.55, dragging: null };
  const ctx = canvas.getContext('2d');
  function draw() {
    const scene = getScene();
    const W = canvas.width, H = canvas.height;
    ctx.clearRect(0, 0, W, H);
    if (!scene) return;
    const { grid, nx, ny, norm, paths } = scene;
    const ca = Math.cos(view.az), sa = Math.sin(view.az), ce = Math.cos(view.el), se = Math.sin(view.el);
    const S = Math.min(W, H) * 0.36;
    const proj = (u, v, t) => { // u, v in [-1, 1], t in [0, 1]
      const x = u * ca - v * sa, y = u * sa + v * ca, z = t * 1.1 - 0.55;
      return [W / 2 + S * x, H / 2 + S * (y * se - z * ce) ];
    };
    const step = Math.max(1, Math.floor(Math.max(nx, ny) / 36));
    const at = (i, j) => norm.t(grid[j * nx + i]);
    const U = (i) => -1 + 2 * i / (nx - 1), V = (j) => -1 + 2 * j / (ny - 1);
    ctx.lineWidth = 0.8;
    for (let j = 0; j < ny; j += step) for (let i = 0; i + step < nx; i += step) {
      const a = at(i, j), b = at(i + step, j);
      if (a === null || b === null) continue;
      const p = proj(U(i), V(j), a), q = proj(U(i + step), V(j), b);
      const c = viridis((a + b) / 2);
      ctx.strokeStyle = `rgb(${c[0] | 0},${c[1] | 0},${c[2] | 0})`;
      ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
    }
    for (let i = 0; i < nx; i += step) for (let j = 0; j + step < ny; j += step) {
      const a = at(i, j), b = at(i, j + step);
      if (a === null || b === null) continue;
      const p = proj(U(i), V(j), a), q = proj(U(i), V(j + step), b);
      const c = viridis((a + b) / 2);
      ctx.strokeStyle = `rgb(${c[0] | 0},${c[1] | 0},${c[2] | 0})`;
      ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
    }
    for (const path of paths || []) {
      ctx.strokeStyle = path.color; ctx.lineWidth = 2.2; ctx.beginPath();
      let started = false;
      for (const [u, v, t] of path.points) {
        if (t === null || Math.abs(u) > 1 || Math.abs(v) > 1) { started = false; continue; }
        const p = proj(u, v, t);
        if (started) ctx.lineTo(p[0], p[1]); else { ctx.moveTo(p[0], p[1]); started = true; }
      }
      ctx.stroke();
    }
  }
  canvas.addEventListener('mousedown', (e) => { view.dragging = [e.clientX, e.clientY, view.az, view.el]; });
  window.addEventListener('mouseup', () => { view.dragging = null; });
  window.addEventListener('mousemove', (e) => {
    if (!view.dragging) return;
    const [x, y, az, el] = view.dragging;
    view.az = az + (e.clientX - x) * 0.01;
    view.el = Math.min(1.5, Math.max(0.05, el + (e.clientY - y) * 0.01));
    draw();
  });
  return draw;
}

// ---------- views and the URL ----------

function parseHash() {
  const h = location.hash.replace(/^#/, '');
  const [view, query] = h.split('?');
  return { view: view || 'explorer', params: new URLSearchParams(query || '') };
}

function showView(name) {
  for (const v of ['explorer', 'play', 'dashboard']) $('view-' + v).hidden = v !== name;
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.view === name));
  if (name === 'dashboard') Dashboard.start();
  if (name === 'play' && !Play.session) Play.reset();
}

// ---------- formula explorer ----------

const EXAMPLES = {
  bowl: { f: 'x^2 + y^2', start: [-3, -1], lr: 1, steps: 20, opt: ['gd'], range: [-4, 4, -4, 4] },
  saddle: { f: 'x^2 - y^2', start: [-3, -0.05], lr: 0.1, steps: 25, opt: ['gd', 'momentum', 'adam'], range: [-4, 4, -4, 4] },
  rosenbrock: { f: '(1-x)^2 + 100*(y-x^2)^2', start: [-1.5, 2], lr: 0.0005, steps: 3000, opt: ['gd', 'momentum', 'adam'], range: [-2, 2, -1, 3] },
  lecture: { f: 'sqrt(x^2+exp(x^2))+cos(x^2+exp(x^2))', start: [1], lr: 0.01, steps: 100, opt: ['gd'], range: [-1.6, 1.6] },
  parabola: { f: 'x^2', start: [3], lr: 0.3, steps: 30, opt: ['gd'], range: [-4, 4] },
  ellipse: { f: 'x^2 + 10*y^2', start: [-3.5, 1.5], lr: 0.09, steps: 200, opt: ['gd', 'momentum', 'nesterov', 'rmsprop', 'adam'], range: [-4, 4, -2.5, 2.5] },
};

const Explorer = {
  vars: [], start: null, lrValue: 0.1, grid: null, curve: null, runs: [], k: 0, timer: null, seq: 0, hover: 0, point: null,
  // η on a log slider, rounded to three digits so that the value shown is the value used.
  lr() { return this.lrValue; },
  sliderLr() { return Number(Math.pow(10, Number($('lr').value)).toPrecision(3)); },
  setLr(v) { if (!(v > 0)) return; this.lrValue = v; $('lr').value = Math.log10(v); $('lr-out').textContent = fmt(v, 4); },
  optimizers() { return [...document.querySelectorAll('#optimizers input:checked')].map((c) => c.value); },
  range() {
    const r = $('range').value.split(',').map(Number);
    if (r.some((v) => !Number.isFinite(v)) || r.length < 2 || r[0] >= r[1]) return this.vars.length === 1 ? [-4, 4] : [-4, 4, -4, 4];
    if (r.length >= 4 && r[2] < r[3]) return r.slice(0, 4);
    return [r[0], r[1], r[0], r[1]];
  },
  // Canvas pixels <-> formula coordinates.
  toXY(px, py) { const r = this.range(), c = $('plot'); return [r[0] + px / c.width * (r[1] - r[0]), r[3] - py / c.height * (r[3] - r[2])]; },
  toPx(x, y) { const r = this.range(), c = $('plot'); return [(x - r[0]) / (r[1] - r[0]) * c.width, (r[3] - y) / (r[3] - r[2]) * c.height]; },

  saveUrl() {
    if ($('view-explorer').hidden) return;
    const p = new URLSearchParams({ f: $('formula').value, lr: String(this.lr()), m: $('momentum').value, steps: $('steps').value, opt: this.optimizers().join(','), view: $('range').value });
    if (this.start) p.set('from', this.start.join(','));
    history.replaceState(null, '', '#explorer?' + p.toString());
  },
  loadUrl(params) {
    if (params.has('f')) $('formula').value = params.get('f');
    if (params.has('lr')) this.setLr(Number(params.get('lr')));
    if (params.has('m')) { $('momentum').value = params.get('m'); $('momentum-out').textContent = params.get('m'); }
    if (params.has('steps')) $('steps').value = params.get('steps');
    if (params.has('opt')) { const set = params.get('opt').split(','); document.querySelectorAll('#optimizers input').forEach((c) => { c.checked = set.includes(c.value); }); }
    if (params.has('view')) $('range').value = params.get('view');
    this.start = params.has('from') ? params.get('from').split(',').map(Number) : null;
  },
  example(name) {
    const e = EXAMPLES[name];
    $('formula').value = e.f; this.setLr(e.lr); $('steps').value = e.steps; $('range').value = e.range.join(',');
    document.querySelectorAll('#optimizers input').forEach((c) => { c.checked = e.opt.includes(c.value); });
    this.start = e.start.slice();
    this.refresh();
  },

  showError(msg, column, length) {
    const box = $('formula-error');
    if (!msg) { box.hidden = true; $('formula').classList.remove('bad'); return; }
    let text = msg;
    if (column) text = $('formula').value + '\n' + ' '.repeat(column - 1) + '^'.repeat(Math.max(1, length || 1)) + '  column ' + column + '\n' + msg;
    box.textContent = text; box.hidden = false; $('formula').classList.add('bad');
  },

  async refresh() {
    const seq = ++this.seq;
    const text = $('formula').value;
    let a;
    try { a = await api('/api/formula/analyse', { formula: text }); } catch (e) {
      if (seq === this.seq) this.showError(e.message, e.column, e.length);
      return;
    }
    if (seq !== this.seq) return;
    if (a.variables.length < 1 || a.variables.length > 2) { this.showError(`the explorer draws formulas of one or two variables; this one has ${a.variables.length}`); return; }
    this.showError(null);
    const changed = a.variables.join(',') !== this.vars.join(',');
    this.vars = a.variables;
    $('symbolic').textContent = a.symbolic.map((s) => `∂f/∂${s.variable} = ${s.derivative}`).join('\n');
    if (changed && $('range').value.split(',').length !== (this.vars.length === 1 ? 2 : 4)) $('range').value = this.vars.length === 1 ? '-4,4' : '-4,4,-4,4';
    if (!this.start || this.start.length !== this.vars.length) this.start = this.vars.length === 1 ? [3] : [-3, -1];
    $('panel-3d').hidden = this.vars.length !== 2;
    if (this.vars.length !== 2) { $('cursor-info').textContent = ''; const o = $('overlay'); o.getContext('2d').clearRect(0, 0, o.width, o.height); }
    $('buttons-1d').hidden = this.vars.length !== 1;
    $('plot-hint').textContent = this.vars.length === 2 ? 'Click to start a descent there; the arrow at the cursor is −∇f.' : 'Click to start there; step / play walk the path; the arrow is the step −η f′(x).';
    try {
      if (this.vars.length === 2) {
        const r = this.range();
        this.grid = await api('/api/formula/grid', { formula: text, x: [r[0], r[1]], y: [r[2], r[3]], nx: 140, ny: 140 });
        this.curve = null;
      } else {
        const r = this.range();
        this.curve = await api('/api/formula/curve', { formula: text, x: [r[0], r[1]], n: 600 });
        this.grid = null;
      }
    } catch (e) { this.showError(e.message); return; }
    if (seq !== this.seq) return;
    this.drawBase();
    await this.descend();
  },

  async descend() {
    const seq = this.seq;
    this.saveUrl();
    const opts = this.optimizers();
    if (!opts.length) { this.runs = []; this.drawBase(); this.report(); return; }
    let d;
    try {
      d = await api('/api/formula/descend', { formula: $('formula').value, start: this.start, optimizers: opts, lr: this.lr(), momentum: Number($('momentum').value), steps: Number($('steps').value) });
    } catch (e) { $('descent-status').textContent = e.message; $('descent-status').className = 'status diverged'; return; }
    if (seq !== this.seq) return;
    this.runs = d.runs;
    this.k = this.vars.length === 1 ? 0 : Infinity;
    this.drawBase();
    this.report();
    this.analyse(this.start);
  },

  report() {
    const tb = document.querySelector('#runs tbody');
    tb.innerHTML = '';
    const parts = [];
    for (const r of this.runs) {
      const tr = document.createElement('tr');
      tr.dataset.optimizer = r.optimizer; tr.dataset.stop = r.stop.reason;
      tr.dataset.endValue = r.end.value === null ? 'NaN' : String(r.end.value);
      tr.dataset.endPoint = JSON.stringify(r.end.point);
      const cells = [`<span class="swatch" style="background:${COLORS[r.optimizer]}"></span>${r.optimizer}`, r.stop.reason.replace('_', ' '), r.stop.step, r.end.point.map((v) => fmt(v)).join(', '), fmt(r.end.value, 10)];
      tr.innerHTML = cells.map((c) => `<td>${c}</td>`).join('');
      tb.appendChild(tr);
      const what = r.stop.reason === 'diverged' ? `diverged at step ${r.stop.step}` : r.stop.reason === 'converged' ? `converged at step ${r.stop.step}` : `${r.stop.step} steps, not converged`;
      parts.push(`${r.optimizer}: ${what}`);
    }
    const bad = this.runs.some((r) => r.stop.reason === 'diverged');
    $('descent-status').textContent = (bad ? 'Diverged — the step is too large. ' : '') + parts.join(' · ');
    $('descent-status').className = 'status' + (bad ? ' diverged' : '');
  },

  async analyse(point) {
    let a;
    try { a = await api('/api/formula/analyse', { formula: $('formula').value, point }); } catch (e) { $('point-info').textContent = e.message; $('step-rule').textContent = ''; return; }
    this.point = a.at;
    const v = a.variables, at = a.at;
    const lines = [
      `at ${v.map((n, i) => `${n} = ${fmt(point[i])}`).join(', ')}`,
      `f = ${fmt(at.value, 10)}`,
      `∇f (backprop)   = (${at.gradient.map((g) => fmt(g, 10)).join(', ')})`,
      `∇f (central FD) = (${at.finite_difference.map((g) => fmt(g, 10)).join(', ')})`,
      `|∇f|₂ = ${fmt(at.gradient_norm)}`,
      `Hessian = [${at.hessian.map((r) => r.map((x) => fmt(x, 5)).join(', ')).join(' ; ')}]`,
      `eigenvalues: ${at.eigenvalues.map((x) => fmt(x, 5)).join(', ')}`,
      `verdict: ${at.verdict}${at.critical_point ? ' (critical point)' : ''} — ${at.curvature}`,
    ];
    $('point-info').textContent = lines.join('\n');
    $('point-info').dataset.verdict = at.verdict;
    const L = Math.max(...at.eigenvalues.map(Math.abs));
    const lr = this.lr();
    if (L > 0) {
      const verdict = lr < 1 / L ? 'η < 1/L: each step stays on this side of the minimum' : lr < 2 / L ? '1/L < η < 2/L: gd overshoots but still converges on a quadratic' : 'η > 2/L: gd diverges on a quadratic';
      $('step-rule').textContent = `L = largest |eigenvalue| here = ${fmt(L, 4)}; 1/L = ${fmt(1 / L, 4)}, η = ${fmt(lr, 4)}: ${verdict}`;
    } else $('step-rule').textContent = '';
  },

  drawBase() {
    const c = $('plot'), ctx = c.getContext('2d');
    ctx.clearRect(0, 0, c.width, c.height);
    if (this.grid) {
      const g = this.grid;
      const norm = normaliser(g.values);
      drawField(ctx, g.values, g.nx, g.ny, c.width, c.height, norm);
      for (const r of this.runs) {
        ctx.strokeStyle = COLORS[r.optimizer] || '#000'; ctx.lineWidth = 2; ctx.beginPath();
        const upto = Math.min(r.points.length, this.k + 1);
        for (let k = 0; k < upto; k++) {
          const p = r.points[k];
          if (p.some((v) => v === null)) break;
          const [px, py] = this.toPx(p[0], p[1]);
          if (k) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        }
        ctx.stroke();
        const last = r.points[upto - 1];
        if (last && !last.some((v) => v === null)) { const [px, py] = this.toPx(last[0], last[1]); ctx.fillStyle = COLORS[r.optimizer]; ctx.beginPath(); ctx.arc(px, py, 4, 0, 7); ctx.fill(); }
      }
      if (this.start) { const [px, py] = this.toPx(this.start[0], this.start[1]); ctx.fillStyle = '#fff'; ctx.strokeStyle = '#000'; ctx.beginPath(); ctx.arc(px, py, 5, 0, 7); ctx.fill(); ctx.stroke(); }
      this.axes(ctx);
      this.draw3d();
    } else if (this.curve) {
      this.draw1d(ctx);
    }
  },

  axes(ctx) {
    const r = this.range(), c = $('plot');
    ctx.fillStyle = 'rgba(255,255,255,0.9)'; ctx.font = '11px system-ui';
    ctx.fillText(`${this.vars[0] || 'x'} ∈ [${r[0]}, ${r[1]}]`, 6, c.height - 6);
    if (this.vars[1]) ctx.fillText(`${this.vars[1]} ∈ [${r[2]}, ${r[3]}]`, 6, 14);
  },

  draw1d(ctx) {
    const c = $('plot'), W = c.width, H = c.height, cv = this.curve, r = this.range();
    const finite = cv.values.filter((v) => v !== null);
    let lo = Math.min(...finite), hi = Math.max(...finite);
    const run = this.runs[0];
    if (run) for (const v of run.values.slice(0, 400)) if (v !== null && Number.isFinite(v) && v < hi + 4 * (hi - lo)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
    const X = (x) => (x - r[0]) / (r[1] - r[0]) * W, Y = (y) => H - (y - lo) / (hi - lo) * H;
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = '#ccd'; ctx.beginPath(); ctx.moveTo(0, Y(0)); ctx.lineTo(W, Y(0)); ctx.moveTo(X(0), 0); ctx.lineTo(X(0), H); ctx.stroke();
    ctx.strokeStyle = '#1d2330'; ctx.lineWidth = 2; ctx.beginPath();
    let started = false;
    cv.x.forEach((x, i) => { const v = cv.values[i]; if (v === null) { started = false; return; } if (started) ctx.lineTo(X(x), Y(v)); else { ctx.moveTo(X(x), Y(v)); started = true; } });
    ctx.stroke();
    ctx.fillStyle = '#667'; ctx.font = '11px system-ui';
    ctx.fillText(`${this.vars[0]} ∈ [${r[0]}, ${r[1]}]`, 6, H - 6); ctx.fillText(`f ∈ [${fmt(lo, 3)}, ${fmt(hi, 3)}]`, 6, 14);
    for (const run of this.runs) {
      const col = COLORS[run.optimizer] || '#000';
      const k = Math.min(this.k, run.points.length - 1);
      ctx.fillStyle = col; ctx.strokeStyle = col; ctx.globalAlpha = 0.5; ctx.lineWidth = 1;
      for (let i = 0; i < k; i++) {
        const x = run.points[i][0], v = run.values[i], x2 = run.points[i + 1][0], v2 = run.values[i + 1];
        if (x === null || v === null) break;
        ctx.beginPath(); ctx.arc(X(x), Y(v), 3, 0, 7); ctx.fill();
        if (x2 !== null && v2 !== null) { ctx.beginPath(); ctx.moveTo(X(x), Y(v)); ctx.lineTo(X(x2), Y(v2)); ctx.stroke(); }
      }
      ctx.globalAlpha = 1;
      const x = run.points[k][0], v = run.values[k], g = run.gradients[k] ? run.gradients[k][0] : null;
      $('k-1d').textContent = `step ${k} of ${run.points.length - 1}: x = ${fmt(x)}, f = ${fmt(v)}, f′(x) = ${fmt(g)}`;
      if (x === null || v === null || g === null) continue;
      // Tangent line through (x, f(x)).
      ctx.strokeStyle = col; ctx.lineWidth = 1.2; ctx.setLineDash([5, 4]); ctx.beginPath();
      const dx = (r[1] - r[0]) * 0.25;
      ctx.moveTo(X(x - dx), Y(v - g * dx)); ctx.lineTo(X(x + dx), Y(v + g * dx)); ctx.stroke(); ctx.setLineDash([]);
      // The step −η f′(x) as an arrow along the x axis at the point's height.
      const nx = x - this.lr() * g;
      arrow(ctx, X(x), Y(v), X(nx), Y(v), col);
      ctx.fillStyle = col; ctx.beginPath(); ctx.arc(X(x), Y(v), 5, 0, 7); ctx.fill();
    }
  },

  draw3d() {
    if (!this.draw3dFn) this.draw3dFn = surfaceView($('surface'), () => {
      const g = this.grid;
      if (!g) return null;
      const norm = normaliser(g.values), r = this.range();
      const U = (x) => -1 + 2 * (x - r[0]) / (r[1] - r[0]), V = (y) => -1 + 2 * (y - r[2]) / (r[3] - r[2]);
      const paths = this.runs.map((run) => ({ color: COLORS[run.optimizer], points: run.points.map((p, k) => [U(p[0]), V(p[1]), norm.t(run.values[k])]) }));
      return { grid: g.values, nx: g.nx, ny: g.ny, norm, paths };
    });
    this.draw3dFn();
  },

  async hoverAt(px, py) {
    if (!this.grid) return;
    const p = this.toXY(px, py);
    const id = ++this.hover;
    let a;
    try { a = await api('/api/formula/analyse', { formula: $('formula').value, point: p }); } catch (e) { $('cursor-info').textContent = `cursor (${fmt(p[0], 3)}, ${fmt(p[1], 3)}): ${e.message}`; return; }
    if (id !== this.hover) return;
    const g = a.at.gradient;
    $('cursor-info').textContent = `cursor (${fmt(p[0], 3)}, ${fmt(p[1], 3)}): f = ${fmt(a.at.value)}, |∇f|₂ = ${fmt(a.at.gradient_norm)}`;
    const o = $('overlay'), ctx = o.getContext('2d');
    ctx.clearRect(0, 0, o.width, o.height);
    const n = Math.hypot(g[0], g[1]);
    if (n > 0) arrow(ctx, px, py, px - 40 * g[0] / n, py + 40 * g[1] / n, '#fff');
  },
};

function arrow(ctx, x0, y0, x1, y1, color) {
  ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
  const a = Math.atan2(y1 - y0, x1 - x0), s = 9;
  ctx.beginPath(); ctx.moveTo(x1, y1); ctx.lineTo(x1 - s * Math.cos(a - 0.4), y1 - s * Math.sin(a - 0.4)); ctx.lineTo(x1 - s * Math.cos(a + 0.4), y1 - s * Math.sin(a + 0.4)); ctx.fill();
}

function initExplorer() {
  let timer = null;
  const later = (f, ms) => { clearTimeout(timer); timer = setTimeout(f, ms); };
  $('formula').addEventListener('input', () => later(() => Explorer.refresh(), 250));
  $('range').addEventListener('change', () => Explorer.refresh());
  $('lr').addEventListener('input', () => { Explorer.lrValue = Explorer.sliderLr(); $('lr-out').textContent = fmt(Explorer.lr(), 4); later(() => Explorer.descend(), 60); });
  $('momentum').addEventListener('input', () => { $('momentum-out').textContent = $('momentum').value; later(() => Explorer.descend(), 60); });
  $('steps').addEventListener('change', () => Explorer.descend());
  document.querySelectorAll('#optimizers input').forEach((c) => c.addEventListener('change', () => Explorer.descend()));
  document.querySelectorAll('[data-example]').forEach((b) => b.addEventListener('click', () => Explorer.example(b.dataset.example)));
  const o = $('overlay');
  let last = 0;
  o.addEventListener('mousemove', (e) => { const now = performance.now(); if (now - last < 40) return; last = now; Explorer.hoverAt(e.offsetX, e.offsetY); });
  o.addEventListener('click', (e) => {
    if (Explorer.vars.length === 2) Explorer.start = Explorer.toXY(e.offsetX, e.offsetY).map((v) => Number(v.toFixed(4)));
    else Explorer.start = [Number(Explorer.toXY(e.offsetX, e.offsetY)[0].toFixed(4))];
    Explorer.descend();
  });
  const stop = () => { clearInterval(Explorer.timer); Explorer.timer = null; $('play-1d').textContent = 'play'; };
  $('step-1d').addEventListener('click', () => { stop(); Explorer.k++; Explorer.drawBase(); });
  $('reset-1d').addEventListener('click', () => { stop(); Explorer.k = 0; Explorer.drawBase(); });
  $('play-1d').addEventListener('click', () => {
    if (Explorer.timer) return stop();
    $('play-1d').textContent = 'pause';
    Explorer.timer = setInterval(() => {
      const n = Math.max(0, ...Explorer.runs.map((r) => r.points.length - 1));
      if (Explorer.k >= n) return stop();
      Explorer.k++; Explorer.drawBase();
    }, 250);
  });
}

// ---------- network playground ----------

const Play = {
  session: null, data: null, history: [], playing: false, rate: 0, busy: false, gen: 0,
  config() {
    return {
      dataset: $('p-dataset').value, points: Number($('p-points').value), noise: Number($('p-noise').value),
      train_ratio: Number($('p-ratio').value), seed: Number($('p-seed').value),
      hidden: $('p-hidden').value.split(',').map((s) => s.trim()).filter((s) => s).map(Number),
      activation: $('p-activation').value, optimizer: $('p-optimizer').value, lr: Number($('p-lr').value),
      batch_size: Number($('p-batch').value), l2: Number($('p-l2').value),
    };
  },
  saveUrl() {
    if ($('view-play').hidden) return;
    const c = this.config();
    const p = new URLSearchParams({ data: c.dataset, noise: c.noise, ratio: c.train_ratio, points: c.points, seed: c.seed, hidden: c.hidden.join(','), act: c.activation, opt: c.optimizer, lr: c.lr, batch: c.batch_size, l2: c.l2 });
    history.replaceState(null, '', '#play?' + p.toString());
  },
  loadUrl(params) {
    const set = (id, key) => { if (params.has(key)) $(id).value = params.get(key); };
    set('p-dataset', 'data'); set('p-noise', 'noise'); set('p-ratio', 'ratio'); set('p-points', 'points'); set('p-seed', 'seed');
    set('p-hidden', 'hidden'); set('p-activation', 'act'); set('p-optimizer', 'opt'); set('p-lr', 'lr'); set('p-batch', 'batch'); set('p-l2', 'l2');
    $('p-noise-out').textContent = $('p-noise').value; $('p-ratio-out').textContent = $('p-ratio').value;
  },
  error(msg) { $('p-error').hidden = !msg; $('p-error').textContent = msg || ''; },
  async reset() {
    this.pause();
    this.saveUrl();
    const gen = ++this.gen;
    let d;
    try { d = await api('/api/play/new', this.config()); } catch (e) { this.error(e.message); return; }
    if (gen !== this.gen) return;
    this.error(null);
    this.session = d.id; this.data = d; this.history = [];
    $('p-trace').textContent = '';
    this.show(d.report);
  },
  pause() { this.playing = false; $('p-play').textContent = 'play'; $('p-stats').dataset.playing = 'no'; },
  async step(n) {
    if (!this.session || this.busy) return null;
    this.busy = true;
    const gen = this.gen;
    try {
      const r = await api('/api/play/step', { id: this.session, steps: n, boundary: 50 });
      if (gen !== this.gen) return null;
      this.error(null);
      this.show(r);
      return r;
    } catch (e) { this.error(e.message); this.pause(); return null; } finally { this.busy = false; }
  },
  async loop() {
    let t0 = performance.now(), s0 = this.history.length ? this.history[this.history.length - 1].step : 0;
    while (this.playing) {
      const r = await this.step(Math.max(1, Math.min(500, Number($('p-per-frame').value) || 1)));
      if (!r) break;
      $('p-stats').dataset.playing = this.playing ? 'yes' : 'no';
      const dt = (performance.now() - t0) / 1000;
      if (dt > 0.5) { this.rate = (r.step - s0) / dt; t0 = performance.now(); s0 = r.step; }
      await new Promise((ok) => requestAnimationFrame(ok));
    }
  },
  show(r) {
    this.history.push(r);
    if (this.history.length > 3000) this.history.splice(0, this.history.length - 3000);
    const acc = (v) => (100 * v).toFixed(1) + '%';
    $('p-stats').textContent = `step ${r.step} · epoch ${r.epoch} · train loss ${fmt(r.train_loss, 4)} · test loss ${fmt(r.test_loss, 4)} · train acc ${acc(r.train_accuracy)} · test acc ${acc(r.test_accuracy)}` + (this.playing && this.rate ? ` · ${this.rate.toFixed(0)} steps/s` : '');
    $('p-stats').dataset.testAccuracy = r.test_accuracy; $('p-stats').dataset.gradNorms = JSON.stringify(r.grad_norms); $('p-stats').dataset.step = r.step; $('p-stats').dataset.rate = this.rate;
    this.drawBoundary(r);
    const xs = this.history.map((h) => h.step);
    lineChart($('p-loss'), 'loss (cross-entropy)', [
      { name: 'train', color: '#1f77b4', xs, ys: this.history.map((h) => h.train_loss) },
      { name: 'test', color: '#ff7f0e', xs, ys: this.history.map((h) => h.test_loss) }], { xlabel: 'step', y0: 0 });
    this.drawNorms(r);
  },
  drawBoundary(r) {
    const c = $('p-boundary'), ctx = c.getContext('2d'), W = c.width, H = c.height, n = r.boundary_side;
    if (n) {
      const img = ctx.createImageData(W, H);
      for (let py = 0; py < H; py++) for (let px = 0; px < W; px++) {
        const p = r.boundary[Math.floor(py / H * n) * n + Math.floor(px / W * n)];
        const k = 4 * (py * W + px);
        // Class 0 orange, class 1 blue, white at p = 0.5.
        const a = [245, 147, 34], b = [8, 119, 189], t = Math.abs(p - 0.5) * 2, col = p < 0.5 ? a : b;
        img.data[k] = 255 + t * (col[0] - 255) * 0.7; img.data[k + 1] = 255 + t * (col[1] - 255) * 0.7; img.data[k + 2] = 255 + t * (col[2] - 255) * 0.7; img.data[k + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    }
    const E = this.data.extent, X = (x) => (x + E) / (2 * E) * W, Y = (y) => (E - y) / (2 * E) * H;
    for (const [pts, filled] of [[this.data.train, true], [this.data.test, false]]) for (const [x, y, cl] of pts) {
      ctx.beginPath(); ctx.arc(X(x), Y(y), 3.2, 0, 7);
      const col = cl ? '#0877bd' : '#f59322';
      if (filled) { ctx.fillStyle = col; ctx.fill(); ctx.strokeStyle = '#fff'; ctx.lineWidth = 0.8; ctx.stroke(); } else { ctx.strokeStyle = col; ctx.lineWidth = 1.5; ctx.stroke(); }
    }
  },
  drawNorms(r) {
    const xs = this.history.map((h) => h.step);
    const n = r.grad_norms.length;
    const series = r.grad_norms.map((_, l) => {
      const c = viridis(n > 1 ? l / (n - 1) : 0);
      return { name: l === 0 ? 'layer 1 (input)' : l === n - 1 ? `layer ${n} (output)` : n <= 4 ? `layer ${l + 1}` : '', color: `rgb(${c[0] | 0},${c[1] | 0},${c[2] | 0})`, xs, ys: this.history.map((h) => h.grad_norms[l]) };
    });
    lineChart($('p-norms'), 'per-layer gradient norm ‖∂L/∂W‖₂ (log scale)', series, { log: true, xlabel: 'step' });
  },
  async trace(px, py) {
    if (!this.data) return;
    const c = $('p-boundary'), E = this.data.extent;
    const x = px / c.width * 2 * E - E, y = E - py / c.height * 2 * E;
    let best = -1, bd = Infinity;
    this.data.train.forEach(([a, b], i) => { const d = (a - x) ** 2 + (b - y) ** 2; if (d < bd) { bd = d; best = i; } });
    if (best < 0) return;
    let t;
    try { t = await api('/api/play/trace', { id: this.session, index: best }); } catch (e) { this.error(e.message); return; }
    const v = (a) => '[' + a.map((q) => fmt(q, 4)).join(', ') + ']';
    let out = `Backprop trace of training point #${t.index} at (${fmt(t.input[0], 4)}, ${fmt(t.input[1], 4)}), class ${t.label}: loss ${fmt(t.loss, 6)}, ${t.recorded_nodes} recorded nodes\n\nforward:\n`;
    t.layers.forEach((l, k) => { out += `  ${l.layer}  z = W·h + b = ${v(l.z)}\n  ${' '.repeat(l.layer.length)}  a = ${l.activation}(z) = ${v(l.a)}\n`; });
    out += '\nbackward (adjoints, output layer first):\n';
    [...t.layers].reverse().forEach((l) => { out += `  ${l.layer}  ∂L/∂a = ${v(l.da)}\n  ${' '.repeat(l.layer.length)}  ∂L/∂z = ${v(l.dz)}\n`; });
    $('p-trace').textContent = out;
  },
};

function initPlay() {
  $('p-noise').addEventListener('input', () => { $('p-noise-out').textContent = $('p-noise').value; });
  $('p-ratio').addEventListener('input', () => { $('p-ratio-out').textContent = $('p-ratio').value; });
  for (const id of ['p-dataset', 'p-noise', 'p-ratio', 'p-points', 'p-seed', 'p-hidden', 'p-activation', 'p-optimizer', 'p-lr', 'p-batch', 'p-l2']) $(id).addEventListener('change', () => Play.reset());
  $('p-play').addEventListener('click', () => {
    if (Play.playing) return Play.pause();
    Play.playing = true; $('p-play').textContent = 'pause'; Play.loop();
  });
  $('p-step').addEventListener('click', () => { Play.pause(); Play.step(1); });
  $('p-reset').addEventListener('click', () => Play.reset());
  $('p-deep').addEventListener('click', () => { $('p-hidden').value = '8,8,8,8,8,8,8,8,8,8'; $('p-activation').value = 'sigmoid'; $('p-optimizer').value = 'sgd'; $('p-lr').value = '0.3'; Play.reset(); });
  $('p-boundary').addEventListener('click', (e) => Play.trace(e.offsetX, e.offsetY));
}

// ---------- training dashboard ----------

const Dashboard = {
  started: false, landscape: null,
  async start() {
    if (this.started) return;
    this.started = true;
    let info;
    try { info = await api('/api/run'); } catch (e) { $('d-status').textContent = e.message; return; }
    if (!info.metrics && !info.landscape) {
      $('d-status').textContent = 'No run to show. Start with  discesa serve --run runs/NAME/metrics.csv  (or a landscape output directory), or train with  discesa train … --metrics FILE --serve.';
      return;
    }
    if (info.metrics) this.follow(info.metrics);
    if (info.landscape) this.showLandscape(info.landscape);
  },
  follow(file) {
    $('d-metrics').hidden = false;
    $('d-status').textContent = `Following ${file} …`;
    const es = new EventSource('/api/run/events');
    es.addEventListener('metrics', (ev) => {
      const m = JSON.parse(ev.data);
      if (m.error) { $('d-status').textContent = m.error; return; }
      this.draw(m);
      $('d-status').textContent = `${m.file}: ${m.records.length} epochs (live; updated ${new Date().toLocaleTimeString()})`;
      $('d-status').dataset.epochs = m.records.length;
    });
    es.onerror = () => { $('d-status').textContent += ' — connection lost, retrying'; };
  },
  draw(m) {
    const R = m.records, xs = R.map((r) => r.epoch);
    const col = (k) => R.map((r) => r[k] === undefined ? null : r[k]);
    lineChart($('d-loss'), 'loss', [{ name: 'train', color: '#1f77b4', xs, ys: col('train_loss') }, { name: 'validation', color: '#ff7f0e', xs, ys: col('val_loss') }], { xlabel: 'epoch' });
    lineChart($('d-acc'), 'accuracy (or MAE for regression)', [{ name: 'train', color: '#1f77b4', xs, ys: col('train_metric') }, { name: 'validation', color: '#ff7f0e', xs, ys: col('val_metric') }], { xlabel: 'epoch' });
    lineChart($('d-lr'), 'learning rate', [{ name: 'lr', color: '#2ca02c', xs, ys: col('lr') }], { xlabel: 'epoch' });
    lineChart($('d-sps'), 'samples per second', [{ name: 'samples/s', color: '#9467bd', xs, ys: col('samples_per_second') }], { xlabel: 'epoch', y0: 0 });
    const n = Math.max(0, ...R.map((r) => (r.grad_norms || []).length));
    const series = [];
    for (let l = 0; l < n; l++) { const c = viridis(n > 1 ? l / (n - 1) : 0); series.push({ name: m.layers[l] || `layer ${l + 1}`, color: `rgb(${c[0] | 0},${c[1] | 0},${c[2] | 0})`, xs, ys: R.map((r) => (r.grad_norms || [])[l] ?? null) }); }
    lineChart($('d-norms'), 'per-layer gradient norm (log scale; train with --grad-norms)', series, { log: true, xlabel: 'epoch' });
  },
  async showLandscape(dir) {
    $('d-landscape').hidden = false;
    let d;
    try { d = await api('/api/run/landscape'); } catch (e) { $('d-status').textContent = e.message; return; }
    this.landscape = d;
    $('d-settings').textContent = `${dir}\nshape ${JSON.stringify(d.shape)}\n\nlandscape.json:\n${JSON.stringify(d.settings, null, 2)}`;
    const c = $('d-contour'), ctx = c.getContext('2d');
    if (d.shape.length === 2) {
      const norm = normaliser(d.loss);
      drawField(ctx, d.loss, d.shape[1], d.shape[0], c.width, c.height, norm, 16);
      ctx.fillStyle = '#fff'; ctx.font = '11px system-ui';
      ctx.fillText(`x ∈ [${fmt(d.x[0], 3)}, ${fmt(d.x[d.x.length - 1], 3)}], y ∈ [${fmt(d.y[0], 3)}, ${fmt(d.y[d.y.length - 1], 3)}], loss ${fmt(norm.lo, 4)} … ${fmt(norm.hi, 4)}`, 6, c.height - 6);
      surfaceView($('d-surface'), () => ({ grid: d.loss, nx: d.shape[1], ny: d.shape[0], norm, paths: [] }))();
    } else {
      lineChart(c, 'loss along the direction', [{ name: 'loss', color: '#1f77b4', xs: d.x, ys: d.loss }], { xlabel: 'α' });
      $('d-surface').hidden = true;
    }
    if (!$('d-status').textContent) $('d-status').textContent = `Landscape of ${dir}`;
  },
};

// ---------- start ----------

function route() {
  const { view, params } = parseHash();
  const name = ['explorer', 'play', 'dashboard'].includes(view) ? view : 'explorer';
  if (name === 'play' && params.size) Play.loadUrl(params);
  showView(name);
}

initExplorer();
initPlay();
document.querySelectorAll('nav a').forEach((a) => a.addEventListener('click', (e) => { e.preventDefault(); history.replaceState(null, '', '#' + a.dataset.view); showView(a.dataset.view); }));
{
  const { view, params } = parseHash();
  if (view === 'explorer') Explorer.loadUrl(params);
  if (view === 'play') Play.loadUrl(params);
}
route();
Explorer.refresh();
// For the browser tests and the curious: the state of each view.
Object.assign(window, { Explorer, Play, Dashboard });
