"""The dashboard page in Chromium over a warehouse built by the demo: every panel shows the
warehouse's numbers, the range selector changes them, a clicked window lists its tweets, and a
tweet written as markup stays text; the analyzer selector switches every panel to another
analyzer, and the agreement panel shows what SQL over ``tweet_score`` says."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests import dashboard_data as demo
from tests.servers import free_port, wait_for_port
from tests.servers.chromium import launch
from tweetsense.config import BackendSection
from tweetsense.dashboard.server import create_app
from tweetsense.registry import Context, create


@pytest.fixture(scope="module")
def built_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = demo.build(tmp_path_factory.mktemp("browser"))
    demo.add_contrarian(built.path)
    demo.insert_xss_tweet(built.path)
    return built.path


@pytest.fixture(scope="module")
def url(built_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEETSENSE_")}
    cmd = [sys.executable, "-m", "tweetsense.cli.app", "dashboard", "--demo"]
    cmd += ["--data-dir", str(built_path.parent), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = launch(pw)
        yield b
        b.close()


def _gauges(page: Page) -> dict[str, str]:
    return {
        label: page.locator(f"#gauge-{label} .gauge-value").inner_text()
        for label in ("positive", "neutral", "negative", "mixed")
    }


def _expected_gauges(want: dict) -> dict[str, str]:
    return {label: f"{share * 100:.1f}%" for label, share in want["shares"].items()}


def _click_window(page: Page, chart: str, when: datetime, first: datetime, last: datetime) -> None:
    box = page.locator(f"#{chart} .u-over").bounding_box()
    assert box is not None
    frac = (when - first) / (last - first)
    x, y = box["x"] + frac * box["width"], box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.up()


def test_dashboard_in_chromium(
    browser: Browser, url: str, built_path: Path, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=15000)

    # Row 1 and 2: gauges and total are the warehouse's numbers over all windows.
    want = demo.expected(built_path)
    assert _gauges(page) == _expected_gauges(want)
    assert page.locator("#total").inner_text() == f"{want['tweets']:,}"
    assert page.locator("#chart-count").get_attribute("data-points") == "32"
    assert page.locator("#chart-count canvas").count() == 1
    # Row 3: the donut's legend holds the average scores; the timeline has its four series.
    for label, value in want["averages"].items():
        assert page.locator(f"#donut li[data-label='{label}'] b").inner_text() == f"{value:.3f}"
    assert page.locator("#donut circle[data-label]").count() == 4
    assert page.locator("#chart-sentiment canvas").count() == 1
    assert page.locator("#query").input_value() == demo.QUERY

    # A hover shows the exact values of a window.
    box = page.locator("#chart-sentiment .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20)
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    assert "2024-03-01" in tip.inner_text() and "positive: 0." in tip.inner_text()
    page.locator("#gauge-positive svg").hover()
    page.locator("#donut li[data-label='neutral']").hover()
    assert f"{want['averages']['neutral']:.4f}" in tip.inner_text()

    page.screenshot(path=str(tmp_path / "dashboard-all.png"), full_page=True)

    # The time range: a preset relative to the last window, then a custom range.
    loads = int(page.get_attribute("body", "data-loads") or 0)
    page.select_option("#range", "21600")
    page.wait_for_selector(f"body[data-loads='{loads + 1}']")
    six = demo.expected(built_path, datetime(2024, 3, 1, 2, tzinfo=UTC))
    assert page.locator("#total").inner_text() == f"{six['tweets']:,}"
    assert page.locator("#chart-count").get_attribute("data-points") == "24"
    assert _gauges(page) == _expected_gauges(six)

    page.fill("#from", "2024-03-01T01:00")
    page.fill("#to", "2024-03-01T03:00")
    page.click("#apply")
    page.wait_for_selector(f"body[data-loads='{loads + 2}']")
    start, end = datetime(2024, 3, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, 3, tzinfo=UTC)
    two = demo.expected(built_path, start, end)
    assert two["tweets"] != want["tweets"]
    assert page.locator("#total").inner_text() == f"{two['tweets']:,}"
    assert page.locator("#chart-sentiment").get_attribute("data-points") == "8"
    assert _gauges(page) == _expected_gauges(two)
    assert page.locator("#range").input_value() == "custom"

    # Clicking the window that holds the markup tweet lists it, as text.
    last = datetime(2024, 3, 1, 2, 45, tzinfo=UTC)
    _click_window(page, "chart-count", demo.XSS_WINDOW, start, last)
    page.wait_for_selector("#tweets[data-window='2024-03-01T02:00:00.000Z'] tbody tr")
    rows = page.locator("#tweets tbody tr")
    assert rows.count() == 20
    first = rows.nth(0).locator("td")
    assert first.nth(7).inner_text() == demo.XSS
    assert first.nth(1).inner_text() == "@mallory"
    assert first.nth(2).inner_text() == "NEUTRAL"
    assert first.nth(4).inner_text() == "0.800"
    assert page.locator("#tweets img, #tweets a").count() == 0
    page.screenshot(path=str(tmp_path / "dashboard-window.png"), full_page=True)

    page.wait_for_timeout(300)  # an injected image would have fired its onerror by now
    assert dialogs == []
    assert problems == []
    page.close()


def test_auto_refresh_shows_what_the_warehouse_says_now(browser: Browser, url: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    summaries = 0

    # The warehouse "receives" 1,000 more tweets once the page has loaded.
    def later_more(route: Route) -> None:
        nonlocal summaries
        summaries += 1
        response = route.fetch()
        body = response.json()
        if summaries > 2:  # the first two: the topic's range, then the page's first load
            body["tweets"] += 1000
        route.fulfill(response=response, json=body)

    page.route("**/api/summary*", later_more)
    page.goto(f"{url}/?refresh=1")
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    before = int(page.get_attribute("#total", "data-value") or 0)
    assert page.locator("#refresh").input_value() == "1"
    page.wait_for_selector("body[data-loads='2']", timeout=10000)  # no click, no reload
    assert int(page.get_attribute("#total", "data-value") or 0) == before + 1000

    page.select_option("#refresh", "0")
    loads = page.get_attribute("body", "data-loads")
    page.wait_for_timeout(2500)
    assert page.get_attribute("body", "data-loads") == loads  # off means off
    page.close()


def _sql_agreement(path: Path, a: str, b: str) -> tuple[int, float]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(
            "SELECT count(*), avg(CASE WHEN x.label = y.label THEN 1.0 ELSE 0.0 END) "
            "FROM tweet_score x JOIN tweet_score y USING (query, tweet_id) "
            "WHERE x.query = ? AND x.analyzer = ? AND y.analyzer = ?",
            [demo.QUERY, a, b],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0]), float(row[1])


def _labels(path: Path, analyzer: str, window: datetime) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT s.label FROM tweet t JOIN tweet_score s "
            "ON s.query = t.query AND s.tweet_id = t.tweet_id "
            "WHERE s.query = ? AND s.analyzer = ? AND s.time_window = ? "
            "ORDER BY t.created_at, t.tweet_id LIMIT 20",
            [demo.QUERY, analyzer, window],
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def test_analyzer_selector_and_agreement(browser: Browser, url: str, built_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    want = demo.expected(built_path)
    assert page.locator("#analyzer-box").is_visible()
    assert page.locator("#analyzer").input_value() == demo.PRIMARY
    assert _gauges(page) == _expected_gauges(want)

    # The agreement panel compares the primary with the other analyzer, as SQL over
    # tweet_score counts it.
    n, share = _sql_agreement(built_path, demo.PRIMARY, demo.CONTRARIAN)
    kappa = demo.agreement(built_path, demo.PRIMARY, demo.CONTRARIAN)["kappa"]
    assert page.locator("#agreement-row").is_visible()
    assert page.locator("#versus").input_value() == demo.CONTRARIAN
    assert page.locator("#agreement").inner_text() == f"{share * 100:.1f}%"
    assert float(page.get_attribute("#agreement", "data-value") or 0) == pytest.approx(share)
    assert page.locator("#kappa").inner_text() == f"{kappa:.3f}"
    assert page.locator("#agreement-n").inner_text() == f"{n:,}"
    assert page.locator("#chart-agreement").get_attribute("data-points") == "32"

    # Every panel switches to the other analyzer.
    loads = int(page.get_attribute("body", "data-loads") or 0)
    page.select_option("#analyzer", demo.CONTRARIAN)
    page.wait_for_selector(f"body[data-loads='{loads + 1}']")
    other = demo.swapped(want)
    assert other["shares"] != want["shares"]
    assert _gauges(page) == _expected_gauges(other)
    assert page.locator("#total").inner_text() == f"{want['tweets']:,}"
    for label, value in other["averages"].items():
        assert page.locator(f"#donut li[data-label='{label}'] b").inner_text() == f"{value:.3f}"
    assert page.locator("#versus").input_value() == demo.PRIMARY
    assert page.locator("#agreement").inner_text() == f"{share * 100:.1f}%"

    # A clicked window lists the posts with the shown analyzer's labels.
    window = datetime(2024, 3, 1, 3, tzinfo=UTC)
    first, last = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 1, 7, 45, tzinfo=UTC)
    _click_window(page, "chart-count", window, first, last)
    page.wait_for_selector("#tweets[data-window='2024-03-01T03:00:00.000Z'] tbody tr")
    shown = page.locator("#tweets tbody tr td:nth-child(3)").all_inner_texts()
    assert shown == _labels(built_path, demo.CONTRARIAN, window)
    assert shown != _labels(built_path, demo.PRIMARY, window)

    page.select_option("#analyzer", demo.PRIMARY)
    page.wait_for_selector(f"body[data-loads='{loads + 2}']")
    assert _gauges(page) == _expected_gauges(want)
    assert problems == []
    page.close()


def test_one_analyzer_hides_the_selector(browser: Browser, url: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.route(
        "**/api/analyzers*",
        lambda route: route.fulfill(
            json={"query": demo.QUERY, "primary": demo.PRIMARY, "analyzers": [demo.PRIMARY]}
        ),
    )
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    assert not page.locator("#analyzer-box").is_visible()
    assert not page.locator("#agreement-row").is_visible()
    assert int(page.get_attribute("#total", "data-value") or 0) > 3000
    page.close()


# The insight panels over the small warehouse of tests/dashboard_data.py (known drivers and
# spikes), served in a thread of this process.
@pytest.fixture(scope="module")
def insight_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("insight")
    path = root / "warehouse.duckdb"
    demo.add_insight(path)
    demo.add_insight(path, "other topic", recall=False)
    context = Context(demo.make_config(root))
    wh = create("warehouse", context, BackendSection(type="duckdb", path=str(path)))
    port = free_port()
    config = uvicorn.Config(create_app(wh), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        wh.close()


def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 1400}, accept_downloads=True)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    return page, problems


def _wait_for_address(page: Page, part: str) -> None:
    # The page's CSP forbids the evaluated predicates of wait_for_function.
    for _ in range(100):
        if part in page.url:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{part} never in {page.url}")


def _dip(page: Page) -> None:
    """The custom range of windows 5 and 6, the recall's."""
    loads = int(page.get_attribute("body", "data-loads") or 0)
    page.fill("#from", "2024-03-01 01:15")
    page.fill("#to", "2024-03-01 01:45")
    page.click("#apply")
    page.wait_for_selector(f"body[data-loads='{loads + 1}']")


