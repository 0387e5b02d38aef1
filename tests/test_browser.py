"""End-to-end tests of canister in a real headless Chromium (Playwright).

Every test runs real WSGI servers (waitress, in background threads) on
127.0.0.1 and drives a real browser, so CORS preflights, cookie rules and
form navigation are decided by Chromium itself, not by a test double:

* a plain Bottle "page" app (no canister) serves HTML on origin A
  (``http://127.0.0.1:<A>``) and, on a second port, on the "evil" origin E;
* each test starts its own Bottle API app with canister installed on
  origin B (``http://127.0.0.1:<B>``), logging into a tmp dir.

All three origins share the host 127.0.0.1, so they are *same-site* but
*cross-origin*: CORS applies, and SameSite=Lax cookies still travel.

Requirements: ``pip install playwright`` and a system Chromium at
/usr/bin/chromium (Debian/Ubuntu: ``apt-get install chromium``; another path
can be given in $CANISTER_CHROMIUM).  No browser is ever downloaded.  When
either is missing every test fails at setup (reported as ERROR) with these
install instructions; they never skip.
"""

import json
from urllib.parse import urlencode

import bottle
import pytest

from helpers import Server, auto_submit_form, open_self_submitting_form, page_app, page_fetch, read_log, transfer_app


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------

class Recorder:
    """WSGI middleware: remembers (method, path) of every request received."""

    def __init__(self, app):
        self.app = app
        self.seen = []

    def __call__(self, environ, start_response):
        self.seen.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        return self.app(environ, start_response)

    def methods_for(self, path):
        return [method for method, p in self.seen if p == path]


@pytest.fixture(scope="module")
def origin_a():
    """Origin A: the page origin that the API apps trust."""
    server = Server(page_app())
    yield server
    server.close()


@pytest.fixture(scope="module")
def origin_evil():
    """Origin E: another origin, never on any allow-list."""
    server = Server(page_app())
    yield server
    server.close()


class ApiServer(Server):
    """A Bottle app with canister installed, served on its own origin B."""

    def __init__(self, app, recorder, log_dir):
        super().__init__(recorder)
        self.app = app
        self.recorder = recorder
        self.log_dir = log_dir

    def log_text(self):
        """What canister logged for this server."""
        return read_log(self.log_dir)


@pytest.fixture
def serve_api(tmp_path):
    """serve_api(app, **canister_config) -> ApiServer (canister installed)."""
    import canister

    started = []

    def start(app, **config):
        log_dir = tmp_path / f"logs{len(started)}"
        log_dir.mkdir()
        config.setdefault("log_path", str(log_dir))
        app.install(canister.Canister(**config))
        api = ApiServer(app, Recorder(app), log_dir)
        started.append(api)
        return api

    yield start
    for api in started:
        api.close()
        api.app.close()


def plain_items_app():
    """A plain Bottle app whose PUT /items/<id> records (id, JSON body, X-Custom) in ``app.received``."""
    app = bottle.Bottle()
    app.received = []

    @app.put("/items/<item_id>")
    def put_item(item_id):
        app.received.append(
            (item_id, bottle.request.json, bottle.request.get_header("X-Custom"))
        )
        return {"saved": item_id}

    return app


def put_widget(page, api):
    """What the page sees of a PUT of JSON to /items/7 with an X-Custom header: a fetch the browser preflights."""
    return page_fetch(
        page,
        api.url("/items/7"),
        method="PUT",
        headers={"Content-Type": "application/json", "X-Custom": "yes"},
        body=json.dumps({"name": "widget", "qty": 3}),
    )


def add_counter_route(app):
    """Add GET /counter: {"count": the session's requests to it before this one}; the app."""
    from canister import session

    @app.get("/counter")
    def counter():
        count = session.data.get("count", 0)
        session.data["count"] = count + 1
        return {"count": count}

    return app


