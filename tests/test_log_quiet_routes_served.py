"""``log=False`` (README, Request logging, *Routes left out of the log*) where the route is served otherwise: a child's
quiet route under Bottle 0.13's ``mount('/child/', child)`` is quiet, whether the parent has a canister of its own or
not; a quiet route with a wildcard leaves every other route's filter to run once per request; a request line held
back and then written (a 503) shows when the request came, and goes to the day's file it is written in.  Served
over real HTTP (waitress), the log files read."""
from __future__ import annotations

import datetime
import http.client
import urllib.error
import urllib.request

import bottle
import pytest

from helpers import read_log, readme_section
from servers import InProcessWaitress

import canister

BOTTLE_0_12 = bottle.__version__.startswith('0.12')


def get(server, path):
    """The status of ``GET path`` from ``server``."""
    try:
        with urllib.request.urlopen(server.origin + path, timeout=30) as answer:
            answer.read()
            return answer.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code
    except (http.client.HTTPException, OSError):
        return None


def requests_logged(log_dir):
    """The messages of the request and response lines in ``log_dir``."""
    messages = [line.split(']   ', 1)[1] for line in read_log(log_dir).splitlines()
                if not line.startswith('  ') and ']   ' in line]
    return [message for message in messages if message.startswith(('GET ', 'Response: '))]


def served_and_logged(app, log_dir, *paths):
    """``app`` served by waitress, each of ``paths`` asked for in turn: their statuses, the request and response lines
    then in ``log_dir`` (read once the server is closed: its threads have finished their requests, whose lines a
    server may write after the answer is out), and the server's origin."""
    server = InProcessWaitress(app)
    try:
        statuses = [get(server, path) for path in paths]
    finally:
        server.close()
    return statuses, requests_logged(log_dir), server.origin


@pytest.mark.parametrize('parent_has_canister', [False, True])
def test_a_childs_quiet_route_mounted_with_a_trailing_slash_is_quiet_on_bottle_0_13(
        tmp_path, uninstall_at_end, parent_has_canister):
    child = uninstall_at_end(bottle.Bottle())
    child.install(canister.Canister(log_path=str(tmp_path / 'child'), log_slow=0))
    child.route('/ping', callback=lambda: 'ok', log=False)
    child.route('/fail', callback=lambda: bottle.HTTPResponse('down', status=503), log=False)
    parent = uninstall_at_end(bottle.Bottle())
    if parent_has_canister:
        parent.install(canister.Canister(log_path=str(tmp_path / 'parent'), log_slow=0))
    parent.mount('/child/', child)  # (Bottle 0.13: the child's routes added to the parent; 0.12: a WSGI mount)
    # the canister that serves them: the parent's if it has one, else the child's own
    served_by = tmp_path / ('parent' if parent_has_canister else 'child')
    statuses, logged, origin = served_and_logged(parent, served_by, '/child/ping', '/child/fail')
    assert statuses == [200, 503]
    expected = ['GET %s/child/fail' % origin, 'Response: 503 (']
    if BOTTLE_0_12 and parent_has_canister:  # the README: a route of an app mounted as a WSGI app is logged
        expected = ['GET %s/child/ping' % origin, 'Response: 200 ('] + expected
    # else quiet, its 503 still logged in full
    assert len(logged) == len(expected)
    assert all(message.startswith(start) for message, start in zip(logged, expected)), logged


def test_a_quiet_route_with_a_wildcard_leaves_other_routes_filters_to_run_once(make_app, log_dir):
    app = make_app(log_slow=0)
    looked_up = []

    def user_filter(config):
        def to_python(text):
            looked_up.append(text)  # (as a database lookup would)
            return 'user-' + text
        return r'\d+', to_python, str

    app.router.add_filter('user', user_filter)
    app.route('/health/<part>', callback=lambda part: 'ok', log=False)
    app.route('/users/<user:user>', callback=lambda user: user)
    statuses, logged, origin = served_and_logged(app, log_dir, '/users/5', '/health/db')
    assert statuses == [200, 200]
    assert looked_up == ['5']
    assert logged[0] == 'GET %s/users/5' % origin and len(logged) == 2  # (/health/db is quiet)


def test_a_quiet_route_shadowed_by_an_earlier_route_is_logged(make_app, log_dir):
    """A path that fits a quiet rule may still go to another route Bottle matches first: the route Bottle chose
    decides."""
    app = make_app(log_slow=0)
    app.route('/health/db', callback=lambda: 'db')
    app.route('/health/<part>', callback=lambda part: 'ok', log=False)
    statuses, logged, origin = served_and_logged(app, log_dir, '/health/db', '/health/cache')
    assert statuses == [200, 200]
    assert logged[0] == 'GET %s/health/db' % origin and len(logged) == 2


@pytest.mark.parametrize('log_format', ['text', 'json'])
def test_a_held_request_line_shows_when_the_request_came_in_the_day_it_is_written(
        make_app, log_dir, monkeypatch, log_format):
    """A quiet ``/ready`` that hangs past midnight, then answers 503: its request line is stamped before midnight,
    and is in the new day's file, before its response line."""
    midnight = datetime.datetime.combine(datetime.date.today() + datetime.timedelta(days=2), datetime.time())
    clock = [midnight.timestamp() - 0.5]
    monkeypatch.setattr(canister, '_now', lambda: clock[0])
    app = make_app(log_slow=0, log_format=log_format)

    @app.get('/ready', log=False)
    def ready():
        clock[0] += 1.0  # (a second in the handler, across midnight)
        return bottle.HTTPResponse('not ready', status=503)

    server = InProcessWaitress(app)
    try:
        assert get(server, '/ready') == 503
    finally:
        server.close()  # (its threads have finished their requests, and written their lines)
    day_file = log_dir / ('log.%s' % midnight.date().isoformat())
    lines = [line for line in day_file.read_text().splitlines() if '/ready' in line or 'Response: ' in line]
    before = (midnight - datetime.timedelta(seconds=0.5)).isoformat(sep='T' if log_format == 'json' else ' ')
    assert before[:19] in lines[0] and 'GET %s/ready' % server.origin in lines[0]
    assert midnight.isoformat(sep='T' if log_format == 'json' else ' ')[:19] in lines[1]
    assert 'Response: 503' in lines[1]
    old_day_file = log_dir / ('log.%s' % (midnight.date() - datetime.timedelta(days=1)).isoformat())
    assert '/ready' not in old_day_file.read_text()  # (the install's lines are there: the file the log left)


def test_the_readme_says_so():
    section = readme_section('## Request logging')
    assert "Bottle 0.13's `mount('/child/', child)`" in section and 'where they count' in section
    assert 'stamped with the time the request came' in section and 'What decides is the route Bottle chose' in section
    assert "has no other route's filter run again" in section