def test_drivers_list_filters_the_posts(browser: Browser, insight_url: str) -> None:
    page, problems = _open(browser, f"{insight_url}/?query=recall+check")
    _dip(page)
    terms = page.locator("#drivers li[data-term]")
    assert {terms.nth(i).get_attribute("data-term") for i in range(3)} == {
        "recall",
        "Acme",
        "news.example",
    }
    assert page.locator("#drivers").get_attribute("data-label") == "negative"
    before = int(page.get_attribute("#tweets", "data-loaded") or 0)
    page.locator("#drivers li[data-term='recall'] button").click()
    page.wait_for_selector(f"#tweets[data-loaded='{before + 1}'][data-driver='term:recall']")
    ids = set(page.locator("#tweets tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)"))
    want = {
        p["tweet_id"]
        for p in demo.insight_posts()
        if p["time_window"] in (demo.insight_window(5), demo.insight_window(6))
        and "\nterm:recall\n" in (p["terms"] or "")
    }
    assert ids == want and len(ids) == 16
    urls = page.locator("#tweets td.url").all_inner_texts()
    assert sorted(urls) == sorted(f"https://x.com/i/web/status/{i}" for i in want)
    assert page.locator("#tweets a, #tweets img").count() == 0

    # The positive drivers of the calm hour before.
    page.check("input[name='driver-label'][value='positive']")
    page.wait_for_selector("#drivers[data-label='positive']")
    assert problems == []
    page.close()


