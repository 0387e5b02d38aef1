"""An ini file's section spelt ``[Canister]``: bottle 0.12 keeps the name as written, 0.13 puts it in lower case,
and canister reads the section either way."""
from __future__ import annotations

import bottle

import canister
from helpers import app_with_ini, client


def test_a_capitalised_canister_section_is_read_at_install_on_either_bottle(tmp_path, uninstall_at_end, log_dir):
    app = app_with_ini(tmp_path, '[Canister]\nsession_cookie = app_sid\nlog_path = %s\n' % log_dir)
    if bottle.__version__.startswith('0.12'):
        assert app.config['Canister.session_cookie'] == 'app_sid'
    else:
        assert app.config['canister.session_cookie'] == 'app_sid'
    plugin = canister.Canister()
    uninstall_at_end(app).install(plugin)
    app.route('/', callback=lambda: canister.session.data.setdefault('seen', 'yes'))
    response = client(app).get('/')
    assert response.text == 'yes'
    assert response.headers['Set-Cookie'].startswith('app_sid=')
    assert plugin.config['session_cookie'] == 'app_sid'
