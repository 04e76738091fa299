// riskdraw's page: calls the service's own endpoints with the token typed above (or the
// documented development token when the service runs on it). No logic of its own: every number
// shown is one the service answered.
"use strict";
const $ = (id) => document.getElementById(id);
const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%");
const num = (x) => (x === null || x === undefined ? "–" : Number(x).toLocaleString("en"));
let screening = null;

if (document.body.dataset.devToken && !document.body.dataset.devToken.startsWith("__")) {
  $("token").value = document.body.dataset.devToken;
}

async function call(path, body, method = "POST") {
  const init = { method, headers: { Authorization: "Bearer " + $("token").value } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const answer = await fetch("../" + path, init);
  const text = await answer.text();
  let data;
  try { data = JSON.parse(text); } catch (e) { data = { error: text }; }
  if (!answer.ok) {
    const found = Array.isArray(data) ? data[0] : data;
    const problems = (found.problems || []).join("; ");
    throw new Error(`${answer.status}: ${found.error || text}${problems ? " — " + problems : ""}`);
  }
  return data;
}

function cell(row, value, cls) {
  const td = row.insertCell();
  td.textContent = value;
  if (cls) td.className = cls;
  return td;
}

function fill(tableId, rows, render) {
  const body = $(tableId).tBodies[0];
  body.innerHTML = "";
  for (const r of rows) render(body.insertRow(), r);
}

async function download(path, body, name) {
  const answer = await fetch("../" + path, {
    method: "POST",
    headers: { Authorization: "Bearer " + $("token").value, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await answer.blob());
  link.download = name;
  link.click();
}

function downloads(spanId, files) {
  const span = $(spanId);
  span.innerHTML = "";
  for (const f of files) {
    const a = document.createElement("a");
    a.href = "#";
    a.textContent = f;
    a.className = "download";
    a.onclick = (e) => { e.preventDefault(); download("download", { screening_id: screening.screening_id, file: f }, f.replaceAll("/", "-")); };
    span.append(a, " ");
  }
}

async function health() {
  const h = await fetch("../health", { method: "POST" }).then((r) => r.json());
  $("serving").textContent = `${h.model_name} version ${h.model_version} · data ${h.data_version.slice(0, 12)}` +
    (h.development_token ? " · development token (not for production)" : "");
  $("serving").dataset.modelVersion = h.model_version;
}

async function screen() {
  $("screen").disabled = true;
  $("screen-error").hidden = true;
  $("progress").hidden = false;
  try {
    const task = await call("screen/submit", {});
    let status = "in_progress";
    while (status === "in_progress" || status === "pending") {
      await new Promise((r) => setTimeout(r, 250));
      const p = await call("screen_progress", {});
      $("progress-bar").value = p.total ? p.done / p.total : 0;
      $("progress-text").textContent = `${p.stage}: ${num(p.done)} of ${num(p.total)} enterprises`;
      status = (await call(`screen/status?task_id=${task.task_id}`, undefined, "GET")).status;
    }
    if (status !== "completed") throw new Error(`the screening ${status}`);
    screening = await call(`screen/get?task_id=${task.task_id}`, undefined, "GET");
    if (screening.error) throw new Error(screening.error);
    $("progress-bar").value = 1;
    $("progress-text").textContent = `done: ${num(screening.enterprises)} enterprises in ${screening.seconds} s`;
    showScreening(screening);
  } catch (e) {
    $("screen-error").textContent = e.message;
    $("screen-error").hidden = false;
  } finally {
    $("screen").disabled = false;
  }
}

function showScreening(s) {
  $("screening").hidden = false;
  $("planning").hidden = false;
  $("screening-summary").textContent = `${num(s.enterprises)} open enterprises screened as of ${s.screening_date} by ${s.model_name} version ${s.model_version}; ` +
    `${num(Math.round(s.expected_problems))} problems expected, a uniform draw would hit ${pct(s.expected_hit_rate_random)}.`;
  $("screening-summary").dataset.screeningId = s.screening_id;
  const classes = Object.keys(s.by_class);
  Plotly.newPlot("class-chart", [{
    type: "bar", x: classes, y: classes.map((c) => s.by_class[c].enterprises), name: "enterprises",
    marker: { color: ["#3b8", "#db3", "#e83", "#c33"] },
    text: classes.map((c) => pct(s.by_class[c].share)), textposition: "auto",
  }], { title: "enterprises by risk class", margin: { t: 40, b: 40, l: 60, r: 10 }, yaxis: { title: "enterprises" } },
  { displayModeBar: false, responsive: true });
  fill("class-table", classes, (row, c) => {
    const v = s.by_class[c];
    row.dataset.class = c;
    cell(row, c);
    cell(row, num(v.enterprises), "num enterprises");
    cell(row, pct(v.share), "num");
    cell(row, num(Math.round(v.expected_problems)), "num");
    cell(row, pct(v.mean_probability), "num");
  });
  fill("top", s.top, (row, r) => {
    row.dataset.entity = r.entity_id;
    const a = document.createElement("a");
    a.className = "entity";
    a.textContent = r.entity_id;
    a.onclick = () => enterprise(r.entity_id);
    row.insertCell().append(a);
    cell(row, r.name || "");
    cell(row, r.risk_class);
    cell(row, pct(r.probability), "num");
    cell(row, (r.reasons || []).join("; "));
  });
  downloads("screen-downloads", s.downloads);
}

async function enterprise(id) {
  const f = await call("enterprise", { entity_id: id });
  $("enterprise").hidden = false;
  $("enterprise-id").textContent = `${id} ${f.entity.name || ""}`;
  $("enterprise-summary").textContent = `class ${f.score.risk_class}, probability ${pct(f.score.probability)} as of ${f.as_of_date} ` +
    `(industry ${f.entity.industry_code || "–"}, district ${f.entity.district_code || "–"}, credit code ${f.entity.credit_code || "–"})`;
  $("enterprise-summary").dataset.riskClass = f.score.risk_class;
  const reasons = $("enterprise-reasons");
  reasons.innerHTML = "";
  for (const r of f.score.reasons) { const li = document.createElement("li"); li.textContent = r; reasons.append(li); }
  fill("enterprise-factors", f.factors, (row, r) => {
    cell(row, r.en);
    cell(row, r.value === null ? "none on record" : num(r.value), "num");
    cell(row, (r.contribution >= 0 ? "+" : "") + r.contribution.toFixed(3), "num");
  });
  $("enterprise-facts-count").textContent = f.attributes_on_record;
  const facts = $("enterprise-facts");
  facts.innerHTML = "";
  for (const r of f.on_record) { const li = document.createElement("li"); li.textContent = r.text; facts.append(li); }
  $("enterprise-inspections-count").textContent = f.inspections_total;
  fill("enterprise-inspections", f.inspections, (row, r) => {
    cell(row, r.date); cell(row, r.task || ""); cell(row, r.result || ""); cell(row, r.authority || "");
  });
  $("enterprise").scrollIntoView();
}

async function plan() {
  $("plan").disabled = true;
  $("plan-error").hidden = true;
  try {
    const body = { screening_id: screening.screening_id, policy: $("policy").value };
    if ($("capacity").value) body.capacity = { share: Number($("capacity").value) };
    const p = await call("plan", body);
    const r = p.report;
    $("plan-result").hidden = false;
    $("plan-hit-rate").textContent = pct(r.expected_hit_rate);
    $("plan-hit-rate").dataset.value = r.expected_hit_rate;
    $("plan-random-rate").textContent = pct(r.expected_hit_rate_random);
    $("plan-visits").textContent = num(r.visits);
    $("plan-reduction").textContent = pct(r.expected_compliant_reduction);
    $("plan-commitment").textContent = p.commitment.slice(0, 16) + "…";
    fill("plan-classes", Object.keys(r.by_class), (row, c) => {
      const v = r.by_class[c];
      cell(row, c);
      cell(row, num(v.enterprises), "num");
      cell(row, (v.expected_visits || 0).toFixed(1), "num");
      cell(row, num(v.drawn), "num");
      cell(row, pct(v.expected_hit_rate), "num");
    });
    downloads("plan-downloads", p.downloads);
  } catch (e) {
    $("plan-error").textContent = e.message;
    $("plan-error").hidden = false;
  } finally {
    $("plan").disabled = false;
  }
}

async function start() {
  try {
    await health();
    if (!$("token").value) {
      $("serving").textContent += " · type your token to start";
      return;
    }
    const m = await call("metadata", {});
    if (m.plan.capacity.share) $("capacity").value = m.plan.capacity.share;
    $("policy").value = m.plan.policy;
  } catch (e) {
    $("serving").textContent = "not connected: " + e.message;
  }
}

$("screen").onclick = screen;
$("token").addEventListener("input", start);
$("plan").onclick = plan;
start();
