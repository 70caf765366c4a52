// The dashboard page: reads the JSON endpoints and draws the panels. Data never goes through
// innerHTML: every text from the warehouse is set with textContent.
"use strict";
(() => {
  // The lowercase label keys of the API's answers (shares, averages, avg_<key>), in the order
  // the panels show them; the label set itself is tweetsense.contracts.LABELS.
  const LABEL_KEYS = ["positive", "neutral", "negative", "mixed"];
  const COLORS = { positive: "#2e9d5b", neutral: "#7f8fa6", negative: "#d64545", mixed: "#e0a030" };
  const SVG_NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  // analyzer: the one every panel shows, null for the primary (whose tables answer without the
  // parameter); versus: the one the agreement panel compares it with.
  const state = { query: null, start: null, end: null, first: null, last: null, freq: 900,
    charts: {}, loads: 0, request: 0, timer: null, analyzers: [], analyzer: null, versus: null };

  function el(tag, attrs = {}, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svg(tag, attrs = {}) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }

  async function getJSON(path, params = {}) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(params)) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
    }
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  const iso = (sec) => new Date(sec * 1000).toISOString().replace(".000Z", "Z");
  // Every time a person reads or types: ISO 8601 in UTC, to the minute (2024-03-01 14:15 UTC).
  const day = (sec) => new Date(sec * 1000).toISOString().slice(0, 10);
  const clock = (sec) => new Date(sec * 1000).toISOString().slice(11, 16);
  const when = (sec) => `${day(sec)} ${clock(sec)} UTC`;
  // A typed time: a date, then optionally a space or T, hh:mm[:ss], and UTC or Z.
  const TYPED = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?\s*(?:UTC|Z)?$/i;
  const toSec = (text) => (text ? Date.parse(text) / 1000 : null);
  const pct = (x) => (x * 100).toFixed(1) + "%";
  const score = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : x.toFixed(3));
  const count = (n) => n.toLocaleString("en-US");

  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // One floating tooltip for gauges, donut and charts; lines of plain text.
  const tip = {
    show(lines, x, y) {
      const box = $("tip");
      box.textContent = lines.join("\n");
      box.hidden = false;
      const w = box.offsetWidth;
      box.style.left = `${Math.min(x + 14, window.innerWidth - w - 8)}px`;
      box.style.top = `${y + 14}px`;
    },
    hide() { $("tip").hidden = true; },
  };

  function hoverable(node, lines) {
    node.addEventListener("mousemove", (e) => tip.show(lines(), e.clientX, e.clientY));
    node.addEventListener("mouseleave", () => tip.hide());
  }

  function arcPath(cx, cy, r, frac) {
    const a = Math.PI * (1 - frac);
    const x = cx + r * Math.cos(a);
    const y = cy - r * Math.sin(a);
    return `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)}`;
  }

  function drawGauges(summary) {
    for (const label of LABEL_KEYS) {
      const box = $(`gauge-${label}`);
      const share = summary.shares[label];
      const s = svg("svg", { viewBox: "0 0 160 92", role: "img", "aria-label": `${label} share` });
      s.append(svg("path", { d: arcPath(80, 84, 64, 1), class: "gauge-track", fill: "none",
        "stroke-width": 16 }));
      if (share > 0) {
        s.append(svg("path", { d: arcPath(80, 84, 64, Math.min(share, 0.9999)), fill: "none",
          stroke: COLORS[label], "stroke-width": 16 }));
      }
      box.dataset.value = String(share);
      box.replaceChildren(s, el("div", { class: "gauge-value" }, pct(share)),
        el("div", { class: "gauge-label" }, `${label} posts`));
    }
  }

  function drawTotal(summary) {
    $("total").textContent = count(summary.tweets);
    $("total").dataset.value = String(summary.tweets);
    $("total-detail").textContent = summary.windows
      ? `in ${count(summary.windows)} windows, ${when(toSec(summary.first_window))}` +
        ` to ${when(toSec(summary.last_window))}`
      : "no windows in this range";
  }

  function drawDonut(summary) {
    const box = $("donut");
    const r = 60;
    const c = 2 * Math.PI * r;
    const s = svg("svg", { viewBox: "0 0 160 160", role: "img", "aria-label": "average scores" });
    s.append(svg("circle", { cx: 80, cy: 80, r, fill: "none", stroke: "#e1e5ea", "stroke-width": 26 }));
    const list = el("ul");
    let offset = 0;
    for (const label of LABEL_KEYS) {
      const value = summary.averages[label];
      const seg = svg("circle", { cx: 80, cy: 80, r, fill: "none", stroke: COLORS[label],
        "stroke-width": 26, "stroke-dasharray": `${value * c} ${c}`, "stroke-dashoffset": -offset,
        transform: "rotate(-90 80 80)", "data-label": label });
      offset += value * c;
      if (value > 0) s.append(seg);
      const lines = () => [`average ${label} score`, value.toFixed(4)];
      hoverable(seg, lines);
      const item = el("li", { "data-label": label });
      item.append(el("span", { class: `swatch sw-${label}` }), `${label} `, el("b", {}, value.toFixed(3)));
      hoverable(item, lines);
      list.append(item);
    }
    box.replaceChildren(s, list);
  }

  function chartTooltip(names, digits) {
    return {
      hooks: {
        setCursor: (u) => {
          const i = u.cursor.idx;
          if (i === null || i === undefined || u.cursor.left < 0) return tip.hide();
          const lines = [`${when(u.data[0][i])} (click for its posts)`];
          names.forEach((name, k) => {
            const v = u.data[k + 1][i];
            lines.push(`${name}: ${v === null ? "–" : v.toFixed(digits)}`);
          });
          const rect = u.over.getBoundingClientRect();
          tip.show(lines, rect.left + u.cursor.left, rect.top + u.cursor.top);
        },
      },
    };
  }

  function interactions(u) {
    let downAt = null;
    u.over.addEventListener("mousedown", (e) => { downAt = e.clientX; });
    u.over.addEventListener("mouseup", (e) => {
      const click = downAt !== null && Math.abs(e.clientX - downAt) < 4;
      downAt = null;
      const i = u.cursor.idx;
      if (click && i !== null && i !== undefined) showTweets(u.data[0][i]);
    });
    u.over.addEventListener("mouseleave", () => tip.hide());
  }

  function onSelect(u) {
    if (u.select.width < 4) return;
    const from = u.posToVal(u.select.left, "x");
    const to = u.posToVal(u.select.left + u.select.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    const f = state.freq;
    setRange(Math.floor(from / f) * f, Math.ceil(to / f) * f, "custom");
  }

  // Time ticks as hh:mm, with the date (and UTC) under the first tick of each day; a tick at
  // midnight of a range of days shows the date alone.
  function timeTicks(u, splits) {
    const days = splits.every((s) => s % 86400 === 0);
    return splits.map((s, k) => {
      if (days) return day(s);
      const newDay = k === 0 || day(s) !== day(splits[k - 1]);
      return newDay ? `${clock(s)}\n${day(s)} UTC` : clock(s);
    });
  }

  function makeChart(target, series, names, digits) {
    const opts = {
      width: Math.max(300, target.clientWidth),
      height: 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { show: true, live: false },
      scales: { x: { time: true } },
      series: [{}, ...series],
      axes: [{ values: timeTicks, size: 56, space: 70 }, { size: 56 }],
      plugins: [chartTooltip(names, digits)],
      hooks: { setSelect: [onSelect], ready: [interactions] },
    };
    return new uPlot(opts, [[], ...series.map(() => [])], target);
  }

  function drawAgreement(ag) {
    $("agreement").textContent = ag.agreement === null ? "–" : pct(ag.agreement);
    $("agreement").dataset.value = String(ag.agreement);
    $("kappa").textContent = score(ag.kappa);
    $("kappa").dataset.value = String(ag.kappa);
    $("agreement-n").textContent = count(ag.n);
    if (!state.charts.agreement) {
      state.charts.agreement = makeChart($("chart-agreement"), [
        { label: "agreement", stroke: "#3b6fd8", width: 1.5 },
        { label: "kappa", stroke: "#8a5cd6", width: 1.5, dash: [4, 3] },
      ], ["agreement", "kappa"], 4);
    }
    state.charts.agreement.setData([ag.time, ag.window_agreement, ag.window_kappa]);
    $("chart-agreement").dataset.points = String(ag.windows);
  }

  function drawCharts(win) {
    if (!state.charts.count) {
      state.charts.count = makeChart($("chart-count"), [
        { label: "posts", stroke: "#3b6fd8", fill: "rgba(59,111,216,0.15)", width: 1 },
      ], ["posts"], 0);
      state.charts.sentiment = makeChart($("chart-sentiment"), LABEL_KEYS.map((label) => ({
        label, stroke: COLORS[label], width: 1.5,
      })), LABEL_KEYS, 4);
    }
    state.charts.count.setData([win.time, win.count_tweets]);
    state.charts.sentiment.setData([win.time, ...LABEL_KEYS.map((l) => win[`avg_${l}`])]);
    $("chart-count").dataset.points = String(win.windows);
    $("chart-sentiment").dataset.points = String(win.windows);
  }

  function inputValue(sec) {
    return sec === null ? "" : when(sec);
  }

  function setRange(start, end, preset) {
    state.start = start;
    state.end = end;
    $("range").value = preset;
    $("from").value = inputValue(start);
    $("to").value = inputValue(end);
    return load();
  }

  function applyPreset() {
    const preset = $("range").value;
    if (preset === "custom") return applyInputs();
    if (preset === "all" || state.last === null) return setRange(null, null, preset);
    const end = state.last + state.freq;
    return setRange(end - Number(preset), end, preset);
  }

  function typed(id, name) {
    const text = $(id).value.trim();
    if (!text) return null;
    const m = TYPED.exec(text);
    const sec = m ? Date.parse(`${m[1]}T${m[2] || "00:00"}Z`) / 1000 : NaN;
    if (Number.isNaN(sec)) throw new Error(`${name}: write a UTC time such as 2024-03-01 14:15 UTC`);
    return sec;
  }

  function applyInputs() {
    let start, end;
    try {
      start = typed("from", "From");
      end = typed("to", "To");
    } catch (e) {
      return showError(e.message);
    }
    return setRange(start, end, "custom");
  }

  // Refreshing re-reads the newest window first, so a "last N" range slides with new loads;
  // the posts of a clicked window stay listed.
  async function refresh() {
    if (state.query === null) return;
    try {
      const all = await getJSON("/api/summary", { query: state.query });
      state.last = all.last_window ? toSec(all.last_window) : null;
    } catch (e) {
      return showError(e.message);
    }
    const preset = $("range").value;
    if (preset !== "all" && preset !== "custom" && state.last !== null) {
      state.end = state.last + state.freq;
      state.start = state.end - Number(preset);
    }
    return load({ keepTweets: true });
  }

  function autoRefresh(seconds) {
    clearInterval(state.timer);
    state.timer = seconds > 0 ? setInterval(refresh, seconds * 1000) : null;
  }

  async function load({ keepTweets = false } = {}) {
    const request = ++state.request;
    const range = { query: state.query, start: state.start && iso(state.start),
      end: state.end && iso(state.end) };
    const params = { ...range, analyzer: state.analyzer };
    const compare = state.versus !== null;
    try {
      const [summary, win, ag] = await Promise.all([
        getJSON("/api/summary", params), getJSON("/api/windows", params),
        compare ? getJSON("/api/agreement", { ...range, a: shown(), b: state.versus }) : null]);
      if (request !== state.request) return;  // a newer range was asked for meanwhile
      if (win.time.length > 1) state.freq = win.time[1] - win.time[0];
      showError("");
      drawGauges(summary);
      drawTotal(summary);
      drawDonut(summary);
      drawCharts(win);
      $("agreement-row").hidden = !compare;
      if (compare) drawAgreement(ag);
      if (!keepTweets) clearTweets();
      $("range-text").textContent = state.start === null && state.end === null
        ? "all windows" : `${state.start === null ? "…" : when(state.start)} to ` +
          `${state.end === null ? "…" : when(state.end)}`;
      document.body.dataset.loads = String(++state.loads);
      if (!document.body.dataset.ready) {
        document.body.dataset.readyMs = performance.now().toFixed(0);
        document.body.dataset.ready = "1";
      }
    } catch (e) {
      showError(e.message);
    }
  }

  function clearTweets() {
    $("tweets").querySelector("tbody").replaceChildren();
    $("tweets-title").replaceChildren("Posts of a window ",
      el("span", { class: "muted" }, "(click a window in a chart)"));
  }

  async function showTweets(sec) {
    try {
      const body = await getJSON("/api/tweets", { query: state.query, window: iso(sec), limit: 20,
        analyzer: state.analyzer });
      const rows = body.tweets.map((t) => {
        const tr = el("tr");
        const badge = el("span", { class: `badge badge-${t.label}` }, t.label);
        const label = el("td");
        label.append(badge);
        tr.append(el("td", {}, (t.created_at || "").slice(11, 19)),
          el("td", {}, t.username ? `@${t.username}` : ""), label,
          el("td", { class: "num" }, score(t.positive)), el("td", { class: "num" }, score(t.neutral)),
          el("td", { class: "num" }, score(t.negative)), el("td", { class: "num" }, score(t.mixed)),
          el("td", { class: "text" }, t.text || ""));
        return tr;
      });
      $("tweets").querySelector("tbody").replaceChildren(...rows);
      $("tweets").dataset.window = body.window;
      $("tweets-title").textContent = `Posts of the window ${when(sec)}` +
        ` (${rows.length} shown${rows.length === 20 ? ", the first 20" : ""})`;
    } catch (e) {
      showError(e.message);
    }
  }

  // The analyzer shown, by name (the primary's when none is picked).
  const shown = () => state.analyzer ?? state.analyzers[0];

  // The agreement panel compares the shown analyzer with another one; kept when still possible.
  function fillVersus() {
    const others = state.analyzers.filter((a) => a !== shown());
    if (!others.includes(state.versus)) state.versus = others.length ? others[0] : null;
    $("versus").replaceChildren(...others.map((a) => el("option", { value: a }, a)));
    if (state.versus !== null) $("versus").value = state.versus;
  }

  function selectAnalyzer(name) {
    state.analyzer = name === state.analyzers[0] ? null : name;
    fillVersus();
    return load();
  }

  async function selectQuery(query) {
    state.query = query;
    const { analyzers } = await getJSON("/api/analyzers", { query });
    state.analyzers = analyzers;
    state.analyzer = null;
    $("analyzer").replaceChildren(...analyzers.map((a, i) =>
      el("option", { value: a }, i === 0 ? `${a} (primary)` : a)));
    $("analyzer-box").hidden = analyzers.length < 2;
    fillVersus();
    const all = await getJSON("/api/summary", { query });
    state.first = all.first_window ? toSec(all.first_window) : null;
    state.last = all.last_window ? toSec(all.last_window) : null;
    return setRange(null, null, "all");
  }

  async function init() {
    $("range").addEventListener("change", applyPreset);
    $("apply").addEventListener("click", applyInputs);
    $("query").addEventListener("change", (e) => selectQuery(e.target.value));
    $("analyzer").addEventListener("change", (e) => selectAnalyzer(e.target.value));
    $("versus").addEventListener("change", (e) => { state.versus = e.target.value; load(); });
    $("refresh").addEventListener("change", (e) => autoRefresh(Number(e.target.value)));
    // ?refresh=SECONDS starts refreshing at once, for a wall display.
    const every = Number(new URLSearchParams(location.search).get("refresh"));
    if (every > 0) {
      const known = [...$("refresh").options].some((o) => Number(o.value) === every);
      if (!known) $("refresh").append(el("option", { value: String(every) }, `${every} s`));
      $("refresh").value = String(every);
      autoRefresh(every);
    }
    window.addEventListener("resize", () => {
      for (const [name, chart] of Object.entries(state.charts)) {
        chart.setSize({ width: Math.max(300, $(`chart-${name}`).clientWidth), height: 240 });
      }
    });
    try {
      const { queries } = await getJSON("/api/queries");
      if (!queries.length) {
        showError("The warehouse has no windows yet; run `tweetsense run` to load some.");
        document.body.dataset.ready = "1";
        return;
      }
      $("query").replaceChildren(...queries.map((q) => el("option", { value: q }, q)));
      await selectQuery(queries[0]);
    } catch (e) {
      showError(e.message);
    }
  }

  init();
})();
