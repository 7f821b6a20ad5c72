"""A small query page for development, served at GET /graphql to a browser.

It replaces GraphiQL, which strawberry loads from a CDN: a browser without internet access
(a field office, an air-gapped test network) showed nothing. This page is written here, has
no external URL, and its Content-Security-Policy lets it load nothing from anywhere else.
The token lives in the page's memory only, never in storage.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Referral Hub explorer (development)</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1rem; max-width: 70rem; }
  label { display: block; margin-top: .75rem; font-weight: 600; }
  textarea, input { width: 100%; box-sizing: border-box; font: 13px ui-monospace, monospace; }
  textarea#query { height: 14rem; } textarea#variables { height: 5rem; }
  pre { background: #f4f4f4; padding: .75rem; min-height: 6rem; white-space: pre-wrap; }
  button { margin-top: .75rem; padding: .4rem 1.2rem; }
</style>
</head>
<body>
<h1>Referral Hub explorer</h1>
<p>Development only. Take a token at <code>/oauth/token</code> (client credentials) and
paste the access token below; it is kept in this page's memory only.</p>
<label for="token">Access token</label>
<input id="token" type="password" autocomplete="off" placeholder="eyJ...">
<label for="query">Query</label>
<textarea id="query" spellcheck="false">{ organizations { id name kind status } }</textarea>
<label for="variables">Variables (JSON)</label>
<textarea id="variables" spellcheck="false">{}</textarea>
<button id="run" type="button">Run</button>
<label for="result">Result</label>
<pre id="result"></pre>
<script>
"use strict";
const out = document.getElementById("result");
async function run() {
  let variables = {};
  try {
    variables = JSON.parse(document.getElementById("variables").value || "{}");
  } catch (e) {
    out.textContent = "Variables are not valid JSON: " + e.message;
    return;
  }
  const headers = { "Content-Type": "application/json", "Accept": "application/json" };
  const token = document.getElementById("token").value.trim();
  if (token) { headers["Authorization"] = "Bearer " + token; }
  out.textContent = "...";
  const response = await fetch(window.location.pathname, {
    method: "POST",
    headers: headers,
    body: JSON.stringify({ query: document.getElementById("query").value, variables: variables }),
  });
  const text = await response.text();
  try {
    out.textContent = response.status + "\\n" + JSON.stringify(JSON.parse(text), null, 2);
  } catch (e) {
    out.textContent = response.status + "\\n" + text;
  }
}
document.getElementById("run").addEventListener("click", () => {
  run().catch((e) => { out.textContent = "Request failed: " + e.message; });
});
</script>
</body>
</html>
"""


def explorer_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})