def test_spikes_are_annotated(browser: Browser, insight_url: str) -> None:
    page, problems = _open(browser, f"{insight_url}/?query=recall+check")
    spikes = page.locator("#spikes li[data-metric]")
    assert spikes.count() == 2
    for chart in ("chart-count", "chart-sentiment", "chart-net"):
        assert page.locator(f"#{chart} .spike").count() == 2
    down = page.locator("#chart-net .spike-net_sentiment.spike-down")
    assert down.get_attribute("data-time") == "2024-03-01T01:15:00.000Z"
    box = down.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert "spike: net sentiment down" in text and "recall" in text and "Acme" in text
    assert problems == []
    page.close()


def test_the_view_is_kept_in_the_address(browser: Browser, insight_url: str) -> None:
    page, problems = _open(browser, f"{insight_url}/?query=other+topic")
    assert page.locator("#query").input_value() == "other topic"
    page.select_option("#query", "recall check")
    _wait_for_address(page, "query=recall+check")
    _dip(page)
    loads = int(page.get_attribute("body", "data-loads") or 0)
    page.select_option("#bucket", "1h")
    page.wait_for_selector(f"body[data-loads='{loads + 1}']")
    page.select_option("#reposts", "once")
    page.wait_for_selector(f"body[data-loads='{loads + 2}']")
    page.check("input[name='driver-label'][value='positive']")
    page.select_option("#sort", "engagement")
    _wait_for_address(page, "sort=engagement")
    shared = page.url
    params = dict(p.split("=", 1) for p in shared.split("?", 1)[1].split("&"))
    assert params["range"] == "custom" and params["bucket"] == "1h"
    assert params["reposts"] == "once" and params["label"] == "positive"

    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    assert page.url == shared
    assert page.locator("#query").input_value() == "recall check"
    assert page.locator("#range").input_value() == "custom"
    assert page.locator("#from").input_value() == "2024-03-01 01:15 UTC"
    assert page.locator("#to").input_value() == "2024-03-01 01:45 UTC"
    assert page.locator("#bucket").input_value() == "1h"
    assert page.locator("#reposts").input_value() == "once"
    assert page.locator("#sort").input_value() == "engagement"
    assert page.locator("input[name='driver-label'][value='positive']").is_checked()
    assert page.locator("#chart-count").get_attribute("data-bucket") == "1h"
    # Reposts once: the gauges show the opinions' shares (the dip's reposts left out).
    summary = page.request.get(
        f"{insight_url}/api/summary?query=recall+check"
        "&start=2024-03-01T01:15:00Z&end=2024-03-01T01:45:00Z"
    ).json()
    want = summary["opinion_shares"]["negative"]
    assert page.locator("#gauge-negative .gauge-value").inner_text() == f"{want * 100:.1f}%"
    assert problems == []
    page.close()


