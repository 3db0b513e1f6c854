"""The self-contained live page of ``fraudstream watch --visual --browser`` (no CDN, plain canvas).

It polls ``/data.json`` every 500 ms and draws seed 000's four panels: the last 20 transactions
(newest green, fraud red), the amount time series with its mean line, the 15-bin histogram and
the statistics.
"""

from __future__ import annotations

__all__ = ["PAGE_HTML"]

PAGE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data Stream Monitor</title>
<style>
body{background:#000;color:#fff;font:14px system-ui,sans-serif;margin:12px}
h1{text-align:center;font-size:22px;margin:4px}
h2{font-size:15px;text-align:center;margin:6px}
#grid{display:grid;grid-template-columns:1fr 1fr 1fr;gap:14px}
#tablebox{grid-column:1/4}
table{width:100%;border-collapse:collapse;font-size:13px}
th{background:#333}td,th{border:1px solid #555;padding:2px 6px;text-align:center}
tr.newest td{background:#00ff00;color:#000}tr.fraud td{background:#8b0000}
canvas{width:100%;height:260px;background:#000;border:1px solid #444}
#stats{border:2px solid cyan;padding:8px 16px;white-space:pre;line-height:1.5}
</style></head><body>
<h1 id="title">Data Stream Monitor</h1>
<div id="grid">
<div id="tablebox"><h2 id="tabletitle">Transaction Stream</h2><table><thead><tr>
<th>Transaction ID</th><th>User ID</th><th>Amount</th><th>Item ID</th><th>Timestamp</th></tr></thead>
<tbody id="rows"></tbody></table></div>
<div><h2>Amount Time Series</h2><canvas id="series" width="600" height="300"></canvas></div>
<div><h2>Amount Distribution</h2><canvas id="hist" width="600" height="300"></canvas></div>
<div><h2>STATISTICS</h2><div id="stats">Waiting for transactions...</div></div>
</div>
<script>
"use strict";
function axes(ctx, w, h, lo, hi) {
  ctx.clearRect(0, 0, w, h); ctx.strokeStyle = "#888"; ctx.beginPath();
  ctx.moveTo(50, 10); ctx.lineTo(50, h - 30); ctx.lineTo(w - 10, h - 30); ctx.stroke();
  ctx.fillStyle = "#fff"; ctx.font = "12px sans-serif";
  ctx.fillText("$" + hi.toFixed(0), 2, 16); ctx.fillText("$" + lo.toFixed(0), 2, h - 32);
}
function series(data) {
  const c = document.getElementById("series"), ctx = c.getContext("2d"), w = c.width, h = c.height;
  const a = data.amounts; if (a.length < 1) return;
  const lo = Math.min(...a, data.mean) * 0.95, hi = Math.max(...a, data.mean) * 1.05 || 1;
  axes(ctx, w, h, lo, hi);
  const x = i => 50 + (w - 60) * (a.length > 1 ? i / (a.length - 1) : 0);
  const y = v => (h - 30) - (h - 40) * (v - lo) / ((hi - lo) || 1);
  ctx.strokeStyle = "cyan"; ctx.lineWidth = 2; ctx.beginPath();
  a.forEach((v, i) => i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))); ctx.stroke();
  ctx.fillStyle = "rgba(0,255,255,0.3)";
  ctx.lineTo(x(a.length - 1), h - 30); ctx.lineTo(x(0), h - 30); ctx.fill();
  ctx.strokeStyle = "red"; ctx.setLineDash([6, 4]); ctx.beginPath();
  ctx.moveTo(50, y(data.mean)); ctx.lineTo(w - 10, y(data.mean)); ctx.stroke(); ctx.setLineDash([]);
  ctx.fillStyle = "red"; ctx.fillText("Mean: $" + data.mean.toFixed(2), w - 130, 20);
}
function plasma(t) {
  const stops = [[13,8,135],[126,3,168],[204,71,120],[248,149,64],[240,249,33]];
  const p = t * (stops.length - 1), i = Math.min(Math.floor(p), stops.length - 2), f = p - i;
  const c = stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
  return "rgb(" + c.join(",") + ")";
}
function hist(data) {
  const c = document.getElementById("hist"), ctx = c.getContext("2d"), w = c.width, h = c.height;
  const a = data.amounts, bins = 15; if (a.length < 1) return;
  const lo = Math.min(...a), hi = Math.max(...a), width = (hi - lo) / bins || 1;
  const counts = new Array(bins).fill(0);
  a.forEach(v => counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++);
  const top = Math.max(...counts); axes(ctx, w, h, 0, top); ctx.clearRect(0, 0, 49, h);
  ctx.fillStyle = "#fff"; ctx.fillText(String(top), 20, 16); ctx.fillText("$" + lo.toFixed(0), 50, h - 12);
  ctx.fillText("$" + hi.toFixed(0), w - 50, h - 12);
  const bw = (w - 60) / bins;
  counts.forEach((n, i) => { const bh = (h - 40) * n / top;
    ctx.fillStyle = plasma(i / bins); ctx.fillRect(50 + i * bw, h - 30 - bh, bw - 1, bh); });
}
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
async function refresh() {
  try {
    const data = await (await fetch("data.json", {cache: "no-store"})).json();
    document.getElementById("title").textContent = "Data Stream Monitor - " + data.client_id;
    document.getElementById("tabletitle").textContent =
      "Transaction Stream (Last " + data.rows.length + " of " + data.count + " transactions)";
    const body = document.getElementById("rows"); body.replaceChildren();
    data.rows.forEach((r, i) => { const tr = document.createElement("tr");
      if (i === data.rows.length - 1) tr.className = "newest"; else if (data.fraud[i]) tr.className = "fraud";
      r.forEach(v => tr.appendChild(cell(v))); body.appendChild(tr); });
    if (data.amounts.length) {
      series(data); hist(data);
      document.getElementById("stats").textContent = [
        "Total Transactions: " + data.count, "Total Amount: $" + data.total_amount.toFixed(2), "",
        "Mean Amount: $" + data.mean.toFixed(2), "Median Amount: $" + data.median.toFixed(2),
        "Std Dev: $" + data.std.toFixed(2), "Min Amount: $" + data.min.toFixed(2),
        "Max Amount: $" + data.max.toFixed(2), "", "Unique Users: " + data.unique_users,
        "Unique Items: " + data.unique_items, "", "Top User: " + data.top_user, "Top Item: " + data.top_item
      ].join("\\n");
    }
  } catch (e) { document.getElementById("title").textContent = "Data Stream Monitor - disconnected"; }
}
refresh(); setInterval(refresh, 500);
</script></body></html>
"""
