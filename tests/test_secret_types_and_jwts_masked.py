"""Attack review (session 33): two secrets that reached the log whatever their names.

A pydantic model's field of a secret type (``SecretStr``, ``SecretBytes``, ``Secret[int]``) had its value echoed in
the 400 and its WARNING when it failed, unless its name looked secret: ``number: SecretStr`` sent a JSON number gave
``got 4111111111111111``.  And a JWT sent under a name that does not look secret (``?t=eyJ...``), or as a segment of
the path (``/reset/eyJ...``), was written whole into the request line; so were a CAS ``ticket`` and a SAML
``SAMLart``.  Over waitress on 127.0.0.1, the log file read back.
"""
import json
import pathlib
import time
from typing import Dict, Iterator, List, Optional, Tuple, Union

import bottle
import pydantic
import pytest

import canister
from helpers import log_after, readme_section
from param_kit import Vault
from servers import InProcessWaitress, raw_request, status_of

CARD = '4111111111111111'
SIGNATURE = 'Q2FuaXN0ZXJTZWNyZXRTaWduYXR1cmVYWVo'
JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInB1cnBvc2UiOiJyZXNldCJ9.' + SIGNATURE


class Account(pydantic.BaseModel):
    holder: str
    number: pydantic.SecretStr


class Wallet(pydantic.BaseModel):
    owner: str
    age: int
    mnemonic: pydantic.SecretStr
    seed: pydantic.SecretBytes


class Recovery(pydantic.BaseModel):
    phrase_words: pydantic.SecretStr = pydantic.Field(min_length=20)


class Holder(pydantic.BaseModel):
    accounts: List[Account]
    backup: Optional[Union[int, pydantic.SecretStr]] = None
    pins: Dict[str, pydantic.Secret[int]] = {}


@pytest.fixture(scope='module')
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[InProcessWaitress, pathlib.Path]]:
    """An app with handlers taking models with secret fields and texts, on waitress, and its log directory."""
    log_dir = tmp_path_factory.mktemp('attack-33-secrets') / 'logs'
    app = bottle.Bottle()
    app.catchall = True
    app.install(canister.Canister(log_path=str(log_dir)))

    @app.post('/accounts')
    def add_account(account: Account):
        return 'ok'

    @app.post('/wallets')
    def add_wallet(wallet: Wallet):
        return 'ok'

    @app.post('/recover')
    def recover(body: Recovery):
        return 'ok'

    @app.post('/holders')
    def add_holder(holder: Holder):
        return 'ok'

    @app.post('/checked')
    def checked(body: Vault):
        return 'ok'

    @app.get('/verify')
    def verify(t: str = '', page: int = 1):
        return 'ok'

    @app.get('/reset/<token>')
    def reset(token):
        return 'ok'

    running = InProcessWaitress(app, threads=2)
    yield running, log_dir
    running.close()
    app.uninstall(True)


def post(server: InProcessWaitress, target: str, body: dict) -> Tuple[int, str]:
    data = json.dumps(body).encode()
    head = (b'POST %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n'
            b'Content-Length: %d\r\n\r\n' % (target.encode(), len(data)))
    raw = raw_request(server.port, head, data)
    return status_of(raw), raw.partition(b'\r\n\r\n')[2].decode()


def get(server: InProcessWaitress, target: str) -> Tuple[int, str]:
    raw = raw_request(server.port, b'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' % target.encode())
    return status_of(raw), raw.partition(b'\r\n\r\n')[2].decode()


# -- a pydantic model's field of a secret type ---------------------------------------------------------------

