// pinnbilo playground page: controls, polling of the server's snapshot, and canvas drawing.
// Plain JavaScript, no dependencies: the page works offline.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const POLL_MS = 150;
const COLORS = { bilo: "#1f77b4", pinn: "#d62728", pos: [33, 102, 172], neg: [230, 97, 1], mid: [247, 247, 247] };
const LOSS_COLORS = { total: "#111", res: "#1f77b4", rgrad: "#2ca02c", data: "#ff7f0e", reg: "#9467bd" };
const GROUPS = [
  ["Problem", ["equation", "u0", "a_init", "a_true", "b_init", "b_true", "c_init", "c_true", "n_res", "interior", "n_data", "noise", "seed"]],
  ["Method", ["method", "compare", "phase", "pretrain_steps"]],
  ["Training", ["lr", "lr_a", "lr_half_life", "w_res", "w_rgrad", "w_data", "w_reg", "steps_per_frame"]],
  ["Network", ["layers", "neurons", "activation"]],
];

// On a short screen (a 1280x720 projector, a phone) the plots come first: the network view starts
// folded and opens with a click on its title.
if (window.innerHeight < 900) document.getElementById("panel-net").open = false;
// A folded view is not drawn (its canvases have no size): draw it when it opens.
document.getElementById("panel-net").addEventListener("toggle", (e) => {
  if (e.target.open && state) renderNetworks();
});

let meta = null;
let session = null;
let state = null;
let lastVersion = -1;
let pollTimer = null;
let shownConfig = null; // the latest config the server confirmed

// ---- server calls ---------------------------------------------------------------------------
async function api(path, opts = {}) {
  const headers = Object.assign({ "X-Pinnbilo-Token": TOKEN }, opts.headers || {});
  let res;
  try {
    res = await fetch(path, Object.assign({}, opts, { headers }));
  } catch (e) {
    throw new Error("the playground server is not reachable (stopped?)");
  }
  if (!res.ok) {
    let msg = res.status + " " + res.statusText;
    try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON */ }
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return res;
}

