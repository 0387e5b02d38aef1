"""Hostile values for every kind of annotation canister converts, over a real server.

tests/test_hostile_input.py drives one app of every feature in-process with Hypothesis; its typed
routes take ``int``, ``bool``, ``List[int]``, ``Optional[float]`` and ``FileUpload``.  Here one route
per annotation of the README's list (``Decimal``, ``datetime``, ``Enum``, ``Literal``, ``Union``,
``Tuple``, ``Set``, ``Dict``, ``bytes``, a dataclass, a class of the app's own, ``NewType`` ...),
with a default and without, is sent the same odd values through the query string, a urlencoded form,
a JSON body and a multipart form (files and fields), on waitress on 127.0.0.1.  Whatever arrives,
the answer is a 2xx or a 400, never a 500 or a traceback, and each 400 is in the log at WARNING
with the message the client got.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import pathlib
import typing
import urllib.parse
import uuid
from typing import Any, Dict, FrozenSet, Iterator, List, Literal, NewType, Optional, Set, Tuple, Union

import bottle
import pytest

import canister
from helpers import read_log
from servers import InProcessWaitress, raw_request


class Colour(enum.Enum):
    RED = 'red'
    BLUE = 'blue'


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Money:
    """A class of the app's own, built from the text as sent."""

    def __init__(self, text: Any) -> None:
        self.amount = decimal.Decimal(text)


UserId = NewType('UserId', int)

ANNOTATIONS: Dict[str, Any] = {
    'int': int, 'float': float, 'decimal': decimal.Decimal, 'bool': bool, 'str': str, 'bytes': bytes,
    'bytearray': bytearray, 'optional_int': Optional[int], 'list_int': List[int], 'optional_list': Optional[List[int]],
    'dict': Dict[str, int], 'bare_dict': dict, 'enum': Colour, 'int_enum': Priority, 'date': datetime.date,
    'datetime': datetime.datetime, 'time': datetime.time, 'uuid': uuid.UUID, 'dataclass': Point, 'own_class': Money,
    'new_type': UserId, 'literal': Literal['asc', 'desc'], 'union': Union[int, datetime.date, str],
    'tuple': Tuple[int, str], 'tuple_any_length': Tuple[int, ...], 'set': Set[int], 'frozenset': FrozenSet[str],
    'any': Any, 'list_of_lists': List[List[int]], 'list_of_enums': List[Colour],
    'optional_datetime': Optional[datetime.datetime], 'sequence': typing.Sequence[decimal.Decimal],
    'complex': complex, 'path': pathlib.PurePosixPath, 'upload': bottle.FileUpload,
    'optional_upload': Optional[bottle.FileUpload], 'list_upload': List[bottle.FileUpload],
}
#: Values as a query string or a form sends them (percent-escaped), odd ones first.
TEXTS = ['', '1', '-1', '1.5', 'abc', 'nan', '-inf', '1e999', '%FF', '%C3%A9', '%ED%A0%80', '%00', 'true', 'RED',
         'red', '2', '2024-13-45', '2024-05-31', '2024-05-31T14:30:00%2B02:00', '25:61', '9' * 30, '1' * 5000, '[1]',
         '{}', '0x10', '1_0', '%D9%A1', '(1%2B2j)', '%EF%BF%BD', '..%2F..%2Fetc']
#: Values as a JSON body sends them.
JSON_VALUES: List[Any] = [None, True, False, 0, -1, 1.5, 1e308, 'abc', '', [], [1], [[1]], {}, {'x': 1}, [None], [{}],
                          10 ** 400, [1, 'a'], 'red', 2, '2024-05-31', '\x00', [1, 2, 3], ['red', 'blue'],
                          {'x': [1]}, [[]], '1' * 5000]
#: A multipart part holding these bytes, sent as a file and as a field under the same name.
PARTS = [b'abc', b'\xff\xfe', b'', b'1']


def add_annotated_routes(app: bottle.Bottle) -> None:
    """``/<name>`` with ``value: <annotation>`` mandatory, ``/<name>/default`` with a default of None."""
    for name, annotation in ANNOTATIONS.items():
        def mandatory(value):
            return {'value': repr(value)[:100]}

        def with_default(value=None):
            return {'value': repr(value)[:100]}

        for handler in (mandatory, with_default):
            handler.__annotations__ = {'value': annotation}  # (the object itself: no text to evaluate)
        app.route('/%s' % name, ['GET', 'POST'], mandatory)
        app.route('/%s/default' % name, ['GET', 'POST'], with_default)