@pytest.mark.parametrize('target, body, secret, field', [
    ('/accounts', {'account': {'holder': 'Bob', 'number': int(CARD)}}, CARD, 'number'),
    ('/accounts', {'holder': 'Bob', 'number': int(CARD)}, CARD, 'number'),
    ('/wallets', {'wallet': {'owner': 'bob', 'age': 3, 'mnemonic': ['apple', 'banana', 'cherry'], 'seed': 'x'}},
     'banana', 'mnemonic'),
    ('/recover', {'phrase_words': 'apple banana cherry'}, 'banana cherry', 'phrase_words'),
    ('/holders', {'holder': {'accounts': [{'holder': 'Ann', 'number': 5500005555555559}]}}, '5500005555555559',
     'accounts.0.number'),
    ('/holders', {'holder': {'accounts': [], 'pins': {'atm': 'Pin-Not-A-Number'}}}, 'Pin-Not-A-Number', 'pins.atm'),
])
def test_a_field_of_a_secret_type_that_fails_is_named_and_its_value_is_in_neither_the_400_nor_the_log(
        server, target, body, secret, field):
    running, log_dir = server
    status, text = post(running, target, body)
    assert status == 400
    assert "field '%s': " % field in text
    assert text.rstrip().endswith('(the value is not shown: its field is of a secret type)'), text
    assert secret not in text
    log = log_after(log_dir, "field '%s': " % field)
    assert "field '%s': " % field in log and secret not in log


def test_when_another_field_fails_its_value_is_shown_and_a_secret_types_value_is_not(server):
    running, log_dir = server
    one = {'owner': 'bob', 'age': 'many', 'mnemonic': 'Zebra-Mnemonic-1', 'seed': 'Zebra-Seed-1'}
    status, text = post(running, '/wallets', {'wallet': one})
    assert status == 400 and text.rstrip().endswith("got 'many'"), text
    several = {'mnemonic': 'Zebra-Mnemonic-2', 'seed': 'Zebra-Seed-2', 'owner': 5, 'age': 'many'}
    status, text = post(running, '/wallets', {'wallet': several})
    assert status == 400  # (the object shown, 60 characters of it)
    assert "got {'mnemonic': '***', 'seed': '***', 'owner': 5, " in text, text
    log = log_after(log_dir, "got {'mnemonic': '***', 'seed': '***', 'owner': 5, ")
    assert 'Zebra-' not in text + log
    status, text = post(running, '/holders', {'holder': {'accounts': [], 'backup': ['Kiwi-Backup-77']}})
    assert status == 400  # (each member of the union failed: two errors, the object shown)
    assert "field 'backup.int': " in text and text.rstrip().endswith("got {'accounts': [], 'backup': '***'}"), text
    assert 'Kiwi-Backup' not in text + log_after(log_dir, "field 'backup.int': ")


def test_a_models_own_check_that_repeats_a_secret_types_value_is_not_shown(server):
    running, log_dir = server
    status, text = post(running, '/checked', {'owner': 'bob', 'mnemonic': 'Short-Words'})
    assert status == 400 and 'must be a valid Vault' in text
    assert 'Short-Words' not in text + log_after(log_dir, 'must be a valid Vault')


def test_a_secret_type_is_told_by_its_class_and_which_fields_hold_one_is_worked_out_once_a_model():
    assert all(canister._is_pydantic_secret(kind) for kind in (pydantic.SecretStr, pydantic.SecretBytes,
                                                                pydantic.Secret[int]))
    assert not any(canister._is_pydantic_secret(kind) for kind in (str, bytes, int, Account, List[str]))
    assert canister._secret_at(Holder, ('accounts', 0, 'number'))
    assert canister._secret_at(Holder, ('backup', 'int')) and canister._secret_at(Holder, ('pins', 'atm'))
    assert not canister._secret_at(Holder, ('accounts', 0, 'holder'))
    assert not canister._secret_at(Wallet, ('age',)) and not canister._secret_at(Wallet, ('unknown',))
    canister._holds_pydantic_secret.cache_clear()
    for _ in range(3):
        canister._secret_at(Holder, ('accounts', 0, 'holder'))
    assert canister._holds_pydantic_secret.cache_info().misses <= 4  # (Holder, List[Account], Account, str)


# -- a JWT, a CAS ticket and a SAML artifact in the request line ---------------------------------------------

