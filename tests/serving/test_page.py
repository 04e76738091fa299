"""The page in a real headless browser (Debian's chromium driven by Playwright): one click
screens the city, and every number the page shows is the API's."""

from __future__ import annotations

import io
import shutil

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.serving.conftest import PLAN_TOKEN

pytestmark = [pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Without the background-networking flags chromium keeps trying hosts this machine cannot
reach."""
SCREENSHOT = ROOT / "reports" / "service-page.jpg"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `make browser` installs Debian's chromium")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_one_click_screens_the_city_and_the_page_shows_the_apis_numbers(served, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1600}, accept_downloads=True)
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    page.on("requestfailed", lambda request: failures.append(f"request failed: {request.url}"))
    page.goto(f"{served.url}/ui/")
    page.fill("#token", PLAN_TOKEN)  # tokens are set: the page fills in no development token
    page.wait_for_function("document.getElementById('capacity').value !== ''")
    health = served.post("health").json()
    assert page.get_attribute("#serving", "data-model-version") == health["model_version"]

    page.click("#screen")
    page.wait_for_selector("#top tbody tr", timeout=120_000)
    assert "done:" in page.inner_text("#progress-text")
    screening = page.get_attribute("#screening-summary", "data-screening-id")
    scores = pd.read_parquet(
        io.BytesIO(
            served.post("download", {"screening_id": screening, "file": "scores.parquet"}).content
        )
    )
    counts = scores["risk_class"].value_counts()
    for c in "ABCD":
        shown = page.inner_text(f"#class-table tr[data-class={c}] td.enterprises")
        assert number(shown) == counts.get(c, 0), c
    assert page.locator("#class-chart .main-svg").count() > 0  # plotly drew the chart
    shown_top = page.locator("#top tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.entity)"
    )
    assert shown_top == scores["entity_id"].head(len(shown_top)).tolist()

    with page.expect_download() as downloaded:
        page.click("#screen-downloads a:has-text('scores.csv')")
    csv = pd.read_csv(downloaded.value.path())
    assert len(csv) == len(scores)

    page.click(f"#top tbody tr[data-entity={shown_top[0]}] a.entity")
    page.wait_for_selector("#enterprise-factors tbody tr")
    file = served.post("enterprise", {"entity_id": shown_top[0]}).json()
    assert (
        page.get_attribute("#enterprise-summary", "data-risk-class") == file["score"]["risk_class"]
    )
    assert page.locator("#enterprise-factors tbody tr").count() == len(file["factors"])

    page.click("#plan")
    page.wait_for_selector("#plan-result:not([hidden])", timeout=60_000)
    policy = page.input_value("#policy")
    share = float(page.input_value("#capacity"))
    plan = served.post(
        "plan", {"screening_id": screening, "policy": policy, "capacity": {"share": share}}
    ).json()
    shown_rate = float(page.get_attribute("#plan-hit-rate", "data-value"))
    assert shown_rate == pytest.approx(plan["report"]["expected_hit_rate"])
    assert page.inner_text("#plan-hit-rate") == f"{100 * plan['report']['expected_hit_rate']:.1f}%"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True, type="jpeg", quality=70)
    assert failures == []
    page.close()


def test_the_page_says_so_when_the_token_is_wrong(served, browser):
    page = browser.new_page()
    page.goto(f"{served.url}/ui/")
    page.fill("#token", "not-a-token")
    page.click("#screen")
    page.wait_for_selector("#screen-error:not([hidden])")
    assert "401" in page.inner_text("#screen-error")
    page.close()