def add_own_page(app):
    """Add GET /page: a blank HTML page of the app's own origin; the app."""
    @app.get("/page")
    def own_page():
        return "<!doctype html><html><head><title>own</title></head><body>own</body></html>"

    return app


def plain_guarded_app():
    """A plain Bottle app with its own /page and GET /me, guarded by require_user: {"user": session.user}."""
    import canister

    app = add_own_page(bottle.Bottle())

    @app.get("/me")
    @canister.require_user
    def me():
        return {"user": canister.session.user}

    return app


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------

def test_a_simple_cross_origin_get_succeeds_with_cors_star(page, origin_a, serve_api):
    app = bottle.Bottle()

    @app.get("/hello")
    def hello():
        return "hello from canister"

    api = serve_api(app, cors="*")
    page.goto(origin_a.url("/"))

    result = page_fetch(page, api.url("/hello"))

    assert result["ok"], result
    assert result["status"] == 200
    assert result["body"] == "hello from canister"
    # X-Request-ID is in the default cors_expose_headers, so JS can read it.
    assert result["requestId"], result
    assert api.recorder.methods_for("/hello") == ["GET"]


@pytest.mark.filterwarnings("ignore::canister.CanisterWarning")  # (the store is down from the start)
def test_a_page_of_another_origin_reads_the_retry_after_of_a_503_by_default(page, origin_a, serve_api):
    app = bottle.Bottle()

    @app.get("/write")
    def write():
        from canister import session

        session.data["n"] = 1
        return "written"

    api = serve_api(app, cors=origin_a.origin, session_store="redis://127.0.0.1:1/0")
    page.goto(origin_a.url("/"))

    result = page_fetch(page, api.url("/write"))

    assert (result["status"], result["retryAfter"]) == (503, "1"), result
    assert result["requestId"], result


def test_a_page_of_another_origin_reads_why_a_token_was_refused_by_default(page, origin_a, serve_api):
    import canister
    from helpers import signed_token

    secret = "Xq7Lp2Vd9Rk4Tn8Bw1Hs6Jf3Gz0Cm5-Ye2Ua7Io4Pl9Kj1Mh6Ng3Bv8Cx0Zs"
    app = bottle.Bottle()

    @app.post("/items")
    @canister.require_scope("write:items")
    def create():
        return "created"

    api = serve_api(app, cors=origin_a.origin, auth_jwt_secret=secret)
    page.goto(origin_a.url("/"))

    def post_with(token):
        return page_fetch(page, api.url("/items"), method="POST", headers={"Authorization": "Bearer " + token})

    no_scope = post_with(signed_token(secret, scope="read:items"))
    assert (no_scope["status"], no_scope["challenge"]) == (
        403, 'Bearer realm="canister", error="insufficient_scope", scope="write:items"'), no_scope
    expired = post_with(signed_token(secret, scope="write:items", exp=1))
    assert (expired["status"], expired["challenge"]) == (
        401, 'Bearer realm="canister", error="invalid_token", error_description="the token has expired"'), expired
    created = post_with(signed_token(secret, scope="write:items"))
    assert (created["status"], created["body"]) == (200, "created"), created


def test_a_put_with_json_and_a_custom_header_passes_a_real_preflight_when_allowed(
    page, origin_a, serve_api
):
    app = plain_items_app()
    api = serve_api(
        app,
        cors=origin_a.origin,
        cors_headers="Content-Type, X-Custom",
        log_level="DEBUG",
    )
    page.goto(origin_a.url("/"))

    result = put_widget(page, api)

    assert result["ok"], result
    assert result["status"] == 200
    assert json.loads(result["body"]) == {"saved": "7"}
    assert app.received == [("7", {"name": "widget", "qty": 3}, "yes")]
    # The browser sent a preflight first, and canister logged it.
    assert api.recorder.methods_for("/items/7") == ["OPTIONS", "PUT"]
    log = api.log_text()
    assert f"OPTIONS {api.url('/items/7')}" in log, log
    assert f"PUT {api.url('/items/7')}" in log, log


