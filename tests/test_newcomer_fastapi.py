"""Habits a FastAPI user brings to a first canister app: ``Depends(...)`` defaults and ``dependencies=[...]``, which
Bottle would take without running them (a client's ``?user=admin`` filling the parameter), FastAPI's route keywords
(``response_model=``, ``status_code=``), a returned pydantic model and FastAPI's ``HTTPException``.

FastAPI is not installed in the test environments, and canister must not depend on it: canister knows its objects by
their classes' names and modules. So each test imports small stand-ins from a package named ``fastapi`` (and
``starlette``) that the ``fastapi`` fixture writes and puts on ``sys.path``, with FastAPI's module and class names."""
import re
import sys
from typing import Annotated, Any, List, Optional

import bottle
import pytest
from pydantic import BaseModel

import canister
from helpers import ROOT, client, read_log, readme_section

#: The stand-ins' modules, with FastAPI's and Starlette's names and the attributes canister reads
#: (``Depends.dependency``, ``Header.alias``, ``HTTPException.status_code`` and ``detail``).
STAND_INS = {
    'fastapi/__init__.py': ('from fastapi.params import Body, Cookie, Depends, File, Form, Header, Path, Query, Security\n'
                            'from fastapi.exceptions import HTTPException\n'),
    'fastapi/params.py': '''
class Depends:
    def __init__(self, dependency=None, *, use_cache=True):
        self.dependency = dependency


class Security(Depends):
    def __init__(self, dependency=None, *, scopes=None, use_cache=True):
        super().__init__(dependency)
        self.scopes = scopes


from pydantic.fields import FieldInfo


class Param(FieldInfo):  # (as FastAPI's are: pydantic's FieldInfo, its constraints in .metadata)
    def __init__(self, default=..., *, alias=None, **constraints):
        super().__init__(default=default, alias=alias, **constraints)


class Query(Param): pass
class Header(Param): pass
class Cookie(Param): pass
class Path(Param): pass
class Body(Param): pass
class Form(Body): pass
class File(Form): pass
''',
    'fastapi/exceptions.py': '''from starlette.exceptions import HTTPException as StarletteHTTPException


class HTTPException(StarletteHTTPException):
    pass
''',
    'starlette/__init__.py': '',
    'starlette/exceptions.py': '''
class HTTPException(Exception):
    def __init__(self, status_code, detail=None, headers=None):
        super().__init__(status_code, detail)
        self.status_code, self.detail, self.headers = status_code, detail, headers
''',
}


class Item(BaseModel):
    name: str
    qty: int


def current_user() -> Any:
    return canister.session.user or {'sub': 'anonymous'}


DEPENDS_FIX = ("which canister does not run: it would fill user from the query, form or JSON body, which the client "
               "chooses (?user=admin), or hand the handler the %s object itself, which is true; call current_user() "
               "in the handler instead (the logged-in user is canister.session.user), and guard the route with "
               "@canister.require_user or @canister.require(predicate) below the route decorator")


def test_a_depends_default_is_refused_where_the_route_is_added_so_no_query_value_fills_it(make_app, fastapi):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        @app.get('/dep2')
        def dep2(user=fastapi.Depends(current_user)):  # noqa: B008 (the habit under test)
            return {'user': repr(user)}
    assert str(refused.value) == ("canister: Route GET /dep2: parameter 'user' of dep2 has FastAPI's "
                                  "Depends(current_user) as its default, " + DEPENDS_FIX % 'Depends')
    assert app.routes == []
    client(app).get('/dep2?user=admin', status=404)


def test_a_security_dependency_inside_annotated_is_refused_too(make_app, fastapi):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        @app.get('/sec')
        def sec(user: Annotated[dict, fastapi.Security(current_user, scopes=['read:items'])]):
            return {'user': repr(user)}
    assert str(refused.value) == ("canister: Route GET /sec: parameter 'user' of sec has FastAPI's "
                                  "Security(current_user) in its annotation, " + DEPENDS_FIX % 'Security')