def test_csv_links_download(browser: Browser, insight_url: str) -> None:
    page, problems = _open(browser, f"{insight_url}/?query=recall+check")
    _dip(page)
    with page.expect_download() as info:
        page.click("#csv-drivers")
    download = info.value
    assert download.suggested_filename == (
        "tweetsense-drivers-recall-check-20240301T011500Z-20240301T014500Z.csv"
    )
    path = download.path()
    lines = Path(path).read_text().splitlines()
    assert lines[0] == "term,kind,count,rest,score"
    assert {line.split(",")[0] for line in lines[1:4]} == {"recall", "Acme", "news.example"}
    for link in ("csv-summary", "csv-windows", "csv-spikes", "csv-posts", "csv-share"):
        href = page.get_attribute(f"#{link}", "href")
        assert href is not None and "format=csv" in href
        r = page.request.get(f"{insight_url}{href}")
        assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
    assert problems == []
    page.close()


@pytest.fixture(scope="module")
def recall_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    built = demo.build(tmp_path_factory.mktemp("recall"), demo.RECALL_START, demo.RECALL_END)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEETSENSE_")}
    cmd = [sys.executable, "-m", "tweetsense.cli.app", "dashboard", "--demo"]
    cmd += ["--data-dir", str(built.data_dir), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}", built.path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _sql(path: Path, sql: str, values: list) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, values).fetchall()
    finally:
        con.close()


