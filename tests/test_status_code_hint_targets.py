"""The hint after a 500 that FastAPI's ``response.status_code = 201`` caused names Bottle's response: it is given for
that, not for setting a ``status_code`` on something else that has no such attribute (a lookup that gave None)."""
from __future__ import annotations

import bottle

from helpers import read_log
from servers import Client


def log_after_a_500(make_app, serve, log_dir, create):
    """Serve ``create`` at POST /api/jobs (over HTTP, catchall on), assert a request gets a 500, return the log."""
    app = make_app(catchall=True)
    app.route('/api/jobs', 'POST', create)
    assert Client(serve(app)).request('POST', '/api/jobs').status == 500
    return read_log(log_dir)


def test_setting_status_code_on_none_is_logged_without_the_bottle_response_hint(make_app, serve, log_dir):
    def create():
        job = None  # (a lookup that found nothing)
        job.status_code = 201
        return {}

    log = log_after_a_500(make_app, serve, log_dir, create)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in POST /api/jobs\n' in log
    assert "a Bottle response's status_code" not in log


def test_setting_status_code_on_an_object_of_the_apps_without_it_gets_no_hint(make_app, serve, log_dir):
    class Job:
        __slots__ = ('state',)

    def create():
        Job().status_code = 201
        return {}

    log = log_after_a_500(make_app, serve, log_dir, create)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in POST /api/jobs\n' in log
    assert "a Bottle response's status_code" not in log


def test_setting_status_code_on_bottles_response_keeps_its_hint(make_app, serve, log_dir):
    def create():
        bottle.response.status_code = 201
        return {}

    assert ("Unhandled exception in POST /api/jobs: a Bottle response's status_code only reads its status"
            in log_after_a_500(make_app, serve, log_dir, create))