def test_a_depends_default_on_a_route_added_before_the_install_is_a_500_that_never_runs_its_handler(
        log_dir, uninstall_at_end, fastapi):
    app = bottle.Bottle()
    ran = []

    @app.get('/dep2')
    def dep2(user=fastapi.Depends(current_user)):  # noqa: B008 (the habit under test)
        ran.append(user)
        return {'user': repr(user)}

    app.install(canister.Canister(log_path=str(log_dir)))
    uninstall_at_end(app)
    answer = client(app).get('/dep2?user=admin', status=500, expect_errors=True)
    assert 'Depends' not in answer.text and ran == []
    assert ("Route GET /dep2: parameter 'user' of dep2 has FastAPI's Depends(current_user) as its default, "
            + DEPENDS_FIX % 'Depends') in read_log(log_dir)


def test_the_dependencies_keyword_is_refused_so_no_anonymous_delete_is_served(make_app, fastapi):
    app = make_app()
    deleted = []
    with pytest.raises(canister.CanisterError) as refused:
        @app.delete('/admin-only', dependencies=[fastapi.Depends(current_user)])
        def admin_only():
            deleted.append(True)
            return {'deleted': True}
    assert str(refused.value) == (
        "canister: Route DELETE /admin-only was given dependencies=[...], FastAPI's keyword, which Bottle keeps as a "
        "setting of the route and does not read: its dependencies would never run, so the route would serve any "
        "client; guard it with @canister.require_user or @canister.require(predicate) below the route decorator, or "
        "call the function at the top of the handler")
    client(app).delete('/admin-only', headers={'Sec-Fetch-Site': 'same-origin'}, status=404)
    assert deleted == []


def test_an_empty_dependencies_list_asks_for_nothing_and_the_route_is_taken(make_app, fastapi):
    app = make_app()

    @app.get('/open', dependencies=[])
    def open_to_all():
        return {'open': True}
    assert client(app).get('/open').json == {'open': True}


#: An app factory as FastAPI's documentation writes one, under ``from __future__ import annotations``: its dependency
#: is defined beside the handlers, so the annotations' text cannot be evaluated from the module's names alone.
FACTORY = '''from __future__ import annotations

from typing import Annotated, Optional

from fastapi import Depends


def create_app(app):
    def current_user():
        return 'alice'

    @app.get('/me')
    def me(user: Annotated[str, Depends(current_user)]):
        return {'user': user}
'''


def factory(tmp_path, text: str) -> Any:
    """The module of an app factory written as ``text``, imported from a file as an app's own would be."""
    (tmp_path / 'site' / 'factory_app.py').write_text(text)
    sys.modules.pop('factory_app', None)
    return __import__('factory_app')


def test_a_dependency_defined_in_the_app_factory_under_future_annotations_is_refused(make_app, fastapi, tmp_path):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:  # (a name in an annotation alone is no closure's)
        factory(tmp_path, FACTORY).create_app(app)
    assert str(refused.value) == (
        "canister: Route GET /me: parameter 'user' of me has the annotation 'Annotated[str, Depends(current_user)]', "
        "which canister cannot evaluate (a name in it is neither its module's nor one the handler reads from the "
        "function around it) and which calls Depends, as FastAPI's are called: canister refuses it rather than let "
        "the client fill user from the query, form or JSON body (it runs no dependency, and reads no header or cookie "
        "into a parameter); take the parameter out, call the function (or read bottle.request.get_header(...) or "
        "get_cookie(...)) in the handler, and guard the route with @canister.require_user or "
        "@canister.require(predicate) below the route decorator")
    client(app).get('/me?user=admin', status=404)


def test_each_call_the_readme_names_in_an_annotation_canister_cannot_evaluate_is_refused(make_app, fastapi, tmp_path):
    limits = readme_section('## Limits and error answers')
    named = re.search(r"refused all the same when its text calls `(\w+)\(`, `(\w+)\(`, `(\w+)\(` or `(\w+)\(`",
                      limits).groups()
    assert named == ('Depends', 'Security', 'Header', 'Cookie')
    for name in named:
        app = make_app()
        with pytest.raises(canister.CanisterError) as refused:
            factory(tmp_path, FACTORY.replace('from fastapi import Depends', 'from fastapi import %s' % name)
                    .replace('Depends(current_user)', '%s(current_user)' % name)).create_app(app)
        assert "which canister cannot evaluate" in str(refused.value) and 'calls %s,' % name in str(refused.value)


