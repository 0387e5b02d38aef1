"""Attack round 30: a secret-looking word of two parts written apart by the client (``pass_word``, ``pass-phrase``,
``api_key_value``, ``private_key_pem``) is as secret as the word written whole, and ``bearer`` as the last word of a
name is secret too (real HTTP to Bottle's own server)."""
import re

import pytest

from helpers import client, read_log
from servers import WsgirefServer, raw_request

APART = ['pass_word', 'Pass-Word', 'pass+word', 'pass_phrase', 'pass-code', 'api_key_value', 'private_key_pem',
         'user[pass_word]']


def test_a_query_value_under_a_name_that_spells_a_secret_word_apart_is_written_as_stars(make_app, log_dir,
                                                                                        uninstall_at_end):
    app = make_app()
    app.get('/q', callback=lambda: 'ok')
    server = WsgirefServer(uninstall_at_end(app))
    try:
        for name in APART:
            answer = raw_request(server.port, b'GET /q?page=2&%s=Hidden-Qz7 HTTP/1.0\r\nHost: localhost\r\n\r\n'
                                 % name.encode())
            assert answer.startswith(b'HTTP/1.0 200 '), answer
    finally:
        server.close()
    log = read_log(log_dir)
    assert 'Hidden-Qz7' not in log
    assert re.findall(r'\]   GET http://localhost/q\?(\S*)$', log, re.M) == ['page=2&%s=***' % name for name in APART]


@pytest.mark.parametrize('name', ['bypass_mode', 'passport', 'api_version', 'private_notes', 'rapid_keyboard'])
def test_a_name_that_only_starts_like_such_a_word_is_still_shown(make_app, log_dir, name):
    app = make_app()
    app.get('/q', callback=lambda: 'ok')
    assert client(app).get('/q?%s=shown-value' % name).text == 'ok'
    assert 'GET http://localhost:80/q?%s=shown-value' % name in read_log(log_dir)


def test_a_400_for_a_parameter_named_pass_word_shows_its_value_neither_in_the_answer_nor_the_log(make_app, log_dir):
    app = make_app()

    @app.get('/pin')
    def pin(pass_word: int):
        return str(pass_word)

    response = client(app).get('/pin?pass_word=Hidden-Qz7', expect_errors=True)
    assert response.status_int == 400
    assert response.text.startswith("Bad request: parameter 'pass_word' must be an integer")
    assert 'Hidden-Qz7' not in response.text
    log = read_log(log_dir)
    assert re.search(r" WARNING .*Bad request: parameter 'pass_word' must be an integer", log)
    assert 'Hidden-Qz7' not in log


def test_a_query_value_under_the_name_bearer_is_written_as_stars(make_app, log_dir, uninstall_at_end):
    """A token passed as ``?bearer=eyJ...`` (or ``?x_bearer=``) is masked in the request line, as ``?jwt=`` is."""
    app = make_app()
    app.get('/q', callback=lambda: 'ok')
    server = WsgirefServer(uninstall_at_end(app))
    try:
        for name in ('bearer', 'x_bearer', 'Bearer'):
            answer = raw_request(server.port, b'GET /q?%s=eyJhbGciOiJIUzI1NiJ9.Hidden-Qz7 HTTP/1.0\r\nHost: localhost'
                                 b'\r\n\r\n' % name.encode())
            assert answer.startswith(b'HTTP/1.0 200 '), answer
    finally:
        server.close()
    log = read_log(log_dir)
    assert 'Hidden-Qz7' not in log
    assert re.findall(r'\]   GET http://localhost/q\?(\S*)$', log, re.M) == ['bearer=***', 'x_bearer=***', 'Bearer=***']