@pytest.fixture(scope='module')
def annotated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[InProcessWaitress, pathlib.Path]]:
    """The app, on waitress on 127.0.0.1 for the tests of this module, and its log directory."""
    log_dir = tmp_path_factory.mktemp('hostile-params') / 'logs'
    app = bottle.Bottle()
    app.catchall = True  # a crash is Bottle's 500, which the tests look for
    app.install(canister.Canister(log_path=str(log_dir), max_body_size=64 * 1024))
    add_annotated_routes(app)
    running = InProcessWaitress(app, threads=4)
    yield running, log_dir
    running.close()
    app.uninstall(True)


def requests_for(path: str) -> Iterator[Tuple[str, bytes]]:
    """Every request sent to ``path``: what it is, and its bytes."""
    target = path.encode()
    for text in TEXTS:
        query = ('value=%s&value=%s' % (text, text)).encode()
        yield 'query %s' % text[:20], b'GET %s?%s HTTP/1.1\r\nHost: localhost\r\n\r\n' % (target, query)
        yield 'form %s' % text[:20], raw_post(target, b'application/x-www-form-urlencoded', b'value=' + text.encode())
    for value in JSON_VALUES:
        body = json.dumps({'value': value}).encode()
        yield 'json %r' % (value if not isinstance(value, (int, str)) or len(str(value)) < 20 else 'long'), \
            raw_post(target, b'application/json', body)
    for part in PARTS:
        body = (b'--XyZ\r\nContent-Disposition: form-data; name="value"; filename="a.txt"\r\n'
                b'Content-Type: text/plain\r\n\r\n%s\r\n--XyZ\r\nContent-Disposition: form-data; name="value"\r\n\r\n'
                b'%s\r\n--XyZ--\r\n' % (part, part))
        yield 'multipart %r' % part, raw_post(target, b'multipart/form-data; boundary=XyZ', body)


def raw_post(target: bytes, content_type: bytes, body: bytes) -> bytes:
    return b'POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s' % (
        target, content_type, len(body), body)


@pytest.mark.parametrize('default', [False, True], ids=['mandatory', 'default'])
@pytest.mark.parametrize('name', sorted(ANNOTATIONS))
def test_no_value_of_any_kind_gets_a_500_and_every_400_is_logged(annotated_server, name: str, default: bool) -> None:
    running, log_dir = annotated_server
    path = '/%s%s' % (name, '/default' if default else '')
    refused = []
    for what, request in requests_for(path):
        answer = raw_request(running.port, request.replace(b'\r\n\r\n', b'\r\nConnection: close\r\n\r\n', 1))
        head, _, body = answer.partition(b'\r\n\r\n')
        status = int(head.split(b' ', 2)[1])
        assert status in (200, 400), '%s %s -> %s\n%s' % (path, what, status, body[:500])
        assert b'Traceback' not in body, '%s %s' % (path, what)
        if status == 400:
            refused.append((what, body.decode('utf-8').strip()))
    log = read_log(log_dir)
    for what, message in refused:
        assert ' WARNING  [127.0.0.1-...]   %s\n' % message in log, '%s %s: %r not logged' % (path, what, message)


def test_the_values_reach_the_handler_converted(annotated_server) -> None:
    """The matrix above sends values that convert too: a few of them, as the handler got them."""
    running, _ = annotated_server

    def value(path: str, query: str) -> str:
        answer = raw_request(running.port, b'GET %s?%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
                             % (path.encode(), query.encode()))
        return json.loads(answer.partition(b'\r\n\r\n')[2])['value']

    assert value('/int_enum', 'value=2') == '<Priority.HIGH: 2>'
    assert value('/union', 'value=2024-05-31') == 'datetime.date(2024, 5, 31)'
    assert value('/tuple', 'value=5&value=abc') == "(5, 'abc')"
    assert value('/decimal', 'value=' + urllib.parse.quote('0.10')) == "Decimal('0.10')"
    assert value('/optional_int/default', 'value=') == 'None'