def test_a_put_with_a_header_cors_headers_does_not_allow_is_blocked_and_the_log_names_the_header_and_the_key(
    page, origin_a, serve_api
):
    app = plain_items_app()
    api = serve_api(app, cors=origin_a.origin)  # the default cors_headers: no X-Custom
    page.goto(origin_a.url("/"))

    result = put_widget(page, api)

    assert not result["ok"], result
    assert app.received == []
    assert api.recorder.methods_for("/items/7") == ["OPTIONS"]  # the PUT was never sent
    said = (
        f"CORS preflight from {origin_a.origin} asks for the request header x-custom, not granted: the "
        "browser blocks the request; to allow it, add it to cors_headers"
    )
    lines = [line for line in api.log_text().splitlines() if said in line]
    assert len(lines) == 1 and " WARNING " in lines[0], api.log_text()


def test_a_preflighted_put_from_an_origin_not_on_the_list_is_blocked_by_the_browser(
    page, origin_a, origin_evil, serve_api
):
    app = plain_items_app()
    api = serve_api(app, cors=origin_a.origin, cors_headers="Content-Type, X-Custom")
    page.goto(origin_evil.url("/"))

    result = put_widget(page, api)

    assert not result["ok"], result
    assert "TypeError" in result["error"], result
    assert app.received == []
    # Only the preflight reached the server; the PUT itself was never sent.
    assert api.recorder.methods_for("/items/7") == ["OPTIONS"]


@pytest.mark.parametrize("listed", ["http://a_b.localhost:%d", "http://*.localhost:%d"])
def test_a_page_on_a_host_with_an_underscore_passes_a_preflight_when_cors_lists_it_or_a_wildcard_over_it(
    page, origin_a, serve_api, listed
):
    # Chromium opens http://a_b.localhost:<A> (an underscore is a valid host to the URL Standard) and sends it
    # as the Origin of the fetch.
    app = plain_items_app()
    api = serve_api(app, cors=listed % origin_a.port, cors_headers="Content-Type, X-Custom")
    page.goto("http://a_b.localhost:%d/" % origin_a.port)

    result = put_widget(page, api)

    assert result["ok"] and result["status"] == 200, result
    assert app.received == [("7", {"name": "widget", "qty": 3}, "yes")]
    assert api.recorder.methods_for("/items/7") == ["OPTIONS", "PUT"]


def test_credentialed_cross_origin_fetches_keep_one_session(
    page, browser_context, origin_a, serve_api
):
    app = add_counter_route(bottle.Bottle())

    api = serve_api(app, cors=origin_a.origin, cors_credentials=True)
    page.goto(origin_a.url("/"))

    counts = []
    for _ in range(3):
        result = page_fetch(page, api.url("/counter"), credentials="include")
        assert result["ok"], result
        assert result["status"] == 200, result
        counts.append(json.loads(result["body"])["count"])

    assert counts == [0, 1, 2]
    cookies = [c for c in browser_context.cookies(api.url("/")) if c["name"] == "session_id"]
    assert len(cookies) == 1, browser_context.cookies()


def test_the_session_cookie_is_httponly_and_invisible_to_page_javascript(
    page, browser_context, serve_api
):
    app = add_own_page(add_counter_route(bottle.Bottle()))

    api = serve_api(app)
    page.goto(api.url("/page"))

    seen = page.evaluate(
        """async () => {
             const r = await fetch('/counter');
             const body = await r.json();
             document.cookie = 'visible=1; path=/';
             return {count: body.count, cookie: document.cookie};
           }"""
    )

    assert seen["count"] == 0
    # document.cookie works (it shows the script's own cookie) ...
    assert "visible=1" in seen["cookie"]
    # ... but not the session cookie, which the browser does hold.
    assert "session_id" not in seen["cookie"], seen
    cookies = {c["name"]: c for c in browser_context.cookies(api.url("/"))}
    assert "session_id" in cookies, cookies
    sid = cookies["session_id"]
    assert sid["httpOnly"] is True
    assert sid["sameSite"] == "Lax"
    assert sid["path"] == "/"
    assert sid["expires"] == -1  # a browser-session cookie
    assert len(sid["value"]) >= 43
    assert cookies["visible"]["httpOnly"] is False
    # And the browser sends it back: same session on the next request.
    again = page.evaluate("async () => (await (await fetch('/counter')).json()).count")
    assert again == 1


