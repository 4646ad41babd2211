// The page: plain DOM over the JSON API. No build step, no external requests.
// Text from the server is always set with textContent, never parsed as HTML.
"use strict";

const state = {
  token: sessionStorage.getItem("rx-token") || "",
  health: null,
  models: [],
  explainers: [],
  datasets: [],
  page: { data: "", offset: 0, limit: 10, label: "", total: 0 },
  source: null, // {data, id, words, rationale, label_name} when a post came from a dataset
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// -- talking to the API ----------------------------------------------------------------
class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method: options.method || (options.body !== undefined ? "POST" : "GET"),
    headers,
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  let payload = null;
  try { payload = await res.json(); } catch (e) { payload = null; }
  if (!res.ok) {
    const detail = payload && payload.detail ? payload.detail : res.status + " " + res.statusText;
    if (res.status === 401) $("token-form").hidden = false;
    throw new ApiError(res.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return payload;
}

function showError(err) {
  const box = $("error");
  box.textContent = err ? (err.message || String(err)) : "";
  box.hidden = !err;
}

function setStatus(text) { $("status").textContent = text || ""; }

// -- start-up ------------------------------------------------------------------------------
async function init() {
  wireEvents();
  try {
    state.health = await api("/api/health");
    if (state.health.token_required) $("token-form").hidden = false;
    if (state.health.token_required && !state.token) {
      setStatus("This server needs an access token: enter it above.");
      $("token").focus();
      return;
    }
    await loadLists();
  } catch (err) {
    showError(err);
  }
  route();
}

async function loadLists() {
  const [models, explainers, datasets] = await Promise.all([
    api("/api/models"), api("/api/explainers"), api("/api/datasets"),
  ]);
  state.models = models;
  state.explainers = explainers;
  state.datasets = datasets.loaded;
  const modelSel = $("model");
  modelSel.replaceChildren(...models.map((m) =>
    el("option", { value: m.id, selected: m.default, text: m.id + " (" + m.label_names.join(" / ") + ")" })));
  renderMethods();
  const dsSel = $("dataset");
  dsSel.replaceChildren(...state.datasets.map((d) =>
    el("option", { value: d.name, text: d.name + " (" + d.size + " posts)" })));
  $("nav-dataset").hidden = state.datasets.length === 0;
  if (state.datasets.length) { state.page.data = state.datasets[0].name; fillLabelFilter(); }
  const max = state.health ? state.health.limits.max_methods : 4;
  $("methods-hint").textContent = "(up to " + max + ")";
  showError(null);
}

function renderMethods() {
  const model = $("model").value;
  const previous = new Set(chosenMethods());
  const defaults = previous.size ? previous : new Set(["occlusion", "ngram"]);
  const list = $("method-list");
  list.replaceChildren(...state.explainers.map((e) => {
    // Offered only when the server says this model can serve it (the check a request
    // goes through); a model it does not mention, or no answer, means no.
    const usable = Boolean(e.usable_with && e.usable_with[model] === true);
    const id = "m-" + e.name;
    const box = el("input", { type: "checkbox", id, value: e.name, checked: usable && defaults.has(e.name),
                              disabled: !usable });
    const needs = [e.needs_gradients ? "gradients" : null, e.needs_attentions ? "attentions" : null].filter(Boolean);
    const flags = [e.needs_llm ? "LLM" : null, ...needs, e.stochastic ? "seeded" : null].filter(Boolean).join(", ");
    const why = usable ? "" : " (not available: model " + model + " has no " + (needs.join(" or ") || "support for it") + ")";
    return el("label", { class: "method" + (usable ? "" : " unavailable"), for: id, title: (e.description || e.name) + why },
      box, el("span", { text: e.name }), flags ? el("span", { class: "flag", text: flags }) : null);
  }));
}

function chosenMethods() {
  return Array.from(document.querySelectorAll("#method-list input:checked")).map((b) => b.value);
}

function fillLabelFilter() {
  const ds = state.datasets.find((d) => d.name === state.page.data);
  const sel = $("label-filter");
  const options = [el("option", { value: "", text: "all labels" })];
  if (ds) for (const name of ds.label_names)
    if (ds.label_counts[name])  // unlabelled data (toxic_spans) has nothing to filter by
      options.push(el("option", { value: name, text: name + " (" + ds.label_counts[name] + ")" }));
  sel.replaceChildren(...options);
  sel.value = state.page.label;
}

function wireEvents() {
  window.addEventListener("hashchange", route);
  $("model").addEventListener("change", renderMethods);
  $("token-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("rx-token", state.token);
    try { await loadLists(); setStatus("Token accepted."); route(); } catch (err) { showError(err); }
  });
  $("explain-form").addEventListener("submit", (ev) => { ev.preventDefault(); explainText(); });
  $("text").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); explainText(); }
  });
  $("text").addEventListener("input", () => {
    // Edited text is segmented afresh: it no longer lines up with the dataset's words.
    if (state.source && $("text").value !== state.source.words.join(" ")) clearSource();
  });
  $("dataset").addEventListener("change", () => {
    state.page.data = $("dataset").value; state.page.offset = 0; state.page.label = "";
    fillLabelFilter(); loadPage();
  });
  $("label-filter").addEventListener("change", () => {
    state.page.label = $("label-filter").value; state.page.offset = 0; loadPage();
  });
  $("page-size").addEventListener("change", () => {
    state.page.limit = parseInt($("page-size").value, 10); state.page.offset = 0; loadPage();
  });
  $("prev-page").addEventListener("click", () => {
    state.page.offset = Math.max(0, state.page.offset - state.page.limit); loadPage();
  });
  $("next-page").addEventListener("click", () => {
    if (state.page.offset + state.page.limit < state.page.total) {
      state.page.offset += state.page.limit; loadPage();
    }
  });
  $("explain-page").addEventListener("click", explainPage);
}

