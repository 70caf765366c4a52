// The dashboard page: reads the JSON endpoints and draws the panels. Data never goes through
// innerHTML: every text from the warehouse is set with textContent.
"use strict";
(() => {
  // The lowercase label keys of the API's answers (shares, averages, avg_<key>), in the order
  // the panels show them; the label set itself is tweetsense.contracts.LABELS.
  const LABEL_KEYS = ["positive", "neutral", "negative", "mixed"];
  const COLORS = { positive: "#2e9d5b", neutral: "#7f8fa6", negative: "#d64545", mixed: "#e0a030" };
  const PALETTE = ["#3b6fd8", "#d64545", "#2e9d5b", "#8a5cd6", "#e0a030", "#1f9bb0", "#7f8fa6"];
  const SVG_NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  // analyzer: the one every panel shows, null for the primary (whose tables answer without the
  // parameter); versus: the one the agreement panel compares it with. window: the clicked
  // window whose posts are listed (null: the range's); driver: the driver filtering the posts.
  const state = { query: null, start: null, end: null, first: null, last: null, freq: 900,
    charts: {}, loads: 0, request: 0, timer: null, analyzers: [], analyzer: null, versus: null,
    queries: [], share: [], spikes: [], window: null, driver: null, reposts: "each" };
  const CHART_HEIGHT = 240;

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

  function apiUrl(path, params = {}) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(params)) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
    }
    return url;
  }

  async function getJSON(path, params = {}) {
    const response = await fetch(apiUrl(path, params), { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  // A panel's CSV link: the same request as its JSON, as a download.
  function csvLink(id, path, params) {
    const url = apiUrl(path, { ...params, format: "csv" });
    $(id).setAttribute("href", url.pathname + url.search);
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
  const count = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));
  const signed = (x, text) => (x > 0 ? "+" : x < 0 ? "−" : "±") + text(Math.abs(x));

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

  // A change against the previous period of the same length: "+2.1 pts vs previous".
  function showDelta(id, value, text) {
    const box = $(id);
    box.dataset.value = value === null || value === undefined ? "" : String(value);
    box.classList.remove("up", "down");
    if (value === null || value === undefined) {
      box.textContent = "";
      return;
    }
    if (value !== 0) box.classList.add(value > 0 ? "up" : "down");
    box.textContent = `${signed(value, text)} vs previous period`;
  }
  const points = (x) => `${(x * 100).toFixed(1)} pts`;

  function arcPath(cx, cy, r, frac) {
    const a = Math.PI * (1 - frac);
    const x = cx + r * Math.cos(a);
    const y = cy - r * Math.sin(a);
    return `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)}`;
  }

  // With reposts counted once, the shares are those of the opinions (where the analyzer has
  // them); the post counts stay what was read.
  const once = () => state.reposts === "once";
  const sharesOf = (s) => (once() && s.opinion_shares ? s.opinion_shares : s.shares);
  const netOf = (s) => (once() && s.net_opinion !== null ? s.net_opinion : s.net);

  function drawGauges(summary) {
    const shares = sharesOf(summary);
    const before = summary.previous ? sharesOf(summary.previous) : null;
    for (const label of LABEL_KEYS) {
      const box = $(`gauge-${label}`);
      const share = shares[label];
      const s = svg("svg", { viewBox: "0 0 160 92", role: "img", "aria-label": `${label} share` });
      s.append(svg("path", { d: arcPath(80, 84, 64, 1), class: "gauge-track", fill: "none",
        "stroke-width": 16 }));
      if (share > 0) {
        s.append(svg("path", { d: arcPath(80, 84, 64, Math.min(share, 0.9999)), fill: "none",
          stroke: COLORS[label], "stroke-width": 16 }));
      }
      box.dataset.value = String(share);
      const delta = el("div", { class: "delta", id: `gauge-${label}-delta` });
      box.replaceChildren(s, el("div", { class: "gauge-value" }, pct(share)),
        el("div", { class: "gauge-label" }, `${label} ${once() ? "opinions" : "posts"}`), delta);
      showDelta(delta.id, before ? shares[label] - before[label] : null, points);
    }
    const net = netOf(summary);
    $("net").textContent = signed(net, points).replace(" pts", "");
    $("net").dataset.value = String(net);
    $("net").classList.toggle("up", net > 0);
    $("net").classList.toggle("down", net < 0);
    showDelta("net-delta", summary.previous ? net - netOf(summary.previous) : null, points);
    $("weighted-net").textContent = summary.weighted_net === null ? "–"
      : signed(summary.weighted_net, points);
    showDelta("weighted-net-delta", summary.deltas ? summary.deltas.weighted_net : null, points);
  }

  function drawTotal(summary) {
    const d = summary.deltas;
    $("total").textContent = count(summary.tweets);
    $("total").dataset.value = String(summary.tweets);
    showDelta("total-delta", d ? d.tweets : null, count);
    $("total-detail").textContent = summary.windows
      ? `in ${count(summary.windows)} windows, ${when(toSec(summary.first_window))}` +
        ` to ${when(toSec(summary.last_window))}` +
        (summary.reposts ? `; ${count(summary.reposts)} reposts, ${count(summary.opinions)} opinions` : "")
      : "no windows in this range";
    $("volume").textContent = summary.volume === null ? "not counted" : count(summary.volume);
    $("volume").dataset.value = String(summary.volume);
    showDelta("volume-delta", d ? d.volume : null, count);
    $("estimated").textContent = summary.estimated
      ? "estimated " + LABEL_KEYS.map((l) => `${l} ${count(summary.estimated[l])}`).join(", ")
      : "";
    $("engagement").textContent = count(summary.engagement);
    showDelta("engagement-delta", d ? d.engagement : null, count);
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

  // Spikes: the buckets they fall in are shaded on every time chart, and the tooltip of such a
  // bucket names them with their top drivers.
  const spikeBucket = (s) => s.time - (s.time % state.freq);

  function spikeLines(s) {
    const what = s.metric === "volume" ? "volume" : "net sentiment";
    const lines = [`spike: ${what} ${s.direction} (${s.value.toFixed(3)} against ` +
      `${s.baseline.toFixed(3)}, z ${s.score.toFixed(1)})`];
    if (s.drivers.length) {
      lines.push(`  ${s.label || "all"} drivers: ` +
        s.drivers.map((d) => `${d.term} (${d.kind}, ${d.count})`).join(", "));
    }
    return lines;
  }

  function drawSpikeMarks(u) {
    if (u.root.closest("#chart-share")) return;  // several topics: their spikes are not shown
    let layer = u.over.querySelector(".spike-layer");
    if (!layer) {
      layer = el("div", { class: "spike-layer" });
      u.over.append(layer);
    }
    const marks = [];
    const [lo, hi] = [u.scales.x.min, u.scales.x.max];
    for (const s of state.spikes) {
      const t = spikeBucket(s);
      if (lo === null || t + state.freq < lo || t > hi) continue;
      const left = u.valToPos(t, "x");
      const width = Math.max(3, u.valToPos(t + state.freq, "x") - left);
      const mark = el("div", { class: `spike spike-${s.metric} spike-${s.direction}`,
        "data-time": s.time_window, "data-metric": s.metric });
      mark.style.left = `${left}px`;
      mark.style.width = `${width}px`;
      marks.push(mark);
    }
    layer.replaceChildren(...marks);
    u.root.dataset.spikes = String(marks.length);
  }

  function chartTooltip(names, digits) {
    return {
      hooks: {
        setCursor: (u) => {
          const i = u.cursor.idx;
          if (i === null || i === undefined || u.cursor.left < 0) return tip.hide();
          const t = u.data[0][i];
          const lines = [`${when(t)} (click for its posts)`];
          names.forEach((name, k) => {
            const v = u.data[k + 1][i];
            lines.push(`${name}: ${v === null || v === undefined ? "–" : v.toFixed(digits)}`);
          });
          for (const s of state.spikes) if (spikeBucket(s) === t) lines.push(...spikeLines(s));
          const rect = u.over.getBoundingClientRect();
          tip.show(lines, rect.left + u.cursor.left, rect.top + u.cursor.top);
        },
        draw: [drawSpikeMarks],
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
      if (click && i !== null && i !== undefined) showWindow(u.data[0][i]);
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

  // yTitle: the left axis's title; right: { scale, title } for a second axis on the right.
  function makeChart(target, series, names, digits, yTitle, right = null) {
    const axes = [{ values: timeTicks, size: 56, space: 70 },
      { size: 60, label: yTitle, labelSize: 18 }];
    const scales = { x: { time: true } };
    if (right) {
      axes.push({ scale: right.scale, side: 1, size: 60, label: right.title, labelSize: 18,
        grid: { show: false } });
      scales[right.scale] = { auto: true };
    }
    const opts = {
      width: Math.max(300, target.clientWidth),
      height: CHART_HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { show: true, live: false },
      scales,
      series: [{}, ...series],
      axes,
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
      ], ["agreement", "kappa"], 4, "share of posts / kappa");
    }
    state.charts.agreement.setData([ag.time, ag.window_agreement, ag.window_kappa]);
    $("chart-agreement").dataset.points = String(ag.windows);
  }

  // A centred moving average over `k` points (nulls skipped), for long noisy ranges.
  function smooth(values) {
    const k = Number($("smooth").value);
    if (!k || k < 2) return values;
    const half = Math.floor(k / 2);
    return values.map((_, i) => {
      let sum = 0;
      let n = 0;
      for (let j = Math.max(0, i - half); j <= Math.min(values.length - 1, i + half); j++) {
        if (values[j] !== null && !Number.isNaN(values[j])) { sum += values[j]; n++; }
      }
      return n ? sum / n : null;
    });
  }

  function drawCharts(win) {
    if (!state.charts.count) {
      state.charts.count = makeChart($("chart-count"), [
        { label: "posts read", stroke: "#3b6fd8", fill: "rgba(59,111,216,0.15)", width: 1 },
        { label: "volume (counted)", stroke: "#8a5cd6", width: 1.5 },
      ], ["posts read", "volume"], 0, "posts per bucket");
      state.charts.sentiment = makeChart($("chart-sentiment"), LABEL_KEYS.map((label) => ({
        label, stroke: COLORS[label], width: 1.5,
      })), LABEL_KEYS, 4, "average score");
      state.charts.net = makeChart($("chart-net"), [
        { label: "net sentiment", stroke: "#1f2933", width: 1.5 },
        { label: "engagement-weighted", stroke: "#1f9bb0", width: 1, dash: [4, 3] },
      ], ["net", "weighted"], 3, "positive − negative share");
    }
    state.charts.count.setData([win.time, win.count_tweets, win.volume]);
    // Where the counted volume peaks, for a reader of the page's markup (and its tests).
    const peak = win.volume.reduce((best, v, i) => (v !== null && (best < 0 || v > win.volume[best]) ? i : best), -1);
    $("chart-count").dataset.peak = peak < 0 ? "" : iso(win.time[peak]);
    state.charts.sentiment.setData([win.time, ...LABEL_KEYS.map((l) => smooth(win[`avg_${l}`]))]);
    const net = once() && win.net_opinion.some((v) => v !== null) ? win.net_opinion : win.net;
    state.charts.net.setData([win.time, smooth(net), smooth(win.weighted_net)]);
    for (const name of ["count", "sentiment", "net"]) {
      $(`chart-${name}`).dataset.points = String(win.windows);
      $(`chart-${name}`).dataset.bucket = win.bucket;
    }
  }

  function drawSpikes(body) {
    state.spikes = body.spikes;
    const items = body.spikes.map((s) => {
      const li = el("li", { "data-time": s.time_window, "data-metric": s.metric,
        class: `spike-${s.direction}` });
      const head = el("button", { type: "button", class: "link" },
        `${when(s.time)}: ${s.metric === "volume" ? "volume" : "net sentiment"} ${s.direction}`);
      head.addEventListener("click", () => showWindow(s.time));
      li.append(head, el("span", { class: "muted" }, ` z ${s.score.toFixed(1)}`));
      if (s.drivers.length) {
        li.append(el("div", { class: "muted" },
          s.drivers.map((d) => `${d.term} (${d.count})`).join(", ")));
      }
      return li;
    });
    $("spikes").replaceChildren(...(items.length ? items : [el("li", { class: "muted" },
      "no spikes flagged in this range")]));
    for (const chart of Object.values(state.charts)) chart.redraw(false, false);
  }

  // Drivers: a ranked list; a click lists the range's posts that use the term.
  function drawDrivers(body) {
    const max = body.drivers.length ? body.drivers[0].score : 1;
    const items = body.drivers.map((d) => {
      const li = el("li", { "data-kind": d.kind, "data-term": d.term });
      const button = el("button", { type: "button", class: "link driver" }, d.term);
      button.addEventListener("click", () => filterByDriver(d));
      const bar = el("span", { class: `bar bar-${body.label}` });
      bar.style.width = `${Math.max(2, (60 * d.score) / max)}px`;
      li.append(button, el("span", { class: "kind" }, d.kind), bar,
        el("span", { class: "muted" }, ` ${count(d.count)} posts, ${count(d.rest)} elsewhere,` +
          ` z ${d.score.toFixed(1)}`));
      return li;
    });
    $("drivers").replaceChildren(...(items.length ? items : [el("li", { class: "muted" },
      `no ${body.label} drivers in this range`)]));
    $("drivers").dataset.label = body.label;
  }

  function filterByDriver(d) {
    state.driver = d === null ? null : { kind: d.kind, term: d.term };
    state.window = null;
    $("driver-filter").hidden = d === null;
    $("driver-filter").textContent = d === null ? "" : `${d.kind}: ${d.term} ✕`;
    return loadPosts();
  }

  const driverLabel = () => document.querySelector("input[name='driver-label']:checked").value;

  function rangeParams() {
    return { query: state.query, start: state.start && iso(state.start),
      end: state.end && iso(state.end) };
  }

  async function loadDrivers() {
    const params = { ...rangeParams(), label: driverLabel(), kind: $("driver-kind").value };
    csvLink("csv-drivers", "/api/drivers", params);
    drawDrivers(await getJSON("/api/drivers", params));
  }

  function postsParams() {
    const [sort, scoreLabel] = $("sort").value.split(":");
    const params = { query: state.query, analyzer: state.analyzer, limit: 20, sort,
      score_label: scoreLabel, label: $("post-label").value, post_type: $("post-type").value,
      reposts: state.reposts, driver: state.driver && `${state.driver.kind}:${state.driver.term}` };
    if (state.window !== null) return { ...params, window: iso(state.window) };
    // The endpoint takes a window or a range: "all windows" is the range from the first.
    const range = rangeParams();
    if (!range.start && !range.end && state.first !== null) range.start = iso(state.first);
    return { ...params, ...range };
  }

  function metrics(t) {
    if (t.like_count === null || t.like_count === undefined) return "";
    return `${t.like_count} likes, ${t.repost_count} reposts, ${t.reply_count} replies, ` +
      `${t.quote_count} quotes`;
  }

  async function loadPosts() {
    const params = postsParams();
    csvLink("csv-posts", "/api/tweets", params);
    try {
      const body = await getJSON("/api/tweets", params);
      const rows = body.tweets.map((t) => {
        const tr = el("tr", { "data-id": t.tweet_id });
        const badge = el("span", { class: `badge badge-${t.label}` }, t.label);
        const label = el("td");
        label.append(badge);
        const engagement = el("td", { class: "num" }, count(t.engagement ?? 0));
        const detail = metrics(t);
        if (detail) hoverable(engagement, () => [detail]);
        // The post's address as selectable text: nothing on the page opens it by itself.
        tr.append(el("td", {}, (t.created_at || "").slice(body.window ? 11 : 0, 19).replace("T", " ")),
          el("td", {}, t.username ? `@${t.username}` : ""), label,
          el("td", { class: "num" }, score(t.positive)), el("td", { class: "num" }, score(t.neutral)),
          el("td", { class: "num" }, score(t.negative)), el("td", { class: "num" }, score(t.mixed)),
          el("td", { class: "text" }, t.text || ""), el("td", {}, t.name || ""),
          el("td", {}, t.post_type || ""), engagement, el("td", { class: "url" }, t.url || ""));
        return tr;
      });
      $("tweets").querySelector("tbody").replaceChildren(...rows);
      if (body.window) $("tweets").dataset.window = body.window;
      else delete $("tweets").dataset.window;
      $("tweets").dataset.driver = state.driver ? `${state.driver.kind}:${state.driver.term}` : "";
      $("tweets").dataset.loaded = String((Number($("tweets").dataset.loaded) || 0) + 1);
      const of = body.window ? `the window ${when(toSec(body.window))}` : "the range";
      const filter = state.driver ? ` using ${state.driver.term}` : "";
      $("tweets-title").textContent = `Posts of ${of}${filter}` +
        ` (${rows.length} shown${rows.length === 20 ? ", the first 20" : ""})`;
      $("whole-range").hidden = !body.window;
    } catch (e) {
      showError(e.message);
    }
  }

  function showWindow(sec) {
    state.window = sec;
    return loadPosts();
  }

  // Share of voice over the chosen topics, on the page's range and bucket.
  async function loadShare() {
    const picked = state.share.length ? state.share : [state.query];
    const params = { queries: picked.join(","), start: rangeParams().start,
      end: rangeParams().end, bucket: $("bucket").value, reposts: state.reposts };
    csvLink("csv-share", "/api/share", params);
    const body = await getJSON("/api/share", params);
    const key = body.queries.join("\n");
    if (!state.charts.share || state.charts.share.key !== key) {
      if (state.charts.share) state.charts.share.destroy();
      const series = [];
      body.queries.forEach((q, i) => {
        const stroke = PALETTE[i % PALETTE.length];
        series.push({ label: `${q} volume`, stroke, width: 1.5 });
        series.push({ label: `${q} net`, stroke, width: 1, dash: [4, 3], scale: "net" });
      });
      const names = series.map((s) => s.label);
      state.charts.share = makeChart($("chart-share"), series, names, 2, "posts per bucket",
        { scale: "net", title: "net sentiment" });
      state.charts.share.key = key;
    }
    const data = [body.time];
    for (const s of body.series) data.push(s.volume, s.net);
    state.charts.share.setData(data);
    $("chart-share").dataset.points = String(body.time.length);
    $("share-totals").replaceChildren(...body.series.map((s) => el("span", { "data-query": s.query },
      `${s.query}: ${count(s.total)} (${s.share === null ? "–" : pct(s.share)})`)));
  }

  function fillShareQueries() {
    if (!state.share.length) state.share = state.queries.slice(0, 5);
    $("share-queries").replaceChildren(...state.queries.map((q) => {
      const box = el("input", { type: "checkbox", value: q });
      box.checked = state.share.includes(q);
      box.addEventListener("change", () => {
        state.share = [...$("share-queries").querySelectorAll("input:checked")].map((i) => i.value);
        saveUrl();
        loadShare().catch((e) => showError(e.message));
      });
      const label = el("label");
      label.append(box, ` ${q}`);
      return label;
    }));
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

  function presetRange(preset) {
    if (preset === "all" || state.last === null) return [null, null];
    const end = state.last + 900;
    return [end - Number(preset), end];
  }

  function applyPreset() {
    const preset = $("range").value;
    if (preset === "custom") return applyInputs();
    return setRange(...presetRange(preset), preset);
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

  // The view in the address bar, so that it can be shared and a reload restores it.
  function saveUrl() {
    const p = new URLSearchParams();
    const set = (k, v, byDefault) => { if (v !== null && v !== undefined && v !== byDefault) p.set(k, v); };
    set("query", state.query);
    set("analyzer", state.analyzer);
    const preset = $("range").value;
    set("range", preset, "all");
    if (preset === "custom") {
      set("from", state.start && iso(state.start));
      set("to", state.end && iso(state.end));
    }
    set("bucket", $("bucket").value, "auto");
    set("smooth", $("smooth").value, "0");
    set("reposts", state.reposts, state.defaultReposts);
    set("label", driverLabel(), "negative");
    set("kind", $("driver-kind").value, "");
    set("sort", $("sort").value, "time");
    set("post_label", $("post-label").value, "");
    set("post_type", $("post-type").value, "");
    if (state.share.length && state.share.join(",") !== state.queries.slice(0, 5).join(",")) {
      p.set("share", state.share.join(","));
    }
    const refresh = $("refresh").value;
    set("refresh", refresh, "0");
    const search = p.toString();
    history.replaceState(null, "", search ? `?${search}` : location.pathname);
  }

  // Refreshing re-reads the newest window first, so a "last N" range slides with new loads;
  // the posts listed stay.
  async function refresh() {
    try {
      // A page opened before the first load shows the first topic once one is loaded.
      if (state.query === null) return await showQueries(new URLSearchParams(location.search));
      const all = await getJSON("/api/summary", { query: state.query });
      state.first = all.first_window ? toSec(all.first_window) : null;
      state.last = all.last_window ? toSec(all.last_window) : null;
    } catch (e) {
      return showError(e.message);
    }
    const preset = $("range").value;
    if (preset !== "all" && preset !== "custom" && state.last !== null) {
      [state.start, state.end] = presetRange(preset);
    }
    return load({ keepTweets: true });
  }

  function autoRefresh(seconds) {
    clearInterval(state.timer);
    state.timer = seconds > 0 ? setInterval(refresh, seconds * 1000) : null;
  }

  async function load({ keepTweets = false } = {}) {
    const request = ++state.request;
    const range = rangeParams();
    const params = { ...range, analyzer: state.analyzer };
    const compare = state.versus !== null;
    saveUrl();
    csvLink("csv-summary", "/api/summary", params);
    csvLink("csv-windows", "/api/windows", { ...params, bucket: $("bucket").value });
    csvLink("csv-spikes", "/api/spikes", range);
    if (!keepTweets) {
      state.window = null;
      state.driver = null;
      $("driver-filter").hidden = true;
    }
    try {
      // The lists draw themselves as they come; the rest is drawn together below.
      const lists = Promise.all([loadDrivers(), loadPosts(), loadShare()]);
      lists.catch(() => {});  // awaited below; this only keeps an early failure handled
      const [summary, win, ag, spikes] = await Promise.all([
        getJSON("/api/summary", params),
        getJSON("/api/windows", { ...params, bucket: $("bucket").value }),
        compare ? getJSON("/api/agreement", { ...range, a: shown(), b: state.versus }) : null,
        getJSON("/api/spikes", range)]);
      await lists;
      if (request !== state.request) return;  // a newer range was asked for meanwhile
      state.freq = win.bucket_seconds;
      showError("");
      drawGauges(summary);
      drawTotal(summary);
      drawDonut(summary);
      drawCharts(win);
      drawSpikes(spikes);
      $("agreement-row").hidden = !compare;
      if (compare) drawAgreement(ag);
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

  // Opens `query`; `view` (the address's parameters) restores the analyzer and range.
  async function selectQuery(query, view = new URLSearchParams()) {
    state.query = query;
    const { analyzers } = await getJSON("/api/analyzers", { query });
    state.analyzers = analyzers;
    const wanted = view.get("analyzer");
    state.analyzer = wanted && analyzers.includes(wanted) && wanted !== analyzers[0] ? wanted : null;
    $("analyzer").replaceChildren(...analyzers.map((a, i) =>
      el("option", { value: a }, i === 0 ? `${a} (primary)` : a)));
    $("analyzer").value = shown() ?? "";
    $("analyzer-box").hidden = analyzers.length < 2;
    fillVersus();
    const all = await getJSON("/api/summary", { query });
    state.first = all.first_window ? toSec(all.first_window) : null;
    state.last = all.last_window ? toSec(all.last_window) : null;
    const preset = view.get("range") || "all";
    if (preset === "custom") {
      const from = toSec(view.get("from"));
      const to = toSec(view.get("to"));
      return setRange(Number.isNaN(from) ? null : from, Number.isNaN(to) ? null : to, "custom");
    }
    const known = [...$("range").options].some((o) => o.value === preset);
    return setRange(...presetRange(known ? preset : "all"), known ? preset : "all");
  }

  // A select's value from the address, where it is one of its options.
  function restore(id, value) {
    if (value !== null && [...$(id).options].some((o) => o.value === value)) $(id).value = value;
  }

  async function init() {
    const view = new URLSearchParams(location.search);
    $("range").addEventListener("change", applyPreset);
    $("apply").addEventListener("click", applyInputs);
    $("query").addEventListener("change", (e) => selectQuery(e.target.value));
    $("analyzer").addEventListener("change", (e) => selectAnalyzer(e.target.value));
    $("versus").addEventListener("change", (e) => { state.versus = e.target.value; load(); });
    $("refresh").addEventListener("change", (e) => { autoRefresh(Number(e.target.value)); saveUrl(); });
    $("bucket").addEventListener("change", () => load({ keepTweets: true }));
    $("smooth").addEventListener("change", () => load({ keepTweets: true }));
    $("reposts").addEventListener("change", (e) => { state.reposts = e.target.value; load({ keepTweets: true }); });
    for (const radio of document.querySelectorAll("input[name='driver-label']")) {
      radio.addEventListener("change", () => { saveUrl(); loadDrivers().catch((e) => showError(e.message)); });
    }
    $("driver-kind").addEventListener("change", () => { saveUrl(); loadDrivers().catch((e) => showError(e.message)); });
    for (const id of ["sort", "post-label", "post-type"]) {
      $(id).addEventListener("change", () => { saveUrl(); loadPosts(); });
    }
    $("driver-filter").addEventListener("click", () => filterByDriver(null));
    $("whole-range").addEventListener("click", () => showWindow(null));
    // ?refresh=SECONDS starts refreshing at once, for a wall display.
    const every = Number(view.get("refresh"));
    if (every > 0) {
      const known = [...$("refresh").options].some((o) => Number(o.value) === every);
      if (!known) $("refresh").append(el("option", { value: String(every) }, `${every} s`));
      $("refresh").value = String(every);
    }
    window.addEventListener("resize", () => {
      for (const [name, chart] of Object.entries(state.charts)) {
        chart.setSize({ width: Math.max(300, $(`chart-${name}`).clientWidth), height: CHART_HEIGHT });
      }
    });
    try {
      const [{ queries }, config] = await Promise.all([getJSON("/api/queries"), getJSON("/api/config")]);
      state.defaultReposts = config.reposts;
      state.reposts = ["each", "once"].includes(view.get("reposts")) ? view.get("reposts") : config.reposts;
      $("reposts").value = state.reposts;
      restore("bucket", view.get("bucket"));
      restore("smooth", view.get("smooth"));
      restore("driver-kind", view.get("kind"));
      restore("sort", view.get("sort"));
      restore("post-label", view.get("post_label"));
      restore("post-type", view.get("post_type"));
      const label = view.get("label");
      if (label === "positive" || label === "negative") {
        document.querySelector(`input[name='driver-label'][value='${label}']`).checked = true;
      }
      await showQueries(view, queries);
      if (state.query === null) document.body.dataset.ready = "1";
      // Refreshing starts once the page has shown the topic (or found none): a refresh racing
      // the first load could show an older answer last.
      if (every > 0) autoRefresh(every);
    } catch (e) {
      showError(e.message);
    }
  }

  // Fills the topic selectors and opens the address's topic (else the first); with no topic
  // loaded yet, says so and leaves the page to a refresh.
  async function showQueries(view, known = null) {
    const queries = known ?? (await getJSON("/api/queries")).queries;
    if (!queries.length) {
      return showError("The warehouse has no windows yet; run `tweetsense run` to load some.");
    }
    state.queries = queries;
    const share = (view.get("share") || "").split(",").filter((q) => queries.includes(q));
    state.share = share;
    fillShareQueries();
    $("query").replaceChildren(...queries.map((q) => el("option", { value: q }, q)));
    const first = queries.includes(view.get("query")) ? view.get("query") : queries[0];
    $("query").value = first;
    showError("");
    return selectQuery(first, view);
  }

  init();
})();
