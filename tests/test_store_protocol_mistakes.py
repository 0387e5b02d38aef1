"""A store of one's own written with a common mistake, or in a way README "Writing a store" allows: what the user
then sees (the calls the store gets, the install's error, the answer and the log line), and the README's words."""
from __future__ import annotations

import pathlib
import re
import time
import traceback
import warnings
from typing import Any, List, Optional, Tuple

import pytest
import redis

import canister
from helpers import FourMethodStore, client, cookie_value, counter_app, install_warned, read_log

README = (pathlib.Path(__file__).resolve().parent.parent / 'README.md').read_text(encoding='utf-8')


def logged(log_dir: Any, words: str) -> str:
    """The level of the log line that ends with ``words`` ('' if there is none)."""
    for line in read_log(log_dir).splitlines():
        if line.endswith(words):
            return line.split()[2]
    return ''


def writing_a_store() -> str:
    """The README's section "Writing a store", with its lines joined."""
    start = README.index('### Writing a store')
    return README[start:README.index('\n## ', start)]


class DictStore(FourMethodStore):
    """The four required methods alone (tests/helpers.py), under the name the messages show."""


class BytesStore(DictStore):
    """The same, whose load returns the record as UTF-8 bytes, as many database clients do (README allows it)."""

    def load(self, sid: str) -> Any:
        record = super().load(sid)
        return None if record is None else record.encode('utf-8')


def calls_of_a_read_and_a_change(make_app: Any, store: DictStore) -> Tuple[List[str], List[str]]:
    """The calls ``store`` gets from a request that only reads its session, then from one that changes it."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)   # the one about the missing atomic update()
        app = counter_app(make_app, store=store)
    app.route('/read', callback=lambda: str(canister.session.data['counter']))
    web = client(app)
    assert web.get('/').text == '0'
    store.calls.clear()
    assert web.get('/read').text == '0'
    read, store.calls[:] = list(store.calls), []
    assert web.get('/').text == '1'
    return read, store.calls


@pytest.mark.parametrize('store', [DictStore, BytesStore])
def test_a_store_whose_load_returns_bytes_gets_the_calls_of_one_that_returns_text(make_app, store):
    """README: load may also return the record as UTF-8 bytes.  A read is load then touch (which never creates a
    session), a change load, load, save: the same for both, where a read of bytes used to be load, load, save."""
    read, change = calls_of_a_read_and_a_change(make_app, store())
    assert read == ['load', 'touch']
    assert change == ['load', 'load', 'save']


class AtomicBytesStore(BytesStore):
    """The same with an atomic update of its own, which compares what it holds, as bytes, with what it expects."""

    def __init__(self) -> None:
        super().__init__()
        self.expected: List[type] = []

    def update(self, sid: str, expected: Any, record: str, ttl: float) -> Tuple[bool, Optional[str]]:
        self.calls.append('update')
        self.expected.append(type(expected))
        current = self.load(sid)
        if current != expected:
            return False, current
        self.save(sid, record, ttl)
        return True, None


def test_a_store_whose_load_returns_bytes_gets_back_as_bytes_the_record_its_update_expects(make_app):
    """README: canister hands the record an update expects back as bytes, as load gave it (a database that holds
    bytes finds it equal); a read is load then update, a change load then update, as on a store of text."""
    store = AtomicBytesStore()
    read, change = calls_of_a_read_and_a_change(make_app, store)
    assert read == change == ['load', 'update', 'load', 'save']  # (canister's load and update; the update's own)
    assert set(store.expected) == {bytes}


def test_a_store_class_given_instead_of_an_instance_fails_the_install_saying_to_pass_an_instance(make_app, log_dir):
    with pytest.raises(canister.ConfigError, match=re.escape(
            'the session store DictStore given as Canister(store=...) is a class: pass an instance of it, '
            'Canister(store=DictStore())')):
        make_app(store=DictStore)
    assert 'WARNING' not in read_log(log_dir)


class SkeletonStore(DictStore):
    """The four required methods filled in, and the README skeleton's create left as it was."""

    def create(self, sid: str, record: str, ttl: float, user_key: Optional[str]) -> None: ...


