"""README (Bearer JWT, *A provider that cannot be reached*): a token of an unknown kid is refused with 401 at once,
with no download, when a download that brought the provider's keys began less than ``auth_jwt_jwks_refetch``
seconds before (so made-up kids cannot force downloads); a key the provider rotated in within that window is then
refused until the window ends, and the first of its tokens after it downloads the keys and is accepted.  On a real
JWKS endpoint on 127.0.0.1, whose GETs are counted; canister's clock (``_monotonic``) moved on, not slept."""
from __future__ import annotations

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa

from canister import session
from helpers import bearer, claims, client, jwk, read_log, readme_section

WINDOW = 3.0


def test_the_readme_states_the_window_in_which_an_unknown_kid_gets_401_without_a_download():
    line = readme_section('### Bearer JWT (OAuth2 / OIDC)').split('*A provider that cannot be reached.*', 1)[1]
    assert line.split('\n', 1)[0] == (
        " That 401 is given only when the last download brought the provider's keys: the one the request waited for, "
        'or one that began less than `auth_jwt_jwks_refetch` seconds before, and then the 401 comes at once, with no '
        'download (the window that keeps made-up kids from forcing downloads). The kid is then made up, or long gone, '
        'or new: a key the provider rotated in within that window is refused until the window ends, and the first of '
        'its tokens after that downloads the keys and is accepted.')


def test_a_key_rotated_in_within_the_window_gets_401_without_a_download_then_is_fetched_and_accepted(
        make_app, rsa_key, jwks_server, log_dir, monotonic):
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    old_token = pyjwt.encode(claims(aud='my-api'), rsa_key, algorithm='RS256', headers={'kid': 'old'})
    new_token = pyjwt.encode(claims(sub='bob', aud='my-api'), new_key, algorithm='RS256', headers={'kid': 'new'})
    jwks_server.publish(jwk(rsa_key, 'old'))
    app = make_app(auth_jwt_jwks_url=jwks_server.url, auth_jwt_client_id='my-api', auth_jwt_jwks_refetch=WINDOW)
    app.route('/me', callback=lambda: {'user': session.user})
    web = client(app)
    assert web.get('/me', headers=bearer(old_token)).json['user']['sub'] == 'alice'
    assert jwks_server.hits == 1
    jwks_server.publish(jwk(rsa_key, 'old'), jwk(new_key, 'new'))  # (the provider rotates the new key in)
    monotonic.advance(WINDOW - 0.25)  # (canister's clock: near the window's end)
    too_soon = web.get('/me', headers=bearer(new_token), expect_errors=True)

    assert too_soon.status_int == 401
    assert jwks_server.hits == 1  # (no download: the one that brought the keys began within the window)
    assert ("Authentication failed: the token was signed with an unknown key (its kid is 'new'; the JWKS URL gave 1 "
            "key(s), kids: 'old')") in read_log(log_dir)
    monotonic.advance(0.25)  # (the window has ended: exactly, whole and quarter seconds adding up exactly)
    assert web.get('/me', headers=bearer(new_token)).json['user']['sub'] == 'bob'
    assert jwks_server.hits == 2


def test_the_readme_says_the_tests_move_the_refetch_window_on_canisters_monotonic_clock():
    assert ("So does the Bearer JWKS's refetch window, when the keys may be downloaded again after the last download "
            'began (`auth_jwt_jwks_refetch` for a token of an unknown `kid`, and the `Retry-After` of its 503 until '
            'then; 5 minutes for a download no token waits for): the `monotonic` fixture of `tests/conftest.py` stops '
            'that clock, and the tests of the window move it on instead of sleeping.') in readme_section('## Development')
