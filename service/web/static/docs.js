// Renders /api/openapi.json as a page: operations grouped by tag, each a
// <details> (keyboard: Tab to it, Enter/Space to open), then every schema.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function schemaText(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  return JSON.stringify(schema);
}

function typeText(schema) {
  if (schema.enum) return schema.enum.join(" | ");
  if (schema.type === "array" && schema.items) return "list of " + (schema.items.type || "…");
  return schema.type || schemaText(schema);
}

function schemaNode(schema) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return el("a", { href: "#schema-" + name }, name);
  }
  if (schema && schema.properties) {  // an inline object: one line per field
    const list = el("ul", {});
    for (const [name, prop] of Object.entries(schema.properties)) {
      list.append(el("li", {}, el("code", {}, name), " (", typeText(prop), ")",
        prop.description ? ": " + prop.description : ""));
    }
    return list;
  }
  return el("code", {}, schemaText(schema));
}

function operationNode(path, method, op) {
  const id = op.operationId;
  const box = el("details", { id: "op-" + id, class: "op" });
  const lock = op.security && op.security.every((s) => Object.keys(s).length) ? " (token)" : "";
  box.append(el("summary", {}, el("span", { class: "method " + method }, method.toUpperCase()),
    " ", el("code", {}, path), " — ", op.summary + lock));
  if (op.description) box.append(el("p", {}, op.description));
  if (op.security) {
    const keyOk = op.security.some((s) => !Object.keys(s).length);
    box.append(el("p", {}, keyOk ? "The run key suffices (a site may also ask for the owner's token)."
      : "Needs a token: Authorization: Bearer <token>, or parameter jwt."));
  }
  if (op.parameters && op.parameters.length) {
    const table = el("table", {}, el("caption", {}, "Parameters"),
      el("tr", {}, el("th", { scope: "col" }, "name"), el("th", { scope: "col" }, "in"),
        el("th", { scope: "col" }, "schema"), el("th", { scope: "col" }, "description")));
    for (const p of op.parameters) {
      table.append(el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in),
        el("td", {}, schemaNode(p.schema)), el("td", {}, p.description || "")));
    }
    box.append(table);
  }
  if (op.requestBody) {
    const list = el("ul", {});
    for (const [type, media] of Object.entries(op.requestBody.content)) {
      list.append(el("li", {}, el("code", {}, type), ": ", schemaNode(media.schema)));
    }
    box.append(el("h4", {}, "Body"), list);
  }
  const responses = el("ul", {});
  for (const [status, r] of Object.entries(op.responses)) {
    const types = Object.entries(r.content || {}).map(([t, m]) =>
      el("span", {}, el("code", {}, t), m.schema ? [" ", schemaNode(m.schema)] : ""));
    const item = el("li", {}, el("strong", {}, status), " ", r.description, ": ");
    types.forEach((t, i) => { if (i) item.append(", "); item.append(...t.childNodes); });
    responses.append(item);
  }
  box.append(el("h4", {}, "Responses"), responses);
  return box;
}

async function main() {
  const status = document.getElementById("docs-status");
  let doc;
  try {
    const response = await fetch("/api/openapi.json");
    doc = await response.json();
  } catch (e) {
    status.textContent = "The description could not be loaded: " + e;
    return;
  }
  status.textContent = doc.info.description;
  const byTag = new Map();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationNode(path, method, op));
    }
  }
  const toc = el("ul", {});
  const ops = document.getElementById("docs-ops");
  for (const [tag, nodes] of byTag) {
    toc.append(el("li", {}, el("a", { href: "#tag-" + tag }, tag)));
    ops.append(el("h2", { id: "tag-" + tag }, tag), ...nodes);
  }
  document.getElementById("docs-toc").append(toc);
  const schemas = document.getElementById("docs-schemas");
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    schemas.append(el("h3", { id: "schema-" + name }, name),
      el("pre", { tabindex: "0" }, JSON.stringify(schema, null, 2)));
  }
}

main();