def test_a_cross_origin_form_post_is_refused_by_csrf_but_the_apps_own_form_works(
    page, origin_evil, serve_api
):
    app = transfer_app()
    transfers = app.transfers

    @app.get("/form")
    def own_form():
        return auto_submit_form(
            "/transfer", '<input type="hidden" name="amount" value="5">'
        )

    api = serve_api(app)
    transfer_url = api.url("/transfer")

    # From the evil origin: the browser does send the POST, canister refuses it.
    evil_form = origin_evil.url("/form?" + urlencode({"action": transfer_url, "amount": "5"}))
    refused = open_self_submitting_form(page, evil_form, transfer_url)
    assert refused.request.method == "POST"
    assert refused.request.header_value("origin") == origin_evil.origin
    assert refused.status == 403
    assert transfers == []
    assert api.recorder.methods_for("/transfer") == ["POST"]

    # From the app's own page: the same POST goes through.
    accepted = open_self_submitting_form(page, api.url("/form"), transfer_url)
    assert accepted.request.method == "POST"
    assert accepted.status == 200
    assert transfers == ["5"]
    assert page.text_content("#result") == "transferred"


def test_a_fetch_to_a_guarded_route_answers_401_without_opening_the_browsers_login_dialog(page, serve_api):
    app = plain_guarded_app()
    api = serve_api(app, auth_basic_username="alice", auth_basic_password="wonderland",
                    auth_basic_encryption="clear")
    page.goto(api.url("/page"))

    # With a Basic challenge the browser would open its login dialog and the fetch would wait for it.
    seen = page.evaluate(
        """async () => {
             const answer = fetch('/me').then(r => r.status);
             const stuck = new Promise(resolve => setTimeout(() => resolve('no answer'), 3000));
             return await Promise.race([answer, stuck]);
           }"""
    )

    assert seen == 401


def test_a_page_of_another_site_keeps_a_partitioned_session_and_its_logout_removes_the_cookie(
    page, browser_context, origin_a, serve_api
):
    from canister import session

    app = add_counter_route(bottle.Bottle())

    @app.post("/logout")
    def logout():
        session.invalidate()
        return "bye"

    spa = "http://localhost:%d" % origin_a.port  # another site than the API's 127.0.0.1
    api = serve_api(app, cors=spa, cors_credentials=True, session_samesite="None", session_partitioned=True)
    page.goto(spa + "/")

    counts = []
    for _ in range(3):
        result = page_fetch(page, api.url("/counter"), credentials="include")
        assert result["ok"] and result["status"] == 200, result
        counts.append(json.loads(result["body"])["count"])
    assert counts == [0, 1, 2]
    cookies = [c for c in browser_context.cookies() if c["name"] == "session_id"]
    assert len(cookies) == 1 and cookies[0]["partitionKey"] == "http://localhost", cookies

    result = page_fetch(page, api.url("/logout"), method="POST", credentials="include")
    assert result["status"] == 200, result
    assert [c for c in browser_context.cookies() if c["name"] == "session_id"] == []