async function post(path, body) {
  const res = await api(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  return res.json();
}

function showError(msg) {
  const el = document.getElementById("error");
  el.textContent = msg || "";
  el.hidden = !msg;
}

// An information notice ("models rebuilt", "reset") shows for NOTICE_MS after it first arrives,
// then clears; errors stay (showError).
const NOTICE_MS = 6000;
let noticeText = "";
let noticeSince = 0;
function showNotice(msg) {
  msg = msg || "";
  if (msg !== noticeText) {
    noticeText = msg;
    noticeSince = Date.now();
    if (msg) setTimeout(() => showNotice(noticeText), NOTICE_MS + 50);
  }
  const fresh = !!msg && Date.now() - noticeSince < NOTICE_MS;
  const el = document.getElementById("notice");
  el.textContent = fresh ? msg : "";
  el.hidden = !fresh;
}

// ---- controls -------------------------------------------------------------------------------
function paramName() { return state ? state.param : "a"; }

// A system's fields (Lotka-Volterra's x and y): the server sends a system's solution, data and
// views as one list per field. Every curve of field j carries marker FIELD_MARKS[j] (hollow on
// the lines, filled on the data), so a method keeps its colour and a kind of curve its line
// style, as with one field.
const FIELD_MARKS = ["circle", "square", "triangle", "diamond"];
function fieldNames() { return (state && state.fields) || ["u"]; }
function isSystem() { return fieldNames().length > 1; }
function perField(v) { return v === null || v === undefined ? v : isSystem() ? v : [v]; }
function fieldMark(j) { return isSystem() ? FIELD_MARKS[j % FIELD_MARKS.length] : undefined; }
// The legend's entries for the fields' markers (none for one field).
function fieldLegend() {
  return isSystem() ? fieldNames().map((f, j) => ({ color: "#555", dots: true, marker: fieldMark(j), label: f })) : [];
}
function fieldsText() { return fieldNames().join(", "); }

// The equation now shown (from the snapshot, or the catalogue before the first one).
function equationNow() {
  const cfg = shownConfig || (state && state.config) || meta.defaults;
  const name = cfg.equation;
  return meta.equations.find((e) => e.name === name) || meta.equations[0];
}

// Parameter controls are slots a, b, c: the page names them after the equation's parameters.
function slotParam(name) {
  const m = /^([abc])_(init|true)$/.exec(name);
  if (!m) return null;
  const i = "abc".indexOf(m[1]);
  const eq = equationNow();
  return { param: eq.params[i], kind: m[2] };
}

function labelFor(c) {
  const s = slotParam(c.name);
  if (s) return (s.kind === "init" ? "initial " : "true ") + (s.param || c.name[0]);
  if (c.name === "lr_a") {
    const eq = equationNow();
    return "learning rate (" + (eq.params.concat(eq.functions).join(", ") || "parameters") + ")";
  }
  if (c.name === "n_res" && equationNow().coords.length > 1) return "residual points per axis";
  return c.label;
}

// A control's tooltip: the server's sentence, with the parameter's own name and the allowed range.
function tipFor(c) {
  const s = slotParam(c.name);
  let tip = c.help || c.label;
  if (s && s.param) tip = tip.replace("this parameter", s.param);
  if (c.kind === "int" || c.kind === "float") tip += " (" + formatNumber(c.min) + " to " + formatNumber(c.max) + ")";
  return tip;
}

// Whether a control means something for the equation shown (others are hidden).
function relevant(c) {
  const eq = equationNow();
  const s = slotParam(c.name);
  if (s) return !!s.param;
  if (c.name === "lr_a") return eq.params.length + eq.functions.length > 0;
  if (c.name === "u0") return eq.has_u0;
  if (c.name === "w_reg") return eq.functions.length > 0;
  if (c.name === "w_rgrad" || c.name === "pretrain_steps") {
    // BiLO's own controls: shown when BiLO trains (alone or side by side with PINN).
    const cfg = shownConfig || (state && state.config) || meta.defaults;
    return cfg.method === "bilo" || !!cfg.compare;
  }
  return true;
}

// Guided presets: a menu and the chosen preset's sentences; choosing one sets every control
// (its equation's defaults, then the preset's changes), so the run is the same whatever came before.
function buildPresets(aside) {
  if (!meta.presets || !meta.presets.length) return;
  const fs = document.createElement("fieldset");
  fs.innerHTML = '<legend>Presets</legend><select id="ctl-preset" title="a guided example: sets every control"></select>' +
    '<p id="preset-text" class="preset-text muted"></p>';
  const sel = fs.querySelector("select");
  sel.appendChild(new Option("choose an example...", ""));
  for (const p of meta.presets) sel.appendChild(new Option(p.title, p.name));
  sel.addEventListener("change", () => applyPreset(sel.value));
  aside.appendChild(fs);
}

async function applyPreset(name) {
  const p = meta.presets.find((q) => q.name === name);
  const text = document.getElementById("preset-text");
  if (!p) { text.textContent = ""; return; }
  try {
    const r = await post("/api/config", { session, changes: p.settings });
    showError("");
    fillControls(r.config);
    text.textContent = p.text;
    document.body.dataset.preset = p.name;
    poll(true);
  } catch (e) {
    showError("preset " + p.title + ": " + e.message);
  }
}

function buildControls() {
  const aside = document.getElementById("controls");
  const byName = Object.fromEntries(meta.controls.map((c) => [c.name, c]));
  buildPresets(aside);
  for (const [title, names] of GROUPS) {
    const fs = document.createElement("fieldset");
    const lg = document.createElement("legend");
    lg.textContent = title;
    fs.appendChild(lg);
    for (const name of names) {
      const c = byName[name];
      if (!c) continue;
      const row = document.createElement("div");
      row.className = name === "equation" ? "ctl wide" : "ctl";
      row.id = "row-" + name;
      const label = document.createElement("label");
      label.htmlFor = "ctl-" + name;
      label.id = "lbl-" + name;
      label.textContent = labelFor(c);
      let input;
      if (c.kind === "choice") {
        input = document.createElement("select");
        const labels = name === "equation" ? Object.fromEntries(meta.equations.map((e) => [e.name, e.label])) : {};
        for (const ch of c.choices) {
          const o = document.createElement("option");
          o.value = ch;
          o.textContent = labels[ch] || ({ bilo: "BiLO", pinn: "PINN" }[ch] || ch);
          input.appendChild(o);
        }
      } else if (c.kind === "bool") {
        input = document.createElement("input");
        input.type = "checkbox";
      } else {
        input = document.createElement("input");
        input.type = "text";
        input.inputMode = "decimal";
      }
      row.title = label.title = input.title = tipFor(c);
      input.id = "ctl-" + name;
      input.name = name;
      input.addEventListener("change", () => sendControl(c, input));
      row.appendChild(label);
      row.appendChild(input);
      fs.appendChild(row);
    }
    aside.appendChild(fs);
  }
  if (meta.unsupported && meta.unsupported.length) {
    const p = document.createElement("p");
    p.className = "muted";
    const byReason = {};
    for (const u of meta.unsupported) (byReason[u.reason] = byReason[u.reason] || []).push(u.name);
    p.textContent = "Not shown here: " + Object.entries(byReason).map(([r, names]) => names.join(", ") + " (" + r + ")").join("; ");
    aside.appendChild(p);
  }
}

function readControl(c, input) {
  if (c.kind === "bool") return input.checked;
  if (c.kind === "choice") return input.value;
  const s = input.value.trim();
  const v = Number(s);
  // Send what was typed when it is not a number, so the server's message can quote it.
  return s !== "" && Number.isFinite(v) ? v : s;
}

// Controls whose change is on its way to the server: a snapshot taken before the server applied
// it must not put the old value back under the user's hand.
const pendingControls = new Set();

async function sendControl(c, input) {
  const changes = { [c.name]: readControl(c, input) };
  pendingControls.add(c.name);
  try {
    const r = await post("/api/config", { session, changes });
    pendingControls.delete(c.name);
    input.classList.remove("bad");
    showError("");
    fillControls(r.config);
    poll(true);
  } catch (e) {
    pendingControls.delete(c.name);
    input.classList.add("bad");
    showError(c.label + ": " + e.message);
  }
}

function formatNumber(v) {
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

function fillControls(cfg) {
  shownConfig = cfg;
  settingsToHash(cfg);
  for (const c of meta.controls) {
    const input = document.getElementById("ctl-" + c.name);
    if (!input || !(c.name in cfg)) continue;
    const lbl = document.getElementById("lbl-" + c.name);
    if (lbl) lbl.textContent = labelFor(c);
    const row = document.getElementById("row-" + c.name);
    if (row && lbl && row.title !== tipFor(c)) row.title = input.title = lbl.title = tipFor(c); // names follow the equation
    if (row) row.hidden = !relevant(c);
    if (document.activeElement === input && input.type === "text") continue;
    if (pendingControls.has(c.name)) continue;
    if (c.kind === "bool") input.checked = !!cfg[c.name];
    else if (c.kind === "choice") input.value = cfg[c.name];
    else input.value = formatNumber(cfg[c.name]);
    input.classList.remove("bad");
  }
}

// ---- transport ------------------------------------------------------------------------------
async function control(action) {
  try {
    await post("/api/control", { session, action });
    showError("");
    poll(true);
  } catch (e) {
    showError(e.message);
  }
}

async function saveModel() {
  try {
    const res = await api("/api/save?session=" + encodeURIComponent(session));
    const blob = await res.blob();
    const cd = res.headers.get("Content-Disposition") || "";
    const m = /filename="([^"]+)"/.exec(cd);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = m ? m[1] : "pinnbilo-model.npz";
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    showError("");
  } catch (e) {
    showError("save: " + e.message);
  }
}

async function loadModel(file) {
  try {
    const body = await file.arrayBuffer();
    const res = await api("/api/load?session=" + encodeURIComponent(session), {
      method: "POST", headers: { "Content-Type": "application/octet-stream" }, body,
    });
    const r = await res.json();
    fillControls(r.config);
    showError("");
    poll(true);
  } catch (e) {
    showError("load " + file.name + ": " + e.message);
  }
}

// ---- polling --------------------------------------------------------------------------------
async function poll(once) {
  if (!once) clearTimeout(pollTimer);
  try {
    const res = await api("/api/state?session=" + encodeURIComponent(session) + "&since=" + lastVersion);
    const s = await res.json();
    if (!s.unchanged && s.version !== lastVersion) {
      lastVersion = s.version;
      state = s;
      render();
    }
  } catch (e) {
    if (e.status === 404) { showError(e.message); return; }
    showError(e.message);
  }
  if (!once) pollTimer = setTimeout(() => poll(false), POLL_MS);
}

// ---- rendering ------------------------------------------------------------------------------
function render() {
  if (!state || !state.models) {
    if (state && state.notice) showNotice(state.notice.error || state.notice.info || "");
    return;
  }
  const btn = document.getElementById("btn-play");
  btn.classList.toggle("running", state.running);
  btn.textContent = state.running ? "\u275A\u275A pause" : "\u25B6 play";
  document.getElementById("run-state").textContent = state.running ? "training" : "paused";
  if (state.notice && state.notice.error) showError(state.notice.error);
  showNotice(state.notice && state.notice.info ? state.notice.info : "");
  for (const el of document.querySelectorAll(".pname")) el.textContent = state.params.map((p) => p.name).join(", ") || "parameters";
  for (const el of document.querySelectorAll(".cname")) el.textContent = state.coord;
  const u0 = document.getElementById("ctl-u0");
  if (u0) {
    u0.disabled = !state.has_u0;
    const c = meta.controls.find((x) => x.name === "u0");
    u0.title = state.has_u0 ? tipFor(c) : "this equation has no initial value";
  }
  fillControls(state.config);
  renderReadouts();
  document.getElementById("net-axes").textContent = axesText(state.models[0].network, false);
  renderNetworks();
  renderPrediction();
  renderLosses();
  renderParams();
  renderFunctions();
  renderError();
  renderVariation();
}

