"""An outside review's attacks (session 16) that found a defect, each against a real server on 127.0.0.1.

* the demo's ``/hi`` put the query's names into an HTML answer as they came: ``/hi?foo=<script>...``
  ran that script on the demo's origin (a reflected XSS); it answers plain text now.
* ``null`` among the ``cors`` origins together with ``cors_credentials`` installed without a word, though any
  site can send that origin from a sandboxed frame (so it grants what ``*`` with credentials would, which
  install refuses): it is reported at install now.
* a ``Host`` holding an escape sequence (which wsgiref, ``bottle.run()``'s server, passes on) reached a handler
  the app added to ``app.log`` as it came, able to repaint an operator's terminal: it is escaped there too now,
  as every other value a client sends in the request line is; and so is the name of a login (a form's, which a
  sign-up form may have taken with a line break in it, or a token's ``sub``), and the decoded path that names
  a generator of a merged app without canister when it fails.
"""
from __future__ import annotations

import urllib.parse

import bottle
import pytest

import canister
from helpers import LogCollector, install_warned, read_log
from servers import Client, InProcessWaitress, WsgirefServer, raw_request, status_of


def test_the_demos_hi_answers_the_names_from_the_query_as_plain_text(serve):
    origin = serve(canister._demo_app(None))
    script = '<script>alert(document.domain)</script>'
    response = Client(origin).get('/hi?' + urllib.parse.urlencode({'foo': script}))
    assert response.status == 200
    assert response.headers['Content-Type'] == 'text/plain; charset=utf-8'
    assert response.text == 'Hi %s!' % script


def test_null_among_the_cors_origins_with_credentials_is_reported_at_install(tmp_path):
    """Any site can send ``Origin: null`` (a sandboxed frame): with credentials, that is ``*`` with credentials."""
    said = install_warned(tmp_path, {'cors': 'https://app.example.com null', 'cors_credentials': 'true'})[1]
    assert said == ["canister.cors lists null with cors_credentials = true: any site's page sends the null origin "
                    'from a sandboxed frame, so every site may call with the user\'s credentials and read the '
                    'answers, as cors = * with credentials would (which is refused); list the origins that need '
                    'credentials instead']
    assert said[0] in read_log(tmp_path)


@pytest.mark.parametrize('config', [{'cors': 'null'}, {'cors': 'https://app.example.com', 'cors_credentials': 'true'}])
def test_null_without_credentials_or_credentials_without_null_install_without_a_word(tmp_path, config):
    assert install_warned(tmp_path, config)[1] == []


def test_a_host_with_control_characters_reaches_a_handler_of_the_apps_own_escaped(tmp_path):
    """bottle.run()'s server (wsgiref) passes an escape sequence in Host on: a handler the app added to app.log
    (a terminal, syslog) gets the request line as canister's own log file has it, the sequence escaped."""
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(tmp_path)))
    app.route('/', callback=lambda: 'ok')
    messages = LogCollector()
    app.log.addHandler(messages)
    server = WsgirefServer(app)
    try:
        answer = raw_request(server.port, b'GET / HTTP/1.0\r\nHost: evil\x1b[2J\x1b[31mred\r\n\r\n')
    finally:
        server.close()
        app.log.removeHandler(messages)
    assert status_of(answer) == 200
    assert 'GET http://evil\\x1b[2J\\x1b[31mred/' in messages.messages
    assert 'GET http://evil\\x1b[2J\\x1b[31mred/' in read_log(tmp_path)
    assert not any('\x1b' in message for message in messages.messages)


def test_a_user_name_with_a_line_break_logs_in_without_forging_a_line_in_a_handler_of_the_apps_own(tmp_path, serve):
    """A sign-up form that takes names as sent lets a user be called "mallory\\n<a log line>": its form login
    reaches a handler the app added to app.log with the line break escaped, as canister's own log has it."""
    name = 'mallory\n2026-07-02 09:38:31,022 INFO     [10.0.0.1-...]   Logged in as: admin'
    users = {name: canister.hash_password('pw', 'pbkdf2', iterations=1000)}
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(tmp_path)))

    @app.post('/login')
    def login(username: str, password: str):
        return 'in' if canister.log_in(username, password, users) else 'out'

    messages = LogCollector()
    app.log.addHandler(messages)
    try:
        response = Client(serve(app)).request('POST', '/login', urllib.parse.urlencode(
            {'username': name, 'password': 'pw'}).encode(), {'Content-Type': 'application/x-www-form-urlencoded'})
    finally:
        app.log.removeHandler(messages)
    assert (response.status, response.text) == (200, 'in')
    logged = 'Logged in as: %s' % name.replace('\n', '\\n')
    assert logged in messages.messages
    assert logged in read_log(tmp_path)
    assert not any('\n' in message for message in messages.messages)


def test_a_path_with_a_line_break_in_a_streamed_childs_error_reaches_a_handler_of_the_apps_own_escaped(tmp_path):
    """The error line of a generator that fails in a merged app without canister names the request's path, which
    the server has decoded: a %0A in it is a line break, escaped before the logger gets it."""
    parent, child = bottle.Bottle(), bottle.Bottle()
    parent.install(canister.Canister(log_path=str(tmp_path)))

    @child.get('/feed/<name>')
    def feed(name):
        yield 'start '
        raise ValueError('the feed broke')

    parent.merge(child)
    messages = LogCollector()
    parent.log.addHandler(messages)
    server = InProcessWaitress(parent)
    try:
        answer = raw_request(server.port, b'GET /feed/x%0A2026-07-02%2009:38:31,022%20INFO%20forged HTTP/1.0\r\n'
                                          b'Host: 127.0.0.1\r\n\r\n')
    finally:
        server.close()
        parent.log.removeHandler(messages)
    assert status_of(answer) == 200       # (the body stops where the generator failed)
    failed = [message for message in messages.messages if message.startswith('Unhandled exception while streaming')]
    assert failed == ['Unhandled exception while streaming GET /feed/x\\n2026-07-02 09:38:31,022 INFO forged']
