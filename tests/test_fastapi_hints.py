"""What canister tells a FastAPI developer in the first hour, written from the handler's own code: the default and
bounds of a ``Query(...)`` default, the body of a model parameter beside another, an ``async def`` where its route is
added, and the audience a token without ``aud`` was expected to name.

FastAPI is not installed: as in ``test_newcomer_fastapi.py``, the ``fastapi`` fixture writes stand-ins with its
module and class names (canister knows its objects by those)."""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Literal, Optional

import bottle
import pytest
from pydantic import BaseModel

import canister
from canister import session
from helpers import bearer, client, read_log, readme_section, signed_token, warning_lines

SECRET = 'k9Qv2Lr7Zt4Wm8Xc1Bn5Hs3Jd6Fg0Pa-Tq7Ye2Ui9Oo4Kl1Mz8Nx5Cv3Bb6Vn0Q'  # 64 bytes

READS_BY_NAME = ', or none for a value the request must send (canister fills a parameter from the query, form or JSON ' \
    'body by its name)'


def refusal(app: bottle.Bottle, handler: Any) -> str:
    """The CanisterError's text for ``handler`` routed at GET /items."""
    with pytest.raises(canister.CanisterError) as refused:
        app.route('/items', callback=handler)
    return str(refused.value)


def test_a_bounded_query_default_is_told_as_annotated_with_its_own_type_default_and_bounds(make_app, fastapi):
    app = make_app()

    def items(limit: int = fastapi.Query(10, ge=1, le=100)):  # noqa: B008 (the habit under test)
        return {'limit': limit}

    assert refusal(app, items).endswith(
        "parameter 'limit' of items has FastAPI's Query(...) as its default, which canister does not read: a request "
        "without limit would give the handler the Query object itself; write the default value itself (limit: "
        "Annotated[int, Query(ge=1, le=100)] = 10)" + READS_BY_NAME)


def test_an_optional_query_default_with_a_max_length_keeps_its_optional_type_and_none(make_app, fastapi):
    app = make_app()

    def items(q: Optional[str] = fastapi.Query(None, max_length=5)):  # noqa: B008
        return {'q': q}

    assert '(q: Annotated[Optional[str], Query(max_length=5)] = None)' in refusal(app, items)


def test_the_written_form_is_one_canister_takes_and_enforces(make_app, fastapi):
    """What the message says to write is served, its bounds checked (pydantic's words in the 400)."""
    app = make_app()
    namespace = {'Annotated': __import__('typing').Annotated, 'Optional': Optional, 'Query': fastapi.Query}
    exec('def items(limit: Annotated[int, Query(ge=1, le=100)] = 10,\n'  # (the text of the two messages above)
         '          q: Annotated[Optional[str], Query(max_length=5)] = None):\n'
         '    return {"limit": limit, "q": q}', namespace)
    app.route('/items', callback=namespace['items'])
    web = client(app)
    assert web.get('/items').json == {'limit': 10, 'q': None}
    assert web.get('/items?limit=100&q=abcde').json == {'limit': 100, 'q': 'abcde'}
    assert 'Input should be less than or equal to 100' in web.get('/items?limit=101', status=400).text
    assert 'String should have at most 5 characters' in web.get('/items?q=abcdef', status=400).text


def test_a_query_without_a_default_is_told_to_have_none(make_app, fastapi):
    app = make_app()

    def items(q: str = fastapi.Query()):  # noqa: B008
        return {'q': q}

    assert refusal(app, items).endswith('the Query object itself; write q: str, without a default, for a value the '
                                        'request must send (canister fills a parameter from the query, form or JSON '
                                        'body by its name)')


def test_an_unprintable_default_is_shown_escaped_on_one_line_and_whole_as_code_to_paste(make_app, fastapi):
    app = make_app()

    def items(q='\n2026-01-01 INFO forged' + 'x' * 100, tag: str = fastapi.Query('a\nb' * 30, pattern='^a\n')):  # noqa: B008
        return {'q': q}

    text = refusal(app, items)
    assert '\n' not in text
    assert "(tag: Annotated[str, Query(pattern='^a\\n')] = %r)" % ('a\nb' * 30) in text


def fix_of(text: str) -> str:
    """The code a refusal of a FastAPI marker tells the developer to write: what stands in ``(...)`` after
    ``write the default value itself``, up to the ``, or none`` that follows it."""
    return text.split('write the default value itself (', 1)[1].rsplit('), or none for a value', 1)[0]