def test_a_factorys_dependency_the_handler_also_calls_is_named_as_the_dependency(make_app, fastapi, tmp_path):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        factory(tmp_path, FACTORY.replace("return {'user': user}", "return {'user': user or current_user()}")
                ).create_app(app)
    assert str(refused.value) == ("canister: Route GET /me: parameter 'user' of me has FastAPI's Depends(current_user) "
                                  "in its annotation, " + DEPENDS_FIX % 'Depends')


def test_a_dependency_inside_optional_is_refused(make_app, fastapi):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        @app.get('/me')
        def me(user: Optional[Annotated[str, fastapi.Depends(current_user)]] = None):
            return {'user': user}
    assert str(refused.value) == ("canister: Route GET /me: parameter 'user' of me has FastAPI's Depends(current_user) "
                                  "in its annotation, " + DEPENDS_FIX % 'Depends')
    client(app).get('/me?user=admin', status=404)


def test_a_header_default_is_refused_since_the_client_would_fill_it_from_the_query(make_app, fastapi):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        @app.get('/who')
        def who(x_user: str = fastapi.Header()):
            return {'user': x_user}
    assert str(refused.value) == (
        "canister: Route GET /who: parameter 'x_user' of who has FastAPI's Header() as its default, which canister "
        "does not read: it fills x_user from the query, form or JSON body, which the client chooses, never from a "
        "header; read bottle.request.get_header('x-user') in the handler instead, and take the parameter out")


def test_a_query_default_is_refused_with_the_default_value_to_write(make_app, fastapi):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        app.route('/page', callback=lambda n=fastapi.Query(1): {'n': n})  # noqa: B008
    assert str(refused.value).endswith(
        "parameter 'n' of <lambda> has FastAPI's Query(...) as its default, which canister does not read: a request "
        "without n would give the handler the Query object itself; write the default value itself (n: int = 1), or "
        "none for a value the request must send (canister fills a parameter from the query, form or JSON body by its "
        "name)")


def test_query_metadata_inside_annotated_is_taken_and_its_bound_checked_by_pydantic(make_app, fastapi):
    app = make_app()

    @app.get('/q')
    def q(n: Annotated[int, fastapi.Query(gt=0)] = 1):
        return {'n': n}

    web = client(app)
    assert ("parameter 'n' must meet the constraints of its annotation: Input should be greater than 0, got '-3'"
            in web.get('/q?n=-3', status=400).text)
    assert web.get('/q?n=3').json == {'n': 3}
    assert web.get('/q').json == {'n': 1}


@pytest.mark.parametrize('keyword, value, shown, outcome', [
    ('response_model', Item, 'Item',
     "the answer would be whatever the handler returns, fields the model leaves out too; return the fields to send: "
     "a model's item.model_dump(mode='json') (item.dict() on pydantic 1), Item(**data).model_dump(mode='json') for "
     "a dict, or item.model_dump(mode='json', include={...})"),
    ('status_code', 201, '201', 'the route would answer 200; set bottle.response.status = 201 in the handler'),
])
def test_fastapis_route_keywords_that_change_the_answer_are_refused_with_what_to_write(make_app, keyword, value,
                                                                                      shown, outcome):
    app = make_app()
    with pytest.raises(canister.CanisterError) as refused:
        app.route('/items', callback=lambda: {'name': 'pen', 'qty': 2, 'secret': 'leak'}, **{keyword: value})
    assert str(refused.value) == ("canister: Route GET /items was given %s=%s, FastAPI's keyword, which Bottle keeps "
                                  "as a setting of the route and does not read: %s" % (keyword, shown, outcome))
    assert app.routes == []


def test_fastapis_route_keywords_that_only_document_it_are_taken(make_app):
    app = make_app()
    app.route('/items', callback=lambda: {'ok': True}, tags=['items'], summary='The items')
    assert client(app).get('/items').json == {'ok': True}


def test_a_setting_named_status_code_in_the_apps_config_refuses_none_of_its_routes(make_app):
    app = make_app()
    app.config['status_code'] = 201  # (bottle 0.13: each route's config sees the app's through)
    app.route('/items', callback=lambda: 'items')
    assert client(app).get('/items').text == 'items'


