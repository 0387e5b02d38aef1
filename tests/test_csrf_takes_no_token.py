"""CSRF protection takes no token (Django's csrf_token, X-CSRFToken): an unsafe request passes or not by the
headers a browser sets itself, Sec-Fetch-Site, else Origin, else Referer, as the README's first sentence says."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
from typing import List

import bottle

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


def curl_lines() -> List[str]:
    """The README's curl lines of the CSRF section: one that passes, one that the check refuses."""
    block = readme_section('## CSRF protection').split('```sh\n', 1)[1].split('\n```', 1)[0]
    return block.split('\n')


def test_the_readmes_curl_lines_post_to_the_sessions_notes_app_the_first_passes_the_second_gets_403(make_app, serve):
    """Both lines as written, run by curl against the Sessions section's /notes block (``text: str``), as written."""
    section = readme_section('## CSRF protection')
    assert ("A `curl` POST names no origin, so it passes, as a script's call does; the check is on all the same. "
            "With the notes app of [Sessions](#sessions) (*A message shown once*) on port 8080, the first line adds "
            "a note (`303 See Other`, to `/notes`); the second sends the `Origin` a browser sends from another site, "
            "and gets the 403:") in section
    assert curl_lines() == ["curl -i -d 'text=x' http://127.0.0.1:8080/notes",
                            "curl -i -d 'text=x' -H 'Origin: https://evil.example' http://127.0.0.1:8080/notes"]
    sessions = readme_section('## Sessions')
    notes_block = [block for block in re.findall(r'```python\n(.*?)```', sessions, re.S) if "@app.post('/notes')" in block]
    assert len(notes_block) == 1 and 'def add_note(text: str):' in notes_block[0]
    app = make_app()
    exec(notes_block[0], {'app': app, 'bottle': bottle, 'session': session})
    origin = serve(app)
    answers = [subprocess.run(shlex.split(line.replace('http://127.0.0.1:8080', origin)), capture_output=True,
                              text=True, timeout=30, check=True).stdout for line in curl_lines()]
    passed, refused = (answer.split('\n\n', 1) for answer in answers)   # (curl's CRLFs read as text)
    assert passed[0].startswith('HTTP/1.1 303 See Other\n'), passed
    assert 'Location: %s/notes' % origin in passed[0].split('\n')
    assert 'Set-Cookie: session_id=' in passed[0]                    # the note's session
    assert refused[0].startswith('HTTP/1.1 403 Forbidden\n'), refused
    assert 'Set-Cookie' not in refused[0] and 'https://evil.example' in refused[1], refused
