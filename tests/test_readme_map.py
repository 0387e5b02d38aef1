"""README "Development": the map of canister.py names each function in the section that defines it, and the
path of one request names the functions a request runs through, in the order it runs through them."""
from __future__ import annotations

import ast
import inspect
import re
import sys
from typing import Any, Callable, Dict, List, Set

import bottle
from helpers import ROOT, basic, client, with_cookie, write_users

import canister

CODE_NAME = r'`([A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)?)(?:\([^`]*\))?`'

#: Names a row of the map gives that are not defined in its section, each with where it is.
NOT_DEFINED_THERE = {
    ('Request Logging', 'os.write'): 'the standard library',
    ('Parameter Unpacking', 'apply'): 'Canister.apply',
    ('Command Line', 'demo'): 'a command',
    ('Command Line', 'keys'): 'a command',
    ('Command Line', 'sessions'): 'a command',
    ('Command Line', 'tidy'): 'SessionStore.tidy',
}


def _development_section() -> str:
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    return readme.split('\n## Development\n', 1)[1].split('\n## ', 1)[0]


def _map_rows() -> List[tuple]:
    return re.findall(r'^\| ([A-Z][A-Za-z ]+?) \| (.*) \|$', _development_section(), re.M)


def _request_path() -> str:
    return _development_section().split('The path of one request through the file:', 1)[1]


def _sections_defining() -> Dict[str, Set[str]]:
    """``{name: sections}`` of canister.py: module-level names, ``Class.member`` and a member's bare name."""
    source = (ROOT / 'canister.py').read_text(encoding='utf-8')
    banners = [(source[:match.start()].count('\n') + 1, match.group(1).strip())
               for match in re.finditer(r'^# ([A-Z][A-Za-z ]+?) #{3,}$', source, re.M)]
    where: Dict[str, Set[str]] = {}
    for node in ast.parse(source).body:
        section = ([''] + [name for line, name in banners if line <= node.lineno])[-1]
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            where.setdefault(node.name, set()).add(section)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    where.setdefault(target.id, set()).add(section)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    members = [item.name]
                elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    members = [target.id for target in targets if isinstance(target, ast.Name)]
                else:
                    members = []
                for member in members:
                    where.setdefault('%s.%s' % (node.name, member), set()).add(section)
                    where.setdefault(member, set()).add(section)
    return where


def test_every_name_in_a_row_of_the_readme_map_is_defined_in_that_section_of_canister_py():
    """A function renamed, or moved to another section, fails here with its row."""
    where = _sections_defining()
    misplaced = [(section, name, sorted(where.get(name, ())))
                 for section, text in _map_rows() for name in re.findall(CODE_NAME, text)
                 if section not in where.get(name, ()) and (section, name) not in NOT_DEFINED_THERE]
    assert misplaced == []
    assert len(_map_rows()) == 12
    assert 'Canister.apply' in where and 'SessionStore.tidy' in where


def test_the_map_lists_the_sections_of_canister_py_in_their_order():
    """"each under a banner comment (...), in this order": a section added, renamed or moved fails here."""
    source = (ROOT / 'canister.py').read_text(encoding='utf-8')
    banners = re.findall(r'^# ([A-Z][A-Za-z ]+?) #{3,}$', source, re.M)
    assert [section for section, _ in _map_rows()] == banners
    assert "(`grep -n '^# [A-Z]' canister.py` prints them), in this order" in _development_section()


def test_every_name_of_the_request_path_is_in_the_section_the_map_gives_its_class_or_itself():
    """``_EarlyChecks.needed`` is in "Request Context and Early Responses", where the map puts ``_EarlyChecks``."""
    where = _sections_defining()
    row_of: Dict[str, str] = {}
    for section, text in _map_rows():
        for name in re.findall(CODE_NAME, text):
            row_of.setdefault(name, section)
    named = re.findall(CODE_NAME, _request_path())
    assert len(named) > 30
    wrong = []
    for name in named:
        if name in {'session', 'wsgi', 'apply', 'Authorization'}:  # the proxy, and words the map explains
            continue
        if not where.get(name):
            wrong.append((name, 'not in canister.py'))
            continue
        owner = name.partition('.')[0]
        section = row_of.get(name) or row_of.get(owner)
        if section is not None and section not in where[name]:
            wrong.append((name, 'not in %s' % section))
    assert wrong == []


