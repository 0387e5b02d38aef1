"""The password of a Redis URL never reaches the log or an exception, whatever characters it holds
(`#`, `/`, `?`, `@`): the install banner, the install error and the ConfigError mask the whole user information."""
from __future__ import annotations

import re
import warnings

import pytest

import canister
from helpers import read_log

#: Passwords, and the pieces of each that must never be seen (split at the characters that ended the old mask).
PASSWORDS = ['S3cr#Et9x', 'Zm9v/YmFy+pw', 'Qu3r?Y9ry', 'At7s@Gn4x', 'Al1x/Of2x?Th3x#Em4x@On5x', 'Pl4inPw9']


def pieces(password: str):
    return [piece for piece in re.split(r'[/?#@:]', password) if len(piece) >= 4]


def install(make_app, url: str) -> str:
    """Install with this session_store; the text of the ConfigError, or '' if it installed."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)   # nothing listens on port 1
        try:
            make_app(session_store=url)
        except canister.ConfigError as error:
            return str(error)
    return ''


@pytest.mark.parametrize('password', PASSWORDS)
@pytest.mark.parametrize('form', ['redis://:%s@127.0.0.1:1/0', 'redis://app:%s@127.0.0.1:1/0',
                                  'redis+sentinel://app:%s@127.0.0.1:1,127.0.0.1:2/mymaster/0'])
def test_no_piece_of_the_password_is_logged_or_raised(make_app, log_dir, password, form):
    error = install(make_app, form % password)
    log = read_log(log_dir)
    assert 'canister.session_store' in log                      # the banner was written
    for piece in pieces(password):
        assert piece not in log and piece not in error, (piece, log, error)
    assert form % '***' in log


@pytest.mark.parametrize('password', ['S3cr#Et9x', 'At7s@Gn4x', 'Pl4inPw9'])
def test_a_password_with_hash_or_at_sign_installs(make_app, log_dir, password):
    assert install(make_app, 'redis://:%s@127.0.0.1:1/0' % password) == ''
    assert 'Install failed' not in read_log(log_dir)


@pytest.mark.parametrize('password', ['Zm9v/YmFy+pw', 'Qu3r?Y9ry'])
def test_a_slash_or_question_mark_in_the_password_is_refused_saying_how_to_write_it(make_app, log_dir, password):
    error = install(make_app, 'redis://:%s@127.0.0.1:1/0' % password)
    assert error == ("canister.session_store = 'redis://:***@127.0.0.1:1/0' is not a valid Redis URL: a '/' or '?' "
                     "in the user name or password must be written %2F or %3F")
    assert 'Install failed: ' + error in read_log(log_dir)


def test_the_encoded_password_reaches_redis_decoded():
    store = canister.RedisStore('redis://:Zm9v%2FYmFy%3Fpw@127.0.0.1:1/0')
    assert store.client.connection_pool.connection_kwargs['password'] == 'Zm9v/YmFy?pw'