def test_the_recall_on_the_demo(browser: Browser, recall_url: tuple[str, Path]) -> None:
    url, path = recall_url
    page, problems = _open(browser, url)
    # The true volume shows the burst: the page's total and peak are the warehouse's.
    [(volume, peak)] = _sql(
        path,
        "SELECT SUM(volume), arg_max(time_window, volume) FROM sentiment WHERE query = ?",
        [demo.QUERY],
    )
    assert page.locator("#volume").inner_text() == f"{volume:,}"
    shown_peak = page.locator("#chart-count").get_attribute("data-peak")
    assert shown_peak == peak.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert demo.RECALL_BREAKS <= peak.astimezone(UTC) < demo.RECALL_BREAKS + timedelta(hours=1)

    # The spikes and the drivers of the dip (the two hours from the break), once the batch
    # writes them.
    [(drivers,)] = _sql(path, "SELECT count(*) FROM driver WHERE query = ?", [demo.QUERY])
    [(spikes,)] = _sql(path, "SELECT count(*) FROM sentiment_spike WHERE query = ?", [demo.QUERY])
    assert problems == []
    if not drivers or not spikes:
        page.close()
        pytest.skip("the batch writes no drivers or spikes yet")
    flagged = _sql(
        path,
        "SELECT strftime(time_window, '%Y-%m-%dT%H:%M:%S.000Z'), metric FROM sentiment_spike "
        "WHERE query = ? ORDER BY 1, 2",
        [demo.QUERY],
    )
    marks = page.locator("#chart-count .spike").evaluate_all(
        "ms => ms.map(m => [m.dataset.time, m.dataset.metric])"
    )
    assert sorted(tuple(m) for m in marks) == flagged
    assert ("2024-03-03T13:00:00.000Z", "volume") in flagged  # the burst, as it breaks
    loads = int(page.get_attribute("body", "data-loads") or 0)
    page.fill("#from", "2024-03-03 13:00")
    page.fill("#to", "2024-03-03 15:00")
    page.click("#apply")
    page.wait_for_selector(f"body[data-loads='{loads + 1}']")
    top = page.locator("#drivers li[data-term]").evaluate_all(
        "ls => ls.slice(0, 5).map(l => l.dataset.term.toLowerCase())"
    )
    assert "recall" in top[0], top
    page.close()