def _qualnames() -> Dict[Any, str]:
    """The code objects of canister's functions and methods, by their qualified names (Python 3.9 has no
    ``co_qualname``)."""
    names: Dict[Any, str] = {}
    for value in vars(canister).values():
        if getattr(value, '__module__', None) != 'canister':
            continue
        members = vars(value).values() if inspect.isclass(value) else [value]
        for member in members:
            function = member.fget if isinstance(member, property) else getattr(member, '__func__', member)
            if inspect.isfunction(function):
                names[function.__code__] = function.__qualname__
    return names


def _calls(names: Dict[Any, str], request: Callable[[], Any]) -> List[str]:
    """The functions of canister that ``request()`` calls, in the order of their calls."""
    calls: List[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == 'call' and frame.f_code in names:
            calls.append(names[frame.f_code])

    sys.setprofile(profile)
    try:
        request()
    finally:
        sys.setprofile(None)
    return calls


def _first_call(name: str, calls: List[str]) -> int:
    """Where ``calls`` first holds ``name`` (``Class.member``, a module-level name, or a member's bare name)."""
    return next((index for index, call in enumerate(calls) if call == name or call.endswith('.' + name)), -1)


def _out_of_order(path: List[str], calls: List[str]) -> List[str]:
    """The names of ``path`` that the request called before one named ahead of them (by first calls)."""
    seen = [(name, _first_call(name, calls)) for name in path if _first_call(name, calls) >= 0]
    return [name for index, (name, at) in enumerate(seen) if index and at < seen[index - 1][1]]


def test_a_request_runs_through_the_functions_of_the_readme_path_in_its_order(make_app, tmp_path):
    """Requests that take each branch of the path: a logged-in POST through a trusted proxy, with a guard and
    parameters; a later visit whose session was logged in through the users file; a form from another site
    that the CSRF check refuses; a preflight. Each calls the path's functions in the order the README names
    them, and together they call every one but ``_is_stale_login``, which only a mounted app's users file
    reaches."""
    users = write_users(tmp_path / 'users', alice='my-secret')
    app = make_app(cors='https://app.example.com', trusted_proxies='10.0.0.1', auth_basic_users_file=str(users))

    @app.post('/note')
    @canister.require(lambda user: user is not None)
    def note(text: str = ''):
        canister.session.data['note'] = text
        return 'noted'

    @app.get('/me')
    def me():
        return str(canister.session.user)

    web = client(app, REMOTE_ADDR='10.0.0.1')
    names = _qualnames()
    path = [name for name in re.findall(CODE_NAME, _request_path().split('\n\nA route of a mounted', 1)[0])
            if name not in {'session', 'apply', 'require', 'Authorization'}]  # (not functions it runs)
    first_visit = _calls(names, lambda: web.post('/note', {'text': 'tea'}, headers={
        'Authorization': basic('alice', 'my-secret'), 'Origin': 'https://app.example.com',
        'X-Forwarded-For': '192.0.2.7'}))
    assert '_leading_checks' in first_visit[first_visit.index('Canister.apply'):]  # found at apply, once
    sid = web.cookies['session_id']  # (the session the login stored alice in)
    requests = {
        'logged-in POST': lambda: web.post('/note', {'text': 'tea'}, headers={
            'Authorization': basic('alice', 'my-secret'), 'Origin': 'https://app.example.com',
            'X-Forwarded-For': '192.0.2.7', 'Cookie': with_cookie(sid)['Cookie']}),
        'later visit': lambda: web.get('/me', headers=with_cookie(sid)),
        'foreign form': lambda: web.post('/note', {'text': 'tea'}, status=403, headers={
            'Origin': 'https://evil.example', 'Sec-Fetch-Site': 'cross-site'}),
        'preflight': lambda: web.options('/note', headers={
            'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'POST'}),
    }
    called = list(first_visit)
    for what, request in requests.items():
        calls = _calls(names, request)
        # (a request with an Authorization header loads its session as it logs the user in, before the handler)
        in_order = [name for name in path
                    if not (what == 'logged-in POST' and name in {'SessionState.load', 'BasicAuth.is_stale_login'})]
        assert (what, _out_of_order([n for n in in_order if n != '_leading_checks'], calls)) == (what, [])
        called += calls
    assert [name for name in path if _first_call(name, called) < 0] == ['_is_stale_login']


def _in_order(names: List[str], calls: List[str]) -> bool:
    """Whether ``calls`` holds each of ``names`` after the one before it."""
    at = 0
    for name in names:
        found = next((index for index in range(at, len(calls)) if calls[index] == name), None)
        if found is None:
            return False
        at = found + 1
    return True


def test_a_merged_a_mounted_and_a_sub_request_take_the_ways_the_readme_names(log_dir, uninstall_at_end):
    """The paragraph after the path: a merged app's route goes through ``Canister._serve`` (steps 1, 2, 4 and
    5 around the route call); a request handed to a mounted app goes straight to Bottle (``_mounted_in``,
    ``Canister._mounted``, its streamed body a ``_MountedBody``); a sub-request is served by
    ``Canister._sub_request``, its streamed body a ``_HandedOnBody``."""
    paragraph = _development_section().split('\n\nA route of a mounted', 1)[1]
    assert [name for name in re.findall(CODE_NAME, paragraph) if name != 'wsgi'] == [
        'Canister._serve', '_mounted_in', 'Canister._mounted', '_MountedBody', 'Canister._sub_request',
        '_HandedOnBody']
    names = _qualnames()

    def streamed():
        yield 'a'
        yield 'b'

    child = uninstall_at_end(bottle.Bottle())
    child.install(canister.Canister(log_path=str(log_dir / 'child')))
    child.get('/merged', callback=lambda: 'merged')
    parent = bottle.Bottle()
    parent.merge(child)
    merged = client(parent)
    merged.get('/merged')
    assert _in_order(['Canister._serve', '_RequestContext.begin', '_EarlyChecks.response',
                      '_RequestContext._finish_headers', '_RequestContext.end'],
                     _calls(names, lambda: merged.get('/merged')))

    inner = uninstall_at_end(bottle.Bottle())
    inner.install(canister.Canister(log_path=str(log_dir / 'inner')))
    inner.get('/s', callback=streamed)
    outer = uninstall_at_end(bottle.Bottle())
    outer.install(canister.Canister(log_path=str(log_dir / 'outer')))
    outer.mount('/in/', lambda environ, start_response: inner(environ, start_response))  # (a WSGI app to Bottle)
    mounted = client(outer)
    assert mounted.get('/in/s').text == 'ab'
    assert _in_order(['Canister.wsgi', '_RequestContext.begin', 'Canister.wsgi', '_mounted_in', 'Canister._mounted',
                      '_MountedBody.__init__', '_RequestContext.end'], _calls(names, lambda: mounted.get('/in/s')))

    other = uninstall_at_end(bottle.Bottle())
    other.install(canister.Canister(log_path=str(log_dir / 'other')))
    other.get('/s', callback=streamed)
    caller = uninstall_at_end(bottle.Bottle())
    caller.install(canister.Canister(log_path=str(log_dir / 'caller')))
    caller.get('/call', callback=lambda: client(other).get('/s').text)
    calling = client(caller)
    assert calling.get('/call').text == 'ab'
    assert _in_order(['Canister.wsgi', '_RequestContext.begin', 'Canister.wsgi', '_mounted_in', 'Canister._sub_request',
                      '_RequestContext.begin', '_HandedOnBody.__init__', '_RequestContext.end'],
                     _calls(names, lambda: calling.get('/call')))