def test_a_page_of_a_listed_origin_reads_every_answer_and_a_page_of_another_origin_reads_none(
    page, origin_a, origin_evil, serve_api
):
    app = add_counter_route(plain_guarded_app())

    @app.get("/total")
    def total(qty: int):
        bottle.response.set_header("X-Total", str(qty))
        return {"qty": qty}

    @app.get("/boom")
    def boom():
        raise RuntimeError("the handler failed")

    api = serve_api(app, cors=origin_a.origin, cors_credentials=True, cors_expose_headers="X-Request-ID, X-Total")
    page.goto(origin_a.url("/"))

    paths = ["/counter", "/total?qty=3", "/total?qty=many", "/me", "/nowhere", "/boom", "/counter"]
    seen = page.evaluate(
        """async (urls) => {
             const seen = [];
             for (const url of urls) {
               const r = await fetch(url, {credentials: 'include'});
               seen.push([r.status, r.headers.get('X-Request-ID') !== null, r.headers.get('X-Total'), await r.text()]);
             }
             return seen;
           }""",
        [api.url(path) for path in paths],
    )

    # Each answer, canister's and Bottle's own errors alike, carries the CORS headers: the page reads its
    # status and the exposed headers (a fetch of an answer without them fails with a TypeError).
    assert [answer[:3] for answer in seen] == [
        [200, True, None], [200, True, "3"], [400, True, None], [401, True, None],
        [404, True, None], [500, True, None], [200, True, None],
    ]
    # The session cookie went with every fetch.
    assert [json.loads(seen[0][3]), json.loads(seen[-1][3])] == [{"count": 0}, {"count": 1}]

    # The same credentialed fetch from an origin not on the list reaches the app, but the browser
    # keeps the answer from the page.
    page.goto(origin_evil.url("/"))
    for path in ("/counter", "/nowhere"):
        blocked = page_fetch(page, api.url(path), credentials="include")
        assert not blocked["ok"] and "TypeError" in blocked["error"], blocked
    assert api.recorder.methods_for("/counter") == ["GET", "GET", "GET"]


def test_a_preflight_grants_what_the_route_and_cors_headers_allow_and_the_browser_keeps_it_for_max_age(
    page, origin_a, serve_api
):
    app = plain_items_app()
    api = serve_api(app, cors=origin_a.origin, cors_headers="Content-Type, X-Custom")
    page.goto(origin_a.url("/"))

    first = put_widget(page, api)
    # Chromium keeps a preflight answer without Access-Control-Max-Age for 5 seconds: past them,
    # only the 600 seconds canister sends spare the second PUT its preflight.
    page.wait_for_timeout(5500)
    second = put_widget(page, api)
    other_header = page_fetch(page, api.url("/items/7"), method="PUT", headers={"X-Other": "yes"}, body="{}")
    other_method = page_fetch(page, api.url("/items/7"), method="DELETE")

    assert first["status"] == second["status"] == 200, (first, second)
    assert not other_header["ok"] and not other_method["ok"], (other_header, other_method)
    # The header X-Other (not in cors_headers) and the method DELETE (the route takes PUT only) were
    # not granted: only their preflights reached the app.
    assert api.recorder.methods_for("/items/7") == ["OPTIONS", "PUT", "PUT", "OPTIONS", "OPTIONS"]
    assert len(app.received) == 2


