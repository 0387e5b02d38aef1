"""The README's *Rotating secrets* under Deploying: each procedure it gives, on real parts.

A Redis password rotated with ACLs on a real redis-server, two apps (one still on the old URL, one restarted on
the new) serving one session; a shared JWT secret changed under a session a token logged in, on a real SQLite
file.  What the passage cites for the rest (a provider's keys by kid, the unsigned cookie) is checked to name
tests that exist."""
import re

import pytest
import redis

import canister
from helpers import (ROOT, bearer, client, cookie_value, cookieless_client, counter_app, read_log, readme_section,
                     signed_token, sqlite_url, with_cookie)
from session_kit import plugin_of

OLD, NEW = 'old-S3cret-0f-the-app', 'new-S3cret-0f-the-app'
HS_OLD, HS_NEW = 'the-old-secret-of-32-bytes-or-more!', 'the-new-secret-of-32-bytes-or-more!'
SECTION = readme_section('## Deploying')
PASSAGE = SECTION.split('\n### Rotating secrets\n', 1)[-1]


def redis_url(port, password):
    return 'redis://app:%s@127.0.0.1:%d/0' % (password, port)


def error_lines(log_dir):
    """The texts of the log's ERROR lines that are not a request's response line."""
    return [line.split(']', 1)[1].strip() for line in read_log(log_dir).splitlines()
            if ' ERROR ' in line and 'Response: ' not in line]


def test_a_redis_password_rotated_with_acls_keeps_both_apps_serving_one_session_until_the_old_one_is_removed(
        make_app, redis_server, tmp_path):
    admin = redis.Redis(port=redis_server.port)
    admin.execute_command('ACL', 'SETUSER', 'app', 'on', '>' + OLD, '~*', '+@all')
    old_app = cookieless_client(counter_app(make_app, session_store=redis_url(redis_server.port, OLD),
                                            log_path=str(tmp_path / 'old-logs')))
    sid = cookie_value(old_app.get('/'))
    assert sid

    admin.execute_command('ACL', 'SETUSER', 'app', '>' + NEW)            # both passwords let the user in now
    new_app = cookieless_client(counter_app(make_app, session_store=redis_url(redis_server.port, NEW),
                                            log_path=str(tmp_path / 'new-logs')))  # restarted with the new URL
    served = [web.get('/', headers=with_cookie(sid)).text for web in (new_app, old_app, new_app)]
    assert served == ['1', '2', '3']

    admin.execute_command('ACL', 'SETUSER', 'app', '<' + OLD)            # the old password goes
    assert old_app.get('/', headers=with_cookie(sid)).text == '4'   # on a connection opened before: Redis keeps it
    admin.client_kill_filter(_type='normal', skipme=True)  # (as a restart or failover of Redis does)
    refused = old_app.get('/', headers=with_cookie(sid), status=503)
    assert 'Service unavailable: the session store cannot be reached, retry shortly' in refused.text, refused.text
    assert 'S3cret' not in refused.text
    [line] = error_lines(tmp_path / 'old-logs')
    assert line.endswith('the Redis session store is unavailable: invalid username-password pair or user is '
                         'disabled. (Redis refused the credentials: fix the user name and password of session_store, '
                         'then restart the app)'), line
    old_app.get('/', headers=with_cookie(sid), status=503)              # it does not pass by itself
    assert new_app.get('/', headers=with_cookie(sid)).text == '5'  # the new one connects again, and serves it
    assert error_lines(tmp_path / 'new-logs') == []
    assert 'S3cret' not in read_log(tmp_path / 'old-logs') + read_log(tmp_path / 'new-logs')


def token_app(make_app, secret, store, log_dir):
    """An app that takes Bearer tokens signed with ``secret`` and keeps sessions in ``store``; /login makes one."""
    app = make_app(auth_jwt_secret=secret, session_store=store, log_path=str(log_dir))
    app.route('/login', callback=lambda: canister.session.sid and 'ok')
    app.route('/me', callback=lambda: {'user': canister.session.user})
    return app


def test_a_changed_jwt_secret_refuses_every_old_token_at_once_but_not_the_sessions_they_logged_in(make_app, tmp_path):
    store = sqlite_url(tmp_path / 'sessions.db')
    token = signed_token(HS_OLD)
    sid = cookie_value(client(token_app(make_app, HS_OLD, store, tmp_path / 'before')).get('/login',
                                                                                          headers=bearer(token)))
    assert sid

    after = token_app(make_app, HS_NEW, store, tmp_path / 'after')      # restarted with the new secret
    assert client(after).get('/me', headers=bearer(token), status=401)
    assert client(after).get('/me', headers=bearer(signed_token(HS_NEW))).json['user']['sub'] == 'alice'
    browser = cookieless_client(after)
    assert browser.get('/me', headers=with_cookie(sid)).json['user']['sub'] == 'alice'  # its session keeps its user
    assert plugin_of(after).end_sessions('alice') == 1
    assert browser.get('/me', headers=with_cookie(sid)).json == {'user': None}


def test_the_passage_is_under_deploying_and_in_the_contents():
    assert '\n### Rotating secrets\n' in SECTION
    contents = (ROOT / 'README.md').read_text().split('\n## Contents\n', 1)[1].split('\n## ', 1)[0]
    assert '- [Deploying](#deploying)\n  - [Rotating secrets](#rotating-secrets)\n' in contents


@pytest.mark.parametrize('cited', sorted(set(re.findall(r'`(tests/test_\w+\.py)(?:::(\w+))?`', PASSAGE))))
def test_each_test_the_passage_cites_exists(cited):
    path, name = cited
    assert (ROOT / path).exists(), path
    assert not name or ('\ndef %s(' % name) in (ROOT / path).read_text(), cited


def test_the_passage_names_what_it_is_backed_by():
    assert 'tests/test_rotating_secrets.py' in PASSAGE
    assert 'ACL SETUSER app >new-password' in PASSAGE and 'ACL SETUSER app <old-password' in PASSAGE
    assert 'https://docs.gunicorn.org/en/stable/signals.html' in PASSAGE