def test_a_store_whose_create_is_left_empty_fails_the_install_saying_to_write_or_delete_it(make_app):
    """It used to install, and every session was lost: a new cookie at each request."""
    with pytest.raises(canister.ConfigError, match=re.escape(
            'the session store SkeletonStore has a create() method that does nothing (its body is `...`, `pass` or a '
            'docstring): write it, or delete it so that canister uses its own, built from save()')):
        make_app(store=SkeletonStore())


class EmptyDeleteStore(DictStore):
    """The other three required methods filled in, and the README skeleton's delete left as it was."""

    def delete(self, sid: str) -> bool: ...


class PassDeleteStore(DictStore):
    """A delete whose body is ``pass``."""

    def delete(self, sid: str) -> bool:
        pass


class DocumentedDeleteStore(DictStore):
    """A delete with a docstring alone."""

    def delete(self, sid: str) -> bool:
        """Forget the session."""


class AtomicEmptyDeleteStore(AtomicBytesStore):
    """An atomic update of its own (a logout then ends a session with its "ended" marker), and an empty delete."""

    def delete(self, sid: str) -> bool: ...


@pytest.mark.parametrize('store', [EmptyDeleteStore, PassDeleteStore, DocumentedDeleteStore, AtomicEmptyDeleteStore])
def test_a_store_whose_delete_does_nothing_fails_the_install_saying_a_logout_would_not_stick(make_app, store):
    """It used to install, and a logout after a streamed answer's first chunk left the session logged in (the
    next test shows the delete that logout needs)."""
    with pytest.raises(canister.ConfigError, match='^%s$' % re.escape(
            'canister: the session store %s has a delete() method that does nothing (its body is `...`, `pass` or a '
            'docstring): write it: canister forgets sessions with it, and without it a logout after a streamed '
            'answer\'s first chunk would not stick, leaving the session logged in (see "Writing a store" in the '
            'README)' % store.__name__)):
        make_app(store=store())


@pytest.mark.parametrize('store', [DictStore, AtomicBytesStore])
def test_a_logout_after_a_streamed_answers_first_chunk_sticks_by_the_stores_delete(make_app, store):
    """What the refusal above says an empty delete loses: the cookie can no longer change, so the session the logout
    moved away from, which the cookie still names, is deleted; the cookie then names nobody."""
    store = store()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)   # (DictStore's: no atomic update())
        app = make_app(store=store)
    app.route('/in', callback=lambda: setattr(canister.session, 'user', 'alice') or 'in')
    app.route('/who', callback=lambda: str(canister.session.user))

    @app.get('/stream')
    def stream() -> Any:
        yield 'a'
        canister.session.user = None
        yield 'b'

    web = client(app)
    sid = cookie_value(web.get('/in'))
    assert sid and web.get('/who').text == 'alice'
    store.calls.clear()
    assert web.get('/stream').text == 'ab'
    assert 'delete' in store.calls and sid not in store.records
    assert web.get('/who').text == 'None'


class EmptyTouchStore(DictStore):
    """The other three required methods filled in, the README skeleton's touch left as it was, and no atomic update
    (canister then extends with touch the life of a session that a request only reads)."""

    def touch(self, sid: str, ttl: float) -> None: ...


class OneStepEmptyTouchStore(EmptyTouchStore):
    """The same with a load_and_touch that extends a session's life as it reads it."""

    def load_and_touch(self, sid: str, ttl: float) -> Any:
        self.calls.append('load_and_touch')
        record = DictStore.load(self, sid)
        if record is not None:
            self.records[sid] = (record, time.time() + ttl)
        return record


