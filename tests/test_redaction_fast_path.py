"""The request line's quick look at a query (a query that cannot hold a secret is logged as it is, unread) never
lets through a query that the full rule masks: for thousands of queries made of the secret words in every form
(each kind, any case, plural, in brackets, camel-cased, encoded or raw, with ``& ; = + % " @ [ ]`` and non-ASCII
around them), the query logged is the one the full rule gives, every name decoded and every value looked at."""
from __future__ import annotations

import re
import urllib.parse
from typing import Iterator, List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import canister
from helpers import read_log
from servers import WsgirefServer, raw_request

#: The regular expressions in the words of the list, each with the texts it stands for.
PATTERN_TEXTS = {'[-_]?': ['', '_', '-'], '[^a-z0-9]{0,2}': ['', '_', '[', '][', '__'],
                 '[^a-z0-9]{1,2}': ['_', '-', '[', '__'], '(?:ber)?': ['', 'ber']}


def spellings(word: str) -> List[str]:
    """Every text a word of the list stands for (``session[-_]?id``: ``sessionid``, ``session_id``, ``session-id``)."""
    texts = ['']
    for piece in re.split('(%s)' % '|'.join(map(re.escape, PATTERN_TEXTS)), word):
        texts = [text + more for text in texts for more in PATTERN_TEXTS.get(piece, [piece])]
    assert all(re.fullmatch('[a-z]+[a-z_\\[\\]-]*[a-z]+', text) for text in texts), (word, texts)  # none left
    return texts


#: Every spelling of every word of the list, with its kind (0 anywhere, 1 a last word, 2 one that counts in the plural).
WORDS = [(kind, text) for kind, words in enumerate(canister._SECRET_WORDS) for word in words for text in spellings(word)]


def cases(text: str) -> List[str]:
    return [text, text.upper(), text.capitalize(), text[:-1] + text[-1].upper()]


def names(text: str) -> Iterator[str]:
    """A word as names have it: alone, after other words (``api_key``, ``apiKey``, ``user[key]``), in the plural,
    followed by brackets or by more letters, in any case."""
    for word in cases(text):
        for before in ('', 'x_', 'api', 'user[', 'my-', 'X+'):
            for after in ('', 's', 'S', ']', '[]', '[0]', 's[]', 'x', '_id'):
                yield before + word + after


def queries(name: str) -> Iterator[str]:
    """A name as queries have it: with a value, with Bottle's ``;`` after it, without ``=``, as a JSON member's name
    in a value, raw or encoded."""
    yield name + '=v4lue'
    yield 'page=2&' + name + ';x=v4lue&sort=up'
    yield 'a=1;' + name + '=v4lue'
    yield name + '&x=1'
    yield 'cfg={"' + name + '":"v4lue"}'
    yield 'cfg=' + urllib.parse.quote('{"%s":"v4lue"}' % name)
    yield urllib.parse.quote(name, safe='') + '=v4lue'
    yield urllib.parse.quote(name, safe='[]') + '=v4lue&next=%40'


def slow_rule_agrees(query: str) -> None:
    """The query as the request line logs it is the query by the full rule, and so is every name's answer."""
    assert canister._redact_query(query) == canister._masked_query(query), query
    for part in query.split('&'):
        for piece in part.split(';'):
            name = urllib.parse.unquote_plus(piece.partition('=')[0])
            assert canister._is_secret_name(name) == (canister._SECRET_NAME.search(name) is not None), name


def test_every_spelling_of_every_secret_word_in_a_query_is_masked_as_the_full_rule_masks_it():
    count = 0
    for _, text in WORDS:
        for name in names(text):
            for query in queries(name):
                slow_rule_agrees(query)
                count += 1
    assert count > 50000


#: What queries are made of: words of the list, the characters that separate, quote or encode, a URL's user
#: information, JSON, ordinary words, and non-ASCII letters (``ſ`` and ``K`` are ``s`` and ``k`` to ``(?i)``).
QUERY_PIECES = ([text for _, text in WORDS] + [text.upper() for _, text in WORDS[::3]]
                + ['&', ';', '=', '+', '%', '"', '@', '[', ']', '[]', '[0]', 's', 'S', '_', '-', '.', ':', '{', '}',
                   '%22', '%40', '%3D', '%3B', '%26', '%5B', '%5D', '%5F', '%2B', '%70', '%2', 'https://', 'bob:pw@',
                   'host/', '{"', '":', 'page', 'sort', 'monkey', 'inside', 'x', 'Key', 'Pin', 'Jwt', 'Sig', '1',
                   '\u00e9', '\u017f', '\u212a', '\u0130', '\u00a0', '\u2028'])


@settings(max_examples=5000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(QUERY_PIECES), max_size=12).map(''.join))
def test_a_query_of_any_mix_of_secret_words_and_separators_is_masked_as_the_full_rule_masks_it(query):
    slow_rule_agrees(query)


@given(st.text(alphabet='&;=+%"@[]_-.:{}/ 0123456789abcdefgijklmnoprstuvwxyzKPS\u00e9\u017f\u212a', max_size=40))
@settings(max_examples=3000, deadline=None, derandomize=True)
def test_a_query_of_any_characters_is_masked_as_the_full_rule_masks_it(query):
    slow_rule_agrees(query)


def test_the_log_shows_each_query_as_the_full_rule_masks_it(make_app, log_dir, uninstall_at_end):
    # Through a real server, the query sent as it is (a raw `"`, `@`, `[` and `;` among them).
    sent = ['cfg={"api_key":"Hidden1"}', 'api_key;x=Hidden2&next=3', 'next=https://bob:Hidden3@host/&page=2',
            'user[api_keys][]=Hidden4', 'X-Auth=Hidden5', 'apiKey=Hidden6', 'card[number]=Hidden7',
            'lang=en;access_token=Hidden8&page=2', 'Session-ID=Hidden9', 'page=2&sort=name+up', 'q=%22@%22&x=1']
    app = make_app()
    app.get('/q', callback=lambda: 'ok')
    server = WsgirefServer(uninstall_at_end(app))
    try:
        for query in sent:
            answer = raw_request(server.port, b'GET /q?%s HTTP/1.0\r\nHost: localhost\r\n\r\n' % query.encode())
            assert answer.startswith(b'HTTP/1.0 200 '), answer
    finally:
        server.close()
    log = read_log(log_dir)
    assert 'Hidden' not in log
    logged = re.findall(r'\]   GET http://localhost/q\?(\S*)$', log, re.M)
    assert logged == [canister._masked_query(query) for query in sent], log
    assert logged[-2:] == sent[-2:] and all(line.count('***') == 1 for line in logged[:-2]), logged