function fmt(v, d = 4) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toPrecision(d + 1);
}

function renderReadouts() {
  const box = document.getElementById("readouts");
  box.replaceChildren();
  state.models.forEach((m, i) => {
    const d = document.createElement("div");
    d.className = "readout " + m.method;
    d.id = "readout-" + i;
    d.dataset.method = m.method;
    d.dataset.step = m.step;
    d.dataset.a = m.a === null ? "" : m.a;
    d.dataset.loss = m.losses.total === undefined || m.losses.total === null ? "" : m.losses.total;
    const b = document.createElement("b");
    b.textContent = m.name;
    d.appendChild(b);
    const ps = state.params.map((p) => p.name + " = " + fmt(m.params[p.name], 5) + " (true " + fmt(p.true, 5) + ")");
    const fs = state.functions.map((f) => f.name + "(" + f.coord + ") error " + fmt(m.functions[f.name].error, 2));
    d.appendChild(document.createTextNode(
      "step " + m.step + "   " + ps.concat(fs).join("   ") + "   loss " +
      fmt(m.losses.total, 2) + "   hidden " + m.hidden.join("\u00D7") + " " + m.activation));
    box.appendChild(d);
  });
}

// Canvas sized to its CSS box at the device pixel ratio; returns a context in CSS pixels.
function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 400;
  const h = canvas.clientHeight || 240;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

function colorOf(v) {
  // v in [-1, 1]: orange (negative) - light grey - blue (positive).
  const t = Math.min(1, Math.abs(v));
  const end = v >= 0 ? COLORS.pos : COLORS.neg;
  return COLORS.mid.map((m, k) => Math.round(m + (end[k] - m) * t));
}

function heatImage(b64, cols, rows) {
  const bytes = atob(b64);
  const c = document.createElement("canvas");
  c.width = cols;
  c.height = rows;
  const cx = c.getContext("2d");
  const img = cx.createImageData(cols, rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const v = bytes.charCodeAt(r * cols + j) / 127.5 - 1;
      const [R, G, B] = colorOf(v);
      const o = ((rows - 1 - r) * cols + j) * 4; // larger row values upwards
      img.data[o] = R; img.data[o + 1] = G; img.data[o + 2] = B; img.data[o + 3] = 255;
    }
  }
  cx.putImageData(img, 0, 0);
  return c;
}

function renderNetworks() {
  const box = document.getElementById("networks");
  while (box.children.length > state.models.length) box.lastChild.remove();
  state.models.forEach((m, i) => {
    let div = box.children[i];
    if (!div) {
      div = document.createElement("div");
      div.className = "net";
      div.innerHTML = "<h3></h3><canvas></canvas>";
      box.appendChild(div);
    }
    div.id = "net-" + i;
    const n = m.network;
    div.querySelector("h3").textContent = m.name + ": inputs (" + n.inputs.join(", ") + "); " + axesText(n, true);
    drawNetwork(div.querySelector("canvas"), m);
  });
}

// What a neuron's heatmap shows: columns over the first coordinate; rows over the second
// coordinate, a parameter's window, or an unknown function's values scaled (none: a strip).
function axesText(n, ranges) {
  const r = (lo, hi) => (ranges ? " in [" + fmt(lo, 3) + ", " + fmt(hi, 3) + "]" : "");
  let text = n.inputs[0] + r(n.t_range[0], n.t_range[1]) + " (x axis)";
  if (n.row_kind === "coord") text += ", " + n.row_name + r(n.row_range[0], n.row_range[1]) + " (y axis)";
  else if (n.row_kind === "param") text += ", " + n.row_name + r(n.row_range[0], n.row_range[1]) + " (y axis, \u00B150% of the current value)";
  else if (n.row_kind === "function") text += ", " + n.row_name + "(" + n.inputs[0] + ") scaled by 0.5 to 1.5 (y axis)";
  const fixed = n.inputs.slice(1).filter((x) => x !== n.row_name);
  if (fixed.length) text += "; " + fixed.join(", ") + " at " + (fixed.length > 1 ? "their" : "its") + " current value" + (fixed.length > 1 ? "s" : "");
  return text;
}

function drawNetwork(canvas, m) {
  const { ctx, w, h } = prepare(canvas);
  const n = m.network;
  const L = n.layers.length;
  const maxShown = Math.max(...n.layers.map((l) => l.shown.length));
  const top = 22, bottom = 18;
  const size = Math.max(10, Math.min(34, (h - top - bottom) / maxShown - 4));
  const colX = (li) => 30 + (w - 60 - size) * (L === 1 ? 0 : li / (L - 1));
  const rowY = (li, k) => {
    const cnt = n.layers[li].shown.length;
    const span = cnt * (size + 4) - 4;
    return top + (h - top - bottom - span) / 2 + k * (size + 4);
  };
  // Edges under the neurons: colour by sign, width and opacity by |w|.
  const wmax = Math.max(1e-12, ...n.edges.map((E) => Math.max(0, ...E.map((r) => Math.max(0, ...r.map(Math.abs))))));
  for (let li = 0; li < n.edges.length; li++) {
    const E = n.edges[li];
    for (let j = 0; j < E.length; j++) {
      for (let k = 0; k < E[j].length; k++) {
        const v = E[j][k] / wmax;
        const [R, G, B] = v >= 0 ? COLORS.pos : COLORS.neg;
        ctx.strokeStyle = "rgba(" + R + "," + G + "," + B + "," + (0.15 + 0.85 * Math.abs(v)).toFixed(3) + ")";
        ctx.lineWidth = 0.4 + 3 * Math.abs(v);
        ctx.beginPath();
        ctx.moveTo(colX(li) + size, rowY(li, k) + size / 2);
        ctx.lineTo(colX(li + 1), rowY(li + 1, j) + size / 2);
        ctx.stroke();
      }
    }
  }
  ctx.imageSmoothingEnabled = false;
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "center";
  n.layers.forEach((layer, li) => {
    const x = colX(li);
    const title = li === 0 ? "input" : li === L - 1 ? "output N" : "hidden " + li + " (" + layer.width + ")";
    ctx.fillStyle = "#444";
    ctx.fillText(title, x + size / 2, 12);
    layer.heat.forEach((b64, k) => {
      const y = rowY(li, k);
      ctx.drawImage(heatImage(b64, n.grid, n.rows), x, y, size, size);
      ctx.strokeStyle = "#999";
      ctx.lineWidth = 1;
      ctx.strokeRect(x + 0.5, y + 0.5, size - 1, size - 1);
      if (li === 0) {
        ctx.fillStyle = "#222";
        ctx.textAlign = "right";
        ctx.fillText(n.inputs[k], x - 4, y + size / 2 + 4);
        ctx.textAlign = "center";
      }
    });
    if (layer.width > layer.shown.length) {
      ctx.fillStyle = "#666";
      ctx.fillText("+" + (layer.width - layer.shown.length) + " more", x + size / 2, h - 4);
    }
  });
}

