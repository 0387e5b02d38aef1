"""A newcomer from Django builds a login form, a "log out everywhere" page and a JSON API called by fetch():
the Django settings they write first, as canister keys or at the top of the config, are now answered with
canister's own, and the form and the fetch work without Django's CSRF token."""
from __future__ import annotations

import warnings

import bottle
import pytest

import canister
from canister import session
from helpers import Server, canister_warning_texts, read_log, with_notes_route

SETTINGS_PY = """\
SECRET_KEY = 'django-insecure-abc'
LOGIN_URL = '/login'
LOGIN_REDIRECT_URL = '/'
LOGOUT_REDIRECT_URL = '/login'
SESSION_COOKIE_AGE = 1209600
SESSION_ENGINE = 'django.contrib.sessions.backends.db'
CSRF_TRUSTED_ORIGINS = ['https://app.example.com']
SESSION_COOKIE_SECURE = True
X_FRAME_OPTIONS = 'SAMEORIGIN'
"""

NO_TOKEN = ('canister has no such setting: its CSRF check takes no token, it reads where an unsafe request comes '
            'from (Sec-Fetch-Site, Origin, Referer); csrf turns it off')
BROWSER_CLOSE = ('the cookie ends with the browser unless session_cookie_max_age (or session.remember(seconds)) '
                 'gives it a Max-Age')


@pytest.mark.parametrize('name, hint', [
    # closeness of spelling pointed these at a wrong key (given in the comment)
    ('session_engine', 'did you mean session_store? it takes memory, a sqlite:/// URL or a redis:// URL'),  # samesite
    ('session_cookie_age', 'did you mean session_timeout? it is how long an unused session lives; '
                           + BROWSER_CLOSE),                                          # was: session_cookie_max_age
    ('session_save_every_request', 'canister has no such setting: each request extends its session '
                                   '(session_timeout slides), and session.remember(seconds) sends the cookie '
                                   'again'),                                          # was: session_max_per_user
    ('session_serializer', 'canister has no such setting: session data is stored as JSON'),  # was: session_secure
    ('session_file_path', 'did you mean session_store? it takes memory, a sqlite:/// URL or a redis:// '
                          'URL'),                                                     # was: session_redis_wait
    ('csrf_cookie_age', NO_TOKEN),                                                    # was: session_cookie_max_age
    ('csrf_cookie_samesite', NO_TOKEN),                                               # was: session_samesite
    ('csrf_header_name', NO_TOKEN),                                                   # was: cors_headers
    # no hint but the families of keys
    ('login_url', 'canister has no such setting: an @app.error(401) handler of the app can send a browser to the '
                  'login form (see A login form in the README)'),
    ('login_redirect_url', 'canister has no such setting: the handler that logs in (canister.log_in) or out '
                           '(session.invalidate()) answers as it likes, bottle.redirect(...) say'),
    ('session_expire_at_browser_close', 'canister has no such setting: ' + BROWSER_CLOSE),
    ('csrf_cookie_secure', NO_TOKEN),
    ('csrf_use_sessions', NO_TOKEN),
    ('secure_hsts_seconds', 'did you mean hsts_max_age?'),
    ('secure_proxy_ssl_header', 'did you mean trusted_proxies? it takes the addresses of the reverse proxies whose '
                                'X-Forwarded-For, -Proto and -Host canister believes'),
    ('use_x_forwarded_host', 'did you mean trusted_proxies? it takes the addresses of the reverse proxies whose '
                             'X-Forwarded-For, -Proto and -Host canister believes'),
    ('secure_ssl_redirect', 'canister has no such setting: it redirects nothing; hsts_max_age keeps browsers that '
                            'came over HTTPS on it'),
    ('data_upload_max_memory_size', 'did you mean max_body_size?'),
    ('data_upload_max_number_fields', 'did you mean max_form_parts? it counts the parts of a multipart form'),
    ('cors_allow_all_origins', 'did you mean cors? cors = * allows every origin'),
    ('cors_urls_regex', 'did you mean cors_paths? it takes path prefixes, such as /api, no regular expression'),
])
def test_djangos_settings_written_as_canister_keys_are_pointed_to_canisters_own(make_app, name, hint):
    with pytest.warns(canister.CanisterWarning) as caught:
        make_app(config={name: '1'})
    assert canister_warning_texts(caught) == ['unknown config key canister.%s (%s)' % (name, hint)]


