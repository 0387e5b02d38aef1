"""An outside review's attacks (session 20) that found a defect, each against a real server on 127.0.0.1.

* a JWKS download may take ``auth_jwt_jwks_timeout`` seconds; but its body was read 16 kB at a time with
  ``read(16384)``, which waits for all of them, so an answer that trickled in a byte at a time (each within
  the socket's timeout: a provider or proxy in trouble, or whoever answers for a plain ``http://`` URL) held
  the download for as long as it trickled, hours for a few kB, and no other download starts while one runs:
  after the provider rotated its keys, every token of the new key was refused until it ended; a status line
  and headers that trickle in did the same.  The download now stops at its deadline, and the next one, due
  ``auth_jwt_jwks_refetch`` later, brings the keys.
* the request line masks a secret-looking name's value after a ``;`` as after a ``&`` (some servers and
  parsers split there), but the value a handler's parameter gets runs to the next ``&``, so the 400 for
  ``?page=2;access_token=...`` sent to an ``int`` showed the token, in the answer and in the WARNING line.
  A text the message shows is masked as the request line is now.
"""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from canister import session
from helpers import claims, jwk, read_log
from servers import Client, wait_until

pytestmark = pytest.mark.usefixtures('nothing_left_running')
pyjwt = pytest.importorskip('jwt')


@pytest.mark.parametrize('trickle_head', [False, True], ids=['body', 'status line and headers'])
def test_a_jwks_answer_that_trickles_in_is_given_up_at_the_timeout_and_the_next_download_brings_the_keys(
        make_app, jwks_server, serve, log_dir, trickle_head, monotonic):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_server.publish(jwk(key, 'key-1'))
    jwks_server.trickle = 0.2  # (the first answer: its few hundred bytes would take minutes)
    jwks_server.trickle_head = trickle_head
    app = make_app(auth_jwt_jwks_url=jwks_server.url, auth_jwt_jwks_timeout=1.0, auth_jwt_jwks_refetch=1.0,
                   auth_jwt_client_id='this-app')
    app.route('/me', callback=lambda: {'user': session.user})
    origin = serve(app)
    token = {'Authorization': 'Bearer ' + pyjwt.encode(dict(claims(), aud='this-app'), key,
                                                       algorithm='RS256', headers={'kid': 'key-1'})}

    first = Client(origin).get('/me', headers=token)
    monotonic.advance(1.0)  # (auth_jwt_jwks_refetch, on canister's clock)
    answers = []  # (the trickle would go on for minutes: the keys must come well before)
    wait_until(lambda: answers.append(Client(origin).get('/me', headers=token)) or answers[-1].status == 200, 30,
               interval=0.5, what='a download after the trickling one')

    assert first.status == 503
    assert 'Cannot fetch the JWKS keys from %s: no complete answer within 1s' % jwks_server.url in read_log(log_dir)
    assert answers[-1].json()['user']['sub'] == 'alice'
    assert jwks_server.hits >= 2



def test_a_token_after_a_semicolon_in_a_value_that_does_not_convert_is_neither_answered_nor_logged(
        make_app, serve, log_dir):
    # (bottle 0.13 takes page=2;access_token=... as one value, which the request line masks after the ;)
    app = make_app()

    @app.get('/items')
    def items(page: int):
        return str(page)

    answer = Client(serve(app)).get('/items?page=2;access_token=tok-hunter2')

    assert answer.status == 400
    assert answer.text.startswith("Bad request: parameter 'page' must be an integer"), answer.text
    log = read_log(log_dir)
    assert '/items?page=2;access_token=***\n' in log
    assert 'hunter2' not in answer.text + log