// ---- line plots -----------------------------------------------------------------------------
function niceTicks(lo, hi, count) {
  if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
  const raw = (hi - lo) / count;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((f) => f * p).find((s) => s >= raw) || 10 * p;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Math.abs(v) < 1e-12 * step ? 0 : v);
  return out;
}

function tickLabel(v) {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(0) : String(Number(v.toPrecision(4)));
}

// series: [{x, y, color, dash, width, dots, label}]; opts: {logy, xlabel, hlines}
function linePlot(canvas, series, opts = {}) {
  const { ctx, w, h } = prepare(canvas);
  const padL = 52, padR = 10, padT = 8, padB = 30;
  const tf = opts.logy ? (v) => (v > 0 ? Math.log10(v) : null) : (v) => v;
  let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const y = s.y[i] === null ? null : tf(s.y[i]);
      if (y === null || !Number.isFinite(y) || !Number.isFinite(s.x[i])) continue;
      xlo = Math.min(xlo, s.x[i]); xhi = Math.max(xhi, s.x[i]);
      ylo = Math.min(ylo, y); yhi = Math.max(yhi, y);
    }
  }
  for (const hl of opts.hlines || []) { const y = tf(hl.y); if (y !== null) { ylo = Math.min(ylo, y); yhi = Math.max(yhi, y); } }
  // Nothing drawn yet (step 0): an empty x range, but the reference lines (a true value) still
  // set the y range, so they show from the start.
  if (!Number.isFinite(xlo)) { xlo = 0; xhi = 1; }
  if (!Number.isFinite(ylo)) { ylo = 0; yhi = 1; }
  if (xhi === xlo) xhi = xlo + 1;
  if (yhi === ylo) { yhi += 0.5; ylo -= 0.5; }
  const ypad = 0.05 * (yhi - ylo);
  ylo -= ypad; yhi += ypad;
  const X = (x) => padL + (x - xlo) / (xhi - xlo) * (w - padL - padR);
  const Y = (y) => padT + (1 - (y - ylo) / (yhi - ylo)) * (h - padT - padB);
  // axes and ticks
  ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#555"; ctx.lineWidth = 1; ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "right";
  const yt = opts.logy ? niceTicks(Math.floor(ylo), Math.ceil(yhi), 5).filter((v) => Number.isInteger(v)) : niceTicks(ylo, yhi, 5);
  for (const v of yt) {
    if (v < ylo || v > yhi) continue;
    ctx.beginPath(); ctx.moveTo(padL, Y(v)); ctx.lineTo(w - padR, Y(v)); ctx.stroke();
    ctx.fillText(opts.logy ? "1e" + v : tickLabel(v), padL - 4, Y(v) + 3);
  }
  ctx.textAlign = "center";
  for (const v of niceTicks(xlo, xhi, 6)) {
    ctx.beginPath(); ctx.moveTo(X(v), padT); ctx.lineTo(X(v), h - padB); ctx.stroke();
    ctx.fillText(tickLabel(v), X(v), h - padB + 12);
  }
  if (opts.xlabel) ctx.fillText(opts.xlabel, (padL + w - padR) / 2, h - 4);
  if (opts.title) {
    ctx.save();
    ctx.textAlign = "left"; ctx.fillStyle = "#222"; ctx.font = "bold 11px system-ui, sans-serif";
    ctx.fillText(opts.title, padL + 6, padT + 13);
    ctx.restore();
  }
  ctx.strokeStyle = "#888";
  ctx.strokeRect(padL + 0.5, padT + 0.5, w - padL - padR - 1, h - padT - padB - 1);
  ctx.save();
  ctx.beginPath(); ctx.rect(padL, padT, w - padL - padR, h - padT - padB); ctx.clip();
  for (const hl of opts.hlines || []) {
    const y = tf(hl.y);
    if (y === null) continue;
    ctx.strokeStyle = hl.color; ctx.setLineDash([6, 4]); ctx.lineWidth = 1.2;
    ctx.beginPath(); ctx.moveTo(padL, Y(y)); ctx.lineTo(w - padR, Y(y)); ctx.stroke();
  }
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = s.width || 1.5; ctx.setLineDash(s.dash || []);
    if (s.dots) {
      for (let i = 0; i < s.x.length; i++) {
        const y = s.y[i] === null ? null : tf(s.y[i]);
        if (y === null) continue;
        if (s.marker) { drawMark(ctx, s.marker, X(s.x[i]), Y(y), 3.2, true, s.color); continue; }
        ctx.beginPath(); ctx.arc(X(s.x[i]), Y(y), 2.5, 0, 2 * Math.PI); ctx.fill();
      }
      continue;
    }
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < s.x.length; i++) {
      const y = s.y[i] === null ? null : tf(s.y[i]);
      if (y === null || !Number.isFinite(y)) { pen = false; continue; }
      if (pen) ctx.lineTo(X(s.x[i]), Y(y)); else ctx.moveTo(X(s.x[i]), Y(y));
      pen = true;
    }
    ctx.stroke();
    if (s.marker) {
      // A field's marker on its line, about every eighth of the curve (hollow: data are filled).
      ctx.setLineDash([]); ctx.lineWidth = 1.2;
      const every = Math.max(1, Math.round(s.x.length / 8));
      for (let i = s.markOffset || 0; i < s.x.length; i += every) {
        const y = s.y[i] === null ? null : tf(s.y[i]);
        if (y !== null && Number.isFinite(y)) drawMark(ctx, s.marker, X(s.x[i]), Y(y), 3.2, false, s.color);
      }
    }
  }
  ctx.restore();
  ctx.setLineDash([]);
  // legend: in an element of its own above the plot (never over the data) when opts.legendEl is given
  const items = opts.legend || series.filter((s) => s.label).concat((opts.hlines || []).filter((s) => s.label).map((s) => Object.assign({ dash: [6, 4] }, s)));
  if (opts.legendEl) { htmlLegend(opts.legendEl, items); return; }
  ctx.textAlign = "left"; ctx.font = "10px system-ui, sans-serif";
  let ly = padT + 12;
  const lx = w - padR - 130;
  if (items.length) {
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(lx - 6, padT + 2, 134, items.length * 13 + 4);
  }
  for (const it of items) {
    ctx.strokeStyle = it.color; ctx.fillStyle = it.color; ctx.lineWidth = it.width || 1.5; ctx.setLineDash(it.dash || []);
    if (it.dots) { ctx.beginPath(); ctx.arc(lx + 10, ly - 3, 2.5, 0, 2 * Math.PI); ctx.fill(); }
    else { ctx.beginPath(); ctx.moveTo(lx, ly - 3); ctx.lineTo(lx + 20, ly - 3); ctx.stroke(); }
    ctx.setLineDash([]);
    ctx.fillStyle = "#222";
    ctx.fillText(it.label, lx + 26, ly);
    ly += 13;
  }
}

