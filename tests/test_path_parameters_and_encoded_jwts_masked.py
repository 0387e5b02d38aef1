"""Attack review (session 33), what the request line still let through: a secret in a path segment's parameter
(``/q;password=...``, a Java server's ``/cart;jsessionid=...``) and a JWT whose characters are percent-encoded
(``eyJ...%2EeyJ...``, ``%65yJ...``), in the query or in the path, were written as sent.  And a model's own check
hidden because it repeated the value of a field of a secret type said that "the name looks secret".  Over waitress
on 127.0.0.1, the log file read back; the masking linear in the text's length, on text built to be slow too.
"""
import json
import pathlib
import time
import urllib.parse
from typing import Iterator, Tuple

import bottle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import canister
from helpers import log_after, readme_section
from param_kit import Vault
from servers import InProcessWaitress, raw_request, status_of

SIGNATURE = 'UGF0aFNlY3JldFNpZ25hdHVyZVpZWA'
JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.' + SIGNATURE
ENCODED_DOTS = JWT.replace('.', '%2E')
ENCODED_START = '%65%79%4A' + JWT[3:].replace('.', '%2e')


@pytest.fixture(scope='module')
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[InProcessWaitress, pathlib.Path]]:
    log_dir = tmp_path_factory.mktemp('attack-33-path-parameters') / 'logs'
    app = bottle.Bottle()
    app.install(canister.Canister(log_path=str(log_dir)))
    app.get('/q', callback=lambda: 'ok')
    app.get('/reset/<token>', callback=lambda token: 'ok')

    @app.post('/vaults')
    def add_vault(vault: Vault):
        return 'ok'

    running = InProcessWaitress(app, threads=2)
    yield running, log_dir
    running.close()
    app.uninstall(True)


def get(running: InProcessWaitress, target: str) -> int:
    return status_of(raw_request(running.port, b'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
                                 % target.encode()))


@pytest.mark.parametrize('target, logged', [
    ('/q;password=Hunter2-Param', '/q;password=***'),
    ('/q;jsessionid=Sess-Param-4411?page=2', '/q;jsessionid=***?page=2'),
    ('/q;lang=en;api_key=Key-Param-7;v=2', '/q;lang=en;api_key=***;v=2'),
    ('/q;pass%2577ord=Enc-Param-9', '/q;pass%77ord=***'),
    ('/q?t=' + ENCODED_DOTS + '&page=2', '/q?t=***&page=2'),
    ('/q?t=' + ENCODED_START, '/q?t=***'),
    ('/reset/' + ENCODED_DOTS, '/reset/***'),
    ('/reset/' + JWT.replace('.', '%252E'), '/reset/***'),
])
def test_a_path_parameters_secret_and_an_encoded_jwt_are_logged_as_stars(server, target, logged):
    running, log_dir = server
    assert get(running, target) in (200, 404)
    log = log_after(log_dir, 'GET http://localhost' + logged)
    assert 'GET http://localhost' + logged in log
    assert '-Param' not in log and SIGNATURE not in log


@pytest.mark.parametrize('target', ['/q;lang=en;v=2', '/q;tickets_count=3?page=2', '/reset/v1%2E2%2E3'])
def test_ordinary_path_parameters_and_dotted_values_are_logged_as_sent(server, target):
    running, log_dir = server
    get(running, target)
    sent = 'GET http://localhost' + target.replace('%2E', '.')  # (the server decodes the path)
    assert sent in log_after(log_dir, sent)


def test_a_models_check_hidden_for_a_secret_types_value_says_so(server):
    running, log_dir = server
    data = json.dumps({'owner': 'bob', 'mnemonic': 'Short-Mnemo'}).encode()
    raw = raw_request(running.port, b'POST /vaults HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n'
                                     b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n' % len(data), data)
    text = raw.partition(b'\r\n\r\n')[2].decode()
    assert status_of(raw) == 400
    assert 'its message is not shown: it holds the value sent to a field of a secret type' in text, text
    assert 'name looks secret' not in text and 'Short-Mnemo' not in text
    log = log_after(log_dir, 'must be a valid Vault')
    assert 'a field of a secret type' in log and 'Short-Mnemo' not in log


#: What texts as a URL sends them are made of: JWT-like words, dots and the characters around them, as themselves
#: and encoded (upper and lower case hex), lone and doubled ``%``, UTF-8 bytes, ``=`` and line breaks.
PIECES = ['eyJ', 'e', 'y', 'J', 'a', 'Z', '0', '-', '_', '.', '/', '+', '=', ';', '!', '\\', '\n', ' ', '%',
          '%2E', '%2e', '%65', '%79', '%4A', '%4a', '%41', '%5F', '%2D', '%2F', '%25', '%3', '%e', '%C3%A9', '%C3',
          '%0A', '%20', '%3D', '=2E', '\u00e9']


@settings(max_examples=4000, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map(''.join))
def test_a_jwt_is_found_in_a_text_as_sent_exactly_where_its_decoding_holds_one(text):
    assert canister._holds_jwt_sent(text) == canister._holds_jwt(urllib.parse.unquote(text)), text


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES + ['password', 'jsessionid', 'pass%77ord', 'key', 'x=', '@', 'bob:pw@h']),
                max_size=10).map(''.join))
def test_the_request_lines_quick_look_lets_through_every_path_the_full_rule_masks(path):
    origin = 'http://localhost'
    if canister._MASKED_IN_URL.search(origin + '/' + path) is None:
        assert canister._masked_target(origin, '/' + path) == origin + '/' + path


def cpu(call, value):
    start = time.process_time()
    for _ in range(3):
        call(value)
    return time.process_time() - start


@pytest.mark.parametrize('text', [';' * 1_000_000, '%2E' * 333_333, 'eyJ%2E' * 166_666, 'eyJ' + '%' * 999_997,
                                  ';a=b' * 250_000 + '%', ';%' * 500_000, '%65yJ' * 200_000, 'eyJ%2F' * 166_666])
def test_text_built_to_be_slow_in_a_path_or_a_query_is_masked_about_as_fast_as_plain_text(text):
    # (plain text in a path with one parameter, ';aaa...', which the masking reads for secret-looking names)
    plain = ';' + 'a' * (len(text) - 1)
    assert cpu(lambda value: canister._masked_target('http://localhost', '/' + value), text) < (
        3 * cpu(lambda value: canister._masked_target('http://localhost', '/' + value), plain) + 0.05)
    if ';' not in text:  # (a query's ; separates names, each read in turn: not new here)
        plain = 'a' * len(text)
        query = cpu(lambda value: canister._redact_query('next=' + value), text)
        assert query < 3 * cpu(lambda value: canister._redact_query('next=' + value), plain) + 0.05


def test_the_readme_says_what_the_request_line_keeps_out_of_a_path():
    logging_section = readme_section('## Request logging')
    assert "a path segment's parameter whose name looks secret (`/cart;jsessionid=***`, `/q;password=***`" in logging_section
    assert 'percent-encoded or not (`?t=eyJ...%2EeyJ...` is `?t=***`)' in logging_section
    assert "and the value of a segment's parameter whose name looks secret (`;jsessionid=***`)" in \
        readme_section('## Security notes')
