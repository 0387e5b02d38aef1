"""An outside review's attacks (session 16) that found a defect, each against a real server on 127.0.0.1.

* the demo's ``/hi`` put the query's names into an HTML answer as they came: ``/hi?foo=<script>...``
  ran that script on the demo's origin (a reflected XSS); it answers plain text now.
* ``null`` among the ``cors`` origins together with ``cors_credentials`` installed without a word, though any
  site can send that origin from a sandboxed frame (so it grants what ``*`` with credentials would, which
  install refuses): it is reported at install now.
"""
from __future__ import annotations

import urllib.parse
import warnings

import bottle
import pytest

import canister
from helpers import read_log
from servers import Client


def test_the_demos_hi_answers_the_names_from_the_query_as_plain_text(serve):
    origin = serve(canister._demo_app(None))
    script = '<script>alert(document.domain)</script>'
    response = Client(origin).get('/hi?' + urllib.parse.urlencode({'foo': script}))
    assert response.status == 200
    assert response.headers['Content-Type'] == 'text/plain; charset=utf-8'
    assert response.text == 'Hi %s!' % script


def test_null_among_the_cors_origins_with_credentials_is_reported_at_install(tmp_path):
    """Any site can send ``Origin: null`` (a sandboxed frame): with credentials, that is ``*`` with credentials."""
    app = bottle.Bottle()
    app.config.load_dict({'canister': {'cors': 'https://app.example.com null', 'cors_credentials': 'true'}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(tmp_path)))
    said = [str(warning.message) for warning in caught if warning.category is canister.CanisterWarning]
    assert said == ["canister.cors lists null with cors_credentials = true: any site's page sends the null origin "
                    'from a sandboxed frame, so every site may call with the user\'s credentials and read the '
                    'answers, as cors = * with credentials would (which is refused); list the origins that need '
                    'credentials instead']
    assert said[0] in read_log(tmp_path)


@pytest.mark.parametrize('config', [{'cors': 'null'}, {'cors': 'https://app.example.com', 'cors_credentials': 'true'}])
def test_null_without_credentials_or_credentials_without_null_install_without_a_word(tmp_path, config):
    app = bottle.Bottle()
    app.config.load_dict({'canister': config})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.install(canister.Canister(log_path=str(tmp_path)))
    assert [warning for warning in caught if warning.category is canister.CanisterWarning] == []
