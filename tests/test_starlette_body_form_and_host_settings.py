"""More habits of newcomers, each logged with what to write instead: Django's ALLOWED_HOSTS (Flask 3.1's TRUSTED_HOSTS)
at the top of the config, which canister has no setting for; Starlette's ``request.body()``, ``request.form()`` (and
``request.forms()`` after it) in a handler; and an ``HTTPResponse`` raised with Starlette's ``status_code=``, said once
for its route as a returned one is."""
from __future__ import annotations

import types

import bottle
import pytest

import canister
from helpers import canister_warning_texts, read_log, readme_section
from servers import Client

NO_HOST_CHECK = ("canister has no such setting: it answers whatever the Host header names, so a reverse proxy "
                 "(nginx's server_name) or a before_request hook of the app turns other hosts away; trusted_proxies "
                 "takes the addresses of reverse proxies")


@pytest.mark.parametrize('name, framework', [('ALLOWED_HOSTS', 'Django'), ('TRUSTED_HOSTS', 'Flask')])
def test_a_host_list_at_the_top_of_the_config_is_logged_once_as_unchecked_and_other_hosts_are_still_answered(
        uninstall_at_end, serve, log_dir, name, framework):
    app = bottle.Bottle()
    app.config[name] = ['example.com']
    app.get('/', callback=lambda: 'home')
    with pytest.warns(canister.CanisterWarning) as caught:
        app.install(canister.Canister(log_path=str(log_dir)))
    uninstall_at_end(app)
    message = "app.config[%r] is a %s setting, which canister does not read (%s)" % (name, framework, NO_HOST_CHECK)
    assert canister_warning_texts(caught) == [message]
    browser = Client(serve(app))
    for host in ('example.com', 'evil.example'):  # what the WARNING says: no host is turned away
        answer = browser.request('GET', '/', headers={'Host': host})
        assert (answer.status, answer.text) == (200, 'home')
    log = read_log(log_dir)
    assert log.count(' WARNING  [MainThread]   ' + message + '\n') == 1
    assert log.count(name) == 1


def test_the_canister_key_allowed_hosts_gets_that_same_note():
    assert canister._FAMILIAR_NAMES['allowed_hosts'] == canister._FAMILIAR_NAMES['trusted_hosts'] == NO_HOST_CHECK


BODY_NOTE = ("Bottle's request.body is a value, the body as a file, not a method (Starlette's await request.body()): "
             "write bottle.request.body.read() for its bytes (bottle.request.json for a JSON body, bottle.request.forms "
             "for a form)\n")
FORM_NOTE = ("bottle.request has no form (Flask's and Starlette's request.form): Bottle's is bottle.request.forms, "
             "the form's fields read already, without a call: bottle.request.forms.getunicode('name'), and "
             "bottle.request.files for its files; or give the handler parameters named as the fields, which canister "
             "fills\n")
FORMS_NOTE = ("Bottle's request.forms is a value, the form's fields read already, not a method (Starlette's await "
              "request.form()): write bottle.request.forms, without the call, bottle.request.forms.getunicode('name') "
              "for a field; or give the handler parameters named as the fields, which canister fills\n")


def body_app(make_app) -> bottle.Bottle:
    app = make_app(catchall=True)
    app.post('/api/raw', callback=lambda: {'size': len(bottle.request.body())})  # Starlette's await request.body()
    app.post('/api/form', callback=lambda: {'name': bottle.request.form()['name']})  # await request.form()
    app.post('/api/forms', callback=lambda: {'name': bottle.request.forms()['name']})
    app.post('/api/raw-fixed', callback=lambda: {'size': len(bottle.request.body.read())})
    app.post('/api/form-fixed', callback=lambda: {'name': bottle.request.forms.getunicode('name')})
    app.post('/api/form-bound', callback=lambda name: {'name': name})
    return app


FORM = ('name=caf%C3%A9', {'Content-Type': 'application/x-www-form-urlencoded'})


@pytest.mark.parametrize('path, note', [('/api/raw', BODY_NOTE), ('/api/form', FORM_NOTE), ('/api/forms', FORMS_NOTE)])
def test_starlettes_request_body_and_form_answer_500_and_the_error_line_says_what_to_write(
        make_app, serve, log_dir, path, note):
    browser = Client(serve(body_app(make_app)))
    for _ in range(2):
        answer = browser.request('POST', path, *FORM)
        assert answer.status == 500
        assert 'Traceback' not in answer.text
    log = read_log(log_dir)
    assert log.count('ERROR    [127.0.0.1-...]   Unhandled exception in POST %s: %s' % (path, note)) == 2
    assert {'/api/raw': "TypeError: '_io.BytesIO' object is not callable",  # (Bottle's, 0.12 and 0.13 alike)
            '/api/form': "AttributeError: Attribute 'form' not defined.",
            '/api/forms': "TypeError: 'FormsDict' object is not callable"}[path] in log


def test_a_body_larger_than_bottle_keeps_in_memory_called_gets_the_same_hint(make_app, serve, log_dir):
    body = b'x' * (bottle.BaseRequest.MEMFILE_MAX + 1)
    answer = Client(serve(body_app(make_app))).request('POST', '/api/raw', body,
                                                       {'Content-Type': 'application/octet-stream'})
    assert answer.status == 500
    log = read_log(log_dir)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in POST /api/raw: ' + BODY_NOTE in log
    held = '_io.BufferedRandom' if bottle.__version__.startswith('0.12') else '_TemporaryFileWrapper'
    assert "TypeError: '%s' object is not callable" % held in log  # the temporary file each Bottle keeps it in