class AtomicEmptyTouchStore(AtomicBytesStore):
    """An atomic update of its own (canister then never calls touch), and an empty touch."""

    def touch(self, sid: str, ttl: float) -> None:
        pass


def touches_on_a_read(app: Any, store: DictStore) -> bool:
    """Whether a request that only reads its session calls the store's touch (looked up at each call, so replaced
    here by one that notes its calls)."""
    store.touch = lambda sid, ttl: store.calls.append('touch')  # type: ignore[method-assign]
    app.route('/in', callback=lambda: setattr(canister.session, 'user', 'alice') or 'in')
    app.route('/who', callback=lambda: str(canister.session.user))
    web = client(app)
    assert web.get('/in').text == 'in'
    store.calls.clear()
    assert web.get('/who').text == 'alice'
    return 'touch' in store.calls


def empty_touch_words(store: Any, timeout: int) -> str:
    return ('The session store %s has a touch() method that does nothing (its body is `...`, `pass` or a docstring): '
            'canister extends with it the life of a session that a request only reads, so such a session ends '
            'session_timeout (%d s) after its last change, however much it is used, where the store keeps the ttl '
            'that save() gives; write it (see "Writing a store" in the README)' % (type(store).__name__, timeout))


@pytest.mark.parametrize('store, config', [
    (EmptyTouchStore, {'session_timeout': '600'}),
    (OneStepEmptyTouchStore, {'session_timeout': '600', 'session_max_age': '86400'}),  # (no load_and_touch then)
], ids=['four-methods', 'load_and_touch-under-max_age'])
def test_a_store_whose_touch_does_nothing_where_canister_calls_it_is_warned_at_install(log_dir, store, config):
    """It installed without a word, and a session that requests only read ended session_timeout after its last
    change, in use or not.  A WARNING, not a refusal as for an empty delete: such a session ends sooner, never
    later, and a store that keeps no expiry of canister's loses nothing."""
    store = store()
    app, said = install_warned(log_dir, config, store=store)
    try:
        words = empty_touch_words(store, 600)
        assert words in said
        assert logged(log_dir, words) == 'WARNING'
        assert touches_on_a_read(app, store)
    finally:
        app.uninstall(True)


@pytest.mark.parametrize('store, config, touched', [
    (AtomicEmptyTouchStore, {}, False),
    (OneStepEmptyTouchStore, {'session_timeout': '600'}, False),   # (every read extends the session)
    (EmptyTouchStore, {'session_timeout': '0'}, True),              # (nothing slides: touch extends nothing)
], ids=['atomic-update', 'load_and_touch', 'no-timeout'])
def test_a_store_whose_touch_does_nothing_where_it_loses_nothing_is_not_warned(log_dir, store, config, touched):
    """README: canister calls touch only on a store without an atomic update, and not while a load_and_touch
    extends every read; without session_timeout it is called with 0 (forever), which a session has already."""
    store = store()
    app, said = install_warned(log_dir, config, store=store)
    try:
        assert [text for text in said if 'touch()' in text] == []
        assert 'touch()' not in read_log(log_dir)
        assert touches_on_a_read(app, store) is touched
    finally:
        app.uninstall(True)


class UnansweringStore(DictStore):
    """An update that does its work and forgets to return its answer."""

    def update(self, sid: str, expected: str, record: str, ttl: float) -> Any:
        self.calls.append('update')
        if self.load(sid) == expected:
            self.save(sid, record, ttl)


def test_a_store_whose_update_returns_none_answers_500_with_an_error_line_naming_the_store_and_method(
        make_app, log_dir):
    """It used to answer 500 with ``TypeError: cannot unpack non-iterable NoneType object`` in a traceback of
    canister's code, which named neither the store nor the method."""
    store = UnansweringStore()
    app = counter_app(make_app, store=store)
    app.route('/read', callback=lambda: str(canister.session.data['counter']))
    web = client(app)
    assert web.get('/').text == '0'
    answer = web.get('/read', expect_errors=True)
    assert (answer.status_int, answer.text) == (500, 'Internal server error: the session could not be saved\n')
    assert logged(log_dir, 'Session not saved: the session store UnansweringStore returned None from update(), which '
                  'must return (True, None) when it replaced the record, else (False, the record stored now), or '
                  '(False, None) when the session is gone (see "Writing a store" in the README)') == 'ERROR'
    assert 'Traceback' not in read_log(log_dir) and 'Set-Cookie' not in answer.headers