// A field's marker at (x, y), radius r: filled (data) or hollow on white (on a line).
function drawMark(ctx, shape, x, y, r, filled, color) {
  ctx.beginPath();
  if (shape === "square") ctx.rect(x - r * 0.85, y - r * 0.85, 1.7 * r, 1.7 * r);
  else if (shape === "triangle") { ctx.moveTo(x, y - r * 1.1); ctx.lineTo(x + r, y + r * 0.75); ctx.lineTo(x - r, y + r * 0.75); ctx.closePath(); }
  else if (shape === "diamond") { ctx.moveTo(x, y - r * 1.2); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r * 1.2); ctx.lineTo(x - r, y); ctx.closePath(); }
  else ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.fillStyle = filled ? color : "#fff";
  ctx.strokeStyle = color;
  ctx.fill();
  ctx.stroke();
}

// The same markers as SVG for the HTML legends (centre 11, 5 in a 22 x 10 swatch).
function svgMark(shape, color, filled) {
  const f = filled ? color : "#fff";
  const attrs = ' fill="' + f + '" stroke="' + color + '" stroke-width="1.2"';
  if (shape === "square") return '<rect x="8" y="2" width="6" height="6"' + attrs + "/>";
  if (shape === "triangle") return '<polygon points="11,1.5 14.5,8 7.5,8"' + attrs + "/>";
  if (shape === "diamond") return '<polygon points="11,0.8 14.5,5 11,9.2 7.5,5"' + attrs + "/>";
  return '<circle cx="11" cy="5" r="3"' + attrs + "/>";
}

// A legend as HTML (outside the plot, wrapping on narrow screens): a short line or dot per item.
// The swatches are inline SVG, parsed by the HTML parser (no namespace URL needed).
function htmlLegend(el, items) {
  const key = JSON.stringify(items.map((it) => [it.color, it.dash || [], it.width || 1.5, !!it.dots, it.marker || "", it.label]));
  if (el.dataset.key === key) return; // unchanged: keep the elements
  el.dataset.key = key;
  el.replaceChildren();
  const num = (v) => String(Number(v)); // only numbers and the page's own colours go into the markup
  for (const it of items) {
    const span = document.createElement("span");
    span.className = "key";
    const color = /^#[0-9a-fA-F]{3,8}$/.test(it.color) ? it.color : "#888";
    const shape = FIELD_MARKS.includes(it.marker) ? it.marker : "";
    const mark = it.dots
      ? (shape ? svgMark(shape, color, true) : '<circle cx="11" cy="5" r="2.5" fill="' + color + '"/>')
      : '<line x1="1" x2="21" y1="5" y2="5" stroke="' + color + '" stroke-width="' + num(it.width || 1.5) + '"' +
        (it.dash && it.dash.length ? ' stroke-dasharray="' + it.dash.map(num).join(" ") + '"' : "") + "/>" +
        (shape ? svgMark(shape, color, false) : "");
    span.innerHTML = '<svg width="22" height="10" aria-hidden="true">' + mark + "</svg>";
    span.appendChild(document.createTextNode(it.label));
    el.appendChild(span);
  }
}

function renderPrediction() {
  const two = !!state.heat;
  const line = document.getElementById("plot-pred");
  const heats = document.getElementById("heatmaps");
  line.hidden = two;
  heats.hidden = !two;
  document.getElementById("panel-pred").classList.toggle("wide", two); // heatmaps side by side
  const unknowns = state.params.map((p) => p.name).concat(state.functions.map((f) => f.name + "(" + f.coord + ")")).join(", ");
  document.getElementById("pred-caption").textContent = two
    ? "u over (" + state.heat.names.join(", ") + "): prediction with the current " + unknowns +
      "; exact solution with the true ones, and the data points"
    : (isSystem() ? "the fields " + fieldsText() + " (a marker each): " : "") +
      "prediction with the current " + unknowns + ", exact solution with the true " +
      (state.params.length + state.functions.length > 1 ? "ones" : "one") + ", data" +
      (state.models.some((m) => m.exact_now) ? "; dotted: the exact solution at each model's current " + unknowns : "");
  document.getElementById("legend-pred").hidden = two;
  if (two) { renderHeatmaps(heats); return; }
  const series = [];
  const exact = perField(state.exact), dataT = perField(state.data.t), dataU = perField(state.data.u);
  // One set of curves per field, labelled once (the legend's field entries name the markers).
  fieldNames().forEach((f, j) => {
    const marker = fieldMark(j), first = j === 0, markOffset = j;
    series.push({ x: state.t, y: exact[j], color: "#111", dash: [5, 4], width: 1.5, marker, markOffset, label: first ? "exact" : "" });
    series.push({ x: dataT[j], y: dataU[j], color: "#111", dots: true, marker, label: first ? "data" : "" });
    for (const m of state.models) {
      series.push({ x: state.t, y: perField(m.prediction)[j], color: COLORS[m.method], width: 2, marker, markOffset, label: first ? m.name : "" });
      // The exact solution at the model's current parameter: BiLO's network follows it all along
      // (it is a local operator), PINN's does not until the parameter has converged.
      if (m.exact_now) series.push({ x: state.t, y: perField(m.exact_now)[j], color: COLORS[m.method], dash: [2, 3], width: 1.5,
        marker, markOffset, label: first ? "exact at " + m.name + "'s " + (isSystem() ? "rates" : paramName()) : "" });
    }
  });
  const legend = series.filter((s) => s.label).map((s) => Object.assign({}, s, { marker: undefined })).concat(fieldLegend());
  linePlot(line, series, { xlabel: state.coord, legend, legendEl: document.getElementById("legend-pred") });
}

// ---- heatmaps of u over two coordinates -----------------------------------------------------
// A sequential colour map (dark blue - teal - yellow), interpolated between these anchors.
const HEAT_ANCHORS = [[38, 20, 84], [49, 84, 140], [33, 144, 141], [94, 201, 98], [250, 231, 35]];