def install_reporting(app: bottle.Bottle, **overrides) -> list:
    """Install canister on ``app`` and give back the texts of the CanisterWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(**overrides))
    return [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]


def test_djangos_settings_module_loaded_at_the_top_of_the_config_is_reported_with_canisters_keys(
        tmp_path, log_dir, monkeypatch):
    """``app.config.load_module('settings')`` (bottle 0.13), a Django user's settings.py: each setting that canister has a key
    for is named with it (the name Flask uses too as Flask's or Django's); SECRET_KEY and the login URLs, which an
    app's own handlers may read, are not."""
    (tmp_path / 'newcomer_25_settings.py').write_text(SETTINGS_PY)
    monkeypatch.syspath_prepend(str(tmp_path))
    app = bottle.Bottle()
    if not bottle.__version__.startswith('0.12'):  # (0.12 has no load_module: the settings go in by hand)
        app.config.load_module('newcomer_25_settings')
    else:
        import newcomer_25_settings as settings
        app.config.update({name: value for name, value in vars(settings).items() if name.isupper()})
    said = install_reporting(app, log_path=str(log_dir))
    assert sorted(said) == [
        "app.config['CSRF_TRUSTED_ORIGINS'] is a Django setting, which canister does not read: write "
        "canister.csrf_trusted_origins (or Canister(csrf_trusted_origins=...))",
        "app.config['SESSION_COOKIE_AGE'] is a Django setting, which canister does not read: write "
        "canister.session_timeout (or Canister(session_timeout=...)): it is how long an unused session lives; the "
        "cookie ends with the browser unless session_cookie_max_age (or session.remember(seconds)) gives it a Max-Age",
        "app.config['SESSION_COOKIE_SECURE'] is a Flask or Django setting, which canister does not read: write "
        "canister.session_secure (or Canister(session_secure=...))",
        "app.config['SESSION_ENGINE'] is a Django setting, which canister does not read: write "
        "canister.session_store (or Canister(session_store=...)): it takes memory, a sqlite:/// URL or a redis:// URL",
        "app.config['X_FRAME_OPTIONS'] is a Django setting, which canister does not read: write "
        "canister.x_frame_options (or Canister(x_frame_options=...))",
    ]
    assert all(' WARNING  [MainThread]   ' + message in read_log(log_dir) for message in said)
    app.uninstall(True)


def test_a_django_setting_whose_canister_key_is_set_too_is_not_reported(log_dir):
    app = bottle.Bottle()
    app.config.update(SESSION_COOKIE_AGE=1209600, CORS_ALLOWED_ORIGINS=['https://app.example.com'])
    app.config['canister.session_timeout'] = 1209600
    said = install_reporting(app, log_path=str(log_dir), cors='https://app.example.com')
    assert said == []
    assert 'Django setting' not in read_log(log_dir)
    app.uninstall(True)


def test_a_setting_of_flask_alone_is_still_called_flasks(log_dir):
    app = bottle.Bottle()
    app.config['MAX_CONTENT_LENGTH'] = 1 << 20
    assert install_reporting(app, log_path=str(log_dir)) == [
        "app.config['MAX_CONTENT_LENGTH'] is a Flask setting, which canister does not read: write "
        "canister.max_body_size (or Canister(max_body_size=...))"]
    app.uninstall(True)


