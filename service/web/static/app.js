// The ws page: plain JS over the API (no build step). The token lives in this
// tab's sessionStorage and goes only in the Authorization header: never in a URL,
// so never in a log or a history. Every action is an API call with its checks.
"use strict";

const $ = (id) => document.getElementById(id);
const session = { token: sessionStorage.getItem("ws-token") || "",
                  user: sessionStorage.getItem("ws-user") || "",
                  identity: "muse", page: 1, generation: 0, watching: new Set() };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function say(text, error) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

class ApiError extends Error {}

async function api(path, { method = "GET", json, form, query } = {}) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = "Bearer " + session.token;
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form !== undefined) body = form;
  const url = "/api/" + path + "/" + (query ? "?" + new URLSearchParams(query) : "");
  const response = await fetch(url, { method, headers, body, credentials: "omit", cache: "no-store" });
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try {
      const e = await response.json();
      message = e.error + (e.more && e.more.length ? " — " + e.more.join("; ") : "");
    } catch (_) { /* not the JSON error shape */ }
    if (response.status === 401 && session.token) signOut();
    throw new ApiError(message);
  }
  return response;
}

const seg = encodeURIComponent;

function showSignedIn() {
  const inside = Boolean(session.token);
  $("sign-in-section").hidden = inside;
  $("run-section").hidden = !inside;
  $("runs-section").hidden = !inside;
  $("who").hidden = !inside;
  $("who-name").textContent = inside ? "Signed in as " + session.user : "";
}

function signOut() {
  session.token = ""; session.user = ""; session.generation += 1; session.watching.clear();
  sessionStorage.removeItem("ws-token"); sessionStorage.removeItem("ws-user");
  showSignedIn();
}

async function signIn(event) {
  event.preventDefault();
  try {
    const answer = await (await api("jwt/obtain", { method: "POST",
      json: { username: $("username").value, password: $("password").value } })).json();
    session.token = answer.jwt; session.user = answer.username;
    sessionStorage.setItem("ws-token", answer.jwt); sessionStorage.setItem("ws-user", answer.username);
    $("password").value = "";
    showSignedIn();
    say("Signed in as " + answer.username + " until " + answer.expires + ".");
    $("software").focus();
    await loadRuns();
  } catch (e) { say("Sign in failed: " + e.message, true); }
}

async function loadCatalogue() {
  const list = await (await api("software/list")).json();
  const body = $("catalogue").tBodies[0];
  body.replaceChildren();
  $("software").replaceChildren();
  for (const sw of list) {
    body.append(el("tr", {}, el("th", { scope: "row" }, sw.name), el("td", {}, sw.info.sw.desc || "")));
    $("software").append(el("option", { value: sw.name }, sw.name));
  }
  const doc = await (await fetch("/api/openapi.json")).json();
  session.identity = doc.info["x-cluster-identity"] || "muse";
}

function lines(text) { return text.split("\n").map((s) => s.trim()).filter(Boolean); }

