"""CSRF protection takes no token (Django's csrf_token, X-CSRFToken): an unsafe request passes or not by the
headers a browser sets itself, Sec-Fetch-Site, else Origin, else Referer, as the README's first sentence says."""
from __future__ import annotations

import json

from canister import session
from helpers import EVIL_ORIGIN, readme_section
from servers import Client

FORM = {'Content-Type': 'application/x-www-form-urlencoded'}


def notes_app(make_app):
    app = make_app()

    @app.get('/login')
    def login():
        session.user = 'alice'
        return 'in'

    @app.post('/notes')
    def add(title: str):
        return {'user': session.user, 'title': title}

    return app


def logged_in(make_app, serve):
    origin = serve(notes_app(make_app))
    browser = Client(origin)
    browser.get('/login')
    return browser, origin


def test_a_form_of_the_apps_own_page_posts_with_no_token_field(make_app, serve):
    browser, _ = logged_in(make_app, serve)
    posted = browser.request('POST', '/notes', 'title=tea', dict(FORM, **{'Sec-Fetch-Site': 'same-origin'}))
    assert (posted.status, json.loads(posted.text)) == (200, {'user': 'alice', 'title': 'tea'})


def test_a_fetch_of_the_apps_own_page_posts_json_with_no_x_csrftoken_header(make_app, serve):
    browser, origin = logged_in(make_app, serve)
    posted = browser.request('POST', '/notes', '{"title": "tea"}', {'Content-Type': 'application/json',
                                                                     'Origin': origin})
    assert (posted.status, json.loads(posted.text)) == (200, {'user': 'alice', 'title': 'tea'})


def test_another_sites_form_is_refused_by_sec_fetch_site_origin_or_referer(make_app, serve):
    browser, _ = logged_in(make_app, serve)
    for headers in ({'Sec-Fetch-Site': 'cross-site', 'Origin': EVIL_ORIGIN}, {'Origin': EVIL_ORIGIN},
                    {'Referer': EVIL_ORIGIN + '/page'}):
        assert browser.request('POST', '/notes', 'title=tea', dict(FORM, **headers)).status == 403


def test_the_readmes_csrf_section_opens_saying_there_is_no_token():
    assert readme_section('## CSRF protection').lstrip().startswith(
        'There is no token: a form needs no hidden field and a `fetch` no `X-CSRFToken` header, since canister '
        'reads instead where an unsafe request comes from, in the headers a browser sets itself and no page can: '
        '`Sec-Fetch-Site`, else `Origin`, else `Referer`.')


def curl_line() -> str:
    """The README's curl line of the CSRF section, the one a reader pastes to see the check refuse."""
    block = readme_section('## CSRF protection').split('```sh\n', 1)[1].split('\n```', 1)[0]
    assert block.count('\n') == 0 and block.startswith('curl '), block
    return block


def test_the_readmes_curl_line_with_another_sites_origin_gets_403_and_without_it_passes(make_app, serve):
    section = readme_section('## CSRF protection')
    assert ("A `curl` POST names no origin, so it passes, as a script's call does; the check is on all the same. "
            "Send the `Origin` a browser sends from another site to see the 403:") in section
    assert curl_line() == "curl -i -d 'title=x' -H 'Origin: https://evil.example' http://127.0.0.1:8080/notes"
    origin = serve(notes_app(make_app))   # the line's request, sent as curl sends it (-d: a form POST), to a real server
    curl = {'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'curl/8.5.0', 'Accept': '*/*'}
    refused = Client(origin).request('POST', '/notes', 'title=x', dict(curl, Origin='https://evil.example'))
    assert refused.status == 403, refused.text
    passed = Client(origin).request('POST', '/notes', 'title=x', curl)   # the same POST without the Origin line
    assert (passed.status, json.loads(passed.text)) == (200, {'user': None, 'title': 'x'})