def test_a_constraint_is_shown_whole_so_that_the_code_to_write_parses(make_app, fastapi):
    app = make_app()

    def users(name: Optional[str] = fastapi.Query(None, pattern='^[a-z0-9_-]{3,16}(@[a-z]+)?$')):  # noqa: B008
        return {'name': name}

    fix = fix_of(refusal(app, users))
    assert fix == "name: Annotated[Optional[str], Query(pattern='^[a-z0-9_-]{3,16}(@[a-z]+)?$')] = None"
    compile('def users(%s): pass' % fix, '<the fix>', 'exec')  # (code to paste: it parses)


def test_a_constraint_or_default_too_long_to_show_is_said_to_be_yours_in_no_code_that_parses(make_app, fastapi):
    app = make_app()
    pattern = '^(?:' + '|'.join('word%d' % n for n in range(40)) + ')$'  # (a repr of 273 characters)

    def words(w: str = fastapi.Query('w' * 250, pattern=pattern)):  # noqa: B008
        return {'w': w}

    fix = fix_of(refusal(app, words))
    assert fix == ("w: Annotated[str, Query(pattern=<your value, %d characters: %s...>)] = <your value, 252 characters: "
                   "%s...>" % (len(repr(pattern)), repr(pattern)[:40], repr('w' * 250)[:40]))
    with pytest.raises(SyntaxError):  # (no half a value that would parse and mean another)
        compile('def words(%s): pass' % fix, '<the fix>', 'exec')


def test_the_readme_quotes_the_query_default_message():
    assert ("`limit: int = Query(10, ge=1, le=100)` is told `write the default value itself (limit: Annotated[int, "
            "Query(ge=1, le=100)] = 10)`, and `q: str = Query()` (no default: FastAPI's required value) `write q: "
            "str, without a default`" in readme_section('## Limits and error answers'))


class ItemIn(BaseModel):
    name: str
    price: float
    note: str = ''


@dataclasses.dataclass
class Line:
    sku: str
    qty: int = 1


def items_app(make_app) -> bottle.Bottle:
    app = make_app()

    @app.post('/items')
    def create(item: ItemIn, notify: bool = False):
        return {'item': item.model_dump(), 'notify': notify}

    return app


BODY_HINT = ("missing parameter 'item' (this body, {'name': 'pen', 'price': 2}, has the fields of ItemIn, but beside "
             "notify a record parameter takes only the member of its name: send {\"item\": {...}}, or take notify out "
             "of the handler's parameters and read bottle.request.query.get('notify') in the handler, so that item, "
             "its one parameter, is built from the whole body)")


def test_a_models_fields_sent_as_the_body_beside_another_parameter_are_told_how_to_send_them(make_app, log_dir):
    app = items_app(make_app)
    answer = client(app).post_json('/items?notify=true', {'name': 'pen', 'price': 2}, status=400)
    assert answer.text == 'Bad request: %s\n' % BODY_HINT
    assert warning_lines(log_dir)[-1].endswith('Bad request: ' + BODY_HINT)


def test_the_way_the_hint_says_to_send_it_is_served(make_app):
    answer = client(items_app(make_app)).post_json('/items?notify=true', {'item': {'name': 'pen', 'price': 2}})
    assert answer.json == {'item': {'name': 'pen', 'price': 2.0, 'note': ''}, 'notify': True}


def test_the_other_way_the_hint_says_is_served(make_app):
    app = make_app()

    @app.post('/items')
    def create(item: ItemIn):
        return {'item': item.model_dump(), 'notify': bottle.request.query.get('notify') == 'true'}

    answer = client(app).post_json('/items?notify=true', {'name': 'pen', 'price': 2})
    assert answer.json == {'item': {'name': 'pen', 'price': 2.0, 'note': ''}, 'notify': True}


def test_a_body_holding_the_required_fields_and_others_is_told_too_its_secrets_hidden(make_app):
    answer = client(items_app(make_app)).post_json('/items', {'name': 'pen', 'price': 2, 'password': 'hunter2'},
                                                   status=400)
    assert "this body, {'name': 'pen', 'price': 2, 'password': '***'}, has the fields of ItemIn" in answer.text
    assert 'hunter2' not in answer.text


def test_a_body_that_is_not_the_record_gets_the_plain_400(make_app):
    answer = client(items_app(make_app)).post_json('/items', {'name': 'pen', 'cost': 2}, status=400)
    assert answer.text == "Bad request: missing parameter 'item'\n"


