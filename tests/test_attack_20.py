"""An outside review's attacks (session 20) that found a defect, each against a real server on 127.0.0.1.

* a JWKS download may take ``auth_jwt_jwks_timeout`` seconds; but its body was read 16 kB at a time with
  ``read(16384)``, which waits for all of them, so an answer that trickled in a byte at a time (each within
  the socket's timeout: a provider or proxy in trouble, or whoever answers for a plain ``http://`` URL) held
  the download for as long as it trickled, hours for a few kB, and no other download starts while one runs:
  after the provider rotated its keys, every token of the new key was refused until it ended.  The download
  now stops at its deadline, and the next one, due ``auth_jwt_jwks_refetch`` later, brings the keys.
"""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from canister import session
from helpers import claims, jwk, read_log
from servers import Client, wait_until

pytestmark = pytest.mark.usefixtures('nothing_left_running')
pyjwt = pytest.importorskip('jwt')


def test_a_jwks_answer_that_trickles_in_is_given_up_at_the_timeout_and_the_next_download_brings_the_keys(
        make_app, jwks_server, serve, log_dir):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_server.publish(jwk(key, 'key-1'))
    jwks_server.trickle = 0.2  # (the first answer: its few hundred bytes would take minutes)
    app = make_app(auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_timeout=1.0, auth_jwt_jwks_refetch=1.0,
                   auth_jwt_client_id='this-app')
    app.route('/me', callback=lambda: {'user': session.user})
    origin = serve(app)
    token = {'Authorization': 'Bearer ' + pyjwt.encode(dict(claims(), aud='this-app'), key,
                                                       algorithm='RS256', headers={'kid': 'key-1'})}

    first = Client(origin).get('/me', headers=token)
    answers = []  # (the trickle would go on for minutes: the keys must come well before)
    wait_until(lambda: answers.append(Client(origin).get('/me', headers=token)) or answers[-1].status == 200, 15,
               interval=0.5, what='a download after the trickling one')

    assert first.status == 401
    assert 'Cannot fetch the JWKS keys: no complete answer within 1s' in read_log(log_dir)
    assert answers[-1].json()['user']['sub'] == 'alice'
    assert jwks_server.hits >= 2