function save(blob, filename) {
  const link = el("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 10000);
}

function filenameOf(response, fallback) {
  const match = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : fallback;
}

// A results answer: stdout shown, a kept download fetched, a file saved.
async function showResult(response, where, fallbackName) {
  const type = response.headers.get("Content-Type") || "";
  where.replaceChildren();
  if (type.startsWith("application/json")) {
    const data = await response.json();
    if (data.info && "stdout" in data.info) {
      where.append(el("h3", {}, "stdout"), el("pre", { tabindex: "0", id: "stdout" }, data.info.stdout));
      return;
    }
    if (data.url) {
      const kept = await fetch(data.url, { credentials: "omit" });
      save(await kept.blob(), filenameOf(kept, fallbackName));
      where.append(el("p", {}, "Downloaded (kept at " + data.url + ")."));
      return;
    }
    where.append(el("pre", {}, JSON.stringify(data, null, 2)));
    return;
  }
  const name = filenameOf(response, fallbackName);
  save(await response.blob(), name);
  where.append(el("p", {}, "Downloaded " + name + "."));
}

async function submitRun(event) {
  event.preventDefault();
  const where = document.querySelector("input[name=where]:checked").value;
  const name = $("software").value;
  const form = new FormData();
  const files = Array.from($("files").files);
  form.append("cmd", $("cmd").value);
  form.append("cmd_option", $("cmd_option").value);
  form.append("returned_type", $("returned_type").value);
  form.append("todownload", $("todownload").checked ? "yes" : "no");
  if (files.length) form.append("files_order", JSON.stringify(files.map((f) => f.name)));
  if (where === "cluster") {
    form.append("sbatch_list", JSON.stringify(lines($("sbatch").value)));
    form.append("module_list", JSON.stringify(lines($("modules").value)));
  }
  for (const f of files) form.append("file", f, f.name);
  const path = where === "cluster" ? "software/" + seg(session.identity) + "/run/" + seg(name)
                                   : "software/run/" + seg(name);
  say("Sending the run of " + name + "…");
  try {
    const response = await api(path, { method: "POST", form });
    if (where === "local") {
      await showResult(response, $("local-result"), $("returned_type").value);
      say("The local run of " + name + " ended OK.");
    } else {
      say("The run of " + name + " was submitted to the cluster; follow it under Your runs.");
    }
    await loadRuns();
  } catch (e) { say("The run was refused or failed: " + e.message, true); }
}

function button(text, label, action) {
  const b = el("button", { type: "button", "aria-label": label }, text);
  b.addEventListener("click", action);
  return b;
}

function runRow(run) {
  const label = "run " + run.number + " (" + run.name + ")";
  const actions = el("td", {});
  if (run.kind === "cluster" && run.cr === "OK") actions.append(button("Results", "Results of " + label, () => results(run)), " ");
  actions.append(button("Content", "Content of " + label + ": its run folder as a zip", () => content(run)), " ");
  if (run.kind === "cluster" && run.cr === "WAIT") actions.append(button("Cancel", "Cancel " + label, () => cancel(run)));
  const state = el("td", { class: "cr-" + run.cr, "data-key-state": "" }, run.cr + (run.cause ? ": " + run.cause : ""));
  return el("tr", { "data-number": run.number }, el("td", {}, run.number), el("td", {}, run.name),
    el("td", {}, run.kind), el("td", {}, run.created), state,
    el("td", {}, run.latest_state + (run.job_id ? " (job " + run.job_id + ")" : "")), actions);
}

async function loadRuns() {
  if (!session.token) return;
  const query = { page: session.page, per_page: 10 };
  if ($("runs-state").value) query.state = $("runs-state").value;
  const page = await (await api("run/list", { query })).json();
  $("runs").tBodies[0].replaceChildren(...page.runs.map(runRow));
  const pages = Math.max(1, Math.ceil(page.total / page.per_page));
  $("runs-page").textContent = "page " + page.page + " of " + pages + " (" + page.total + " runs)";
  $("runs-prev").disabled = page.page <= 1;
  $("runs-next").disabled = page.page >= pages;
  for (const run of page.runs) if (run.kind === "cluster" && run.cr === "WAIT") watch(run);
}

// Live states: one waiting state call per live run (the service answers when
// its state changes, from its poller), then the list is redrawn.
async function watch(run) {
  if (session.watching.has(run.key)) return;
  session.watching.add(run.key);
  const generation = session.generation;
  const path = "software/" + seg(session.identity) + "/state/" + seg(run.name) + "/" + seg(run.key);
  try {
    let last = run.cr + run.latest_state;
    while (generation === session.generation) {
      const body = await (await api(path, { query: { wait: 25 } })).json();
      const report = body.info.report;
      const now = report.cr + report.process.latest_state;
      if (now !== last) { last = now; await loadRuns(); }
      if (report.cr !== "WAIT") { say("Run " + run.number + " ended " + report.cr + "."); break; }
    }
  } catch (e) { say("Following run " + run.number + " failed: " + e.message, true); }
  session.watching.delete(run.key);
}

async function results(run) {
  try {
    const response = await api("software/" + seg(session.identity) + "/run/" + seg(run.name) + "/" + seg(run.key));
    await showResult(response, $("result"), "result");
  } catch (e) { say("Results: " + e.message, true); }
}

async function content(run) {
  try {
    const response = await api("software/" + seg(session.identity) + "/content/" + seg(run.name) + "/" + seg(run.key));
    save(await response.blob(), filenameOf(response, "run-" + run.number + ".zip"));
  } catch (e) { say("Content: " + e.message, true); }
}

async function cancel(run) {
  try {
    await api("software/" + seg(session.identity) + "/cancel/" + seg(run.name) + "/" + seg(run.key), { method: "POST" });
    say("Run " + run.number + " cancelled.");
    await loadRuns();
  } catch (e) { say("Cancel: " + e.message, true); }
}

$("sign-in").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => { signOut(); say("Signed out."); $("username").focus(); });
$("run-form").addEventListener("submit", submitRun);
$("runs-refresh").addEventListener("click", () => loadRuns().catch((e) => say(e.message, true)));
$("runs-state").addEventListener("change", () => { session.page = 1; loadRuns().catch((e) => say(e.message, true)); });
$("runs-prev").addEventListener("click", () => { session.page -= 1; loadRuns().catch((e) => say(e.message, true)); });
$("runs-next").addEventListener("click", () => { session.page += 1; loadRuns().catch((e) => say(e.message, true)); });

showSignedIn();
loadCatalogue().catch((e) => say("The catalogue could not be loaded: " + e.message, true));
if (session.token) loadRuns().catch((e) => say(e.message, true));
