"""README for a Django developer: the top of "Sessions" (an hour's idle timeout and a browser-session cookie by
default, and the three ways to make them longer), and the section "Coming from Django", whose table says what each
Django habit becomes (a middleware, settings.py, request.user and request.session, login and logout, the session's
set_expiry, flush and cycle_key, @login_required, is_staff, Http404, JsonResponse, request.body and request.POST,
{% csrf_token %}, @csrf_exempt, CSRF_TRUSTED_ORIGINS, redirect, messages and clearsessions): each row run as it
says, on a real server where the bytes on the wire matter."""
from __future__ import annotations

import json
import re
import sqlite3
import time

import bottle

import canister
from canister import session
from helpers import (ROOT, app_with_ini, client, cookie_value, cookieless_client, counter_app, readme_section,
                     run_canister, set_cookies, sqlite_url, with_cookie)
from servers import Client

README = (ROOT / 'README.md').read_text(encoding='utf-8')
SESSIONS = README.split('\n## Sessions\n', 1)[1].split('```', 1)[0]
COMING_FROM_DJANGO = readme_section('## Coming from Django') if '\n## Coming from Django\n' in README else ''
#: The table's rows: Django's habit -> what it becomes here.
ROWS = dict(re.findall(r'^\| (.+?) \| (.+) \|$', COMING_FROM_DJANGO, re.M))


def session_cookie(response) -> str:
    """The Set-Cookie header of the session cookie."""
    return next(header for header in set_cookies(response) if header.startswith('session_id='))


# -- Sessions: the defaults ----------------------------------------------------------------------------

def test_the_readme_says_sessions_last_an_idle_hour_in_a_browser_session_cookie_by_default():
    assert ("a session ends after an hour without a request (`session_timeout = 3600`), and its cookie when the "
            "browser closes (`session_cookie_max_age = 0`)") in SESSIONS
    assert "`session.remember(seconds)`" in SESSIONS and '`session_timeout` and `session_cookie_max_age`' in SESSIONS


def test_a_session_idle_for_an_hour_ends_by_default(make_app, clock):
    web = cookieless_client(counter_app(make_app))
    sid = cookie_value(web.get('/'))
    clock.advance(3599)
    assert web.get('/', headers=with_cookie(sid)).text == '1'   # idle just under the hour
    clock.advance(3601)
    response = web.get('/', headers=with_cookie(sid))
    assert response.text == '0' and cookie_value(response) not in (None, sid)


def test_the_session_cookie_ends_with_the_browser_by_default(make_app):
    header = session_cookie(cookieless_client(counter_app(make_app)).get('/')).lower()
    assert 'max-age' not in header and 'expires' not in header, header


def test_session_timeout_makes_every_session_live_longer_idle(make_app, clock):
    web = cookieless_client(counter_app(make_app, session_timeout=14 * 86400))
    sid = cookie_value(web.get('/'))
    clock.advance(13 * 86400)
    assert web.get('/', headers=with_cookie(sid)).text == '1'


def test_session_cookie_max_age_makes_the_cookie_persistent(make_app):
    header = session_cookie(cookieless_client(counter_app(make_app, session_cookie_max_age=1209600)).get('/'))
    assert 'Max-Age=1209600' in header, header


def test_session_remember_makes_that_session_live_longer_in_a_persistent_cookie(make_app, clock):
    app = counter_app(make_app)

    @app.get('/login')
    def login():
        session.user = 'alice'
        session.remember(14 * 86400)
        return 'in'

    web = cookieless_client(app)
    response = web.get('/login')
    assert 'Max-Age=1209600' in session_cookie(response)
    sid = cookie_value(response)
    clock.advance(13 * 86400)
    assert web.get('/', headers=with_cookie(sid)).text == '0'   # the login set no counter: the same session
    assert cookie_value(web.get('/', headers=with_cookie(sid))) in (None, sid)


# -- Coming from Django ----------------------------------------------------------------------------------------

def row(django: str) -> str:
    """What the table says Django's ``django`` becomes (the test fails, saying so, when the row is missing)."""
    assert django in ROWS, (django, sorted(ROWS))
    return ROWS[django]