@pytest.mark.parametrize('target, logged', [
    ('/verify?t=' + JWT, '/verify?t=***'),
    ('/verify?page=2&t=' + JWT + '&x=1', '/verify?page=2&t=***&x=1'),
    ('/reset/' + JWT, '/reset/***'),
    ('/verify?ticket=ST-1-Cas-Ticket-91&page=1', '/verify?ticket=***&page=1'),
    ('/verify?SAMLart=AAQAAMh48-Saml-Art&page=1', '/verify?SAMLart=***&page=1'),
])
def test_a_jwt_under_any_name_or_in_the_path_and_cas_and_saml_tickets_are_logged_as_stars(server, target, logged):
    running, log_dir = server
    assert get(running, target)[0] in (200, 404)
    log = log_after(log_dir, 'GET http://localhost' + logged)
    assert 'GET http://localhost' + logged in log
    assert SIGNATURE not in log and 'Cas-Ticket' not in log and 'Saml-Art' not in log


def test_a_jwt_that_does_not_convert_is_not_shown_in_the_400(server):
    running, log_dir = server
    short = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.Sig-Short-7'
    status, text = get(running, '/verify?page=' + short)
    assert status == 400 and text.rstrip().endswith("got '***'"), text
    assert 'Sig-Short-7' not in log_after(log_dir, "parameter 'page'")


@pytest.mark.parametrize('target', ['/verify?t=eyJ-not-a-token&tickets_count=3&ticket_id=7&page=2',
                                    '/reset/eyJhbGciOiJIUzI1NiJ9.only-two-parts',
                                    '/reset/v1.2.3-release'])
def test_ordinary_values_and_names_that_only_hold_ticket_are_logged_as_sent(server, target):
    running, log_dir = server
    get(running, target)
    assert 'GET http://localhost' + target in log_after(log_dir, 'GET http://localhost' + target)


@pytest.mark.parametrize('query', ['t=' + JWT, 'a=1&t=' + JWT.upper().replace('EYJ', 'eyJ'), 'x=a.eyJb.c.d',
                                   'n=eyJ' + 'a' * 30 + '.b.'])
def test_the_quick_check_of_a_query_lets_every_query_holding_a_jwt_through(query):
    assert canister._redact_query(query) == canister._masked_query(query) != query


@pytest.mark.parametrize('text', ['eyJ.' * 250_000, 'eyJ' * 333_333, 'eyJa' + '.a' * 500_000, '.' * 1_000_000,
                                  'eyJa.aa,' * 125_000])
def test_text_built_to_be_slow_to_search_for_a_jwt_is_masked_about_as_fast_as_plain_text(text):
    def cpu(call, value):  # (the least of three: a loaded machine's busy moment slows one call, never all three)
        least = float('inf')
        for _ in range(3):
            start = time.process_time()
            call(value)
            least = min(least, time.process_time() - start)
        return least
    plain = 'a' * len(text)
    for call in (lambda value: canister._redact_query('next=' + value),
                 lambda value: canister._text_without_secrets('x=' + value),
                 lambda value: canister._masked_target('http://localhost', '/' + value)):
        assert cpu(call, text) < 3 * cpu(call, plain) + 0.05


def test_the_readme_says_what_the_request_line_and_a_400_keep_out():
    logging_section = readme_section('## Request logging')
    assert 'a JWT under any name or as a segment of the path (`?t=***`, `/reset/***`' in logging_section
    assert "`?ticket=` and `?SAMLart=` are all logged as `name=***`" in logging_section
    assert '`?tickets_count=` or `?ticket_id=` are logged as sent' in logging_section
    assert 'but for a segment holding a JWT, written `***` (`/reset/***`)' in readme_section('## Security notes')
    parameters = readme_section('## Parameter unpacking')
    assert ("(field 'number': Input should be a valid string) (the value is not shown: its field is of a secret "
            "type)`)") in parameters
    assert "(`got {'mnemonic': '***', 'owner': 5, ...}`)" in parameters
    assert "A text holding a JWT is shown as `'***'`." in parameters
