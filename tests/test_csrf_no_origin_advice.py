"""README (CSRF protection): the refusal's WARNING names what lets such a request in; for a request the browser calls
foreign (``Sec-Fetch-Site``) that names no origin, or ``null``, that is ``csrf=False`` alone: no list in ``cors``
(a listed ``null`` lets in only what a browser preflights, never a form) or ``csrf_trusted_origins`` (which holds no
null), nor a proxy in ``trusted_proxies``, lets it in.  A real foreign origin's advice is unchanged."""
from __future__ import annotations

import pytest

from helpers import EVIL_ORIGIN as EVIL, client, readme_section, warning_lines
from test_csrf import send, target_app

ADVICE = ('(this app sees its own origin as %s; no list in cors or csrf_trusted_origins lets in a request the browser '
          'calls foreign that names no origin; to let such a request in, give its route csrf=False)')
OWN = 'http://localhost'  # (webtest's)
NO_LIST = ADVICE % OWN
NAMED = 'Cross-site request refused: origin null may not send POST requests here '
UNNAMED = ('Cross-site request refused: origin null (the browser calls the request cross-site and names no origin) '
           'may not send POST requests here ')
CORS = [None, 'null', '*', 'https://a.example, null']


def app_with(make_app, cors):
    return target_app(make_app) if cors is None else target_app(make_app, cors=cors)


def refusal(log_dir):
    [line] = [line for line in warning_lines(log_dir) if 'Cross-site request refused' in line]
    return line[line.index('Cross-site request refused'):]


@pytest.mark.parametrize('cors', CORS)
def test_a_cross_site_form_naming_null_is_told_only_csrf_false(make_app, log_dir, cors):
    app = app_with(make_app, cors)
    assert send(client(app), origin='null', site='cross-site').status_int == 403
    assert app.calls == []
    assert refusal(log_dir) == NAMED + NO_LIST


@pytest.mark.parametrize('cors', CORS)
def test_a_cross_site_form_naming_no_origin_is_told_only_csrf_false(make_app, log_dir, cors):
    app = app_with(make_app, cors)
    assert send(client(app), site='cross-site').status_int == 403
    assert refusal(log_dir) == UNNAMED + NO_LIST


def test_the_403_of_such_a_form_under_cors_star_does_not_say_to_list_the_origin(make_app):
    res = send(client(target_app(make_app, cors='*')), origin='null', site='cross-site')
    assert res.text.strip().endswith('Cross-site request refused: origin null may not send POST requests here')


def test_a_listed_null_still_lets_in_what_a_browser_preflights(make_app):
    app = target_app(make_app, cors='null')
    assert send(client(app), origin='null', site='cross-site', content_type='application/json',
                body='{}').status_int == 200


@pytest.mark.parametrize('cors, listing', [
    (None, 'list it in cors (its pages may then read the answers too)'),
    ('null', 'list it in cors (its pages may then read the answers too)'),
    ('*', 'list it in cors instead of * (cors = * lets another origin send only what a browser preflights: JSON, PUT, '
          'DELETE; never a form)'),
])
def test_a_real_foreign_origins_advice_is_unchanged(make_app, log_dir, cors, listing):
    assert send(client(app_with(make_app, cors)), origin=EVIL, site='cross-site').status_int == 403
    assert refusal(log_dir) == (
        'Cross-site request refused: origin %s may not send POST requests here (this app sees its own origin as %s; '
        'to let another origin in, %s or in csrf_trusted_origins (its forms may post on every path, its pages read no '
        'answer), or give a route csrf=False; behind a proxy that changes the host or scheme, list the proxy in '
        'trusted_proxies)' % (EVIL, OWN, listing))


def test_the_readme_gives_that_warning():
    section = readme_section('## CSRF protection')
    assert ('For a request the browser calls foreign (`Sec-Fetch-Site`) that names no origin, or names `null`, it '
            'names `csrf=False` alone, as no list in `cors` or `csrf_trusted_origins` lets such a form in (a listed '
            '`null` neither: see below), nor any proxy: `%s`.' % (NAMED + NO_LIST)) in section