def test_the_section_is_top_level_listed_in_contents_and_configuration_points_to_it():
    assert '\n- [Coming from Django](#coming-from-django)\n' in README.split('\n## Install\n', 1)[0]
    assert README.index('\n## A first app\n') < README.index('\n## Coming from Django\n') < README.index(
        '\n## Configuration\n')
    assert ("\n  - *Coming from Django.* What Django's habits become here, besides these settings, is a section of its "
            "own: [Coming from Django](#coming-from-django).\n") in README
    assert len(ROWS) == 22 and list(ROWS)[0] == 'Django'


def test_every_canister_name_coming_from_django_gives_exists():
    names = set(re.findall(r'canister\.(\w+)', COMING_FROM_DJANGO))
    assert names >= {'require_user', 'require', 'log_in', 'csrf_exempt'}
    assert all(hasattr(canister, name) for name in names), names
    assert row('`manage.py clearsessions`') == '`python -m canister tidy-sessions --config app.ini`'


def test_a_middleware_is_a_bottle_plugin_and_canister_is_one(uninstall_at_end, tmp_path):
    assert row('a middleware') == 'a Bottle plugin (canister is one, given to `app.install`)'
    app = uninstall_at_end(bottle.Bottle())
    plugin = canister.Canister(log_path=str(tmp_path))
    assert app.install(plugin) is plugin and plugin in app.plugins


def test_settings_py_is_the_canister_section_of_an_ini_file_the_canister_keys_of_app_config_or_keywords(
        tmp_path, uninstall_at_end):
    assert row('`settings.py`') == (
        'the `[canister]` section of an ini file read by `app.config.load_config`, or the `canister.*` keys of '
        '`app.config`, or keyword arguments: `Canister(session_timeout=...)` (see [Configuration](#configuration))')
    from_ini = uninstall_at_end(app_with_ini(tmp_path, '[canister]\nsession_cookie = sessionid\nlog_path = %s\n'
                                             % tmp_path))
    from_ini.install(canister.Canister())
    from_keys = uninstall_at_end(bottle.Bottle())
    from_keys.config['canister.session_cookie'] = 'sessionid'
    from_keys.config['canister.log_path'] = str(tmp_path)
    from_keys.install(canister.Canister())
    from_keywords = uninstall_at_end(bottle.Bottle())
    from_keywords.install(canister.Canister(session_cookie='sessionid', log_path=str(tmp_path)))
    for app in (from_ini, from_keys, from_keywords):
        app.route('/', callback=lambda: session.sid)
        assert cookie_value(cookieless_client(app).get('/'), 'sessionid')


def test_session_cookie_age_is_session_timeout_and_session_cookie_max_age(make_app, clock):
    assert row('`SESSION_COOKIE_AGE = 1209600`') == (
        '`session_timeout = 1209600` (how long an unused session lives) and `session_cookie_max_age = 1209600` '
        '(without it, the cookie ends when the browser closes)')
    web = cookieless_client(counter_app(make_app, config={'session_timeout': '1209600',
                                                          'session_cookie_max_age': '1209600'}))
    first = web.get('/')
    assert 'Max-Age=1209600' in session_cookie(first)
    clock.advance(13 * 86400)
    assert web.get('/', headers=with_cookie(cookie_value(first))).text == '1'   # idle 13 days: the same session
    without = session_cookie(cookieless_client(counter_app(make_app, session_timeout=1209600)).get('/')).lower()
    assert 'max-age' not in without and 'expires' not in without


def django_app(make_app, **config):
    """An app written from the table's right-hand column."""
    app = make_app(**config)
    users = {'alice': canister.hash_password('my-secret'), 'josé': canister.hash_password('pw-josé')}

    @app.get('/whoami')
    def whoami():
        return {'user': session.user, 'data': session.data}

    @app.get('/put')
    def put(x: str):
        session.data['x'] = x
        return 'put'

    @app.post('/login')
    def login(username: str, password: str):
        if not canister.log_in(username, password, users):
            bottle.abort(401, 'wrong user name or password')
        return 'in'

    @app.get('/login-as')
    def login_as(name: str):
        session.user = name   # the app's own check done
        return 'in'

    @app.post('/logout')
    def logout():
        session.invalidate()
        return 'out'

    @app.get('/remember')
    def remember():
        session.remember(14 * 86400)
        return 'remembered'

    @app.get('/cycle')
    def cycle():
        return session.regenerate()

    return app


