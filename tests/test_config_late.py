"""A ``canister.*`` key set after ``app.install(Canister())`` has no effect: canister reads the config
once, at install, and says so once per key (a WARNING in the log and a CanisterWarning at the line
that set it), on bottle 0.12 and 0.13 alike, through Bottle's ``config`` hook."""
from __future__ import annotations

import pathlib
import warnings
from typing import Any, List

import bottle
import pytest

from helpers import APP_ORIGIN as ORIGIN, client, read_log

import canister



def late_lines(log_dir: Any) -> List[str]:
    return [line for line in read_log(log_dir).splitlines() if 'was set after Canister was installed' in line]


def pinged(make_app: Any, **overrides: Any) -> bottle.Bottle:
    app = make_app(**overrides)
    app.get('/ping')(lambda: 'pong')
    return app


def test_a_key_set_after_install_is_named_in_one_warning_and_has_no_effect(make_app, log_dir):
    app = pinged(make_app)
    with pytest.warns(canister.CanisterWarning, match='canister.cors was set after Canister was installed') as caught:
        app.config['canister.cors'] = ORIGIN
    assert caught[0].filename == __file__  # the line that set it
    lines = late_lines(log_dir)
    assert len(lines) == 1
    assert ' WARNING ' in lines[0]
    assert lines[0].endswith('Config: canister.cors was set after Canister was installed, and has no effect until '
                             'the plugin is installed again: set it before app.install(Canister()), or install a '
                             'Canister() again')
    assert ORIGIN not in read_log(log_dir)  # the key, never its value
    res = client(app).get('/ping', headers={'Origin': ORIGIN})
    assert 'Access-Control-Allow-Origin' not in res.headers


def test_a_key_set_after_install_that_a_keyword_argument_sets_is_said_to_lose_to_the_keyword(make_app, log_dir):
    """Before, it was said to have "no effect until the plugin is installed again", where the keyword wins then too."""
    app = pinged(make_app, session_timeout=60)
    with pytest.warns(canister.CanisterWarning, match='canister.session_timeout was set after') as caught:
        app.config['canister.session_timeout'] = '120'
    said = ('Config: canister.session_timeout was set after Canister was installed, and has no effect: the keyword '
            'argument session_timeout given to Canister() wins over it, also when the plugin is installed again; '
            'change that keyword argument instead')
    assert str(caught[0].message) == said
    assert late_lines(log_dir)[0].endswith(said)
    plugin = next(plugin for plugin in app.plugins if isinstance(plugin, canister.Canister))
    app.uninstall(plugin)
    app.install(plugin)  # installed again: the keyword still wins, as said
    assert plugin.config is not None and plugin.config['session_timeout'] == 60


def test_a_late_key_written_in_capitals_that_a_keyword_argument_sets_is_said_to_lose_to_the_keyword(make_app, log_dir):
    """Keys are read in any case at install: ``canister.SESSION_TIMEOUT`` is the keyword's key too."""
    app = pinged(make_app, session_timeout=60)
    with pytest.warns(canister.CanisterWarning, match='was set after') as caught:
        app.config['canister.SESSION_TIMEOUT'] = '120'
    assert str(caught[0].message) == (
        'Config: canister.SESSION_TIMEOUT was set after Canister was installed, and has no effect: the keyword '
        'argument session_timeout given to Canister() wins over it, also when the plugin is installed again; '
        'change that keyword argument instead')


def test_each_late_key_is_named_once(make_app, log_dir):
    app = pinged(make_app)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        app.config['canister.cors'] = ORIGIN
        app.config['canister.cors'] = '*'
        app.config['canister.session_timeout'] = '60'
    assert [str(w.message).split(' was set')[0] for w in caught
            if issubclass(w.category, canister.CanisterWarning)] == ['Config: canister.cors',
                                                                       'Config: canister.session_timeout']
    assert len(late_lines(log_dir)) == 2


def test_keys_loaded_from_an_ini_file_after_install_are_named(make_app, log_dir, tmp_path: pathlib.Path):
    app = pinged(make_app)
    ini = tmp_path / 'app.ini'
    ini.write_text('[canister]\ncors = %s\ncsrf = false\n' % ORIGIN)
    with pytest.warns(canister.CanisterWarning):
        app.config.load_config(str(ini))
    assert sorted(line.split('Config: ')[1].split(' ')[0] for line in late_lines(log_dir)) == [
        'canister.cors', 'canister.csrf']


def test_the_same_value_again_and_other_keys_say_nothing(make_app, log_dir):
    app = pinged(make_app, config={'session_timeout': '60'})
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        app.config['canister.session_timeout'] = '60'   # as read at install (an ini loaded twice)
        app.config['myapp.greeting'] = 'hello'
    assert late_lines(log_dir) == []


def test_installing_again_applies_the_late_key(make_app, log_dir):
    app = pinged(make_app)
    with pytest.warns(canister.CanisterWarning):
        app.config['canister.cors'] = ORIGIN
    app.install(canister.Canister(log_path=str(log_dir)))
    res = client(app).get('/ping', headers={'Origin': ORIGIN})
    assert res.headers['Access-Control-Allow-Origin'] == ORIGIN
    with warnings.catch_warnings():  # read by this install: nothing to say
        warnings.simplefilter('error', canister.CanisterWarning)
        app.config['canister.cors'] = ORIGIN


def test_an_uninstalled_canister_says_nothing(make_app, log_dir):
    app = pinged(make_app)
    app.uninstall(canister.Canister)
    with warnings.catch_warnings():
        warnings.simplefilter('error', canister.CanisterWarning)
        app.config['canister.cors'] = ORIGIN
    assert late_lines(log_dir) == []