function heatColor(t) {
  const x = Math.min(1, Math.max(0, t)) * (HEAT_ANCHORS.length - 1);
  const i = Math.min(HEAT_ANCHORS.length - 2, Math.floor(x));
  const f = x - i;
  return HEAT_ANCHORS[i].map((c, k) => Math.round(c + (HEAT_ANCHORS[i + 1][k] - c) * f));
}

function ensureChildren(box, n, make) {
  while (box.children.length > n) box.lastChild.remove();
  while (box.children.length < n) box.appendChild(make(box.children.length));
  return Array.from(box.children);
}

function renderHeatmaps(box) {
  const H = state.heat;
  const panels = [{ title: "exact solution and data", values: H.exact, data: true, id: "heat-exact" }]
    .concat(state.models.map((m, i) => ({ title: m.name + " prediction, step " + m.step, values: m.heat, data: false, id: "heat-" + i })));
  // One colour scale for all, from the exact solution and the predictions.
  let lo = Infinity, hi = -Infinity;
  for (const p of panels) for (const row of p.values) for (const v of row) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!(hi > lo)) { hi = lo + 1; }
  const divs = ensureChildren(box, panels.length, () => {
    const d = document.createElement("div");
    d.className = "heat";
    d.innerHTML = "<h3></h3><canvas></canvas>";
    return d;
  });
  // Predictions first, the exact solution last (next to the colour scale).
  const order = panels.slice(1).concat(panels.slice(0, 1));
  order.forEach((p, i) => {
    divs[i].id = p.id;
    divs[i].querySelector("h3").textContent = p.title;
    drawHeat(divs[i].querySelector("canvas"), p.values, H, lo, hi, p.data);
  });
}