def test_request_user_and_request_session_are_session_user_and_session_data(make_app, serve):
    assert row('`request.user`') == '`session.user`: None when nobody is logged in'
    assert row("`request.session['x']`") == "`session.data['x']` (see [Sessions](#sessions))"
    browser = Client(serve(django_app(make_app)))
    assert json.loads(browser.get('/whoami').text) == {'user': None, 'data': {}}
    browser.get('/put?x=tea')
    browser.get('/login-as?name=alice')
    assert json.loads(browser.get('/whoami').text) == {'user': 'alice', 'data': {'x': 'tea'}}


def test_login_is_log_in_which_checks_the_password_or_session_user_and_either_gives_a_new_id_keeping_the_data(
        make_app, serve):
    assert row('`login(request, user)`') == (
        '`canister.log_in(name, password, users)`, which checks the password too, or `session.user = name` once the '
        'app has checked it; either gives the session a new id and keeps its data')
    origin = serve(django_app(make_app))
    form = {'Content-Type': 'application/x-www-form-urlencoded'}
    for log_in in (lambda browser: browser.request('POST', '/login', 'username=alice&password=my-secret', form),
                   lambda browser: browser.get('/login-as?name=alice')):
        browser = Client(origin)
        browser.get('/put?x=tea')
        before = browser.cookies['session_id']
        assert log_in(browser).status == 200
        assert browser.cookies['session_id'] != before
        assert json.loads(browser.get('/whoami').text) == {'user': 'alice', 'data': {'x': 'tea'}}
    refused = Client(origin)
    assert refused.request('POST', '/login', 'username=alice&password=wrong', form).status == 401
    assert json.loads(refused.get('/whoami').text)['user'] is None


def test_logout_and_flush_are_invalidate_and_set_expiry_and_cycle_key_are_remember_and_regenerate(make_app, serve):
    assert row('`logout(request)`, `request.session.flush()`') == '`session.invalidate()`'
    assert row('`request.session.set_expiry(seconds)`') == '`session.remember(seconds)`'
    assert row('`request.session.cycle_key()`') == '`session.regenerate()`'
    origin = serve(django_app(make_app))
    browser = Client(origin)
    browser.get('/put?x=tea')
    browser.get('/login-as?name=alice')
    remembered = browser.get('/remember')
    assert 'Max-Age=1209600' in remembered.headers['Set-Cookie']
    before = browser.cookies['session_id']
    new_id = browser.get('/cycle').text
    assert browser.cookies['session_id'] == new_id != before
    assert json.loads(browser.get('/whoami').text) == {'user': 'alice', 'data': {'x': 'tea'}}
    old = dict(browser.cookies)
    browser.request('POST', '/logout', headers={'Origin': origin})
    assert json.loads(browser.get('/whoami').text) == {'user': None, 'data': {}}
    replayed = Client(origin)
    replayed.cookies.update(old)   # the cookie of before the logout, sent again
    assert json.loads(replayed.get('/whoami').text) == {'user': None, 'data': {}}


def test_login_required_is_require_user_a_401_that_an_error_handler_turns_into_a_redirect(make_app):
    assert row('`@login_required`') == (
        '`@canister.require_user`: a 401 when nobody is logged in, which an `@app.error(401)` handler can turn into '
        'a redirect to the form (see [A login form](#a-login-form))')
    app = guarded_app(make_app)
    web = client(app)
    assert web.get('/me', expect_errors=True).status_int == 401

    @app.error(401)
    def to_the_form(error):
        bottle.response.status = 303
        bottle.response.set_header('Location', '/login')
        return ''

    sent = web.get('/me', headers={'Accept': 'text/html'}, expect_errors=True)
    assert sent.status_int == 303 and sent.headers['Location'].endswith('/login')
    web.get('/login')
    assert web.get('/me').text == 'alice'


def guarded_app(make_app):
    app = make_app()

    @app.get('/login')
    def login(staff: bool = False):
        session.user = {'name': 'alice', 'is_staff': staff}
        return 'in'

    @app.get('/me')
    @canister.require_user
    def me():
        return session.user['name']

    @app.get('/admin')
    @canister.require(lambda user: user['is_staff'], 'staff only')
    def admin():
        return 'admin'

    return app


