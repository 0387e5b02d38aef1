"""A preflight asking for a request header that cors_headers does not allow (Django's X-CSRFToken, say) is
answered without it, and a WARNING names the header and the key to add it to: the browser blocks the request
without a word to the app."""
from __future__ import annotations

from helpers import client, read_log, warning_lines
from test_csrf import target_app


def preflight(app, headers: str, origin: str = 'https://api.example.net'):
    """A preflight for a PUT to /target asking for the request headers ``headers``."""
    return client(app).options('/target', headers={'Origin': origin, 'Access-Control-Request-Method': 'PUT',
                                                   'Access-Control-Request-Headers': headers})


def test_a_preflight_asking_for_a_header_not_in_cors_headers_is_logged_with_the_key_to_add_it_to(make_app, log_dir):
    app = target_app(make_app, cors='https://api.example.net')
    res = preflight(app, 'content-type,x-csrftoken')
    assert res.status_int == 204
    assert res.headers['Access-Control-Allow-Headers'] == 'content-type'  # (still not granted)
    [line] = [line for line in warning_lines(log_dir) if 'CORS preflight' in line]
    assert line.endswith('CORS preflight from https://api.example.net asks for the request header x-csrftoken, not '
                         'granted: the browser blocks the request; to allow it, add it to cors_headers'), line


def test_a_preflight_refused_several_headers_names_them_all(make_app, log_dir):
    app = target_app(make_app, cors='https://api.example.net')
    preflight(app, 'x-csrftoken,x-requested-with,authorization')
    assert 'asks for the request headers x-csrftoken, x-requested-with, not granted: the browser blocks the ' \
           'request; to allow them, add them to cors_headers' in read_log(log_dir)


def test_a_preflight_granted_every_header_it_asks_for_logs_no_warning(make_app, log_dir):
    app = target_app(make_app, cors='https://api.example.net', cors_headers='Content-Type, X-CSRFToken')
    res = preflight(app, 'content-type,x-csrftoken')
    assert res.headers['Access-Control-Allow-Headers'] == 'content-type, x-csrftoken'
    assert not [line for line in warning_lines(log_dir) if 'CORS preflight' in line]


def test_a_preflight_under_cors_headers_star_logs_no_warning(make_app, log_dir):
    app = target_app(make_app, cors='https://api.example.net', cors_headers='*')
    preflight(app, 'x-csrftoken')
    assert not [line for line in warning_lines(log_dir) if 'CORS preflight' in line]


def test_preflights_asking_for_headers_not_granted_are_logged_once_a_second_at_most(make_app, log_dir, clock):
    app = target_app(make_app, cors='https://api.example.net')
    for number in range(5):
        preflight(app, 'x-header-%d' % number)
    lines = [line for line in warning_lines(log_dir) if 'CORS preflight' in line]
    assert len(lines) == 1 and 'x-header-0' in lines[0], lines
    clock.advance(1.5)
    preflight(app, 'x-csrftoken')
    lines = [line for line in warning_lines(log_dir) if 'CORS preflight' in line]
    assert len(lines) == 2, lines
    assert '(and 4 more like it in process' in lines[1], lines
