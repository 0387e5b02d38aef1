"""An outside review's attacks (session 16) that found a defect, each against a real server on 127.0.0.1.

* the demo's ``/hi`` put the query's names into an HTML answer as they came: ``/hi?foo=<script>...``
  ran that script on the demo's origin (a reflected XSS); it answers plain text now.
"""
from __future__ import annotations

import urllib.parse

import canister
from servers import Client


def test_the_demos_hi_answers_the_names_from_the_query_as_plain_text(serve):
    origin = serve(canister._demo_app(None))
    script = '<script>alert(document.domain)</script>'
    response = Client(origin).get('/hi?' + urllib.parse.urlencode({'foo': script}))
    assert response.status == 200
    assert response.headers['Content-Type'] == 'text/plain; charset=utf-8'
    assert response.text == 'Hi %s!' % script