function drawHeat(canvas, values, H, lo, hi, withData, colour = heatColor) {
  const { ctx, w, h } = prepare(canvas);
  const padL = 34, padR = 48, padT = 4, padB = 28;
  const rows = values.length, cols = values[0].length;
  const img = document.createElement("canvas");
  img.width = cols; img.height = rows;
  const ic = img.getContext("2d");
  const data = ic.createImageData(cols, rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const v = values[r][j];
      const [R, G, B] = v === null ? [255, 0, 255] : colour((v - lo) / (hi - lo));
      const o = ((rows - 1 - r) * cols + j) * 4; // second coordinate upwards
      data.data[o] = R; data.data[o + 1] = G; data.data[o + 2] = B; data.data[o + 3] = 255;
    }
  }
  ic.putImageData(data, 0, 0);
  const pw = w - padL - padR, ph = h - padT - padB;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(img, padL, padT, pw, ph);
  ctx.strokeStyle = "#888"; ctx.lineWidth = 1;
  ctx.strokeRect(padL + 0.5, padT + 0.5, pw - 1, ph - 1);
  const [x0, x1] = [H.x[0], H.x[H.x.length - 1]], [y0, y1] = [H.y[0], H.y[H.y.length - 1]];
  const X = (x) => padL + (x - x0) / (x1 - x0) * pw;
  const Y = (y) => padT + (1 - (y - y0) / (y1 - y0)) * ph;
  ctx.fillStyle = "#555"; ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "center";
  for (const v of niceTicks(x0, x1, 4)) ctx.fillText(tickLabel(v), X(v), h - padB + 11);
  ctx.fillText(H.names[0], padL + pw / 2, h - 3);
  ctx.textAlign = "right";
  for (const v of niceTicks(y0, y1, 4)) ctx.fillText(tickLabel(v), padL - 3, Y(v) + 3);
  ctx.save(); ctx.translate(9, padT + ph / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
  ctx.fillText(H.names[1], 0, 0); ctx.restore();
  if (withData) {
    ctx.fillStyle = "#000"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1;
    for (let i = 0; i < state.data.t.length; i++) {
      ctx.beginPath(); ctx.arc(X(state.data.t[i]), Y(state.data.y[i]), 2.2, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
  }
  // colour scale
  const bx = w - padR + 8, bw = 8;
  for (let k = 0; k < ph; k++) {
    const [R, G, B] = colour(1 - k / Math.max(1, ph - 1));
    ctx.fillStyle = "rgb(" + R + "," + G + "," + B + ")";
    ctx.fillRect(bx, padT + k, bw, 1);
  }
  ctx.fillStyle = "#555"; ctx.textAlign = "left";
  ctx.fillText(tickLabel(Number(hi.toPrecision(2))), bx + bw + 2, padT + 8);
  ctx.fillText(tickLabel(Number(lo.toPrecision(2))), bx + bw + 2, padT + ph);
  canvas.dataset.drawn = String(rows * cols);
}

function renderLosses() {
  const series = [];
  const withReg = state.functions.length > 0;
  const both = state.models.length > 1;
  // One model: a colour per loss kind. Side by side: a colour per method (as everywhere else)
  // and a line style per loss kind, with one legend entry per method and per kind.
  const STYLE = { total: [], res: [6, 3], rgrad: [2, 2], data: [8, 3, 2, 3], reg: [1, 3] };
  const kinds = new Set();
  state.models.forEach((m) => {
    for (const k of ["total", "res", "rgrad", "data", "reg"]) {
      if (k === "rgrad" && m.method !== "bilo") continue;
      if (k === "reg" && !withReg) continue;
      kinds.add(k);
      series.push({ x: m.history.step, y: m.history[k], color: both ? COLORS[m.method] : LOSS_COLORS[k],
        dash: both ? STYLE[k] : [], width: k === "total" ? 2 : 1.2, label: both ? "" : k });
    }
  });
  const legend = both
    ? state.models.map((m) => ({ color: COLORS[m.method], width: 2, label: m.name }))
        .concat([...kinds].map((k) => ({ color: "#555", dash: STYLE[k], width: 1.2, label: k })))
    : null;
  linePlot(document.getElementById("plot-loss"), series, { logy: true, xlabel: "step", legend, legendEl: document.getElementById("legend-loss") });
}

// One plot per scalar parameter: its trajectory per model against its true value.
function renderParams() {
  const panel = document.getElementById("panel-param");
  panel.hidden = state.params.length === 0;
  const canvases = ensureChildren(document.getElementById("params"), state.params.length, () => {
    const c = document.createElement("canvas");
    c.className = "param-plot";
    return c;
  });
  state.params.forEach((p, i) => {
    canvases[i].id = "plot-param-" + p.name;
    const series = state.models.map((m) => ({ x: m.history.step, y: m.history.params[p.name], color: COLORS[m.method], width: 2, label: m.name + " " + p.name }));
    linePlot(canvases[i], series, { xlabel: "step", title: p.name, hlines: [{ y: p.true, color: "#111", label: "true " + p.name }], legend: [] });
  });
  // One legend for all the parameter plots: a colour per method, the true value dashed.
  htmlLegend(document.getElementById("legend-param"), state.models.map((m) => ({ color: COLORS[m.method], width: 2, label: m.name }))
    .concat([{ color: "#111", dash: [6, 4], width: 1.2, label: "true value" }]));
}

// One plot per unknown function of one coordinate: learned per model against the truth, and its
// error. A function of both coordinates: heatmaps of the learned ones beside the truth (one colour
// scale), and of each model's error (learned minus true, one diverging scale).
function renderFunctions() {
  const panel = document.getElementById("panel-func");
  panel.hidden = state.functions.length === 0;
  const anyHeat = state.functions.some((f) => f.heat);
  panel.classList.toggle("wide", anyHeat);
  const divs = ensureChildren(document.getElementById("functions"), state.functions.length, () => document.createElement("div"));
  state.functions.forEach((f, i) => {
    const kind = f.heat ? "heat" : "line";
    if (divs[i].dataset.kind !== kind) {
      divs[i].dataset.kind = kind;
      divs[i].innerHTML = f.heat
        ? "<div class=\"heatmaps fvals\"></div><div class=\"heatmaps ferrs\"></div><div class=\"ferr\"></div>"
        : "<canvas class=\"func-plot\"></canvas><div class=\"ferr\"></div>";
    }
    divs[i].id = "func-" + f.name;
    const err = divs[i].querySelector(".ferr");
    err.textContent = state.models.map((m) => m.name + ": relative L2 error of " + f.name + " = " + fmt(m.functions[f.name].error, 3)).join("   ");
    err.dataset.error = state.models[0].functions[f.name].error;
    if (f.heat) { renderFunctionHeat(divs[i], f); return; }
    const series = [{ x: f.x, y: f.true, color: "#111", dash: [5, 4], width: 1.5, label: "true " + f.name + "(" + f.coord + ")" }];
    for (const m of state.models) series.push({ x: f.x, y: m.functions[f.name].values, color: COLORS[m.method], width: 2, label: m.name + " " + f.name });
    linePlot(divs[i].querySelector("canvas"), series, { xlabel: f.coord, legend: [] });
  });
  htmlLegend(document.getElementById("legend-func"), state.functions.every((f) => f.heat) ? []
    : [{ color: "#111", dash: [5, 4], width: 1.5, label: "true" }]
      .concat(state.models.map((m) => ({ color: COLORS[m.method], width: 2, label: m.name }))));
}

function heatPanels(box, panels, lo, hi, colour) {
  const divs = ensureChildren(box, panels.length, () => {
    const d = document.createElement("div");
    d.className = "heat";
    d.innerHTML = "<h3></h3><canvas></canvas>";
    return d;
  });
  panels.forEach((p, i) => {
    divs[i].id = p.id;
    const h3 = divs[i].querySelector("h3");
    h3.textContent = p.title;
    h3.className = p.method ? "method " + p.method : "";
    drawHeat(divs[i].querySelector("canvas"), p.values, state.heat, lo, hi, false, colour);
  });
}

function renderFunctionHeat(div, f) {
  const name = f.name + "(" + f.coord + ")";
  const values = state.models.map((m, i) => ({ id: "func-" + f.name + "-" + i, title: m.name + " " + name + ", step " + m.step,
    values: m.functions[f.name].heat, method: m.method }))
    .concat([{ id: "func-" + f.name + "-true", title: "true " + name, values: f.heat, method: "" }]);
  let lo = Infinity, hi = -Infinity;
  for (const p of values) for (const row of p.values) for (const v of row) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!(hi > lo)) hi = lo + 1;
  heatPanels(div.querySelector(".fvals"), values, lo, hi, heatColor);
  const errors = state.models.map((m, i) => ({ id: "func-" + f.name + "-error-" + i, title: m.name + " error of " + f.name + " (learned minus true)",
    values: m.functions[f.name].error_heat, method: m.method }));
  let big = 0;
  for (const p of errors) for (const row of p.values) for (const v of row) if (v !== null) big = Math.max(big, Math.abs(v));
  if (!(big > 0)) big = 1;
  heatPanels(div.querySelector(".ferrs"), errors, -big, big, errorColor);
}

// ---- the views that set the methods apart --------------------------------------------------
// The pointwise error of each prediction against the exact solution at the true parameters: a
// curve per method in one coordinate, a heatmap per method (one diverging colour scale) in two.
function renderError() {
  const two = !!state.heat;
  const withError = state.models.filter((m) => (two ? m.error_heat : m.error));
  const panel = document.getElementById("panel-error");
  panel.hidden = withError.length === 0;
  if (panel.hidden) return;
  const canvas = document.getElementById("plot-error");
  const box = document.getElementById("error-heatmaps");
  canvas.hidden = two;
  box.hidden = !two;
  const unknowns = state.params.map((p) => p.name).concat(state.functions.map((f) => f.name + "(" + f.coord + ")")).join(", ");
  document.getElementById("error-caption").textContent = "prediction minus the exact solution at the true " + unknowns +
    (two ? ", over (" + state.heat.names.join(", ") + ")" : "") + (isSystem() ? ", per field (" + fieldsText() + ")" : "");
  const legend = withError.map((m) => ({ color: COLORS[m.method], width: 2, label: m.name })).concat(fieldLegend());
  if (!two) {
    // A system: one curve per method and field (the field's marker), not only the largest.
    const series = [];
    fieldNames().forEach((f, j) => {
      for (const m of withError) series.push({ x: state.t, y: perField(m.error)[j], color: COLORS[m.method], width: 2, marker: fieldMark(j), markOffset: j });
    });
    linePlot(canvas, series, { xlabel: state.coord, legend, legendEl: document.getElementById("legend-error"), hlines: [{ y: 0, color: "#999" }] });
    return;
  }
  htmlLegend(document.getElementById("legend-error"), []);
  let big = 0;
  for (const m of withError) for (const row of m.error_heat) for (const v of row) if (v !== null) big = Math.max(big, Math.abs(v));
  if (!(big > 0)) big = 1;
  const divs = ensureChildren(box, withError.length, () => {
    const d = document.createElement("div");
    d.className = "heat";
    d.innerHTML = "<h3></h3><canvas></canvas>";
    return d;
  });
  withError.forEach((m, i) => {
    divs[i].id = "error-heat-" + i;
    const h3 = divs[i].querySelector("h3");
    h3.textContent = m.name + " error, step " + m.step;
    h3.className = "method " + m.method;
    drawHeat(divs[i].querySelector("canvas"), m.error_heat, state.heat, -big, big, false, errorColor);
  });
}

// A diverging colour map for signed errors, purple (negative) - white (zero) - green (positive):
// apart from the methods' colours and from the weights' blue and orange. t in [0, 1], 0.5 is zero.
const ERROR_ANCHORS = [[64, 0, 75], [153, 112, 171], [247, 247, 247], [90, 174, 97], [0, 68, 27]];
function errorColor(t) {
  const x = Math.min(1, Math.max(0, t)) * (ERROR_ANCHORS.length - 1);
  const i = Math.min(ERROR_ANCHORS.length - 2, Math.floor(x));
  const f = x - i;
  return ERROR_ANCHORS[i].map((c, k) => Math.round(c + (ERROR_ANCHORS[i + 1][k] - c) * f));
}

// BiLO's local operator: the network's u at each parameter +- delta (the others at their current
// values) beside the exact solutions there. A PINN network has no parameter input: no such view.
const VARIATION_COLORS = ["#6baed6", "#08306b"]; // BiLO's blue, light at p - delta, dark at p + delta
function renderVariation() {
  const bilo = state.models.find((m) => m.variation && m.variation.length);
  const panel = document.getElementById("panel-variation");
  panel.hidden = !bilo;
  if (!bilo) return;
  const S = state.slice;
  const where = S.at ? " along " + S.coord + " at " + S.at.name + " = " + fmt(S.at.value, 3) : "";
  // A system: every field on each parameter's plot (its marker), the gap the largest over the fields.
  document.getElementById("variation-caption").textContent =
    "the network's " + (isSystem() ? fieldsText() : "u") + " at each parameter \u00B1 10%, the others at their current values, " +
    "against the exact solutions there" + where;
  const p = bilo.variation.length === 1 ? bilo.variation[0].name : "p";
  htmlLegend(document.getElementById("legend-variation"), [
    { color: VARIATION_COLORS[0], width: 2, label: "BiLO at " + p + " \u2212 \u03B4" },
    { color: VARIATION_COLORS[1], width: 2, label: "BiLO at " + p + " + \u03B4" },
    { color: "#111", dash: [5, 4], width: 1.5, label: "exact at " + p + " \u00B1 \u03B4" },
  ].concat(fieldLegend()));
  const divs = ensureChildren(document.getElementById("variations"), bilo.variation.length, () => {
    const d = document.createElement("div");
    d.innerHTML = "<h3></h3><canvas class=\"var-plot\"></canvas><div class=\"vgap muted\"></div>";
    return d;
  });
  bilo.variation.forEach((v, i) => {
    divs[i].id = "variation-" + v.name;
    const series = [];
    v.sides.forEach((sd) => {
      const color = VARIATION_COLORS[sd.value < v.value ? 0 : 1];
      fieldNames().forEach((f, j) => {
        const marker = fieldMark(j), markOffset = j;
        series.push({ x: S.x, y: perField(sd.u)[j], color, width: 2, marker, markOffset });
        if (sd.exact) series.push({ x: S.x, y: perField(sd.exact)[j], color: "#111", dash: [5, 4], width: 1.5, marker, markOffset });
      });
    });
    divs[i].querySelector("h3").textContent = v.name + " = " + fmt(v.value, 3) + " \u00B1 " + fmt(v.delta, 2);
    linePlot(divs[i].querySelector("canvas"), series, { xlabel: S.coord, legend: [] });
    const gaps = v.sides.filter((sd) => sd.gap !== null);
    const gap = divs[i].querySelector(".vgap");
    gap.textContent = gaps.length
      ? "largest |" + (isSystem() ? fieldsText() : "u") + " \u2212 exact|: " + gaps.map((sd) => fmt(sd.gap, 2) + " at " + v.name + " = " + fmt(sd.value, 3)).join(", ")
      : "no exact solution at " + v.name + " \u00B1 \u03B4";
    gap.dataset.gap = gaps.length ? String(Math.max(...gaps.map((sd) => sd.gap))) : "";
  });
}

// ---- settings in the URL ----------------------------------------------------------------------
// Every setting that differs from the defaults is kept in the page's #fragment, so a link opens
// the same run (training is seeded); the token stays in the query string and out of the settings.
function settingsToHash(cfg) {
  const q = new URLSearchParams();
  for (const c of meta.controls) {
    if (!(c.name in cfg) || cfg[c.name] === meta.defaults[c.name]) continue;
    q.set(c.name, c.kind === "bool" ? (cfg[c.name] ? "1" : "0") : String(cfg[c.name]));
  }
  const text = q.toString();
  const url = location.pathname + location.search + (text ? "#" + text : "");
  if (url !== location.pathname + location.search + location.hash) history.replaceState(null, "", url);
}

function settingsFromHash() {
  const q = new URLSearchParams(location.hash.replace(/^#/, ""));
  const changes = {};
  for (const c of meta.controls) {
    if (!q.has(c.name)) continue;
    const v = q.get(c.name);
    if (c.kind === "bool") changes[c.name] = v === "1" || v === "true";
    else if (c.kind === "choice") changes[c.name] = v;
    else changes[c.name] = Number(v);
  }
  return changes;
}

async function copyLink() {
  const url = new URL(location.href);
  url.searchParams.delete("token"); // a link carries settings, never the session's key
  const text = url.toString();
  try {
    await navigator.clipboard.writeText(text);
    showNotice("link copied (open it with your playground's ?token=...)");
  } catch (e) {
    window.prompt("copy this link", text);
  }
}

// ---- start ----------------------------------------------------------------------------------
async function main() {
  try {
    meta = await (await api("/api/meta")).json();
    session = (await post("/api/session", {})).session;
  } catch (e) {
    showError(e.message);
    return;
  }
  buildControls();
  const shared = settingsFromHash();
  if (Object.keys(shared).length) {
    try {
      fillControls((await post("/api/config", { session, changes: shared })).config);
    } catch (e) {
      showError("settings from the link: " + e.message);
    }
  }
  document.getElementById("btn-link").addEventListener("click", copyLink);
  document.getElementById("btn-play").addEventListener("click", () => control(state && state.running ? "pause" : "play"));
  document.getElementById("btn-step").addEventListener("click", () => control("step"));
  document.getElementById("btn-reset").addEventListener("click", () => control("reset"));
  document.getElementById("btn-save").addEventListener("click", saveModel);
  document.getElementById("file-load").addEventListener("change", (ev) => {
    const f = ev.target.files[0];
    if (f) loadModel(f);
    ev.target.value = "";
  });
  // Closing the page stops training at once; otherwise the server's heartbeat timeout does.
  window.addEventListener("pagehide", () => {
    navigator.sendBeacon("/api/close?session=" + encodeURIComponent(session) + "&token=" + encodeURIComponent(TOKEN));
  });
  window.addEventListener("resize", () => { if (state) render(); });
  document.body.dataset.session = session;
  poll(false);
}

main();