def test_the_readme_says_to_delete_the_optional_methods_a_store_does_not_implement():
    section = writing_a_store()
    assert ('Delete the methods of the skeleton that your store does not implement: one left with its `...` body '
            'would be called, and would do nothing.') in section
    assert ('The install refuses a store whose `load`, `save`, `delete`, `create`, `update`, `load_and_touch`, '
            '`sessions_of` or `count_of` does nothing (a body of `...`, `pass` or a docstring alone)') in section


def test_the_readme_says_what_an_empty_delete_or_touch_gets_at_install():
    section = ' '.join(writing_a_store().split())
    assert ("such a `delete` would leave logged in the session that a logout after a streamed answer's first chunk "
            "deletes") in section
    assert ("`... has a delete() method that does nothing (...): write it: canister forgets sessions with it, and "
            "without it a logout after a streamed answer's first chunk would not stick, leaving the session logged "
            "in`") in section
    assert ('A `touch` that does nothing is not refused: canister calls it only on a store without an atomic '
            '`update`') in section
    assert ('Where canister does call it and `session_timeout` slides, the install logs a WARNING, as a '
            '`CanisterWarning` too') in section
    shown = empty_touch_words(canister.SessionStore(), 3600).replace('SessionStore', 'MyStore')
    shown = shown.replace('(its body is `...`, `pass` or a docstring)', '(...)')
    assert '`%s`' % shown.replace(' (see "Writing a store" in the README)', '') in section


def test_the_readme_says_the_expiry_sessions_of_gives_is_a_time_in_epoch_milliseconds():
    section = writing_a_store()
    assert '(sid, record, expiry in ms since the epoch, 0: never)' in section
    assert ('`sessions_of(user_key)` gives each session with its expiry as a time, in milliseconds since the epoch '
            '(`int((time.time() + ttl) * 1000)` for a session saved with `ttl`), not the time it has left: '
            '`plugin.sessions_of` takes a session whose expiry is past for ended and does not list it, so a store '
            'that gives the time left lists no session at all.') in section


def test_a_file_that_is_no_sqlite_database_fails_the_install_with_a_config_error_by_its_public_name(
        make_app, tmp_path):
    path = tmp_path / 'sessions.db'
    path.write_bytes(b'not a database, but text of the app\n' * 200)
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store='sqlite:///%s' % path)
    assert type(raised.value) is canister.ConfigError
    assert traceback.format_exception_only(type(raised.value), raised.value)[0].startswith(
        'canister.ConfigError: canister.session_store: the SQLite file %s cannot be used: ' % path)


def test_refused_redis_credentials_fail_the_install_with_a_config_error_by_its_public_name(make_app, redis_server):
    admin = redis.Redis(host=redis_server.host, port=redis_server.port)
    try:
        admin.acl_setuser('shop', enabled=True, passwords=['+right'], keys=['*'], commands=['+@all'])
    finally:
        admin.close()
    with pytest.raises(canister.ConfigError) as raised:
        make_app(session_store='redis://shop:wrong@%s:%d/0' % (redis_server.host, redis_server.port))
    assert type(raised.value) is canister.ConfigError
    assert traceback.format_exception_only(type(raised.value), raised.value)[0].startswith(
        'canister.ConfigError: canister.session_store: Redis refused the credentials: ')


class FailingTidyStore(DictStore):
    """A tidy of one's own that fails partway, keeping no count of what it removed."""

    def tidy(self, batch: int) -> int:
        raise canister.StoreUnavailable('the test store is down')