def test_a_navigation_gets_the_basic_challenge_that_a_pages_fetches_and_images_do_not(chromium_browser, serve_api):
    import canister

    app = plain_guarded_app()

    @app.get("/admin")
    @canister.require(lambda user: user == "alice", "alice only")
    def admin():
        return {"admin": canister.session.user}

    api = serve_api(app, auth_basic_username="alice", auth_basic_password="wonderland",
                    auth_basic_encryption="clear", auth_jwt_secret="a shared secret of at least 32 bytes!")
    # A browser that knows alice's password: it answers any Basic challenge with it, the way a
    # person answers the login dialog.
    context = chromium_browser.new_context(http_credentials={"username": "alice", "password": "wonderland"})
    try:
        page = context.new_page()
        page.goto(api.url("/page"))
        fetch_js = """async ([path, init]) => {
                        const r = await fetch(path, init);
                        return [r.status, r.headers.get('WWW-Authenticate'), await r.text()];
                      }"""

        page.evaluate("""() => new Promise(resolve => {
                           const image = new Image();
                           image.onload = image.onerror = resolve;
                           image.src = '/me';
                         })""")
        nobody = page.evaluate(fetch_js, ["/me", {}])
        wrong = page.evaluate(fetch_js, ["/me", {"headers": {"Authorization": "Basic " + "YWxpY2U6d3Jvbmc="}}])
        nobody_admin = page.evaluate(fetch_js, ["/admin", {}])
        navigation = page.goto(api.url("/me"))
        navigation_body = page.inner_text("body")
        page.goto(api.url("/page"))
        logged_in = page.evaluate(fetch_js, ["/admin", {}])
    finally:
        context.close()

    # The image and the fetches got their 401 with the Bearer challenge alone: no Basic one for the
    # browser to answer (had the image's been answered, alice would be logged in from then on).
    assert nobody[:2] == [401, 'Bearer realm="canister"'], nobody
    assert wrong[:2] == [401, 'Bearer realm="canister"'], wrong
    assert "wrong user name or password" in wrong[2]
    assert nobody_admin[:2] == [401, 'Bearer realm="canister"'], nobody_admin
    # The navigation got the Basic challenge, which the browser answered: alice is logged in.
    assert navigation.status == 200
    assert json.loads(navigation_body) == {"user": "alice"}
    assert logged_in[0] == 200 and json.loads(logged_in[2]) == {"admin": "alice"}, logged_in


def test_a_cross_site_form_post_to_an_exempt_route_logs_in_and_its_cookie_sticks(page, origin_a, serve_api):
    import canister

    app = bottle.Bottle()

    @app.post("/saml/acs", csrf=False)
    def acs(user):
        canister.session.user = user
        return "<!doctype html><title>acs</title><p id=result>welcome</p>"

    @app.get("/me")
    def me():
        return {"user": canister.session.user}

    api = serve_api(app)
    acs_url = api.url("/saml/acs")
    idp_form = "http://localhost:%d/form?%s" % (origin_a.port, urlencode({"action": acs_url, "user": "alice"}))

    posted = open_self_submitting_form(page, idp_form, acs_url)

    assert posted.request.header_value("sec-fetch-site") == "cross-site"
    assert posted.status == 200
    assert page.text_content("#result") == "welcome"
    page.goto(api.url("/me"))
    assert json.loads(page.inner_text("body")) == {"user": "alice"}


def test_the_browser_obeys_the_security_headers_for_scripts_and_frames(page, origin_a, serve_api):
    app = bottle.Bottle()

    @app.get("/page")
    def own_page():
        return ("<!doctype html><title>own</title><script>window.inline = 1</script>"
                "<script src='/good.js'></script><script src='/plain.js'></script>")

    @app.get("/good.js")
    def good():
        bottle.response.content_type = "text/javascript"
        return "window.good = 1"

    @app.get("/plain.js")
    def plain():
        bottle.response.content_type = "text/plain"  # run all the same by a browser that sniffs
        return "window.plain = 1"

    api = serve_api(app, content_security_policy="default-src 'self'")
    page.goto(api.url("/page"))
    ran = page.evaluate("() => [window.inline, window.good, window.plain]")

    page.goto(origin_a.url("/"))
    page.evaluate(
        """(urls) => Promise.all(urls.map(url => new Promise(resolve => {
             const frame = document.createElement('iframe');
             frame.onload = resolve;
             frame.src = url;
             document.body.appendChild(frame);
           })))""",
        [origin_a.url("/"), api.url("/page")],
    )
    framed = [frame.url for frame in page.main_frame.child_frames]

    # The policy let only the app's own file run: not the inline script, and (nosniff) not a
    # script served as text/plain.
    assert ran == [None, 1, None]
    # Another origin's page shows its own frame, but in place of the app's page (which arrived),
    # X-Frame-Options: DENY made the browser show its error page.
    assert framed == [origin_a.url("/"), "chrome-error://chromewebdata/"], framed
    assert api.recorder.methods_for("/page") == ["GET", "GET"]


