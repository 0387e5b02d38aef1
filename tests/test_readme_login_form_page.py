"""The README's login form, run as written: its 401 handler sends a browser to ``/login``, "the page of the form
(a GET route)", and the README now defines that GET route too, where it had only the POST one (a newcomer's
browser got Bottle's 405 there)."""
from __future__ import annotations

import json
import re

from servers import Client
from test_newcomer_24 import login_form_app

HTML = 'text/html,application/xhtml+xml,*/*;q=0.8'


def test_a_guarded_pages_redirect_leads_to_the_readmes_form_at_get_login(make_app, serve):
    browser = Client(serve(login_form_app(make_app)))
    guarded = browser.get('/account', headers={'Accept': HTML})
    assert (guarded.status, guarded.headers['Location']) == (303, '/login')
    form = browser.get(guarded.headers['Location'], headers={'Accept': HTML})
    assert form.status == 200
    assert re.search(r'<form method="post" action="/login">', form.text)
    assert {'username', 'password', 'remember'} <= set(re.findall(r'name="(\w+)"', form.text))


def test_a_browser_sent_to_the_readmes_form_logs_in_with_it_and_sees_the_guarded_page(make_app, serve, page):
    origin = serve(login_form_app(make_app))
    page.goto(origin + '/account')
    assert page.url == origin + '/login'
    page.fill('input[name=username]', 'alice')
    page.fill('input[name=password]', 'my-secret')
    page.check('input[name=remember]')
    with page.expect_navigation():
        page.click('button')
    assert json.loads(page.inner_text('body')) == {'user': 'alice'}
    page.goto(origin + '/account')
    assert page.inner_text('body') == 'Hello alice'