def test_a_dataclass_beside_kwargs_and_two_parameters_is_told_with_each(make_app):
    app = make_app()

    @app.post('/lines')
    def add(line: Line, x: int = 0, y: int = 0, **rest: Any):
        return {'line': dataclasses.asdict(line)}

    answer = client(app).post_json('/lines', {'sku': 'p1'}, status=400)
    assert ("this body, {'sku': 'p1'}, has the fields of Line, but beside x, y and **kwargs a record parameter takes "
            "only the member of its name: send {\"line\": {...}}, or take x, y and **kwargs out of the handler's "
            "parameters and read bottle.request.query.get('x') in the handler" in answer.text)


def test_the_readme_quotes_the_body_hint():
    assert BODY_HINT.partition(" (")[2] in readme_section('## Parameter unpacking')


ASYNC_REFUSED = ('canister: the handler of GET /items is an async def, which Bottle, a WSGI framework, calls without '
                 'ever running its body; write it as a plain def (a blocking call in it holds its thread only, or its '
                 'greenlet under gevent)')


def test_an_async_handler_is_refused_where_its_route_is_added(make_app):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        @app.get('/items')
        async def items():
            return 'never sent'
    assert str(refused.value) == ASYNC_REFUSED
    assert app.routes == []


def test_an_async_handler_added_before_the_install_is_refused_at_its_first_request(log_dir):
    app = bottle.Bottle()
    app.catchall = True

    @app.get('/items')
    async def items():
        return 'never sent'

    app.install(canister.Canister(log_path=str(log_dir)))
    try:
        client(app).get('/items', status=500, expect_errors=True)
        assert 'Unhandled exception in GET /items: ' + ASYNC_REFUSED in read_log(log_dir)
    finally:
        app.uninstall(True)


def test_the_readme_says_an_async_handler_is_refused_where_its_route_is_added():
    assert ('An `async def` handler (the habit of Starlette and FastAPI) raises `canister.CanisterError` where its '
            'route is added (`@app.get(...)` itself; a route added before `app.install(...)`, when Bottle applies the '
            'plugin to it, at its first request' in readme_section('## Parameter unpacking'))


@pytest.mark.parametrize('claim, setting, configured', [
    ('aud', 'auth_jwt_client_id', 'my-api'),
    ('iss', 'auth_jwt_issuer', 'https://id.example.com/'),
])
def test_a_token_without_the_aud_or_iss_set_is_logged_with_the_value_expected(make_app, log_dir, claim, setting,
                                                                             configured):
    app = make_app(auth_jwt_secret=SECRET, **{setting: configured})
    app.get('/me', callback=lambda: {'user': session.user})
    token = signed_token(SECRET)
    answer = client(app).get('/me', headers=bearer(token), status=401)
    assert answer.text == 'Authentication failed: the token lacks the %s claim\n' % claim
    line = warning_lines(log_dir)[-1]
    assert line.endswith('Authentication failed: the token lacks the %s claim (expected %s = %r, canister.%s)'
                         % (claim, claim, configured, setting))
    log = read_log(log_dir)
    assert token not in log and token.split('.')[2] not in log and SECRET not in log


def test_the_readme_quotes_the_line_of_a_token_without_aud():
    assert ("`Authentication failed: the token lacks the aud claim (expected aud = 'my-api', "
            "canister.auth_jwt_client_id)`" in readme_section('### Bearer JWT (OAuth2 / OIDC)'))


@pytest.mark.parametrize('skip', ['canister', 'plugin', 'class'])  # (skip=[True] would skip run_coroutines too)
def test_an_async_handler_of_a_route_that_skips_canister_is_left_to_the_app(make_app, skip):
    app = make_app()
    plugin = next(p for p in app.plugins if isinstance(p, canister.Canister))
    skipped = {'canister': 'canister', 'plugin': plugin, 'class': canister.Canister}[skip]

    def run_coroutines(callback):  # another plugin of the app's, which runs what an async def returns
        def run(*args, **kwargs):
            return asyncio.run(callback(*args, **kwargs))
        return run

    @app.get('/items', skip=[skipped], apply=[run_coroutines])
    async def items():
        return 'ran'

    assert len(app.routes) == 1
    assert client(app).get('/items').text == 'ran'
    assert "A route that skips canister (`skip=['canister']`, or the plugin object or class) is not refused" in \
        readme_section('## Parameter unpacking')


def test_a_long_annotation_is_shown_whole_so_that_the_code_to_write_parses(make_app, fastapi):
    app = make_app()

    def paint(colour: Optional[Literal['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black']]  # (over 60)
              = fastapi.Query(None, max_length=7)):  # noqa: B008
        return {'colour': colour}

    fix = fix_of(refusal(app, paint))
    assert fix == ("colour: Annotated[Optional[Literal['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black']], "
                   "Query(max_length=7)] = None")
    compile('def paint(%s): pass' % fix, '<the fix>', 'exec')
