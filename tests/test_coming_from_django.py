"""README for a Django developer: the top of "Sessions" (an hour's idle timeout and a browser-session cookie by
default, and the three ways to make them longer), and Configuration's "Coming from Django" (what Django's
middleware, settings.py, @login_required, is_staff, {% csrf_token %}, messages and clearsessions become), each
run as it says."""
from __future__ import annotations

import re
import sqlite3
import time

import bottle

import canister
from canister import session
from helpers import (ROOT, app_with_ini, client, cookie_value, cookieless_client, counter_app, run_canister,
                     set_cookies, sqlite_url, with_cookie)

README = (ROOT / 'README.md').read_text(encoding='utf-8')
SESSIONS = README.split('\n## Sessions\n', 1)[1].split('```', 1)[0]
_COMING = re.search(r'\n  - \*Coming from Django\.\*(.*)\n', README)
COMING_FROM_DJANGO = _COMING.group(1) if _COMING else ''   # (none: each test below says so on its own)


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


# -- Configuration: Coming from Django -----------------------------------------------------------------

def test_every_canister_name_coming_from_django_gives_exists():
    names = set(re.findall(r'canister\.(\w+)', COMING_FROM_DJANGO))
    assert names >= {'require_user', 'require'}
    assert all(hasattr(canister, name) for name in names), names
    assert '`python -m canister tidy-sessions --config app.ini`' in COMING_FROM_DJANGO


def test_a_middleware_is_a_bottle_plugin_and_canister_is_one(uninstall_at_end, tmp_path):
    assert 'a middleware is a Bottle plugin (canister is one, given to `app.install`)' in COMING_FROM_DJANGO
    app = uninstall_at_end(bottle.Bottle())
    plugin = canister.Canister(log_path=str(tmp_path))
    assert app.install(plugin) is plugin and plugin in app.plugins


def test_settings_py_is_the_canister_section_of_an_ini_file_or_the_canister_keys_of_app_config(tmp_path,
                                                                                                 uninstall_at_end):
    assert ('`settings.py` is the `[canister]` section of an ini file read by `app.config.load_config`, or the '
            '`canister.*` keys of `app.config`') in COMING_FROM_DJANGO
    from_ini = uninstall_at_end(app_with_ini(tmp_path, '[canister]\nsession_cookie = sessionid\nlog_path = %s\n'
                                             % tmp_path))
    from_keys = uninstall_at_end(bottle.Bottle())
    from_keys.config['canister.session_cookie'] = 'sessionid'
    from_keys.config['canister.log_path'] = str(tmp_path)
    for app in (from_ini, from_keys):
        app.install(canister.Canister())
        app.route('/', callback=lambda: session.sid)
        assert cookie_value(cookieless_client(app).get('/'), 'sessionid')


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


def test_login_required_is_require_user_a_401_without_a_user(make_app):
    assert '`@login_required` is `@canister.require_user`' in COMING_FROM_DJANGO
    web = client(guarded_app(make_app))
    assert web.get('/me', expect_errors=True).status_int == 401
    web.get('/login')
    assert web.get('/me').text == 'alice'


def test_is_staff_is_a_predicate_given_to_require_a_403_when_false(make_app):
    assert 'a test of `user.is_staff` is `@canister.require(lambda user: ...)`' in COMING_FROM_DJANGO
    web = client(guarded_app(make_app))
    web.get('/login')
    refused = web.get('/admin', expect_errors=True)
    assert refused.status_int == 403 and 'staff only' in refused.text
    web.get('/login?staff=1')
    assert web.get('/admin').text == 'admin'


def test_a_form_posted_from_the_apps_own_page_needs_no_csrf_token_and_another_sites_is_refused(make_app):
    assert '`{% csrf_token %}` has no counterpart, as the check takes no token' in COMING_FROM_DJANGO
    app = make_app()
    app.route('/notes', 'POST', lambda: 'saved ' + bottle.request.forms.get('text'))
    web = client(app)
    own = web.post('/notes', {'text': 'hi'}, headers={'Origin': 'http://localhost', 'Sec-Fetch-Site': 'same-origin'})
    assert own.text == 'saved hi'
    foreign = web.post('/notes', {'text': 'hi'}, headers={'Origin': 'https://evil.example',
                                                           'Sec-Fetch-Site': 'cross-site'}, expect_errors=True)
    assert foreign.status_int == 403


def test_a_message_is_a_key_of_session_data_the_next_page_pops(make_app):
    assert 'a message of the messages framework is a key of `session.data` that the next page pops' in COMING_FROM_DJANGO
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