def django_style_app(log_dir) -> bottle.Bottle:
    """A login form with Django's hidden csrfmiddlewaretoken field, a message shown after the redirect, and a
    page whose fetch() posts JSON without an X-CSRFToken header."""
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir)))
    users = {'alice': canister.hash_password('my-secret', iterations=1000)}

    @app.get('/login')
    def login_form():
        return ('<!doctype html><p id="flash">%s</p><form method="post" action="/login">'
                '<input type="hidden" name="csrfmiddlewaretoken" value="what Django would put here">'
                '<input name="username"><input name="password" type="password"><button>Log in</button></form>'
                % bottle.html_escape(session.data.pop('flash', '')))

    @app.post('/login')
    def login(username: str, password: str):
        if not canister.log_in(username, password, users):
            session.data['flash'] = 'wrong user name or password'
            bottle.redirect('/login')
        session.data['flash'] = 'Welcome, %s' % username
        bottle.redirect('/')

    @app.get('/')
    @canister.require_user
    def home():
        return '<!doctype html><p id="flash">%s</p>' % bottle.html_escape(session.data.pop('flash', ''))

    return with_notes_route(app)


def test_a_django_style_login_form_and_a_fetch_without_csrf_token_work_in_chromium(page, log_dir):
    server = Server(django_style_app(log_dir))
    try:
        page.goto(server.url('/login'))
        page.fill('input[name=username]', 'alice')
        page.fill('input[name=password]', 'wrong')
        page.click('button')
        assert page.inner_text('#flash') == 'wrong user name or password'
        page.fill('input[name=username]', 'alice')
        page.fill('input[name=password]', 'my-secret')
        page.click('button')
        assert page.url == server.url('/')
        assert page.inner_text('#flash') == 'Welcome, alice'
        answer = page.evaluate("""async () => {
            const r = await fetch('/api/notes', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                 body: JSON.stringify({text: 'hello'})});
            return [r.status, await r.json()];
        }""")
        assert answer == [200, {'notes': ['hello'], 'user': 'alice'}]
        page.reload()
        assert page.inner_text('#flash') == ''  # shown once, as Django's messages are
    finally:
        server.close()


@pytest.mark.parametrize('name, hint', [
    ('login_required', 'write @canister.require_user (a 401 when nobody is logged in, which an @app.error(401) '
                       'handler can turn into a redirect to the login form)'),
    ('current_user', 'the user is session.user (None when nobody is logged in)'),
    ('login', 'canister.log_in(name, password, users) checks a password and logs in; session.user = name logs in '
              'a user the app checked itself'),
    ('login_user', 'canister.log_in(name, password, users) checks a password and logs in; session.user = name '
                   'logs in a user the app checked itself'),
    ('logout', 'session.invalidate() logs out and ends the session'),
    ('logout_user', 'session.invalidate() logs out and ends the session'),
    ('authenticate', 'canister.verify_password(password, stored) checks a password; canister.log_in(name, '
                     'password, users) logs in too'),
    ('csrf_token', 'the CSRF check is on for every route and takes no token: a form needs no hidden field and a '
                   'fetch no header (canister.csrf_exempt exempts a route)'),
    ('get_token', 'the CSRF check is on for every route and takes no token: a form needs no hidden field and a '
                  'fetch no header (canister.csrf_exempt exempts a route)'),
])
def test_another_frameworks_login_or_csrf_helper_written_on_the_module_names_canisters_own(name, hint):
    with pytest.raises(AttributeError) as raised:
        getattr(canister, name)
    assert str(raised.value) == 'module canister has no %s: %s' % (name, hint)


def test_any_other_missing_name_of_the_module_is_pythons_plain_attribute_error():
    assert not hasattr(canister, 'require_users')
    with pytest.raises(AttributeError, match="^module 'canister' has no attribute 'require_users'$"):
        canister.require_users  # noqa: B018


def test_importing_another_frameworks_helper_by_name_is_pythons_plain_import_error():
    with pytest.raises(ImportError, match="cannot import name 'login_required'"):
        from canister import login_required  # noqa: F401