class SilentTidyStore(DictStore):
    """A tidy that does its work and forgets to return how many entries it removed."""

    def tidy(self, batch: int) -> Any:
        self.calls.append('tidy')


def installed(make_app: Any, store: DictStore) -> canister.Canister:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', canister.CanisterWarning)
        app = make_app(store=store)
    [plugin] = [plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)]
    return plugin


def test_a_failed_tidy_of_a_store_that_keeps_no_count_says_the_count_is_not_known(make_app, log_dir):
    """It used to say ``failed after removing ? entries``."""
    plugin = installed(make_app, FailingTidyStore())
    with pytest.raises(canister.StoreUnavailable) as raised:
        plugin.tidy_sessions()
    assert raised.value.removed is None
    words = ('Session: tidying the store failed; how many entries of ended sessions it removed first is not known '
             '(FailingTidyStore keeps no tidy_removed): the test store is down')
    assert logged(log_dir, words) == 'WARNING'
    assert words.split(' (')[0] in README


def test_a_tidy_that_returns_none_raises_a_canister_error_naming_the_store_and_what_tidy_must_return(
        make_app, log_dir):
    """It used to raise ``TypeError: int() argument must be ... not 'NoneType'``."""
    store = SilentTidyStore()
    plugin = installed(make_app, store)
    words = ('the session store SilentTidyStore returned None from tidy(), which must return how many entries it '
             'removed (an int, 0 for none) (see "Writing a store" in the README)')
    with pytest.raises(canister.CanisterError, match='^%s$' % re.escape(words)):
        plugin.tidy_sessions()
    assert store.calls == ['tidy']
    assert logged(log_dir, 'Session: tidying the store: ' + words) == 'ERROR'
    assert '`tidy(batch)`' in writing_a_store() and 'returns how many' in writing_a_store()


class ListingDictStore(DictStore):
    """The four methods, with the guarantees (an atomic update, create listing sessions by user, sessions_of) and
    count_of, as README "Writing a store" writes them; ``wrong`` (a test's) turns the answer of one of sessions_of and
    count_of into a wrong one."""

    def __init__(self, wrong_method: str = '', wrong: Any = None) -> None:
        super().__init__()
        self.users: dict = {}
        self.wrong_method, self.wrong = wrong_method, wrong

    def create(self, sid: str, record: str, ttl: float, user_key: Optional[str]) -> None:
        self.calls.append('create')
        self.save(sid, record, ttl)
        if user_key is not None:
            self.users.setdefault(user_key, []).append(sid)

    def update(self, sid: str, expected: str, record: str, ttl: float) -> Tuple[bool, Optional[str]]:
        self.calls.append('update')
        current = DictStore.load(self, sid)  # (the store's own read, whatever a test puts in self.load)
        if current != expected:
            return False, current
        self.save(sid, record, ttl)
        return True, None

    def sessions_of(self, user_key: str) -> Any:
        self.calls.append('sessions_of')
        listed = [(sid, self.records[sid][0], 0) for sid in self.users.get(user_key, ())
                  if DictStore.load(self, sid)]
        return self.wrong(listed) if self.wrong_method == 'sessions_of' else listed

    def count_of(self, user_key: str) -> Any:
        self.calls.append('count_of')
        count = len(self.users.get(user_key, ()))
        return self.wrong(count) if self.wrong_method == 'count_of' else count