def test_an_answer_the_browser_cached_for_the_apps_own_page_is_not_reused_for_another_origins_fetch(
    page, origin_a, serve_api
):
    app = add_own_page(bottle.Bottle())

    @app.get("/data")
    def data():
        bottle.response.set_header("Cache-Control", "max-age=600")
        return {"n": 1}

    api = serve_api(app, cors="*")
    page.goto(api.url("/page"))
    own = page_fetch(page, api.url("/data"))  # same-origin: no Origin, so no CORS headers
    own_again = page_fetch(page, api.url("/data"))
    page.goto(origin_a.url("/"))  # the same site (127.0.0.1), so the same browser cache
    other = page_fetch(page, api.url("/data"))

    # The browser's cache served the second fetch of the app's own page, but Vary: Origin kept that
    # answer without CORS headers from the other origin's fetch, which went to the app and passed.
    assert own_again["requestId"] == own["requestId"]
    assert other["ok"] and other["status"] == 200, other
    assert other["requestId"] != own["requestId"]
    assert api.recorder.methods_for("/data") == ["GET", "GET"]


def test_with_cors_paths_a_listed_origin_reads_the_api_but_not_the_other_pages(page, origin_a, serve_api):
    app = add_counter_route(bottle.Bottle())
    app.route("/api/items", callback=lambda: {"items": [1, 2]})
    app.route("/account", method=["GET", "PUT"], callback=lambda: {"card": "4111"})

    api = serve_api(app, cors=origin_a.origin, cors_credentials=True, cors_paths="/api")
    page.goto(origin_a.url("/"))

    inside = page_fetch(page, api.url("/api/items"), credentials="include")
    assert inside["ok"] and inside["status"] == 200 and json.loads(inside["body"]) == {"items": [1, 2]}, inside
    # The page of the listed origin reads nothing outside /api: the simple GET reaches the app but its
    # answer is kept from the page, and the browser sends no PUT once Bottle's 405 answered its preflight.
    for init in ({}, {"method": "PUT", "headers": {"Content-Type": "application/json"}, "body": "{}"}):
        blocked = page_fetch(page, api.url("/account"), credentials="include", **init)
        assert not blocked["ok"] and "TypeError" in blocked["error"], blocked
    assert api.recorder.methods_for("/account") == ["GET", "OPTIONS"]


def test_a_fetch_with_the_method_patch_in_lower_case_is_blocked_after_the_preflight_and_in_capitals_passes(
    page, origin_a, serve_api
):
    app = bottle.Bottle()

    @app.route("/items/7", method="PATCH")
    def patch_item():
        return {"patched": "7"}

    api = serve_api(app, cors=origin_a.origin)
    page.goto(origin_a.url("/"))

    lower = page_fetch(page, api.url("/items/7"), method="patch")

    assert not lower["ok"] and "TypeError" in lower["error"], lower
    assert api.recorder.methods_for("/items/7") == ["OPTIONS"]  # the PATCH itself was never sent
    said = (
        f"CORS preflight from {origin_a.origin} asks for the method 'patch', granted only as 'PATCH': browsers "
        "compare methods case by case and block the request; write PATCH in the page's fetch"
    )
    lines = [line for line in api.log_text().splitlines() if said in line]
    assert len(lines) == 1 and " WARNING " in lines[0], api.log_text()

    capitals = page_fetch(page, api.url("/items/7"), method="PATCH")

    assert capitals["ok"] and json.loads(capitals["body"]) == {"patched": "7"}, capitals
    assert not [line for line in api.log_text().splitlines() if " WARNING " in line and said not in line]
