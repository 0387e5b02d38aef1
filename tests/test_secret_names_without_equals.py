"""An ini line without its ``=`` after a name that looks secret, though no key of canister's (another framework's
``secret_key``, Starlette's ``session_secret``), shows the rest of the line nowhere, as one after
``auth_basic_password`` does: Bottle 0.13 reads the line as a key's name, and that rest is the secret."""
from __future__ import annotations

import warnings

import pytest

from helpers import canister_warning_texts, install_warned, read_log


@pytest.mark.parametrize('name, hint', [
    ('session_secret', 'canister needs no secret key for sessions'),
    ('secret_key', 'canister needs no secret key for sessions'),
    ('api_token', 'no known key is close'),
])
def test_a_secret_looking_name_on_a_line_without_equals_shows_the_rest_of_the_line_nowhere(log_dir, name, hint):
    app, said = install_warned(log_dir, {'%s Zq-hunter2-secret' % name: None})  # (bottle 0.13's reading of the line)
    app.uninstall(True)
    assert len(said) == 1 and said[0].startswith('unknown config key canister.%s *** (%s' % (name, hint)), said
    assert 'Zq-hunter2' not in said[0] and 'zq-hunter2' not in read_log(log_dir).lower()


@pytest.mark.parametrize('name', ['auth_basic_password', 'secret_key'])
def test_such_a_line_loaded_after_install_shows_the_rest_of_the_line_nowhere(log_dir, name):
    app, _ = install_warned(log_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.config['canister.%s Zq-hunter2-secret' % name] = None  # (bottle 0.13's reading of the line)
    app.uninstall(True)
    said = canister_warning_texts(caught)
    assert said == ['Config: canister.%s *** was set after Canister was installed, and has no effect until the plugin '
                    'is installed again: set it before app.install(Canister()), or install a Canister() again' % name]
    assert 'zq-hunter2' not in read_log(log_dir).lower()