#: Wrong answers of a store's sessions_of: (how the store makes it of the right one, as the ERROR line shows it).
WRONG_LISTINGS = {
    'None': (lambda listed: None, 'None'),
    'a dict': (lambda listed: {sid: record for sid, record, _ in listed}, 'a dict'),
    'pairs': (lambda listed: [(sid, record) for sid, record, _ in listed], 'a list of 2, the first a tuple of 2'),
    'an expiry as text': (lambda listed: [(sid, record, '0') for sid, record, _ in listed],
                          'a list of 2, the first a tuple of 3'),
}
#: Wrong answers of a store's count_of: (how the store makes it of the right one, as the ERROR line shows it).
WRONG_COUNTS = {
    'None': (lambda count: None, 'None'),
    'text': (lambda count: str(count), "a str '2'"),
    'a dict': (lambda count: {'count': count}, "a dict {'count': 2}"),
}
SESSIONS_OF_ANSWER = 'a list of (sid, record, expiry in ms since the epoch, 0: never) tuples'
COUNT_OF_ANSWER = 'how many sessions sessions_of(user_key) would give (an int, never fewer)'


def wrong_answer_words(method: str, shown: str) -> str:
    return ('the session store ListingDictStore returned %s from %s(), which must return %s (see "Writing a store" in '
            'the README)' % (shown, method, SESSIONS_OF_ANSWER if method == 'sessions_of' else COUNT_OF_ANSWER))


def listing_app(make_app: Any, store: ListingDictStore, **config: Any) -> Any:
    """An app that logs in as alice (POST /login), and lists (GET /mine) or ends her sessions (POST /end, all of
    them; POST /end-others, but the request's)."""
    app = make_app(store=store, **config)

    @app.post('/login')
    def login() -> str:
        canister.session.user = 'alice'
        return 'in'

    @app.get('/mine')
    def mine() -> str:
        return str(len(plugin_of(app).sessions_of('alice')))

    @app.post('/end')
    def end() -> str:
        return str(plugin_of(app).end_sessions('alice'))

    @app.post('/end-others')
    def end_others() -> str:
        return str(canister.session.end_other_sessions())

    return app


def log_in_one_after_the_other(clock: Any, *browsers: Any) -> List[str]:
    """Log each of ``browsers`` in as alice, a second apart on canister's clock (the cap per user ends the least
    recently used, and spares a session used within the last second); what each login answered."""
    answers = []
    for web in browsers:
        clock.advance(1.5)
        answers.append(web.post('/login').text)
    return answers


def plugin_of(app: Any) -> canister.Canister:
    [plugin] = [plugin for plugin in app.plugins if isinstance(plugin, canister.Canister)]
    return plugin


@pytest.mark.parametrize('path', ['GET /mine', 'POST /end', 'POST /end-others'])
@pytest.mark.parametrize('wrong', WRONG_LISTINGS)
def test_a_handler_whose_store_lists_a_users_sessions_wrongly_answers_500_with_an_error_line_naming_it(
        make_app, log_dir, path, wrong):
    """It used to answer Bottle's 500 page, with a TypeError or ValueError of canister's code in a traceback that
    named neither the store nor the method."""
    make, shown = WRONG_LISTINGS[wrong]
    store = ListingDictStore('sessions_of', make)
    app = listing_app(make_app, store, session_max_per_user=0)
    web = client(app)
    assert [browser.post('/login').text for browser in (client(app), web)] == ['in', 'in']
    method, url = path.split()
    answer = web.request(url, method=method, expect_errors=True)
    assert (answer.status_int, answer.text) == (500, 'Internal server error\n')
    assert logged(log_dir, 'Unhandled exception in %s: %s' % (path, wrong_answer_words('sessions_of', shown))) \
        == 'ERROR'
    assert 'Traceback' not in read_log(log_dir)
    assert web.get('/mine', expect_errors=True).status_int == 500  # (the session still there: nothing was ended)
    assert 'sessions_of' in store.calls