// -- views ---------------------------------------------------------------------------------
function route() {
  const hash = location.hash.replace(/^#/, "") || "explain";
  const [view, query] = hash.split("?");
  const name = ["explain", "dataset", "reports"].includes(view) ? view : "explain";
  for (const v of ["explain", "dataset", "reports"]) {
    $("view-" + v).hidden = v !== name;
    const link = $("nav-" + v);
    if (v === name) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  // The shared pickers sit inside the active view, just before its action button, so
  // reading and tabbing order is: input, model and methods, then the button.
  const controls = $("controls");
  controls.hidden = name === "reports";
  if (name === "explain") $("explain-form").insertBefore(controls, $("explain-form").querySelector(".actions"));
  if (name === "dataset") $("dataset-form").insertBefore(controls, $("dataset-form").querySelector(".actions"));
  if (!state.models.length) return;
  if (name === "dataset") { if (!$("examples").children.length) loadPage(); }
  else if (name === "reports") loadReports();
  else if (query) openFromDataset(new URLSearchParams(query));
}

// -- the explain view ---------------------------------------------------------------------
function clearSource() {
  state.source = null;
  $("source-note").hidden = true;
}

async function openFromDataset(params) {
  const data = params.get("data"), id = params.get("id");
  if (!data || !id) return;
  try {
    const page = await api("/api/examples?" + new URLSearchParams({ data, id, limit: "1" }));
    const ex = page.examples[0];
    state.source = { data, id, words: ex.words, rationale: ex.rationale, label_name: ex.label_name };
    $("text").value = ex.words.join(" ");
    const note = $("source-note");
    note.textContent = "From " + data + ", post " + id + (ex.label_name ? " (gold label: " + ex.label_name + ")" : "") +
      ". Its words are used as the dataset split them; editing the text re-segments it.";
    note.hidden = false;
    $("text").focus();
    await explainText();
  } catch (err) { showError(err); }
}

function requestBody(extra) {
  return Object.assign({ model: $("model").value, methods: chosenMethods(), hard: $("hard").value }, extra);
}

async function explainText() {
  const text = $("text").value;
  if (!text.trim()) { showError(new Error("Type or paste a post first.")); $("text").focus(); return; }
  if (!chosenMethods().length) { showError(new Error("Choose at least one method.")); return; }
  const body = state.source ? requestBody({ words: state.source.words }) : requestBody({ text });
  const button = $("explain-btn");
  button.disabled = true;
  setStatus("Explaining…");
  showError(null);
  try {
    const res = await api("/api/explain", { body });
    const gold = state.source && state.source.rationale ? state.source : null;
    $("result").replaceChildren(renderResult(res, gold));
    setStatus("Explained with " + res.explanations.length + " method(s) in " + res.seconds.toFixed(2) + " s.");
  } catch (err) {
    showError(err); setStatus("");
  } finally {
    button.disabled = false;
  }
}

// The words the LLM named: from the llm row, or from inside union when only it was asked.
function llmWords(res) {
  const row = res.explanations.find((r) => r.method === "llm" && r.llm_words) ||
              res.explanations.find((r) => r.llm_words);
  return row ? row.llm_words : null;
}

function pct(p) { return (100 * p).toFixed(1) + " %"; }

function renderVerdict(res) {
  const probs = Object.entries(res.prediction.probabilities);
  return el("div", { class: "verdict" },
    el("p", { class: "verdict-line" },
      "Verdict: ", el("strong", { class: "verdict-label", text: res.prediction.label }),
      " (" + pct(res.prediction.probabilities[res.prediction.label]) + ")",
      res.target.label !== res.prediction.label ? " — explaining label " + res.target.label : ""),
    el("ul", { class: "probs", "aria-label": "Class probabilities" }, ...probs.map(([name, p]) =>
      el("li", { class: "prob" + (name === res.prediction.label ? " predicted" : "") },
        el("span", { class: "prob-name", text: name }),
        el("span", { class: "bar", role: "img", "aria-label": name + " " + pct(p) },
          el("span", { class: "fill", style: "width:" + (100 * p).toFixed(1) + "%" })),
        el("span", { class: "prob-value", text: pct(p) })))));
}

function renderResult(res, gold) {
  const llmPicks = llmWords(res);
  const legend = $("legend-template").content.cloneNode(true);
  if (llmPicks) legend.querySelector(".legend-llm").hidden = false;
  const rows = el("div", { class: "rows", role: "table", "aria-label": "Word scores per method" },
    el("div", { class: "row head", role: "row" },
      el("span", { role: "columnheader", class: "cell-method", text: "method" }),
      el("span", { role: "columnheader", class: "cell-words", text: "words" }),
      el("span", { role: "columnheader", class: "cell-faith", text: "faithfulness" })));
  if (gold) rows.append(goldRow(gold.words, gold.rationale));
  for (const row of res.explanations) rows.append(methodRow(res.words, row, llmPicks));
  const note = res.words_used < res.words.length
    ? el("p", { class: "hint", text: "The model sees only the first " + res.words_used + " of " + res.words.length + " words." })
    : null;
  return el("div", {}, renderVerdict(res), legend, note, rows);
}

// One shade per word: hue says for (warm) or against (cool) the label, strength the
// size relative to the row's largest |score|. The text colour is whichever of near-black
// and white contrasts more with the shade actually shown (WCAG relative luminance).
function shade(score, scale) {
  if (score === null || !scale) return { bg: "transparent", fg: "" };
  const a = 0.08 + 0.82 * Math.min(1, Math.abs(score) / scale);
  const rgb = score >= 0 ? [194, 40, 40] : [30, 90, 200];
  const shown = rgb.map((c) => a * c + (1 - a) * 255);
  const lin = shown.map((c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); });
  const L = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  const onWhite = 1.05 / (L + 0.05), onDark = (L + 0.05) / (0.0103 + 0.05);
  return { bg: "rgba(" + rgb.join(",") + "," + a.toFixed(3) + ")", fg: onWhite > onDark ? "#fff" : "#1a1a1a" };
}

function fmt(v) { return v === null || v === undefined ? "–" : (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(1) : v.toFixed(3)); }

function wordsCell(words, scores, rationale, extraMark, label) {
  const scale = scores ? Math.max(...scores.map((s) => Math.abs(s || 0))) : 0;
  const cell = el("div", { class: "cell-words words", dir: "auto", role: "cell", "aria-label": label });
  words.forEach((w, i) => {
    const s = scores ? scores[i] : null;
    const sh = shade(s, scale);
    const inR = rationale && rationale[i];
    const tip = (scores ? "score " + fmt(s) : "") + (inR ? (scores ? ", " : "") + "highlighted" : "") +
      (extraMark && extraMark[i] ? ", chosen by the LLM" : "");
    const span = el("span", {
      class: "word" + (inR ? " in-rationale" : "") + (extraMark && extraMark[i] ? " llm-pick" : ""),
      tabindex: i === 0 ? "0" : "-1", "data-index": String(i), "data-tip": tip || "no score",
      "data-score": s === null ? null : String(s), "aria-label": w + (tip ? " (" + tip + ")" : ""),
      text: w,
    });
    span.style.background = sh.bg;
    if (sh.fg) span.style.color = sh.fg;
    if (sh.fg === "#fff") span.classList.add("on-dark");
    cell.append(span, " ");
  });
  cell.addEventListener("keydown", moveAlongRow);
  return cell;
}

// Roving focus: a row is one Tab stop; arrow keys (and Home/End) move along its words.
function moveAlongRow(ev) {
  const keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  const words = Array.from(ev.currentTarget.querySelectorAll(".word"));
  const i = words.indexOf(document.activeElement);
  if (i < 0) return;
  let j = null;
  if (ev.key in keys) {
    // In a right-to-left row the right arrow moves back toward the start.
    const rtl = getComputedStyle(ev.currentTarget).direction === "rtl";
    const step = (ev.key === "ArrowRight" || ev.key === "ArrowLeft") && rtl ? -keys[ev.key] : keys[ev.key];
    j = Math.max(0, Math.min(words.length - 1, i + step));
  } else if (ev.key === "Home") j = 0;
  else if (ev.key === "End") j = words.length - 1;
  if (j === null) return;
  ev.preventDefault();
  words[i].tabIndex = -1; words[j].tabIndex = 0; words[j].focus();
}

function goldRow(words, rationale) {
  return el("div", { class: "row gold", role: "row", "data-method": "gold" },
    el("span", { class: "cell-method", role: "rowheader" }, el("span", { class: "badge gold-badge", text: "human" }),
      " gold rationale"),
    wordsCell(words, null, rationale, null, "gold rationale"),
    el("span", { class: "cell-faith", role: "cell", text: "" }));
}

function methodRow(words, row, llmPicks) {
  const badges = [];
  if (row.method === "union") badges.push(el("span", { class: "badge union-badge", text: "union" }));
  else if (row.needs_llm) badges.push(el("span", { class: "badge llm-badge", text: "LLM" }));
  const head = el("span", { class: "cell-method", role: "rowheader" }, ...badges, " ", el("span", { class: "method-name", text: row.method }));
  if (row.error || row.failed) {
    return el("div", { class: "row failed", role: "row", "data-method": row.method }, head,
      el("span", { class: "cell-words", role: "cell", text: "failed: " + (row.error || row.failed) }),
      el("span", { class: "cell-faith", role: "cell" }));
  }
  const f = row.faithfulness || {};
  const comp = f.comprehensiveness ? f.comprehensiveness.value : null;
  const suff = f.sufficiency ? f.sufficiency.value : null;
  const faith = el("span", { class: "cell-faith", role: "cell" },
    el("span", { class: "metric", title: f.comprehensiveness ? f.comprehensiveness.variant : "" },
      el("abbr", { title: "comprehensiveness: p(label) − p(label without the highlighted words)", text: "comp" }),
      " " + fmt(comp)),
    el("span", { class: "metric", title: f.sufficiency ? f.sufficiency.variant : "" },
      el("abbr", { title: "sufficiency: p(label) − p(label from the highlighted words alone)", text: "suff" }),
      " " + fmt(suff)));
  const cell = wordsCell(words, row.scores, row.rationale, row.method === "llm" ? null : llmPicks, row.method + " word scores");
  const nle = nleText(row);
  if (nle) cell.append(nle);
  return el("div", { class: "row", role: "row", "data-method": row.method }, head, cell, faith);
}

// An explanation in words (nle): the sentence under the highlight it was written from,
// with how faithful it is to that highlight.
function nleText(row) {
  const info = row.info || {};
  if (typeof info.nle !== "string") return null;
  const high = (info.highlight || []).length;
  const named = info.named_mask ? info.named_mask.filter(Boolean).length : 0;
  const facts = [];
  if (high && info.highlight_coverage !== null && info.highlight_coverage !== undefined)
    facts.push("names " + Math.round(info.highlight_coverage * high) + " of the " + high + " highlighted words");
  if (info.n_named_not_in_post) facts.push(info.n_named_not_in_post + " listed word(s) not in the post were dropped");
  if (info.probability_drop !== undefined)
    facts.push("removing the " + named + " word(s) it names lowers the label's probability by " +
               fmt(info.probability_drop));
  return el("div", { class: "nle" },
    el("p", { class: "nle-text", dir: "auto", text: info.nle }),
    facts.length ? el("p", { class: "hint nle-facts", text: facts.join("; ") + "." }) : null);
}

// -- the dataset view ----------------------------------------------------------------------
async function loadPage() {
  const p = state.page;
  if (!p.data) {
    $("dataset-empty").textContent = "No dataset is loaded: start the server with --data NAME:SPLIT (e.g. hatexplain:test).";
    $("dataset-empty").hidden = false;
    return;
  }
  $("dataset").value = p.data;
  const query = { data: p.data, offset: String(p.offset), limit: String(p.limit) };
  if (p.label) query.label = p.label;
  try {
    const page = await api("/api/examples?" + new URLSearchParams(query));
    p.total = page.total;
    const last = Math.min(page.offset + page.examples.length, page.total);
    $("page-info").textContent = page.total ? (page.offset + 1) + "–" + last + " of " + page.total : "no posts";
    $("prev-page").disabled = page.offset === 0;
    $("next-page").disabled = last >= page.total;
    $("dataset-empty").hidden = page.total > 0;
    $("dataset-empty").textContent = "No posts with this label.";
    $("examples").replaceChildren(...page.examples.map((ex) => exampleCard(ex, page.data)));
    $("dataset-legend").replaceChildren($("legend-template").content.cloneNode(true));
    showError(null);
  } catch (err) { showError(err); }
}

function exampleCard(ex, data) {
  const link = el("a", { class: "open-link", href: "#explain?" + new URLSearchParams({ data, id: ex.id }),
                         text: "Open in the explain view" });
  const rows = el("div", { class: "rows", role: "table", "aria-label": "Post " + ex.id });
  if (ex.rationale) rows.append(goldRow(ex.words, ex.rationale));
  else rows.append(el("div", { class: "row", role: "row" },
    el("span", { class: "cell-method", role: "rowheader", text: "post" }),
    wordsCell(ex.words, null, null, null, "post"), el("span", { class: "cell-faith", role: "cell" })));
  const card = el("li", { class: "example", "data-id": ex.id },
    el("div", { class: "example-head" },
      el("span", { class: "example-id", text: "#" + ex.id }),
      ex.label_name ? el("span", { class: "badge label-badge", text: ex.label_name }) : null,
      ex.lang ? el("span", { class: "hint", text: ex.lang }) : null,
      link),
    rows);
  card._example = ex;
  return card;
}

async function explainPage() {
  const cards = Array.from(document.querySelectorAll("#examples .example"));
  if (!chosenMethods().length) { showError(new Error("Choose at least one method.")); return; }
  const button = $("explain-page");
  button.disabled = true;
  showError(null);
  try {
    for (const [i, card] of cards.entries()) {
      setStatus("Explaining post " + (i + 1) + " of " + cards.length + "…");
      const ex = card._example;
      const res = await api("/api/explain", { body: requestBody({ words: ex.words }) });
      const rows = card.querySelector(".rows");
      rows.querySelectorAll(".row[data-method]:not([data-method=gold])").forEach((r) => r.remove());
      const verdict = card.querySelector(".example-verdict") ||
        card.querySelector(".example-head").appendChild(el("span", { class: "example-verdict" }));
      verdict.textContent = "model: " + res.prediction.label + " (" + pct(res.prediction.probabilities[res.prediction.label]) + ")";
      const picks = llmWords(res);
      if (picks) $("dataset-legend").querySelector(".legend-llm").hidden = false;
      for (const row of res.explanations) rows.append(methodRow(res.words, row, picks));
    }
    setStatus("Explained " + cards.length + " post(s).");
  } catch (err) {
    showError(err); setStatus("");
  } finally {
    button.disabled = false;
  }
}

// -- reports -------------------------------------------------------------------------------
async function loadReports() {
  try {
    const reports = await api("/api/reports");
    const list = $("reports");
    if (!reports.length) {
      list.replaceChildren(el("li", { class: "hint", text: "No reports yet: `rationales benchmark … --out reports/NAME` writes one." }));
      return;
    }
    list.replaceChildren(...reports.map((r) => {
      const href = "/api/reports/" + r.key.split("/").map(encodeURIComponent).join("/");
      const link = el("a", { href, target: "_blank", rel: "noopener", text: r.key });
      // With a token, a plain link cannot send it: fetch the file and open it from memory.
      if (state.token) link.addEventListener("click", async (ev) => {
        ev.preventDefault();
        try {
          const res = await fetch(href, { headers: { Authorization: "Bearer " + state.token } });
          if (!res.ok) throw new Error(res.status + " " + res.statusText);
          window.open(URL.createObjectURL(await res.blob()), "_blank", "noopener");
        } catch (err) { showError(err); }
      });
      return el("li", {}, link, el("span", { class: "hint",
        text: " " + r.kind.toUpperCase() + ", " + new Date(r.modified * 1000).toLocaleString() }));
    }));
  } catch (err) { showError(err); }
}

document.addEventListener("DOMContentLoaded", init);
