"""The demo page (``python -m canister demo``) in a real headless Chromium: load it, click, read the results.

The demo app runs in a real waitress server on 127.0.0.1; its "other origin" is the same server
reached as ``localhost``, which Chromium treats as another origin. Chromium is Debian's
/usr/bin/chromium, launched by the fixtures of tests/conftest.py.
"""
import re

import pytest

import canister
from helpers import ROOT
from servers import InProcessWaitress

STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}"


@pytest.fixture(scope="module")
def demo():
    server = InProcessWaitress(canister._demo_app(None), threads=4)
    yield server
    server.close()


def cell(page, element_id: str) -> str:
    return page.inner_text("#" + element_id).strip()


def click_and_read(page, button_text: str) -> str:
    """Click a button of the page and return what its result panel then shows."""
    page.locator("button", has_text=button_text).click()
    page.wait_for_function("() => { const t = document.getElementById('result').textContent;"
                           " return t.includes('Status: ') || t.includes('refused to let'); }")
    return page.inner_text("#result")


def test_the_page_says_what_canister_did_for_the_request(page, demo):
    response = page.goto(demo.origin + "/?foo=tea")
    assert response.status == 200
    assert page.title() == "Canister demo"
    assert cell(page, "session").startswith("created on this request")
    assert cell(page, "counter") == "0"
    assert cell(page, "user") == "not logged in (None)"
    assert cell(page, "foo") == "tea"
    assert cell(page, "request-id") == response.headers["x-request-id"]
    line = cell(page, "log-line")
    assert re.fullmatch(r"%s INFO     \[127\.0\.0\.1-\.\.\.\]   GET %s/\?foo=tea" % (STAMP, re.escape(demo.origin)), line)

    response = page.reload()
    assert cell(page, "session").startswith("reused")
    assert cell(page, "counter") == "1"
    sid6 = re.search(r"\[127\.0\.0\.1-(.{6})\]", cell(page, "log-line")).group(1)
    assert page.context.cookies()[0]["value"].startswith(sid6)


def test_links_use_the_real_host(page, demo):
    page.goto(demo.origin + "/")
    hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.getAttribute('href'))")
    assert hrefs and all(href.startswith(demo.origin + "/") for href in hrefs)
    assert "HOST" not in page.content()
    assert "curl -u alice:my-secret %s/api/me" % demo.origin in page.inner_text("body")
    page.click("text=%s/hi?foo=John&bar=Smith" % demo.origin)
    assert page.inner_text("body") == "Hi John and Smith!"


def test_the_buttons_show_status_headers_and_body_of_the_json_endpoints(page, demo):
    page.goto(demo.origin + "/")
    result = click_and_read(page, "GET /api/sum")
    assert "Status: 200" in result and '"sum": 6,' in result
    assert re.search(r"^X-Request-ID: \S+$", result, re.M)

    result = click_and_read(page, 'POST /api/echo {"message": "hello"')
    assert "Status: 200" in result and '{"echo": ["hello", "hello"]}' in result

    result = click_and_read(page, '"times": "two"')
    assert "Status: 400" in result and "times" in result
    assert "Content-Type: application/json" in result


def test_the_me_button_says_truly_that_its_401_opens_no_password_dialog(page, demo):
    page.goto(demo.origin + "/")
    result = click_and_read(page, "GET /api/me (your user; if not logged in, 401, without a Basic challenge")
    assert "Status: 401" in result
    assert "WWW-Authenticate: Session realm=" in result and "Basic" not in result, result


def test_a_cross_site_json_post_passes_and_a_cross_site_form_post_is_refused(page, demo):
    page.goto(demo.origin + "/")
    other = "http://localhost:%d" % demo.port
    assert cell(page, "other") == "localhost:%d" % demo.port

    result = click_and_read(page, "cross-site JSON POST")
    assert result.startswith("POST %s/api/echo\nStatus: 200" % other)
    assert "Access-Control-Allow-Origin: *" in result
    assert '{"echo": ["from afar"]}' in result

    result = click_and_read(page, "cross-site form POST")
    assert result.startswith("POST %s/api/echo\nStatus: 403" % other)
    assert "Access-Control-Allow-Origin: *" in result
    assert "Cross-site request refused: origin %s may not send POST requests here" % demo.origin in result


def test_log_in_and_log_out(page, demo, tmp_path):
    page.goto(demo.origin + "/")
    result = click_and_read(page, "Log in with Basic auth")
    assert "Status: 200" in result and '{"user": "alice"}' in result
    page.reload()
    assert cell(page, "user") == "alice"
    assert cell(page, "session").startswith("reused")
    assert cell(page, "counter") == "1"
    result = click_and_read(page, "GET /api/me")  # the session remembers the user: no header needed
    assert '{"user": "alice"}' in result
    page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
    assert (tmp_path / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    result = click_and_read(page, "Log out")
    assert "Status: 200" in result and '{"logged_out": true}' in result
    page.reload()
    assert cell(page, "user") == "not logged in (None)"
    assert cell(page, "session").startswith("created on this request")
    assert cell(page, "counter") == "0"


def test_a_wrong_password_does_not_log_in(page, demo):
    page.goto(demo.origin + "/")
    page.fill("#password", "wrong")
    result = click_and_read(page, "Log in with Basic auth")  # (a fetch: its 401 carries no Basic challenge)
    assert "Status: 401" in result
    page.goto(demo.origin + "/")
    assert cell(page, "user") == "not logged in (None)"


def test_the_readme_shows_the_screenshot_of_the_demo():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "![The demo page](docs/demo.png)" in readme
    assert (ROOT / "docs" / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