def test_is_staff_is_a_predicate_given_to_require_a_403_when_false(make_app):
    assert row('`@user_passes_test`, a test of `user.is_staff`') == (
        '`@canister.require(lambda user: ...)`: a 403 when it is false (see [Authentication](#authentication))')
    web = client(guarded_app(make_app))
    web.get('/login')
    refused = web.get('/admin', expect_errors=True)
    assert refused.status_int == 403 and 'staff only' in refused.text
    web.get('/login?staff=1')
    assert web.get('/admin').text == 'admin'


def test_http404_is_abort_and_jsonresponse_is_a_returned_dict(make_app, serve):
    assert row('`raise Http404`') == '`bottle.abort(404)`'
    assert row('`JsonResponse(d)`') == '`return d`: a dict is sent as JSON'
    app = make_app()
    notes = {'1': 'tea'}

    @app.get('/notes/<key>')
    def note(key):
        if key not in notes:
            bottle.abort(404)
        return {'note': notes[key]}

    browser = Client(serve(app))
    found = browser.get('/notes/1')
    assert (found.status, found.headers['Content-Type'], json.loads(found.text)) == (
        200, 'application/json', {'note': 'tea'})
    assert browser.get('/notes/2').status == 404


def test_a_json_body_is_request_json_when_sent_as_application_json_or_fills_parameters(make_app, serve):
    assert row('`json.loads(request.body)`') == (
        '`bottle.request.json`, for a body sent as `application/json`; or parameters of the handler named as its '
        'members')
    app = make_app()
    app.post('/read', callback=lambda: {'json': bottle.request.json})
    app.post('/bound', callback=lambda title, qty: {'title': title, 'qty': qty})
    origin = serve(app)
    body, as_json = '{"title": "caf\\u00e9", "qty": 2}', {'Content-Type': 'application/json'}
    assert json.loads(Client(origin).request('POST', '/read', body, as_json).text) == {
        'json': {'title': 'café', 'qty': 2}}
    assert json.loads(Client(origin).request('POST', '/bound', body, as_json).text) == {'title': 'café', 'qty': 2}
    as_text = Client(origin).request('POST', '/read', body, {'Content-Type': 'text/plain'})
    assert json.loads(as_text.text) == {'json': None}


def test_request_post_is_a_parameter_or_getunicode_and_get_or_brackets_read_latin_1(make_app, serve):
    assert row("`request.POST['x']`") == (
        "a parameter `x` of the handler, or `bottle.request.forms.getunicode('x')`: Bottle's "
        "`bottle.request.forms.get('x')` and `bottle.request.forms['x']` read non-ASCII text as latin-1 (`josÃ©` for "
        "`josé`)")
    app = make_app()

    @app.post('/form')
    def form(x: str):
        forms = bottle.request.forms
        return {'parameter': x, 'getunicode': forms.getunicode('x'), 'get': forms.get('x'), 'item': forms['x']}

    body = 'x=jos%C3%A9'   # what a browser's form sends for josé, in UTF-8
    answer = Client(serve(app)).request('POST', '/form', body, {'Content-Type': 'application/x-www-form-urlencoded'})
    assert json.loads(answer.text) == {'parameter': 'josé', 'getunicode': 'josé', 'get': 'josÃ©', 'item': 'josÃ©'}


def test_a_non_ascii_user_logs_in_from_parameters_and_not_from_forms_get(make_app, serve):
    """The mistake the row keeps a reader from: a login form read with ``forms.get`` refuses josé's right password."""
    app = django_app(make_app)
    app.post('/login-by-get', callback=lambda: str(canister.log_in(
        bottle.request.forms.get('username'), bottle.request.forms.get('password'),
        {'josé': canister.hash_password('pw-josé')})))
    origin = serve(app)
    body, form = 'username=jos%C3%A9&password=pw-jos%C3%A9', {'Content-Type': 'application/x-www-form-urlencoded'}
    assert Client(origin).request('POST', '/login-by-get', body, form).text == 'False'
    assert Client(origin).request('POST', '/login', body, form).text == 'in'