@pytest.mark.parametrize('wrong', WRONG_LISTINGS)
def test_a_script_whose_store_lists_a_users_sessions_wrongly_gets_a_canister_error_naming_it(
        make_app, log_dir, wrong):
    """It used to get a TypeError or ValueError of canister's code (``too many values to unpack``)."""
    make, shown = WRONG_LISTINGS[wrong]
    store = ListingDictStore('sessions_of', make)
    app = listing_app(make_app, store, session_max_per_user=0)
    assert [client(app).post('/login').text for _ in range(2)] == ['in', 'in']
    words = wrong_answer_words('sessions_of', shown)
    for call in (plugin_of(app).sessions_of, plugin_of(app).end_sessions):
        with pytest.raises(canister.CanisterError, match='^%s$' % re.escape(words)):
            call('alice')
    levels = [line.split()[2] for line in read_log(log_dir).splitlines() if line.endswith(' Session: ' + words)]
    assert levels == ['ERROR', 'ERROR']
    assert 'Traceback' not in read_log(log_dir)


@pytest.mark.parametrize('method, wrongs', [('count_of', WRONG_COUNTS), ('sessions_of', WRONG_LISTINGS)])
def test_a_login_whose_store_counts_or_lists_its_users_sessions_wrongly_stands_with_an_error_line_naming_it(
        make_app, log_dir, method, wrongs):
    """The cap per user reads count_of, then sessions_of: a wrong answer of either leaves the cap to the next login
    (as a store down does) and the login stands.  It used to log ``capping its user's sessions raised`` with a
    traceback of canister's code."""
    for wrong in wrongs:
        make, shown = wrongs[wrong]
        store = ListingDictStore(method, make)
        app = listing_app(make_app, store, session_max_per_user=1)
        app.route('/who', callback=lambda: str(canister.session.user))
        laptop, phone = client(app), client(app)
        assert laptop.post('/login').text == 'in'
        answer = phone.post('/login')  # (past the cap of one: sessions_of is read too)
        assert answer.text == 'in' and 'Set-Cookie' in answer.headers
        assert [web.get('/who').text for web in (laptop, phone)] == ['alice', 'alice']  # (both stand: no cap)
        sid = cookie_value(answer)[:6]
        assert logged(log_dir, 'Session: %s... logged in, but its user\'s sessions beyond session_max_per_user could '
                      'not be ended (left to the next login): %s' % (sid, wrong_answer_words(method, shown))) \
            == 'ERROR', wrong
    assert 'Traceback' not in read_log(log_dir)


def test_the_readme_says_what_a_wrong_answer_of_count_of_or_sessions_of_does():
    section = writing_a_store()
    assert ('A `count_of` or `sessions_of` that returns something else (None, a dict, a count as text, pairs instead '
            'of triples) is named the same way, at ERROR, with no traceback.') in section
    assert "answers canister's plain-text 500 `Internal server error`" in section
    assert 'A script gets that `CanisterError`, logged at ERROR' in section
    assert 'A login past the cap per user still stands, and leaves the cap to the next login' in section
    assert ('`Unhandled exception in GET /mine: the session store MyStore returned a dict from sessions_of(), which '
            'must return %s ...`' % SESSIONS_OF_ANSWER) in section


class OneStepListingStore(ListingDictStore):
    """The same with every optional method a request calls: load_and_touch and unlist too."""

    def load_and_touch(self, sid: str, ttl: float) -> Any:
        self.calls.append('load_and_touch')
        record = DictStore.load(self, sid)
        if record is not None:
            self.touch(sid, ttl)
        return record

    def unlist(self, user_key: str, sids: List[str]) -> None:
        self.calls.append('unlist')
        self.users[user_key] = [sid for sid in self.users[user_key] if sid not in sids]


TAKEN_AT_INSTALL = ('load', 'load_and_touch', 'create', 'update', 'count_of', 'unlist')


