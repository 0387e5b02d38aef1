"""Canister's own answers inside a route (the 400 of a parameter, the 401 and 403 of credentials and
guards, the 429 of the login throttle) go to the app's own error handler for their status when it
has one (``@app.error(401)``), as Bottle's errors do; without one they are canister's text or JSON."""
import http.client
import urllib.parse

import bottle
import pytest

import canister
from helpers import DownStore, basic, client, logged_traceback, read_log

JSON = {'Accept': 'application/json'}


def guarded_app(make_app, **config):
    app = make_app(auth_basic_username='alice', auth_basic_password='wonderland', **config)

    @app.get('/report')
    @canister.require(lambda user: user == 'root', 'admins only')
    def report(month: int):
        return {'month': month}

    @app.get('/sum')
    def total(a: int):
        return {'sum': a}

    return app


def with_pages(app, *statuses):
    """Give ``app`` an error page of its own for each status: the status, the error's text, and
    the challenge the response carries when the handler runs."""
    for status in statuses:
        @app.error(status)
        def page(error):
            return '<p>%d: %s (%s)</p>' % (error.status_code, error.body,
                                          bottle.response.get_header('WWW-Authenticate', 'no challenge'))
    return app


def test_the_guards_401_and_403_go_to_the_apps_own_pages_with_their_challenge(make_app):
    web = client(with_pages(guarded_app(make_app), 401, 403))
    nobody = web.get('/report?month=3', status=401)
    assert nobody.text == '<p>401: Authentication required (Basic realm="canister", charset="UTF-8")</p>'
    assert nobody.headers.getall('WWW-Authenticate') == ['Basic realm="canister", charset="UTF-8"']
    alice = web.get('/report?month=3', headers={'Authorization': basic('alice', 'wonderland')}, status=403)
    assert alice.text == '<p>403: admins only (no challenge)</p>'


def test_a_failed_basic_login_goes_to_the_apps_401_page(make_app):
    web = client(with_pages(guarded_app(make_app), 401))
    answer = web.get('/sum?a=1', headers={'Authorization': basic('alice', 'wrong')}, status=401)
    assert answer.text.startswith('<p>401: Authentication failed: wrong user name or password (Basic realm=')


def test_a_parameter_that_does_not_bind_goes_to_the_apps_400_page_json_client_or_not(make_app):
    web = client(with_pages(guarded_app(make_app), 400))
    assert web.get('/sum?a=x', status=400).text.startswith("<p>400: Bad request: parameter 'a'")
    assert web.get('/sum', headers=JSON, status=400).text == \
        "<p>400: Bad request: missing parameter 'a' (no challenge)</p>"


def test_the_throttles_429_goes_to_the_apps_page_with_its_retry_after(make_app):
    web = client(with_pages(guarded_app(make_app, auth_max_failures=1), 429))
    web.get('/sum?a=1', headers={'Authorization': basic('alice', 'wrong')}, status=401)
    answer = web.get('/sum?a=1', headers={'Authorization': basic('alice', 'wrong')}, status=429)
    assert answer.text.startswith('<p>429: Too many failed login attempts: retry in ')
    assert int(answer.headers['Retry-After']) > 0


def test_statuses_the_app_has_no_page_for_stay_canisters_answers(make_app):
    web = client(with_pages(guarded_app(make_app), 404))
    assert web.get('/report?month=3', status=401).text == 'Authentication required\n'
    assert web.get('/sum', headers=JSON, status=400).json == {
        'error': 'Bad Request', 'message': "Bad request: missing parameter 'a'"}


def test_the_apps_page_keeps_canisters_headers(make_app):
    answer = client(with_pages(guarded_app(make_app), 401)).get('/report?month=3', status=401)
    assert 'Cookie' in answer.headers['Vary']  # the guard read the session
    assert answer.headers['X-Request-ID']
    assert answer.headers['X-Content-Type-Options'] == 'nosniff'


@pytest.mark.filterwarnings('ignore::canister.CanisterWarning')  # (no atomic update: said at install)
def test_a_store_found_down_in_the_handler_goes_to_the_apps_503_page(make_app):
    app = with_pages(make_app(store=DownStore()), 503)

    @app.get('/counter')
    def counter():
        return {'n': canister.session.data.get('n', 0)}

    answer = client(app).get('/counter', headers={'Cookie': 'session_id=' + 'a' * 43}, status=503)
    assert answer.text.startswith('<p>503: ')


def test_a_form_too_large_for_bottle_goes_to_the_apps_413_page(make_app):
    app = with_pages(make_app(), 413)

    @app.post('/form')
    def form(name: str):
        return name

    body = b'name=' + b'x' * (bottle.BaseRequest.MEMFILE_MAX + 10)
    answer = client(app).post('/form', body, content_type='application/x-www-form-urlencoded', status=413)
    assert answer.text.startswith("<p>413: the form body is too large for the handler's parameters: Bottle reads at most ")


def test_a_content_length_past_the_limit_is_refused_before_routing_by_canister_itself(make_app):
    app = with_pages(make_app(max_body_size=10), 413)

    @app.post('/form')
    def form(name: str):
        return name

    answer = client(app).post('/form', b'name=' + b'x' * 20, content_type='application/x-www-form-urlencoded',
                              status=413)
    assert not answer.text.startswith('<p>')


