"""A handler's exception, logged by canister to the process's stderr: the server's stream holds it once.

Bottle (``catchall``, its default) writes the traceback of a handler's exception to the request's
``wsgi.errors`` as raw lines, which waitress and gunicorn send to the same stderr.  Canister has
logged it already, with its traceback (in JSON, one object per line), so Bottle's copy is left out:
a log collector reading JSON lines from the stream gets only objects.  Real servers (waitress and
gunicorn serving tests/apps/load_app.py, whose ``/boom`` raises), real HTTP.
"""
import json
import re

import pytest

from servers import AppServer
from session_kit import Browser


def boom_output(server, log_format, path='/boom?name=x'):
    """The server's whole stderr and stdout after one ``GET path`` (a 500), and that answer."""
    app_server = AppServer('load_app:app', server=server,
                           env={'CANISTER_LOG_PATH': 'stderr', 'CANISTER_LOG_FORMAT': log_format}).start()
    try:
        answer = Browser(app_server.url).get(path)
        app_server.stop()
        return app_server.output(), answer
    finally:
        app_server.cleanup()


#: A line the server writes itself: waitress's through Python's logging, gunicorn's with its own stamp.
SERVERS_OWN = re.compile(r'INFO:waitress:|\[\d{4}-\d\d-\d\d [\d:]+ [+-]\d{4}\] \[\d+\] \[[A-Z]+\] ')


def logged_lines(output):
    """The lines of ``output`` that are not the server's own, less the first (the tail may cut it)."""
    return [line for line in output.splitlines()[1:] if not SERVERS_OWN.match(line)]


def raw_traceback_lines(output):
    return [line for line in output.splitlines()
            if line.startswith(('Traceback (most recent call last)', '  File "', 'RuntimeError: boom', 'TypeError: '))]


@pytest.mark.parametrize('server', ['waitress', 'gunicorn'])
def test_a_handlers_exception_leaves_a_json_stream_one_object_per_line(server):
    output, answer = boom_output(server, 'json')

    assert answer.status == 500
    assert raw_traceback_lines(output) == [], output
    entries = [json.loads(line) for line in output.splitlines() if line.startswith('{')]
    errors = [entry for entry in entries if entry['message'] == 'Unhandled exception in GET /boom']
    assert len(errors) == 1, output
    assert errors[0]['level'] == 'ERROR'
    assert 'RuntimeError: boom after touching the session' in errors[0]['traceback']


@pytest.mark.parametrize('server', ['waitress', 'gunicorn'])
def test_a_handlers_exception_is_in_a_text_stream_once_with_its_lines_indented(server):
    output, answer = boom_output(server, 'text')

    assert answer.status == 500
    assert raw_traceback_lines(output) == [], output
    assert output.count('Unhandled exception in GET /boom') == 1, output
    assert output.count('  RuntimeError: boom after touching the session') == 1, output


@pytest.mark.parametrize('server', ['waitress', 'gunicorn'])
@pytest.mark.parametrize('path, message, error', [
    ('/dated', "Unhandled exception in GET /dated: the handler returned a dict that Bottle's JSON plugin cannot turn into JSON",
     'TypeError: Object of type datetime is not JSON serializable'),
    ('/unwrapped-boom', 'Unhandled exception in GET /unwrapped-boom (outside the route',
     'RuntimeError: boom outside the route wrapper')])
def test_an_exception_bottle_catches_outside_the_route_wrapper_leaves_a_json_stream_one_object_per_line(
        server, path, message, error):
    """Bottle writes its traceback before canister's line here (canister learns of the exception at the error page)."""
    output, answer = boom_output(server, 'json', path)

    assert answer.status == 500
    assert raw_traceback_lines(output) == [], output
    entries = [json.loads(line) for line in output.splitlines() if line.startswith('{')]
    errors = [entry for entry in entries if entry['message'].startswith(message)]
    assert len(errors) == 1 and error in errors[0]['traceback'], output


@pytest.mark.parametrize('server', ['waitress', 'gunicorn'])
def test_an_error_page_that_raises_leaves_a_json_stream_one_object_per_line(server):
    """Bottle answers its "Critical error" page and writes that HTML to ``wsgi.errors``; canister logs the exception."""
    output, answer = boom_output(server, 'json', '/broken-page')

    assert answer.status == 500
    entries = [json.loads(line) for line in logged_lines(output)]    # every line canister's, and an object
    errors = [entry for entry in entries if entry['level'] == 'ERROR' and 'traceback' in entry]
    assert len(errors) == 1 and 'RuntimeError: the error page broke' in errors[0]['traceback'], output