def test_a_store_method_replaced_after_the_install_is_never_called_but_those_looked_up_at_each_call(make_app, clock):
    """README: canister takes these methods from the store once, at install; a test that wraps one afterwards to
    count its calls sees none (the store's own are called), while sessions_of, looked up at each call, is heard."""
    store = OneStepListingStore()
    app = listing_app(make_app, store, session_max_per_user=1, session_timeout=600)
    replaced: List[str] = []
    for name in TAKEN_AT_INSTALL + ('sessions_of',):
        own = getattr(store, name)
        setattr(store, name, lambda *args, own=own, name=name: (replaced.append(name), own(*args))[1])
    laptop, phone = client(app), client(app)
    assert log_in_one_after_the_other(clock, laptop, phone) == ['in', 'in']  # (the phone's ends the laptop's)
    assert phone.get('/mine').text == '1' and phone.get('/mine').text == '1'
    assert set(TAKEN_AT_INSTALL) <= set(store.calls)  # (each was called: the store's own)
    assert replaced and set(replaced) == {'sessions_of'}
    section = writing_a_store()
    assert ('Canister takes `load`, `load_and_touch`, `create`, `update`, `count_of` and `unlist` from the store '
            'once, at install. One replaced on the store object afterwards, say by a test that wraps `update` to '
            'count its calls, is never called: replace it before `app.install`. The other methods are looked up at '
            'each call.') in section


class ChattyStore(OneStepListingStore):
    """Each method whose answer README says is not read returns something all the same."""

    def save(self, sid: str, record: str, ttl: float) -> Any:
        super().save(sid, record, ttl)
        return {'saved': sid[:1]}

    def touch(self, sid: str, ttl: float) -> Any:
        super().touch(sid, ttl)
        return 'touched ' + sid[:1]

    def create(self, sid: str, record: str, ttl: float, user_key: Optional[str]) -> Any:
        super().create(sid, record, ttl, user_key)
        return {'created': user_key}

    def unlist(self, user_key: str, sids: List[str]) -> Any:
        super().unlist(user_key, sids)
        return len(sids) - 7


def test_what_save_touch_create_and_unlist_return_is_not_read(make_app, log_dir, clock):
    store = ChattyStore()
    app = listing_app(make_app, store, session_max_per_user=1)
    app.route('/out', callback=lambda: canister.session.invalidate() or 'out')
    laptop, phone = client(app), client(app)
    assert log_in_one_after_the_other(clock, laptop, phone) == ['in', 'in']  # (the phone's ends the laptop's)
    assert [phone.get('/mine').text, phone.get('/out').text, phone.get('/mine').text] == ['1', 'out', '0']
    assert {'save', 'touch', 'create', 'unlist'} <= set(store.calls)
    assert 'ERROR' not in read_log(log_dir)
    assert 'What `save`, `touch`, `create` and `unlist` return is not read.' in writing_a_store()


class ConstantStore(DictStore):
    """Optional methods whose bodies return a constant: they do something (a store that keeps no users counts 0,
    an update that always replaces), though their bytecode is that of a documented empty body on Python 3.11."""

    def count_of(self, user_key: str) -> int:
        return 0

    def load_and_touch(self, sid: str, ttl: float) -> Optional[str]:
        """Documented, and returns a constant of its own."""
        return 'not-a-record'



class DocumentedSkeletonStore(DictStore):
    """The README skeleton's create with a docstring alone: it does nothing."""

    def create(self, sid: str, record: str, ttl: float, user_key: Optional[str]) -> None:
        """Store a new session."""


class NoneCountStore(DictStore):
    """A count_of whose body returns None: it does nothing."""

    def count_of(self, user_key: str) -> Any:
        return None


def test_a_store_method_that_returns_a_constant_is_not_taken_for_an_empty_one(make_app):
    """It was refused at install as a method that "does nothing" (its bytecode is that of an empty body with a
    docstring: only the constant differs), though the app's store was written as the README says."""
    make_app(store=ConstantStore())


@pytest.mark.parametrize('store, method', [(DocumentedSkeletonStore, 'create'), (NoneCountStore, 'count_of')])
def test_a_store_method_with_a_docstring_alone_or_returning_none_is_still_taken_for_an_empty_one(
        make_app, store, method):
    with pytest.raises(canister.ConfigError, match=re.escape(
            'the session store %s has a %s() method that does nothing' % (store.__name__, method))):
        make_app(store=store())
