"""A query sent with its JSON text unencoded (curl sends ``"`` as it is) whose member's name looks secret by its
last word (``api_key``, ``pin``, the plural ``api_keys``) is masked in the request line as the same query encoded
is; and so is the value after ``api_key;x=``, as after ``access_token;x=``."""
from __future__ import annotations

import re

import pytest

from helpers import client, read_log


@pytest.mark.parametrize('sent, logged', [
    ('cfg={"api_key":"Sm1c0-Hidden"}', 'cfg=***'),
    ('cfg={"api_keys":["Sm1c0-Hidden"]}&page=2', 'cfg=***&page=2'),
    ('cfg={"card_pin":"Sm1c0-Hidden"}', 'cfg=***'),
    ('api_key;x=Sm1c0-Hidden&next=3', 'api_key;x=***&next=3'),
    ('cfg={"name":"bob"}', 'cfg={"name":"bob"}'),
])
def test_a_query_with_a_secret_member_in_unencoded_json_is_masked_in_the_log(make_app, log_dir, sent, logged):
    app = make_app()
    app.get('/cfg', callback=lambda: 'ok')
    client(app).get('/cfg?' + sent)
    log = read_log(log_dir)
    assert 'Hidden' not in log
    assert re.search(r'\]   GET http://localhost:80/cfg\?%s$' % re.escape(logged), log, re.M), log