def test_the_body_and_form_read_as_the_hints_say_are_the_requests(make_app, serve):
    browser = Client(serve(body_app(make_app)))
    assert browser.request('POST', '/api/raw-fixed', *FORM).json() == {'size': len('name=caf%C3%A9')}
    assert browser.request('POST', '/api/form-fixed', *FORM).json() == {'name': 'café'}
    assert browser.request('POST', '/api/form-bound', *FORM).json() == {'name': 'café'}


def test_another_value_of_bottles_request_called_gets_no_hint(make_app, serve, log_dir):
    app = make_app(catchall=True)
    app.post('/api/length', callback=lambda: {'n': bottle.request.content_length()})
    assert Client(serve(app)).request('POST', '/api/length', *FORM).status == 500
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in POST /api/length\n' in read_log(log_dir)


def test_a_response_raised_with_starlettes_status_code_is_logged_once_for_its_route(make_app, serve, log_dir):
    app = make_app(catchall=True)

    @app.get('/api/items/<item_id>')
    def item(item_id):
        raise bottle.HTTPError(status_code=404, detail='no item %s' % item_id)

    @app.post('/api/items')
    def create():
        raise bottle.HTTPResponse('created', status_code=201)

    browser = Client(serve(app))
    for item_id in ('1', '2'):
        assert browser.request('GET', '/api/items/' + item_id).status == 500  # Bottle's: status_code= became a header
    for _ in range(2):
        assert browser.request('POST', '/api/items').status == 200
    log = read_log(log_dir)
    assert log.count("WARNING  [127.0.0.1-...]   Route GET /api/items/<item_id>: HTTPError was raised with "
                     "status_code=404, Starlette's keyword, which Bottle sends as a header (Status-Code: 404) and "
                     "answers 500: write bottle.abort(404, '...') or bottle.HTTPError(404, '...'), the status first "
                     "and the text second (Starlette's detail= is a header too) (said once for this route)\n") == 1
    assert log.count('Route POST /api/items: HTTPResponse was raised with status_code=201') == 1
    assert log.count('Status-Code') == 2


def test_a_route_that_raises_and_returns_starlettes_status_code_is_logged_once(make_app, serve, log_dir):
    app = make_app(catchall=True)

    @app.post('/api/items')
    def create():
        if bottle.request.query.get('raise'):
            raise bottle.HTTPResponse('created', status_code=201)
        return bottle.HTTPResponse('created', status_code=201)

    browser = Client(serve(app))
    for path in ('/api/items?raise=1', '/api/items', '/api/items?raise=1'):
        assert browser.request('POST', path).status == 200
    assert read_log(log_dir).count('Status-Code: 201') == 1


def test_the_readme_says_what_these_habits_answer_and_log():
    passage = readme_section('## Limits and error answers').split('*Handlers written as in Starlette or Flask.*', 1)[1]
    assert ("So a WARNING, once for each route in each process (each gunicorn worker logs it once), names the route and "
            "what to write, `Route GET /api/items/<item_id>: "
            "HTTPError was raised with status_code=404") in passage
    assert ("Starlette's `request.body()` raises `TypeError: '_io.BytesIO' object is not callable` (another file's "
            "type for a body larger than `bottle.BaseRequest.MEMFILE_MAX`), Bottle's "
            "`request.body` being the body as a file. The ERROR line says to write `bottle.request.body.read()`.") in passage
    assert ("`request.form()` raises `AttributeError: Attribute 'form' not defined.`, and the ERROR line names "
            "`bottle.request.forms`, labelled `(Flask's and Starlette's request.form)`, since Flask's "
            "`request.form['name']` meets the same error. `bottle.request.forms()` gets that hint too, without the "
            "call.") in passage
    hosts = readme_section('## Configuration')
    assert ("Django's `ALLOWED_HOSTS` and Flask's `TRUSTED_HOSTS`, which canister has no key for, are reported with "
            "what does their work instead: `app.config['ALLOWED_HOSTS'] is a Django setting, which canister does not "
            "read (canister has no such setting: it answers whatever the Host header names, so a reverse proxy "
            "(nginx's server_name) or a before_request hook of the app turns other hosts away; trusted_proxies takes "
            "the addresses of reverse proxies)`.") in hosts


def test_an_apps_own_body_or_json_value_called_gets_no_hint_about_bottles_request(make_app, serve, log_dir):
    # (the hint went by the attribute's name alone: a message's str body called was told of bottle.request.body)
    app = make_app(catchall=True)
    message = types.SimpleNamespace(body='hello', json='{"a": 1}')
    app.get('/api/body', callback=lambda: message.body())
    app.get('/api/json', callback=lambda: message.json())
    browser = Client(serve(app))
    assert [browser.request('GET', path).status for path in ('/api/body', '/api/json')] == [500, 500]
    log = read_log(log_dir)
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in GET /api/body\n' in log
    assert 'ERROR    [127.0.0.1-...]   Unhandled exception in GET /api/json\n' in log
    assert log.count("TypeError: 'str' object is not callable") == 2