def test_a_400s_message_quotes_the_clients_value_so_an_apps_page_must_escape_it(make_app):
    """The README's warning: ``error.body`` holds text the client chose; a page that inserts it
    escaped (``bottle.html_escape``) shows it, inert."""
    app = guarded_app(make_app)

    @app.error(400)
    def page(error):
        return '<p>%s</p>' % bottle.html_escape(error.body)

    web = client(app)
    raw = client(with_pages(guarded_app(make_app), 400)).get('/sum?a=<img src=x onerror=alert(1)>', status=400)
    assert '<img src=x onerror=alert(1)>' in raw.text  # inserted as it came: markup of the client's
    escaped = web.get('/sum?a=<img src=x onerror=alert(1)>', status=400)
    assert '<img' not in escaped.text and '&lt;img src=x onerror=alert(1)&gt;' in escaped.text


def app_whose_401_page_raises(make_app, raise_in_page):
    """An app with canister (catching exceptions, as a served app does) whose own 401 page calls
    ``raise_in_page``."""
    app = make_app(catchall=True)

    @app.error(401)
    def to_login(error):
        raise_in_page()

    @app.get('/account')
    @canister.require_user
    def account():
        return 'yours'

    return app


def status_and_location(origin, path):
    """The status and the ``Location`` header of a GET of ``path`` on a real server."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(origin).netloc, timeout=30)
    try:
        connection.request('GET', path)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader('Location')
    finally:
        connection.close()


def test_a_redirect_raised_in_the_apps_401_page_is_logged_with_the_way_that_works(make_app, log_dir, serve):
    """What a Flask-Login user writes first: Bottle takes no redirect from an error handler and answers its
    "Critical error" 500; the log says so, where it said only ``Response: 500``."""
    origin = serve(app_whose_401_page_raises(make_app, lambda: bottle.redirect('/login')))
    assert status_and_location(origin, '/account') == (500, None)
    traceback = logged_traceback(read_log(log_dir), "Unhandled exception in GET /account in an error handler of the app "
                                 "(@app.error): "
                                 "Bottle sends no redirect() or abort() raised there, and answers 500; to send the "
                                 "browser elsewhere, set bottle.response.status = 303 and "
                                 "bottle.response.set_header('Location', url), and return")
    assert 'in to_login' in traceback and 'HTTPResponse' in traceback


def test_an_exception_in_the_apps_error_page_is_logged_with_its_traceback(make_app, log_dir, serve):
    def broken():
        raise KeyError('no template')
    origin = serve(app_whose_401_page_raises(make_app, broken))
    assert status_and_location(origin, '/account') == (500, None)
    traceback = logged_traceback(read_log(log_dir), 'Unhandled exception in GET /account in an error handler of '
                                 'the app (@app.error), or in Bottle while it built the answer')
    assert "KeyError: 'no template'" in traceback


def test_the_way_the_log_names_sends_the_browser_to_the_login_form(make_app, log_dir, serve):
    def to_login():
        bottle.response.status = 303
        bottle.response.set_header('Location', '/login')
    origin = serve(app_whose_401_page_raises(make_app, to_login))
    assert status_and_location(origin, '/account') == (303, '/login')
    assert ' ERROR ' not in read_log(log_dir)



FORM = 'application/x-www-form-urlencoded'
#: (test id, the request's content type, its other headers, its body, the status of canister's early answer and
#: the start of its text)
EARLY = [
    ('form-of-too-many-parts', 'multipart/form-data; boundary=b', {},
     b''.join(b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % n for n in range(4)) + b'--b--\r\n',
     413, 'Request body too large: a multipart form of more than 3 parts (max_form_parts)'),
    ('cookie-past-max-header-size', FORM, {'Cookie': 'a=' + 'x' * 9000}, b'name=x', 431,
     'Request header Cookie too large'),
    ('cross-site-post', FORM, {'Origin': 'https://evil.example.net'}, b'name=x', 403, 'Cross-site request refused'),
    ('content-length-and-transfer-encoding', FORM, {'Transfer-Encoding': 'chunked'}, b'6\r\nname=x\r\n0\r\n\r\n',
     400, 'Bad request: Content-Length and Transfer-Encoding together'),
]


@pytest.mark.parametrize('content_type, headers, body, status, text', [case[1:] for case in EARLY],
                         ids=[case[0] for case in EARLY])
def test_canisters_early_answers_stay_its_own_when_the_app_has_a_page_for_their_status(make_app, content_type,
                                                                                      headers, body, status, text):
    """The early 413 of too many form parts, the 431, the CSRF check's 403 and a smuggling 400 come
    before the app's part: canister's text, never the app's page for that status, and no handler call."""
    app = with_pages(make_app(max_form_parts=3), 400, 403, 413, 431)
    calls = []

    @app.post('/form')
    def form(name: str = ''):
        calls.append(name)
        return name

    answer = client(app).request('/form', method='POST', body=body, content_type=content_type, headers=headers,
                                 status=status)  # (not post(): WebTest encodes a multipart body anew)
    assert answer.text.startswith(text), answer.text
    assert '<p>' not in answer.text
    assert calls == []