def error_lines(log_dir) -> List[str]:
    return [line for line in read_log(log_dir).splitlines() if ' ERROR ' in line and 'Response: ' not in line]


def test_a_returned_pydantic_model_is_logged_with_model_dump_to_write(make_app, log_dir):
    app = make_app()
    app.route('/item', callback=lambda: Item(name='pen', qty=2))
    client(app).get('/item', status=500)
    assert error_lines(log_dir)[0].endswith(
        "Unhandled exception in GET /item: the handler returned a list, tuple or generator of something other than "
        "text or bytes (Unsupported response type: <class 'tuple'>): it returned the pydantic model Item, which Bottle "
        "iterates as its (field, value) pairs, where FastAPI sends it as JSON: return item.model_dump(mode='json'), a "
        "dict, which Bottle sends as JSON")


def test_a_list_of_tuples_returned_gets_no_word_of_pydantic(make_app, log_dir):
    app = make_app()
    app.route('/pairs', callback=lambda: [('name', 'pen')])
    client(app).get('/pairs', status=500)
    line = error_lines(log_dir)[0]
    assert "Unsupported response type: <class 'tuple'>): Bottle sends text" in line and 'pydantic' not in line


def test_a_pydantic_model_inside_a_returned_dict_is_logged_with_model_dump(make_app, log_dir):
    app = make_app(catchall=True)
    app.route('/item', callback=lambda: {'item': Item(name='pen', qty=2)})
    client(app).get('/item', status=500, expect_errors=True)
    assert error_lines(log_dir)[0].endswith(
        "(Object of type Item is not JSON serializable): convert such values in the handler (a datetime with "
        ".isoformat(), a Decimal with str(), a set with list(), a pydantic model with .model_dump(mode='json'))")


@pytest.mark.parametrize('module, whose', [('fastapi', "FastAPI's"), ('starlette.exceptions', "Starlette's")])
def test_fastapis_and_starlettes_http_exception_is_logged_with_bottles_abort(make_app, log_dir, fastapi, module,
                                                                             whose):
    http_exception = __import__(module, fromlist=['HTTPException']).HTTPException
    app = make_app(catchall=True)

    @app.get('/items/<item_id>')
    def item(item_id):
        raise http_exception(status_code=404, detail='Item not found')

    client(app).get('/items/3', status=500, expect_errors=True)
    assert error_lines(log_dir)[0].endswith(
        "Unhandled exception in GET /items/<item_id>: %s HTTPException, which Bottle does not know (it answers 500 "
        "for it, as for any exception): write bottle.abort(404, 'Item not found') (Bottle's, the status first and "
        "the text second)" % whose)


def test_a_lone_list_of_models_with_a_json_array_body_says_to_read_the_body_itself(make_app):
    app = make_app()

    @app.post('/items')
    def items(items: List[Item]):
        return {'count': len(items)}

    answer = client(app).post('/items', '[{"name": "pen", "qty": 2}]', content_type='application/json',
                              headers={'Sec-Fetch-Site': 'same-origin'}, status=400)
    assert answer.text == ("Bad request: missing parameter 'items' (the JSON body is not an object: only an object's "
                           "members fill parameters; the handler can read the body itself, a whole JSON array say: "
                           "bottle.request.json)\n")


# -- README: Coming from FastAPI, and the refusals it quotes ------------------------------------------------

README = (ROOT / 'README.md').read_text(encoding='utf-8')
COMING_FROM_FASTAPI = (readme_section('## Coming from FastAPI') if '\n## Coming from FastAPI\n' in README
                       else '')   # (none: each test below says so on its own)


def test_the_readme_has_a_coming_from_fastapi_table_with_each_habit():
    for habit in ('`Depends(get_current_user)`', '`raise HTTPException(status_code=404', '`response_model=Item`',
                  '`status_code=201` on the route', '`return item` of a pydantic model', '`request.state.db`',
                  '`Annotated[int, Query(gt=0)]`', '`items: List[Item]`', '`uvicorn app:app`'):
        assert '| %s' % habit in COMING_FROM_FASTAPI, habit


