// fraudstream dashboard: small helpers over the bundled plotly.js (no network access needed).
"use strict";
window.fs = (() => {
  const dark = {paper_bgcolor: "#111", plot_bgcolor: "#111", font: {color: "#ddd", size: 11},
                margin: {l: 50, r: 15, t: 35, b: 40}, xaxis: {gridcolor: "#333"}, yaxis: {gridcolor: "#333"}};
  const config = {displaylogo: false, responsive: true, staticPlot: false};
  // a fresh copy per chart: plotly writes axis types and ranges into the layout it is given
  const layout = (title, extra) => JSON.parse(JSON.stringify(
    Object.assign({}, dark, {title: {text: title, font: {size: 13}}}, extra || {})));
  const draw = (id, traces, title, extra) => {
    const el = document.getElementById(id);
    if (el && window.Plotly) Plotly.react(el, traces, layout(title, extra), config);
  };
  const fmt = (v, digits) => (v === null || v === undefined) ? "–" :
    (typeof v === "number" ? v.toLocaleString("en-US", {maximumFractionDigits: digits ?? 2}) : String(v));
  const text = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };

  function live() {
    window.__pushes = [];
    let lastDraw = 0;
    const source = new EventSource("/live/events");
    source.addEventListener("open", () => text("live-status", "connected"));
    source.addEventListener("error", () => text("live-status", "reconnecting…"));
    source.addEventListener("summary", (event) => {
      const s = JSON.parse(event.data);
      window.__pushes.push({received: Date.now() / 1000, total: s.total, counted_until: s.counted_until});
      if (window.__pushes.length > 5000) window.__pushes.splice(0, 1000);
      text("kpi-total", fmt(s.total, 0));
      text("kpi-anomalies", fmt(s.alerts_total, 0));
      text("kpi-anomaly-pct", fmt(s.anomaly_pct, 2) + " %");
      text("kpi-top-category", s.top_category ?? "–");
      text("kpi-tx-per-s", fmt(s.tx_per_s, 1));
      text("kpi-alerts-per-s", fmt(s.alerts_per_s, 1));
      text("kpi-fraud-rate", s.fraud_rate === null ? "–" : fmt(100 * s.fraud_rate, 2) + " %");
      text("counted-until", s.counted_until ? new Date(s.counted_until * 1000).toISOString().slice(11, 23) : "–");
      if (s.stream) text("stream-status", `Stream ${s.stream.address}: ${s.stream.connected ? "connected" : "not connected"}, ${fmt(s.stream.per_s, 1)}/s, ${fmt(s.stream.received, 0)} received.`);
      const body = document.querySelector("#live-table tbody");
      if (body) {
        body.replaceChildren(...s.table.map((r) => {
          const tr = document.createElement("tr");
          for (const v of [r.tx_id, r.customer_id, "$" + r.amount.toFixed(2), r.item_id ?? "", r.category ?? "", (r.ts || "").split("T")[1]?.slice(0, 8) ?? ""]) {
            const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
          }
          return tr;
        }));
      }
      const st = s.statistics, dl = document.getElementById("live-stats");
      if (dl) {
        const items = [["Total Transactions", fmt(st.transactions, 0)], ["Total Amount", "$" + fmt(st.total_amount)],
          ["Mean Amount", "$" + fmt(st.mean_amount)], ["Median Amount", "$" + fmt(st.median_amount)],
          ["Std Dev", "$" + fmt(st.std_amount)], ["Min Amount", "$" + fmt(st.min_amount)], ["Max Amount", "$" + fmt(st.max_amount)],
          ["Unique Users", fmt(st.unique_users, 0)], ["Unique Items", fmt(st.unique_items, 0)],
          ["Top User", st.top_user ?? "–"], ["Top Item", st.top_item ?? "–"]];
        dl.replaceChildren(...items.flatMap(([k, v]) => {
          const dt = document.createElement("dt"), dd = document.createElement("dd");
          dt.textContent = k; dd.textContent = v; return [dt, dd];
        }));
      }
      const now = Date.now();
      if (now - lastDraw < 900) return;  // charts at most about once a second; numbers on every push
      lastDraw = now;
      const times = s.series.t.map((t) => new Date(t * 1000));
      draw("chart-rate", [{x: times, y: s.series.tx, name: "transactions/s", type: "scatter", line: {color: "cyan"}},
                          {x: times, y: s.series.alerts, name: "alerts/s", type: "scatter", yaxis: "y2", line: {color: "#f44"}}],
           "Transactions and alerts per second", {yaxis2: {overlaying: "y", side: "right", gridcolor: "#333"}, showlegend: true, legend: {orientation: "h"}});
      const mean = s.amounts.length ? s.amounts.reduce((a, b) => a + b, 0) / s.amounts.length : 0;
      const index = s.amounts.map((_, i) => i);
      draw("chart-amounts", [{x: index, y: s.amounts, mode: "lines+markers", marker: {size: 3}, fill: "tozeroy", line: {color: "cyan"}, name: "amount"},
                             {x: [0, Math.max(index.length - 1, 1)], y: [mean, mean], mode: "lines", line: {color: "red", dash: "dash"}, name: `Mean: $${mean.toFixed(2)}`}],
           "Amount Time Series", {xaxis: {title: {text: "Transaction Index"}, gridcolor: "#333"}, yaxis: {title: {text: "Amount ($)"}, gridcolor: "#333"}, legend: {orientation: "h"}});
      const e = s.histogram.edges, centres = s.histogram.counts.map((_, i) => (e[i] + e[i + 1]) / 2);
      draw("chart-histogram", [{x: centres, y: s.histogram.counts, type: "bar", marker: {color: centres, colorscale: "Plasma"}}],
           "Amount Distribution", {xaxis: {title: {text: "Amount ($)"}, gridcolor: "#333"}, yaxis: {title: {text: "Frequency"}, gridcolor: "#333"}});
    });
  }

  // the Alerts page: when the live feed says alerts were raised, fetch those rows and put them on top
  function alerts(status, pageNo) {
    const body = document.querySelector("#alerts-table tbody");
    let total = null, busy = false, again = false;
    const newest = () => body.querySelector("tr")?.dataset.raised || "";
    async function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      try {
        const answer = await fetch(`/alerts/new?status=${encodeURIComponent(status)}&since=${encodeURIComponent(newest())}`,
                                   {headers: {accept: "application/json"}});
        if (!answer.ok) return;
        const d = await answer.json();
        for (const [name, n] of Object.entries(d.counts)) {
          const count = document.querySelector(`#tab-${name} .count`);
          if (count) count.textContent = n;
        }
        if (pageNo !== 1) return;  // new alerts go on the first page
        const rows = document.createElement("template");
        rows.innerHTML = d.rows;
        const shown = new Set([...body.querySelectorAll("tr")].map((tr) => tr.dataset.key));
        const fresh = [...rows.content.querySelectorAll("tr")].filter((tr) => !shown.has(tr.dataset.key));
        fresh.forEach((tr) => tr.classList.add("new"));
        body.prepend(...fresh);
        while (body.children.length > 50) body.lastElementChild.remove();
        if (fresh.length) document.getElementById("no-alerts")?.remove();
      } finally {
        busy = false;
        if (again) { again = false; refresh(); }
      }
    }
    const source = new EventSource("/live/events");
    source.addEventListener("open", () => text("alerts-live", "live"));
    source.addEventListener("error", () => text("alerts-live", "reconnecting…"));
    source.addEventListener("summary", (event) => {
      const s = JSON.parse(event.data);
      if (s.alerts_total !== total) { total = s.alerts_total; refresh(); }  // the first one covers the gap since the page was drawn
    });
  }

  function worldTraces() {
    return (window.FS_WORLD || []).map((ring) => ({x: ring.map((p) => p[0]), y: ring.map((p) => p[1]), mode: "lines",
      line: {color: "#556", width: 1}, fill: "toself", fillcolor: "#1d2230", hoverinfo: "skip", showlegend: false}));
  }

  function patterns(d) {
    draw("chart-gauge", [{type: "indicator", mode: "gauge+number", value: d.fraud_percentage ?? 0, number: {suffix: " %"},
      gauge: {axis: {range: [0, 100]}, steps: [{range: [0, 30], color: "#264"}, {range: [30, 50], color: "#EAB839"}, {range: [50, 100], color: "#a22"}]}}],
      "Fraud percentage in window");
    const m = d.by_method;
    draw("chart-by-method", [{type: "bar", orientation: "h", y: m.map((r) => r.method), x: m.map((r) => r.fraud_rate),
      marker: {color: m.map((r) => r.fraud_rate), colorscale: [[0, "green"], [0.5, "yellow"], [1, "red"]]}}],
      "Fraud rate (%) per transaction method", {margin: {l: 110, r: 15, t: 35, b: 30}});
    draw("chart-fraud-series", [{x: d.fraud_series.at, y: d.fraud_series.fraud_count, type: "scatter", mode: "lines", line: {color: "darkred"}}],
      `Fraud count per ${d.fraud_series.bucket_s / 60} minute(s)`);
    const c = d.by_country.filter((r) => r.frauds > 0);
    const known = c.filter((r) => window.FS_COUNTRIES && FS_COUNTRIES[r.country]);
    const maxCount = Math.max(1, ...known.map((r) => r.frauds));
    const traces = worldTraces();
    traces.push({x: d.geo_points.map((p) => p.lon), y: d.geo_points.map((p) => p.lat), mode: "markers", name: "alerts (lat/lon)",
      marker: {color: "#f33", size: 5, opacity: 0.7}, text: d.geo_points.map((p) => `${p.tx_id}: ${p.amount}`)});
    traces.push({x: known.map((r) => FS_COUNTRIES[r.country][0]), y: known.map((r) => FS_COUNTRIES[r.country][1]), mode: "markers+text",
      name: "Number of fraud (country)", text: known.map((r) => r.country), textposition: "top center",
      marker: {color: "orange", size: known.map((r) => 6 + 20 * r.frauds / maxCount), opacity: 0.8}});
    draw("chart-map", traces, "Alerts on an offline outline map", {xaxis: {range: [-180, 180], showgrid: false, zeroline: false},
      yaxis: {range: [-60, 85], showgrid: false, zeroline: false, scaleanchor: "x"}, legend: {orientation: "h"}});
    draw("chart-by-country", [{type: "bar", orientation: "h", y: c.map((r) => r.country), x: c.map((r) => r.frauds), marker: {color: "#c44"}}],
      "Fraud transactions per country", {margin: {l: 110, r: 15, t: 35, b: 30}});
    draw("chart-heatmap", [{type: "heatmap", z: d.heatmap, x: [...Array(24).keys()], y: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], colorscale: "Reds"}],
      "Alerts by weekday × hour (UTC)");
    const k = d.by_category.filter((r) => r.frauds > 0);
    draw("chart-by-category", [{type: "bar", x: k.map((r) => r.category), y: k.map((r) => r.frauds), marker: {color: "#c84"}}],
      "Fraud by category");
  }

  function customer(v) {
    draw("chart-scores", [{x: v.scores.map((r) => r.ts), y: v.scores.map((r) => r.score), mode: "lines+markers", marker: {size: 4}}],
      "Scores over time");
    draw("chart-history", [{x: v.history.map((r) => r.ts), y: v.history.map((r) => r.amount), mode: "markers",
      marker: {size: 6, color: v.history.map((r) => r.is_fraud ? "red" : "cyan")}}], "Amounts (red: labelled fraud)");
  }

  function model(d) {
    if (d.pr) draw("chart-pr", [{x: d.pr.recall, y: d.pr.precision, mode: "lines"}], "Precision–recall",
      {xaxis: {title: {text: "recall"}, range: [0, 1]}, yaxis: {title: {text: "precision"}, range: [0, 1.02]}});
    if (d.roc) draw("chart-roc", [{x: d.roc.fpr, y: d.roc.tpr, mode: "lines"}, {x: [0, 1], y: [0, 1], mode: "lines", line: {dash: "dot", color: "#666"}}],
      "ROC", {showlegend: false, xaxis: {title: {text: "false-positive rate"}}, yaxis: {title: {text: "true-positive rate"}}});
    if (d.score_hist) {
      const e = d.score_hist.edges, x = e.slice(0, -1).map((v, i) => (v + e[i + 1]) / 2);
      draw("chart-scores", ["legit", "fraud", "unlabelled"].map((k) => ({x, y: d.score_hist[k], type: "bar", name: k})),
        "Score distribution by label", {barmode: "overlay", yaxis: {type: "log"}});
    }
    const traces = Object.entries(d.metrics || {}).map(([name, s]) => ({x: s.at, y: s.value, mode: "lines", name}));
    if (d.drift) {
      traces.push({x: d.drift.at, y: d.drift.precision, mode: "lines+markers", name: "precision (per period)"});
      traces.push({x: d.drift.at, y: d.drift.recall, mode: "lines+markers", name: "recall (per period)"});
      draw("chart-drift-score", [{x: d.drift.at, y: d.drift.score_p50, name: "score p50"}, {x: d.drift.at, y: d.drift.score_p90, name: "score p90"},
        {x: d.drift.at, y: d.drift.score_psi, name: "score PSI vs first period", yaxis: "y2"}], "Score drift",
        {yaxis2: {overlaying: "y", side: "right"}, legend: {orientation: "h"}});
      draw("chart-drift-feature", [{x: d.drift.at, y: d.drift.amount_p50, name: "amount p50"},
        {x: d.drift.at, y: d.drift.amount_psi, name: "amount PSI vs first period", yaxis: "y2"}], "Feature drift (amount)",
        {yaxis2: {overlaying: "y", side: "right"}, legend: {orientation: "h"}});
    }
    draw("chart-prequential", traces, "Prequential metrics", {legend: {orientation: "h"}});
  }
  return {live, alerts, patterns, customer, model};
})();
