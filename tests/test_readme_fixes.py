"""README claims fixed after a review: the JWT example secret is long enough for PyJWT (and the README's way to sign a
token for it works), the demo's --config
replaces its defaults, max_header_size's minimum, the users file's message for clear text, the article of a
session-data error, and the command the test script installs with; then claims of an audit that had no
test of their own: the ConfigError quoted under Configuration, a ``str`` parameter given JSON that is no
string, the answer to a form larger than Bottle's MEMFILE_MAX, and the words a boolean key takes, the
separators of a list key, the Secure cookie a trusted proxy's X-Forwarded-Proto decides, and the error pages
of a merged child that alone has canister."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import uuid
import warnings

import bottle

import jwt as pyjwt
import pytest

import canister
from canister import session
from helpers import ROOT, basic, client, read_log

README = (ROOT / 'README.md').read_text(encoding='utf-8')


def ini_blocks_with(key: str) -> list:
    return [block for block in re.findall(r'```ini\n(.*?)```', README, re.S) if re.search(r'^%s = ' % key, block, re.M)]


# -- (a) the JWT example secret ------------------------------------------------------------------------

def test_every_example_jwt_secret_of_the_readme_is_at_least_32_bytes():
    blocks = ini_blocks_with('auth_jwt_secret')
    assert blocks
    for block in blocks:
        secret = re.search(r'^auth_jwt_secret = (\S+)', block, re.M).group(1)
        encoding = re.search(r'^auth_jwt_encoding = (\S+)', block, re.M)
        assert encoding and encoding.group(1) == 'base64url'
        assert len(base64.urlsafe_b64decode(secret + '=' * (-len(secret) % 4))) >= 32


def test_the_readme_secret_block_checks_a_token_without_pyjwt_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    block = ini_blocks_with('auth_jwt_secret')[0]
    ini = tmp_path / 'app.ini'
    ini.write_text(block)
    app = canister.bottle.Bottle()
    app.config.load_config(str(ini))
    app.install(canister.Canister(log_path=str(tmp_path / 'logs')))
    app.route('/me', callback=lambda: {'sub': session.user['sub']})
    secret = re.search(r'^auth_jwt_secret = (\S+)', block, re.M).group(1)
    # the README's own way to make a token for it, run as written, with the secret of the block
    making = re.search(r'```python\n(import base64, time\n.*?)```', README, re.S).group(1)
    assert "urlsafe_b64decode('%s'" % secret in making
    with warnings.catch_warnings():
        warnings.simplefilter('error', pyjwt.InsecureKeyLengthWarning)
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            exec(compile(making, 'README.md', 'exec'), {})
        token = printed.getvalue().strip()
        assert client(app).get('/me', headers={'Authorization': 'Bearer ' + token}).json == {'sub': 'alice'}
    # and a token signed with the line's text as written is refused, the WARNING saying so
    written = pyjwt.encode({'sub': 'alice', 'aud': 'my-api', 'exp': 4102444800}, secret, algorithm='HS256')
    assert client(app).get('/me', headers={'Authorization': 'Bearer ' + written}, status=401)
    assert 'it is signed with auth_jwt_secret as written' in read_log(tmp_path / 'logs')
    app.uninstall(True)


# -- (b) the demo's --config ----------------------------------------------------------------------------

def test_the_demo_with_a_config_file_has_none_of_its_own_defaults(tmp_path, monkeypatch, capfd):
    assert "`--config FILE` replaces all of the demo's own settings" in README
    monkeypatch.chdir(tmp_path)
    ini = tmp_path / 'demo.ini'
    ini.write_text('[canister]\nsession_cookie = demo_sid\n')
    for config_file in (None, str(ini)):
        app = canister._demo_app(config_file)
        try:
            web = client(app)
            me = web.get('/api/me', headers={'Authorization': basic('alice', 'my-secret')}, status='*')
            cors = web.get('/api/sum?a=1', headers={'Origin': 'http://localhost:8080'})
            stderr = capfd.readouterr().err
        finally:
            app.uninstall(True)
        if config_file is None:       # the demo's own settings: alice, CORS *, stderr
            assert me.status_int == 200 and cors.headers['Access-Control-Allow-Origin'] == '*'
            assert 'GET http://localhost:80/api/me' in stderr
        else:                         # the file's, and canister's defaults for the rest
            assert me.status_int == 401 and 'Access-Control-Allow-Origin' not in cors.headers
            assert 'GET http://localhost:80/api/me' not in stderr
            assert 'GET http://localhost:80/api/me' in read_log(tmp_path / 'logs')


# -- (c) max_header_size --------------------------------------------------------------------------------

def test_max_header_size_has_a_minimum_of_256(make_app):
    assert '| `max_header_size` | `8192` | bytes, at least 256;' in README
    with pytest.raises(canister.ConfigError, match='max_header_size = 255'):
        make_app(max_header_size=255)
    make_app(max_header_size=256)


# -- (d) a clear-text line of the users file ------------------------------------------------------------

def test_a_clear_text_line_of_the_users_file_is_logged_as_refused_without_the_password(make_app, log_dir, tmp_path):
    users = tmp_path / 'users.txt'
    users.write_text('# users\nbob:%s\nalice:Cl3ar-Text-Pw\nno colon here\ncarol:sha256:c0ffee\n'
                     % canister.hash_password('bob-pw', iterations=1000))
    app = make_app(auth_basic_users_file=str(users))
    app.route('/me', callback=lambda: str(session.user))
    web = client(app)
    assert web.get('/me', headers={'Authorization': basic('bob', 'bob-pw')}).text == 'bob'
    assert web.get('/me', headers={'Authorization': basic('alice', 'Cl3ar-Text-Pw')}, status=401)
    log = read_log(log_dir)
    assert ('Users file %s line 3 ignored: a clear-text password is refused; write user:hash with a hash from '
            'python -m canister hash-password --user NAME\n' % users) in log
    assert 'Users file %s line 4 ignored: expected user:hash\n' % users in log
    # a hash canister cannot check is left out the same way, by its line
    assert ('Users file %s line 5 ignored: its hash is not a hex SHA-256 digest (64 hex characters)\n'
            % users) in log
    assert 'Cl3ar-Text-Pw' not in log
    assert ('logged at WARNING as `Users file users.txt line 3 ignored: a clear-text password is refused; write '
            'user:hash with a hash from python -m canister hash-password --user NAME`') in README


# -- (e) the article in a session-data error -------------------------------------------------------------

@pytest.mark.parametrize('value, words', [(object(), 'holds an object,'), (uuid.UUID(int=1), 'holds a UUID,'),
                                          ({1}, 'holds a set,'), (Ellipsis, 'holds an ellipsis,')])
def test_a_value_a_session_cannot_store_is_named_with_its_article(make_app, value, words):
    app = make_app()

    @app.get('/')
    def index():
        session.data['when'] = value
        return 'ok'

    answer = client(app).get('/', status=500)
    assert "session.data['when'] %s which a session cannot store" % words in answer.text


@pytest.mark.parametrize('value, words', [(object(), ' = an object'),
                                          ({'name': 'alice', 'roles': {'admin'}}, "['roles'] holds a set")])
def test_a_user_a_session_cannot_store_is_named_at_its_assignment(make_app, value, words):
    app = make_app()

    @app.get('/')
    def index():
        try:
            session.user = value
        except canister.SessionDataError as error:
            return str(error)
        return 'stored'

    assert client(app).get('/').text == ("session.user%s, which a session cannot store: a user must be "
                                         "JSON-serializable (a str, or a dict such as a token's claims)" % words)


# -- (f) the test script's install command --------------------------------------------------------------

def test_the_development_section_names_the_install_command_of_the_test_script():
    script = (ROOT / 'scripts' / 'test.sh').read_text()
    assert "pip install -q --disable-pip-version-check -e '.[test]'" in script
    assert "with `pip install -e '.[test]'`" in README


@pytest.mark.parametrize('path, where, key', [('/cart', "session.data['cart']", 42), ('/top', 'session.data', 7),
                                              ('/deep', "session.data['a'][0]['b']", 2.5)])
def test_a_dict_key_that_is_not_text_is_refused_before_json_changes_it(make_app, path, where, key):
    app = make_app()
    app.route('/cart', callback=lambda: session.data.setdefault('cart', {}).update({42: 1}))
    app.route('/top', callback=lambda: session.data.update({7: 'x'}))
    app.route('/deep', callback=lambda: session.data.update(a=[{'b': {2.5: 'c'}}]))
    app.route('/read', callback=lambda: json.dumps(session.data))
    web = client(app)
    web.get('/read')
    answer = web.get(path, status=500)
    assert '%s holds the key %r' % (where, key) in answer.text and 'use text keys' in answer.text
    assert json.loads(web.get('/read').text) == {}   # nothing was stored


# -- (g) the ConfigError the Configuration section quotes ----------------------------------------------

def test_a_bad_value_raises_the_config_error_the_readme_quotes(make_app):
    quoted = re.search(r'for instance `(canister\.log_level = [^`]+)`', README).group(1)
    with pytest.raises(canister.ConfigError) as refused:
        make_app(config={'log_level': 'LOUD'})
    assert str(refused.value) == quoted


# -- (h) a str parameter takes a JSON string only ----------------------------------------------------------

@pytest.mark.parametrize('value', [5, 2.5, True, ['a'], {'a': 1}])
def test_a_str_parameter_given_a_json_value_that_is_no_string_answers_400(make_app, value):
    assert '`str`: the value as text; from JSON, a string only' in README
    app = make_app()
    app.route('/name', 'POST', callback=lambda name: repr(name))
    app.route('/typed', 'POST', callback=typed_name)
    web = client(app)
    assert web.post_json('/typed', {'name': 'tea'}).text == "'tea'"
    assert web.post('/typed', {'name': '5'}).text == "'5'"                    # a form's text is text
    answer = web.post_json('/typed', {'name': value}, status=400)
    assert "parameter 'name' must be a string" in answer.text
    assert web.post_json('/name', {'name': value}).text == repr(value)      # unannotated: the JSON value as is


def typed_name(name: str) -> str:
    return repr(name)


# -- (i) a form larger than Bottle's MEMFILE_MAX ---------------------------------------------------------

@pytest.mark.parametrize('accept, content_type', [({}, 'text/plain'), ({'Accept': 'application/json'},
                                                                      'application/json')])
def test_a_form_larger_than_memfile_max_answers_413_naming_the_setting_as_text_or_json(make_app, accept,
                                                                                        content_type):
    app = make_app()
    app.route('/form', 'POST', callback=typed_name)
    body = 'name=' + 'x' * (bottle.BaseRequest.MEMFILE_MAX + 1)
    answer = client(app).post('/form', body, headers=accept, content_type='application/x-www-form-urlencoded',
                              status=413)
    assert answer.status == '413 Content Too Large'                  # as canister's other 413s, and the JSON
    assert answer.content_type == content_type
    assert 'bottle.BaseRequest.MEMFILE_MAX' in answer.text and '<html' not in answer.text.lower()
    if accept:
        assert answer.json['error'] == 'Content Too Large'


# -- (j) booleans and lists in the config ----------------------------------------------------------------

@pytest.mark.parametrize('word, meaning', [('true', True), ('False', False), ('YES', True), ('no', False),
                                           ('on', True), ('OFF', False), ('1', True), ('0', False)])
def test_a_boolean_key_takes_the_words_the_readme_lists_in_any_case(make_app, word, meaning):
    assert 'Booleans accept `true/false`, `yes/no`, `on/off`, `1/0`, and nothing else' in README
    app = make_app(config={'session_secure': word})
    app.route('/', callback=lambda: session.data.setdefault('n', 1) and 'ok')
    cookie = client(app).get('/').headers['Set-Cookie']
    assert ('; secure' in cookie.lower()) is meaning


@pytest.mark.parametrize('word', ['maybe', 'y', 'n', '2', 'enabled', 'none'])
def test_a_boolean_key_refuses_any_other_word(make_app, word):
    with pytest.raises(canister.ConfigError, match=r"^canister\.session_secure = '%s' is not valid: expected true "
                       r"or false \(also yes/no, on/off, 1/0\)$" % word):
        make_app(config={'session_secure': word})


@pytest.mark.parametrize('separator', [', ', ' ', ',', '  ,  '])
def test_a_list_key_takes_commas_or_spaces_between_its_items(make_app, separator):
    assert 'Lists accept commas or spaces.' in README
    app = make_app(config={'cors': separator.join(['https://a.example', 'https://b.example']),
                           'cors_expose_headers': separator.join(['X-Request-ID', 'X-Total'])})
    app.route('/', callback=lambda: 'ok')
    web = client(app)
    for origin in ('https://a.example', 'https://b.example'):
        answer = web.get('/', headers={'Origin': origin})
        assert answer.headers['Access-Control-Allow-Origin'] == origin
        assert [name.strip() for name in answer.headers['Access-Control-Expose-Headers'].split(',')] == [
            'X-Request-ID', 'X-Total']
    assert 'Access-Control-Allow-Origin' not in web.get('/', headers={'Origin': 'https://c.example'}).headers


# -- (k) X-Forwarded-Proto decides the cookie's Secure only from a trusted proxy ------------------------

@pytest.mark.parametrize('trusted_proxies, secure', [('', False), ('10.0.0.1', True), ('10.0.0.0/8', True),
                                                     ('192.0.2.1', False)])
def test_only_a_trusted_proxys_x_forwarded_proto_makes_the_session_cookie_secure(make_app, trusted_proxies,
                                                                                  secure):
    assert 'for the logged URL, the HTTPS cookie decision and the CSRF check' in README
    app = make_app(trusted_proxies=trusted_proxies)
    app.route('/', callback=lambda: session.data.setdefault('n', 1) and bottle.request.url)
    answer = client(app, REMOTE_ADDR='10.0.0.1').get('/', headers={'X-Forwarded-Proto': 'https',
                                                                    'X-Forwarded-Host': 'shop.example'})
    assert ('; secure' in answer.headers['Set-Cookie'].lower()) is secure
    assert answer.text == 'https://shop.example/'     # Bottle's own request.url believes them from anyone


# -- (l) canister on a merged child alone: the parent's catchall says whether an exception is a 500 ------------

def test_with_canister_on_a_merged_child_alone_an_exception_goes_on_to_the_server_where_the_parents_catchall_is_off(
        make_app, log_dir):
    assert ("Whether an exception becomes a 500 at all is the parent's `catchall`'s to say, as in Bottle: with it off, "
            "the exception goes on to the server (logged with the 500)") in README
    child = make_app(catchall=True)
    child.route('/crash', callback=lambda: 1 / 0)
    parent = bottle.Bottle()
    parent.catchall = False
    parent.merge(child)
    with pytest.raises(ZeroDivisionError):
        client(parent).get('/crash', headers={'Accept': 'application/json'})
    assert read_log(log_dir).count('Response: 500') == 1
    assert read_log(log_dir).count('ZeroDivisionError') == 1
