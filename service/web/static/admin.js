// The admin page (GET /api/admin): plain JS over the admin API. The token lives in
// this tab's sessionStorage (under the key the ws page uses) and goes only in the
// Authorization header: never in a URL, so never in a proxy log or a history.
"use strict";

const $ = (id) => document.getElementById(id);
const base = document.body.dataset.base;              // this page's path, e.g. /api/admin
const apiRoot = base.slice(0, base.length - "admin".length);  // e.g. /api/
let token = sessionStorage.getItem("ws-token") || "";

function say(text, error) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

async function call(url, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(url, { ...options, headers, credentials: "omit", cache: "no-store" });
  let body = {};
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    if (response.status === 401) signOut();
    const more = body.more && body.more.length ? " — " + body.more.join("; ") : "";
    throw new Error((body.error || response.status + " " + response.statusText) + more);
  }
  return body;
}

function showSignedIn() {
  $("sign-in-section").hidden = Boolean(token);
  if (token) $("admin-section").hidden = false;
}

function signOut() {
  token = "";
  sessionStorage.removeItem("ws-token"); sessionStorage.removeItem("ws-user");
  $("tables").replaceChildren();
  $("admin-section").hidden = true;
  showSignedIn();
}

function el(tag, ...children) {
  const node = document.createElement(tag);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function table(title, rows) {
  const heading = el("h2", title);
  if (!rows.length) return [heading, el("p", "none")];
  const head = el("tr", ...Object.keys(rows[0]).map((k) => el("th", k)));
  const body = rows.map((row) => el("tr", ...Object.values(row).map((v) =>
    el("td", typeof v === "object" && v !== null ? JSON.stringify(v) : v))));
  return [heading, el("table", head, ...body)];
}

async function loadOverview() {
  const data = await call(base + "/?format=json");
  $("tables").replaceChildren(...Object.entries(data).flatMap(([t, rows]) => table(t, rows)));
}

async function signIn(event) {
  event.preventDefault();
  try {
    const answer = await call(apiRoot + "jwt/obtain/", { method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }) });
    token = answer.jwt;
    sessionStorage.setItem("ws-token", answer.jwt); sessionStorage.setItem("ws-user", answer.username);
    $("password").value = "";
    showSignedIn();
    await loadOverview();
    say("Signed in as " + answer.username + " until " + answer.expires + ".");
  } catch (e) { say("Sign in failed: " + e.message, true); }
}

async function operate(event) {
  event.preventDefault();
  const form = event.target;
  const fields = new URLSearchParams(new FormData(form));
  fields.delete("format");  // the answer is read here, as JSON
  try {
    const answer = await call(form.action, { method: "POST", body: fields });
    form.reset();  // passwords do not stay on the page
    say(answer.msg || "Done.");
    await loadOverview();
  } catch (e) { say(e.message, true); }
}

$("sign-in").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => { signOut(); say("Signed out."); });
for (const form of document.querySelectorAll("form.operation")) form.addEventListener("submit", operate);
showSignedIn();
if (token) loadOverview().catch((e) => say(e.message, true));