def test_what_the_readme_says_to_write_instead_of_fastapis_habits_works(make_app):
    """Each row of "Coming from FastAPI" that is behaviour, written as the README says."""
    assert '`@canister.require_user`' in COMING_FROM_FASTAPI and '`bottle.abort(404, \'...\')`' in COMING_FROM_FASTAPI
    assert "`item.model_dump(mode='json', include={...})`" in COMING_FROM_FASTAPI
    assert '`bottle.response.status = 201` in the handler' in COMING_FROM_FASTAPI
    assert "`bottle.request.get_header('X-Token')`, `bottle.request.get_cookie('name')`" in COMING_FROM_FASTAPI
    assert '`bottle.request.db = ...` in a `before_request` hook' in COMING_FROM_FASTAPI
    assert '`/items/<item_id>`' in COMING_FROM_FASTAPI and '`def create(item: Item)`' in COMING_FROM_FASTAPI
    app = make_app()
    app.add_hook('before_request', lambda: setattr(bottle.request, 'db', 'the db'))

    @app.get('/me')
    @canister.require_user
    def me():
        return {'user': canister.session.user}

    @app.get('/items/<item_id>')
    def item(item_id):
        if item_id != '1':
            bottle.abort(404, 'Item not found')
        return Item(name='pen', qty=2).model_dump(mode='json', include={'name'})

    @app.post('/items')
    def create(item: Item):
        bottle.response.status = 201
        return item.model_dump(mode='json')

    @app.post('/bulk')
    def bulk():
        return {'count': len(bottle.request.json)}

    app.get('/state', callback=lambda: {'db': bottle.request.db, 'token': bottle.request.get_header('X-Token'),
                                        'cookie': bottle.request.get_cookie('name')})
    web = client(app)
    web.get('/me', status=401)
    assert web.get('/items/2', status=404)
    assert web.get('/items/1').json == {'name': 'pen'}
    same_site = {'Sec-Fetch-Site': 'same-origin'}
    created = web.post_json('/items', {'name': 'pen', 'qty': 2}, headers=same_site, status=201)
    assert created.json == {'name': 'pen', 'qty': 2}
    assert web.post_json('/bulk', [{'name': 'pen', 'qty': 2}], headers=same_site).json == {'count': 1}
    web.set_cookie('name', 'value')
    assert web.get('/state', headers={'X-Token': 't'}).json == {'db': 'the db', 'token': 't', 'cookie': 'value'}


def test_the_readme_quotes_the_refusals_and_lines_as_canister_writes_them(make_app, log_dir, fastapi):
    limits = readme_section('## Limits and error answers')
    app = make_app(catchall=True)
    with pytest.raises(canister.CanisterError) as refused:
        app.route('/me', callback=lambda user=fastapi.Depends(current_user): user)  # noqa: B008
    quoted = re.search(r"`canister\.CanisterError: (canister: Route GET /me: [^`]*)`", limits).group(1)
    start, end = quoted.split(': ...; ')
    assert str(refused.value).replace('<lambda>', 'me').startswith(start + ': ')
    assert str(refused.value).endswith('; ' + end)
    with pytest.raises(canister.CanisterError) as refused:
        app.route('/items', method='POST', callback=lambda: {}, status_code=201)
    assert '`%s`' % refused.value in limits

    @app.get('/items/<item_id>')
    def item(item_id):
        raise fastapi.HTTPException(status_code=404, detail='Item not found')

    client(app).get('/items/3', status=500, expect_errors=True)
    line = error_lines(log_dir)[0]
    assert '`%s`' % line[line.index('Unhandled exception in'):] in limits
    logging_section = readme_section('## Request logging')
    app.route('/item', callback=lambda: Item(name='pen', qty=2))
    client(app).get('/item', status=500)
    line = error_lines(log_dir)[-1]
    assert "`... %s`" % line[line.index('(Unsupported'):] in logging_section


def test_the_first_app_names_uvicorns_wsgi_mode_beside_the_asgi_call_that_fails():
    first_app = readme_section('## A first app')
    assert 'not with an ASGI server (`uvicorn app:app`' in first_app
    assert ('Uvicorn has a WSGI mode of its own, which a newcomer found to serve the app: '
            '`uvicorn --interface wsgi app:app`.') in first_app