def csrf_app(make_app, **config):
    app = make_app(**config)
    app.post('/notes', callback=lambda: 'saved ' + bottle.request.forms.getunicode('text'))
    app.post('/saml/acs', callback=canister.csrf_exempt(lambda: 'accepted'))
    return app


FORM = {'Content-Type': 'application/x-www-form-urlencoded'}


def test_csrf_token_is_nothing_the_check_reads_sec_fetch_site_origin_or_referer(make_app, serve):
    assert row('`{% csrf_token %}`') == (
        'nothing: the check takes no token, and reads where a request comes from in `Sec-Fetch-Site`, `Origin` or '
        '`Referer` (see [CSRF protection](#csrf-protection))')
    origin = serve(csrf_app(make_app))
    browser = Client(origin)
    for own in ({'Sec-Fetch-Site': 'same-origin'}, {'Origin': origin}, {'Referer': origin + '/form'}):
        assert browser.request('POST', '/notes', 'text=hi', dict(FORM, **own)).text == 'saved hi', own
    for foreign in ({'Sec-Fetch-Site': 'cross-site', 'Origin': 'https://evil.example'},
                    {'Origin': 'https://evil.example'}, {'Referer': 'https://evil.example/page'}):
        assert browser.request('POST', '/notes', 'text=hi', dict(FORM, **foreign)).status == 403, foreign


def test_csrf_exempt_is_canisters_and_csrf_trusted_origins_lets_a_listed_origin_in(make_app, serve):
    assert row('`@csrf_exempt`') == '`@canister.csrf_exempt`'
    assert row('`CSRF_TRUSTED_ORIGINS`') == '`csrf_trusted_origins`'
    evil = dict(FORM, Origin='https://evil.example')
    browser = Client(serve(csrf_app(make_app)))
    assert browser.request('POST', '/saml/acs', 'SAMLResponse=x', dict(FORM, Origin='https://idp.example')).text == (
        'accepted')
    assert browser.request('POST', '/notes', 'text=hi', evil).status == 403
    trusting = Client(serve(csrf_app(make_app, csrf_trusted_origins='https://www.example.com')))
    assert trusting.request('POST', '/notes', 'text=hi', dict(FORM, Origin='https://www.example.com')).text == (
        'saved hi')
    assert trusting.request('POST', '/notes', 'text=hi', evil).status == 403


def test_redirect_is_bottle_redirect_which_raises_so_except_exception_swallows_it(make_app, serve):
    assert row("`return redirect('/')`") == (
        "`bottle.redirect('/')`, which raises: an `except Exception:` around it catches the redirect, which is then "
        "never sent")
    app = make_app()
    app.get('/go', callback=lambda: bottle.redirect('/'))

    @app.get('/caught')
    def caught():
        try:
            bottle.redirect('/')
        except Exception:   # noqa: BLE001 (the mistake under test)
            return 'caught'

    browser = Client(serve(app))
    sent = browser.get('/go')
    assert sent.status in (302, 303) and sent.headers['Location'].endswith('/')
    swallowed = browser.get('/caught')
    assert (swallowed.status, swallowed.text, swallowed.headers['Location']) == (200, 'caught', None)


def test_a_message_is_a_key_of_session_data_the_next_page_pops(make_app):
    assert row('the messages framework') == 'a key of `session.data` that the next page pops (see [Sessions](#sessions))'
    app = make_app()

    @app.get('/save')
    def save():
        session.data['message'] = 'Saved'
        bottle.redirect('/')

    @app.get('/')
    def page():
        return session.data.pop('message', '')

    web = client(app)
    assert web.get('/save').follow().text == 'Saved'
    assert web.get('/').text == ''


def test_clearsessions_is_tidy_sessions_which_deletes_the_expired_rows(make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    app = counter_app(make_app, session_store=sqlite_url(path), session_timeout=1)
    for _ in range(2):
        cookieless_client(app).get('/')
    time.sleep(1.3)
    (tmp_path / 'app.ini').write_text('[canister]\nsession_store = %s\n' % sqlite_url(path))
    result = run_canister('tidy-sessions', '--config', 'app.ini', cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, 'Removed 2 entries of ended sessions from %s\n' % sqlite_url(path))
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute('SELECT COUNT(*) FROM canister_sessions').fetchone() == (0,)
