"""Session stores in-process: the SQLite store, the store protocol and custom stores.

(Redis and multi-process servers are in tests/test_stores_processes.py.)
"""
import json
import sqlite3
import time
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import canister
from canister import session
from helpers import (Clock, WriteLock, at_once, client, cookie_value, cookieless_client, least_time, read_log,
                     sqlite_url, with_cookie)
from servers import RedisServer, wait_until
from session_kit import plugin_of

def add_store_routes(app):
    """A counter and a reader, the routes every app in this file serves."""

    @app.get('/')
    def index():
        session.data['counter'] = session.data.get('counter', -1) + 1
        return str(session.data['counter'])

    @app.get('/read')
    def read():
        return json.dumps([session.user, session.data])

    @app.get('/login')
    def login(name):
        session.user = name
        session.data['note'] = 'héllo ✓'
        return session.sid

    @app.get('/logout')
    def logout():
        session.invalidate()
        return 'bye'

    return app


class DictStore(canister.SessionStore):
    """The smallest custom store: a dict, ttl remembered but not enforced."""

    def __init__(self):
        self.records = {}
        self.calls = []

    def load(self, sid):
        self.calls.append('load')
        return self.records.get(sid)

    def save(self, sid, record, ttl):
        self.calls.append('save')
        assert isinstance(record, str)
        self.records[sid] = record

    def touch(self, sid, ttl):
        self.calls.append('touch')

    def delete(self, sid):
        self.calls.append('delete')
        self.records.pop(sid, None)


class DownStore(DictStore):
    """A store whose backend cannot be reached."""

    def load(self, sid):
        raise canister.StoreUnavailable('the test store is down')

    def save(self, sid, record, ttl):
        raise canister.StoreUnavailable('the test store is down')

    def check(self):
        return 'connection refused (test)'


# --------------------------------------------------------------------------
# SQLite through the app

def test_a_sqlite_url_with_an_absolute_path_keeps_sessions_in_that_file(make_app, tmp_path):
    path = tmp_path / 's.db'
    web = cookieless_client(add_store_routes(make_app(session_store=sqlite_url(path))))
    sid = cookie_value(web.get('/'))
    assert path.exists()
    with sqlite3.connect(str(path)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert any(db.execute('SELECT count(*) FROM "%s"' % table).fetchone()[0] == 1 for table in tables)
    assert web.get('/', headers=with_cookie(sid)).text == '1'


def test_a_sqlite_url_with_a_relative_path_is_relative_to_the_working_directory(make_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    web = cookieless_client(add_store_routes(make_app(session_store='sqlite:///relative.db')))
    web.get('/')
    assert (tmp_path / 'relative.db').exists()


def test_the_sqlite_store_can_be_named_in_the_app_config(make_app, tmp_path):
    path = tmp_path / 'config.db'
    web = cookieless_client(add_store_routes(make_app(config={'session_store': sqlite_url(path)})))
    sid = cookie_value(web.get('/'))
    assert path.exists()
    assert web.get('/', headers=with_cookie(sid)).text == '1'


def test_sqlite_sessions_survive_a_restart_of_the_app(make_app, tmp_path):
    url = sqlite_url(tmp_path / 's.db')
    first = cookieless_client(add_store_routes(make_app(session_store=url)))
    sid = first.get('/login?name=alice').text
    first.get('/', headers=with_cookie(sid))
    first.app.uninstall(True)  # the first process is gone

    second = cookieless_client(add_store_routes(make_app(session_store=url)))
    user, data = json.loads(second.get('/read', headers=with_cookie(sid)).text)
    assert user == 'alice'
    assert data == {'note': 'héllo ✓', 'counter': 0}
    response = second.get('/', headers=with_cookie(sid))
    assert response.text == '1'
    assert cookie_value(response) is None  # same session, same cookie


def test_two_apps_on_one_sqlite_file_share_sessions(make_app, tmp_path):
    url = sqlite_url(tmp_path / 's.db')
    first = cookieless_client(add_store_routes(make_app(session_store=url)))
    second = cookieless_client(add_store_routes(make_app(session_store=url)))
    sid = cookie_value(first.get('/'))
    assert second.get('/', headers=with_cookie(sid)).text == '1'
    assert first.get('/', headers=with_cookie(sid)).text == '2'


def test_expired_sqlite_sessions_are_not_loaded(make_app, tmp_path, clock):
    url = sqlite_url(tmp_path / 's.db')
    first = cookieless_client(add_store_routes(make_app(session_store=url, session_timeout=1)))
    sid = first.get('/login?name=alice').text
    second = cookieless_client(add_store_routes(make_app(session_store=url, session_timeout=1)))
    clock.advance(0.99)
    assert json.loads(second.get('/read', headers=with_cookie(sid)).text)[0] == 'alice'  # just under the timeout
    clock.advance(1.01)
    response = second.get('/read', headers=with_cookie(sid))
    assert json.loads(response.text) == [None, {}]
    response = second.get('/', headers=with_cookie(sid))
    assert cookie_value(response) not in (None, sid)


def test_an_invalidated_sqlite_session_is_gone_after_a_restart(make_app, tmp_path):
    url = sqlite_url(tmp_path / 's.db')
    first = cookieless_client(add_store_routes(make_app(session_store=url)))
    sid = first.get('/login?name=alice').text
    first.get('/logout', headers=with_cookie(sid))
    second = cookieless_client(add_store_routes(make_app(session_store=url)))
    assert json.loads(second.get('/read', headers=with_cookie(sid)).text) == [None, {}]


def test_the_sqlite_file_is_in_wal_mode(make_app, tmp_path):
    path = tmp_path / 's.db'
    cookieless_client(add_store_routes(make_app(session_store=sqlite_url(path)))).get('/')
    with sqlite3.connect(str(path)) as db:
        assert db.execute('PRAGMA journal_mode').fetchone()[0].lower() == 'wal'


def test_sqlite_sessions_stay_separate_under_concurrent_threads(make_app, tmp_path):
    app = make_app(session_store=sqlite_url(tmp_path / 's.db'))

    @app.get('/')
    def index(me):
        session.data.setdefault('me', me)
        session.data['n'] = session.data.get('n', 0) + 1
        return json.dumps(session.data)

    problems = []

    def worker(index):
        web = cookieless_client(app)
        me = 'thread%d' % index
        sid = cookie_value(web.get('/?me=' + me))
        for n in range(2, 21):
            answer = json.loads(web.get('/?me=' + me, headers=with_cookie(sid)).text)
            if answer != {'me': me, 'n': n}:
                problems.append(answer)
                return

    at_once([lambda index=index: worker(index) for index in range(8)], timeout=30)  # (a request that failed fails the test)
    assert problems == []


# --------------------------------------------------------------------------
# configuration errors at install

def test_an_unknown_session_store_url_fails_at_install(make_app):
    with pytest.raises(canister.ConfigError, match='postgres'):
        make_app(session_store='postgres://x')


def test_a_sqlite_url_without_a_file_fails_at_install(make_app):
    with pytest.raises(canister.ConfigError):
        make_app(session_store='sqlite:///')


def test_a_sqlite_file_in_a_missing_directory_fails_at_install(make_app, tmp_path):
    with pytest.raises(canister.ConfigError):
        make_app(session_store=sqlite_url(tmp_path / 'no' / 'such' / 's.db'))


def test_a_store_object_without_the_store_methods_fails_at_install(make_app):
    with pytest.raises(canister.ConfigError):
        make_app(store=object())


def test_a_store_object_missing_one_method_fails_at_install_naming_it(make_app):
    class NoTouch:
        def load(self, sid):
            return None

        def save(self, sid, record, ttl):
            pass

        def delete(self, sid):
            pass

    with pytest.raises(canister.ConfigError, match='touch'):
        make_app(store=NoTouch())


# --------------------------------------------------------------------------
# the store protocol, on the stores canister ships

@pytest.fixture(params=['memory', 'sqlite'])
def store(request, tmp_path):
    made = canister.MemoryStore() if request.param == 'memory' else canister.SQLiteStore(str(tmp_path / 'p.db'))
    yield made
    made.close()


def test_a_store_gives_back_the_record_it_saved(store):
    store.save('a' * 43, '{"d":{"k":"\u00e9"}}', 60)
    assert store.load('a' * 43) == '{"d":{"k":"\u00e9"}}'


def test_a_store_answers_none_for_an_unknown_id(store):
    assert store.load('unknown' * 7) is None


def test_a_store_replaces_a_record_saved_again(store):
    store.save('s' * 43, 'one', 60)
    store.save('s' * 43, 'two', 60)
    assert store.load('s' * 43) == 'two'


def test_a_store_forgets_a_deleted_record(store):
    store.save('d' * 43, 'record', 60)
    store.delete('d' * 43)
    store.delete('never-saved')  # no error
    assert store.load('d' * 43) is None


def test_a_store_touch_keeps_the_record(store):
    store.save('t' * 43, 'record', 60)
    store.touch('t' * 43, 120)
    store.touch('never-saved', 120)  # no error, creates nothing
    assert store.load('t' * 43) == 'record'
    assert store.load('never-saved') is None


def test_a_store_keeps_a_record_with_no_ttl(store):
    store.save('f' * 43, 'forever', 0)
    assert store.load('f' * 43) == 'forever'


def test_a_store_reports_no_problem_when_it_is_reachable(store):
    assert store.check() is None


def test_a_sqlite_store_does_not_load_an_expired_record(tmp_path, clock):
    store = canister.SQLiteStore(str(tmp_path / 'e.db'))
    store.save('old' + 'x' * 40, 'record', 1)
    store.save('new' + 'x' * 40, 'record', 60)
    clock.advance(0.999)
    assert store.load('old' + 'x' * 40) == 'record'
    clock.advance(0.002)
    assert store.load('old' + 'x' * 40) is None
    assert store.load('new' + 'x' * 40) == 'record'
    store.close()


# --------------------------------------------------------------------------
# custom stores

def test_a_custom_store_passed_to_canister_keeps_the_sessions(make_app):
    store = DictStore()
    web = cookieless_client(add_store_routes(make_app(store=store)))
    sid = web.get('/login?name=bob').text
    assert list(store.records) == [sid]
    assert json.loads(store.records[sid]) is not None  # canister's records are JSON text
    assert json.loads(web.get('/read', headers=with_cookie(sid)).text) == ['bob', {'note': 'héllo ✓'}]
    web.get('/logout', headers=with_cookie(sid))
    assert store.records == {sid: canister._ENDING}  # the record is gone; the ended marker lives a minute


class BytesDictStore(DictStore):
    """A store whose database hands back bytes, as many client libraries do."""

    def load(self, sid):
        record = super().load(sid)
        return None if record is None else record.encode('utf-8')


def test_a_custom_store_that_loads_bytes_keeps_the_sessions(make_app):
    web = cookieless_client(add_store_routes(make_app(store=BytesDictStore())))
    sid = web.get('/login?name=bob').text
    assert json.loads(web.get('/read', headers=with_cookie(sid)).text) == ['bob', {'note': 'héllo ✓'}]


def test_a_custom_store_is_not_called_by_a_request_that_ignores_the_session(make_app):
    store = DictStore()
    app = make_app(store=store)

    @app.get('/plain')
    def plain():
        return 'ok'

    client(app).get('/plain', headers=with_cookie('c' * 43))
    assert store.calls == []


def test_a_store_that_is_down_makes_session_requests_answer_503(make_app):
    app = add_store_routes(make_app(store=DownStore()))
    responses = []
    # (at once, with no retries: the least of up to 3 tries, as another job's load only adds to a try's time)
    took, tries = least_time(lambda: responses.append(
        cookieless_client(app).get('/read', headers=with_cookie('z' * 43), status='*')), below=3)
    assert all(response.status_int == 503 and 'session store' in response.text for response in responses), responses
    assert took < 3, tries


def test_a_store_that_is_down_does_not_affect_requests_without_session(make_app):
    app = make_app(store=DownStore())

    @app.get('/plain')
    def plain():
        return 'ok'

    assert cookieless_client(app).get('/plain', headers=with_cookie('z' * 43)).text == 'ok'


def test_a_store_that_is_down_when_saving_makes_the_request_answer_503(make_app):
    class SaveDown(DictStore):
        def save(self, sid, record, ttl):
            raise canister.StoreUnavailable('the test store is down')

    app = add_store_routes(make_app(store=SaveDown()))
    response = cookieless_client(app).get('/', status='*')
    assert response.status_int == 503
    assert cookie_value(response) is None


def test_a_store_that_is_down_at_install_is_a_warning_not_an_error(make_app, log_dir):
    make_app(store=DownStore())
    warnings = [line for line in read_log(log_dir).splitlines() if ' WARNING ' in line]
    assert any('connection refused (test)' in line for line in warnings)


def test_a_corrupt_record_from_the_store_is_not_adopted(make_app, log_dir):
    store = DictStore()
    store.records['k' * 43] = 'not json at all'
    app = add_store_routes(make_app(store=store))
    response = cookieless_client(app).get('/', headers=with_cookie('k' * 43))
    assert response.text == '0'
    assert cookie_value(response) not in (None, 'k' * 43)
    assert any('corrupt' in line for line in read_log(log_dir).splitlines() if ' WARNING ' in line)


# --------------------------------------------------------------------------
# the memory store against a model: exact bound, least recently used evicted

_OPERATIONS = st.lists(st.tuples(st.sampled_from(['save', 'touch', 'delete', 'load']),
                                 st.integers(0, 11), st.integers(0, 999)), max_size=120)


@settings(max_examples=300, deadline=None)
@given(bound=st.integers(1, 6), operations=_OPERATIONS)
def test_the_memory_store_keeps_the_most_recently_used_sessions_up_to_its_bound(bound, operations):
    """One shard (a small bound): eviction is exactly least-recently-used, the size exactly bounded."""
    store = canister.MemoryStore(max_sessions=bound)
    model: 'OrderedDict[str, str]' = OrderedDict()
    for operation, number, value in operations:
        sid = 'sid-%02d' % number
        if operation == 'save':
            store.save(sid, 'record %d' % value, 0)
            model[sid] = 'record %d' % value
            model.move_to_end(sid)
            while len(model) > bound:
                model.popitem(last=False)
        elif operation == 'touch':
            store.touch(sid, 0)
            if sid in model:
                model.move_to_end(sid)
        elif operation == 'delete':
            store.delete(sid)
            model.pop(sid, None)
        else:
            assert store.load(sid) == model.get(sid)
        assert len(store) == len(model) <= bound
    for number in range(12):
        sid = 'sid-%02d' % number
        assert store.load(sid) == model.get(sid)


def test_the_memory_store_never_holds_more_sessions_than_its_bound_across_shards():
    store = canister.MemoryStore(max_sessions=20000)  # several shards
    for number in range(50000):
        store.save('session-%06d' % number, '{}', 0)
        assert len(store) <= 20000
    assert len(store) == 20000
    assert store.load('session-049999') == '{}'  # the newest are kept
    assert store.load('session-000000') is None  # the oldest went first


def test_a_record_in_the_object_form_of_unreleased_versions_is_not_adopted(make_app):
    """The object form ({"d":...}) of 2.0's development versions was never released: it is not read."""
    store = DictStore()
    created = int(time.time()) - 5
    store.records['k' * 43] = json.dumps({'d': {'counter': 41}, 'u': 'alice', 'c': created + 0.25, 'x': 0})
    app = add_store_routes(make_app(store=store))
    client = cookieless_client(app)
    assert client.get('/', headers=with_cookie('k' * 43)).text == '0'
    assert json.loads(client.get('/read', headers=with_cookie('k' * 43)).text) == [None, {}]


def test_a_record_written_by_another_coder_is_read_and_kept_up_to_date(make_app):
    """An array with spaces (not canister's own coding) is decoded each time, never taken apart as text."""
    store = DictStore()
    created_ms = int(time.time() * 1000) - 5000
    store.records['k' * 43] = '[ {"counter": 41},\t"alice" , %d , 0 , 0 ]' % created_ms
    app = add_store_routes(make_app(store=store))
    client = cookieless_client(app)
    for expected in ('42', '43'):
        assert client.get('/', headers=with_cookie('k' * 43)).text == expected
    assert json.loads(client.get('/read', headers=with_cookie('k' * 43)).text) == ['alice', {'counter': 43}]
    assert json.loads(store.records['k' * 43]) == [{'counter': 43}, 'alice', created_ms, 0, 0]


@pytest.mark.parametrize('record', ['[{}, null, "soon", 0]', '[{}, null, NaN, 0]', '[{}, null, 1e999, 0]',
                                    '[{}, null, 1700000000, {}]', '[{}, null, 1700000000]', '[[], null, 1, 0]',
                                    '[{}, null, 1700000000, 0]'])  # the last: 2.0's development form, never released
def test_a_record_with_a_bad_field_is_not_adopted(make_app, log_dir, record):
    store = DictStore()
    store.records['k' * 43] = record
    app = add_store_routes(make_app(store=store))
    response = cookieless_client(app).get('/', headers=with_cookie('k' * 43))
    assert response.status_int == 200 and response.text == '0'
    assert cookie_value(response) not in (None, 'k' * 43)
    assert any('corrupt' in line for line in read_log(log_dir).splitlines() if ' WARNING ' in line)


def test_the_memory_store_drops_expired_sessions_at_later_writes(clock):
    """Housekeeping looks at a shard's front again once its expiry is due, without any sweep."""
    store = canister.MemoryStore(max_sessions=100)
    for number in range(5):
        store.save('short-%d' % number, 'record', 1)
    assert len(store) == 5
    store.save('long', 'record', 3600)
    assert len(store) == 6  # nothing due yet
    clock.advance(0.999)
    assert store.load('short-4') == 'record'
    clock.advance(0.002)  # past every short expiry
    store.save('another', 'record', 3600)
    assert len(store) == 2
    assert store.load('long') == 'record' and store.load('short-0') is None


# --------------------------------------------------------------------------
# Redis through the app: a real redis-server, and what each request sends it

class RedisTraffic:
    """What a redis-server processed between two looks: read events (round trips) and commands."""

    def __init__(self, url):
        import redis
        self.client = redis.Redis.from_url(url)
        self.before = self._counts()

    def _counts(self):
        info = self.client.info('stats', 'commandstats')  # one INFO, so one read event of its own
        commands = {name[8:]: int(stats['calls']) for name, stats in info.items()
                    if name.startswith('cmdstat_') and name != 'cmdstat_info'}
        return int(info['total_reads_processed']), commands

    def since(self):
        """(round trips, {command: calls}) since the last look, not counting the looks."""
        reads, commands = self._counts()
        earlier_reads, earlier = self.before
        self.before = (reads, commands)
        changed = {name: calls - earlier.get(name, 0) for name, calls in commands.items()
                   if calls != earlier.get(name, 0)}
        return reads - earlier_reads - 1, changed

    def ttl(self, sid):
        return self.client.ttl('canister:session:' + sid)

    def expire(self, sid, seconds):
        self.client.expire('canister:session:' + sid, seconds)

    @classmethod
    def after_expire(cls, url, sid, seconds):
        """The traffic of the redis-server at ``url`` from the moment session ``sid`` was given ``seconds`` to
        live (less than it should have, so that what a request does to its expiry shows)."""
        traffic = cls(url)
        traffic.expire(sid, seconds)
        traffic.since()
        return traffic


def redis_app(make_app, server, **config):
    return add_store_routes(make_app(config=dict({'session_store': server.url}, **config)))


#: What the read of a session sends Redis, in one round trip: the read script (EVALSHA), and inside it the
#: GET, the PTTL, and the PEXPIRE that extends a session with less than the timeout left.
READ = {'evalsha': 1, 'get': 1, 'pttl': 1, 'pexpire': 1}


def test_a_request_that_only_reads_its_redis_session_is_one_round_trip(make_app, redis_server):
    app = redis_app(make_app, redis_server)
    sid = cookie_value(cookieless_client(app).get('/login?name=alice'))
    traffic = RedisTraffic.after_expire(redis_server.url, sid, 30)  # (less left than the timeout, so that the read extends it)
    assert json.loads(cookieless_client(app).get('/read', headers=with_cookie(sid)).text)[0] == 'alice'
    assert traffic.since() == (1, READ)


def test_with_session_timeout_0_a_redis_session_has_no_expiry_and_its_read_gives_it_none(make_app, redis_server):
    """README, Redis memory and restarts: with ``session_timeout = 0`` sessions have no expiry either."""
    app = redis_app(make_app, redis_server, session_timeout=0)
    sid = cookie_value(cookieless_client(app).get('/login?name=alice'))
    traffic = RedisTraffic(redis_server.url)
    assert traffic.ttl(sid) == -1
    assert json.loads(cookieless_client(app).get('/read', headers=with_cookie(sid)).text)[0] == 'alice'
    assert traffic.ttl(sid) == -1


def test_a_request_that_sends_the_old_id_of_a_moved_redis_session_is_one_round_trip_that_leaves_the_marker(
        make_app, redis_server):
    app = redis_app(make_app, redis_server)
    old = cookie_value(cookieless_client(app).get('/'))
    assert cookieless_client(app).get('/login?name=alice', headers=with_cookie(old)).text != old
    traffic = RedisTraffic.after_expire(redis_server.url, old, 20)  # (20 seconds of the marker's minute left)
    assert json.loads(cookieless_client(app).get('/read', headers=with_cookie(old)).text) == [None, {}]
    # the read script's GET finds the marker and returns it: no PTTL, no PEXPIRE, no second script
    assert traffic.since() == (1, {'evalsha': 1, 'get': 1})
    assert 0 < traffic.ttl(old) <= 20


def test_a_request_that_changes_its_redis_session_is_two_round_trips(make_app, redis_server):
    app = redis_app(make_app, redis_server)
    sid = cookie_value(cookieless_client(app).get('/'))
    traffic = RedisTraffic.after_expire(redis_server.url, sid, 30)
    assert cookieless_client(app).get('/', headers=with_cookie(sid)).text == '1'
    # the read, then the update script, with its get and set inside
    assert traffic.since() == (2, dict(READ, evalsha=2, get=2, set=1))


def test_with_session_redis_wait_a_change_on_one_server_is_three_round_trips_its_script_and_wait_in_one_pipeline(
        make_app, redis_server):
    """The read, then the update script and WAIT sent together, then the replica's acknowledgement that WAIT
    asks for: three, not four (averaged over some changes: a replica also acknowledges once a second unasked)."""
    import redis
    replica = RedisServer().start()
    try:
        replica_client = redis.Redis(port=replica.port)
        replica_client.replicaof('127.0.0.1', redis_server.port)
        wait_until(lambda: replica_client.info('replication')['master_link_status'] == 'up', 30, what='the replica')
        # (a timeout of 10 s, so a WAIT of 5 s: a replica a loaded machine leaves unscheduled for half a second still
        # confirms each change)
        app = redis_app(make_app, redis_server, session_redis_wait=1, session_redis_timeout=10)
        sid = cookie_value(cookieless_client(app).get('/'))
        traffic = RedisTraffic(redis_server.url)
        changes = 20
        for count in range(1, changes + 1):
            assert cookieless_client(app).get('/', headers=with_cookie(sid)).text == str(count)
        round_trips, commands = traffic.since()
    finally:
        replica.cleanup()
    assert commands['evalsha'] == 2 * changes and commands['wait'] == changes
    assert 3 * changes <= round_trips < 3.5 * changes


def test_an_error_answer_on_a_remembered_redis_session_is_one_round_trip_that_keeps_its_length(make_app, redis_server):
    app = add_store_routes(make_app(config={'session_store': redis_server.url}, catchall=True))

    @app.get('/remember')
    def remember():
        session.remember(3600)
        return 'kept'

    @app.get('/broken')
    def broken():
        session.data['lost'] = True
        raise RuntimeError('a bug in the handler')

    sid = cookie_value(cookieless_client(app).get('/login?name=alice'))
    assert cookieless_client(app).get('/remember', headers=with_cookie(sid)).text == 'kept'
    traffic = RedisTraffic.after_expire(redis_server.url, sid, 30)  # (less left than its length, so that the read gives it back)
    assert cookieless_client(app).get('/broken', headers=with_cookie(sid), expect_errors=True).status_int == 500
    # the read script alone: it gave the session its own length, and nothing is sent after the 500
    assert traffic.since() == (1, READ)
    assert 3590 < traffic.ttl(sid) <= 3600
    assert json.loads(cookieless_client(app).get('/read', headers=with_cookie(sid)).text) == ['alice', {'note': 'héllo ✓'}]


def test_a_logout_of_a_redis_session_is_two_round_trips(make_app, redis_server):
    app = redis_app(make_app, redis_server)
    sid = cookie_value(cookieless_client(app).get('/login?name=alice'))
    traffic = RedisTraffic.after_expire(redis_server.url, sid, 30)
    assert cookieless_client(app).get('/logout', headers=with_cookie(sid)).text == 'bye'
    # the read; the swap of the record for the "ended" marker (a script: only if the record is
    # unchanged), which expires after a minute (the user's set drops the id when next read after that)
    assert traffic.since() == (2, dict(READ, evalsha=2, get=2, set=1))
    assert 0 < traffic.ttl(sid) <= 60
    assert json.loads(cookieless_client(app).get('/read', headers=with_cookie(sid)).text) == [None, {}]


def test_reading_a_redis_session_extends_its_life_to_the_timeout(make_app, redis_server):
    app = redis_app(make_app, redis_server, session_timeout=600)
    sid = cookie_value(cookieless_client(app).get('/login?name=alice'))
    traffic = RedisTraffic(redis_server.url)
    traffic.expire(sid, 30)
    cookieless_client(app).get('/read', headers=with_cookie(sid))
    assert 590 <= traffic.ttl(sid) <= 600


def test_reading_a_redis_session_with_more_life_left_than_the_timeout_leaves_it_until_a_change(
        make_app, redis_server):
    """As after session_timeout was lowered: a read never shortens a session; a change gives it the timeout."""
    app = redis_app(make_app, redis_server, session_timeout=600)
    sid = cookie_value(cookieless_client(app).get('/login?name=alice'))
    traffic = RedisTraffic(redis_server.url)
    traffic.expire(sid, 5000)
    assert json.loads(cookieless_client(app).get('/read', headers=with_cookie(sid)).text)[0] == 'alice'
    assert 4990 <= traffic.ttl(sid) <= 5000
    assert cookieless_client(app).get('/', headers=with_cookie(sid)).text == '0'
    assert 590 <= traffic.ttl(sid) <= 600


def test_reading_a_remembered_redis_session_confirms_it_and_slides_its_own_length(make_app, redis_server):
    app = redis_app(make_app, redis_server, session_timeout=600)

    @app.get('/remember')
    def remember():
        session.remember(7200)
        return 'ok'

    sid = cookie_value(cookieless_client(app).get('/login?name=alice'))
    cookieless_client(app).get('/remember', headers=with_cookie(sid))
    traffic = RedisTraffic.after_expire(redis_server.url, sid, 30)
    response = cookieless_client(app).get('/read', headers=with_cookie(sid))
    assert cookie_value(response) == sid  # the persistent cookie, sent again
    assert traffic.since() == (2, dict(READ, evalsha=2, get=2, set=1))
    assert 7190 <= traffic.ttl(sid) <= 7200


def test_a_redis_session_with_a_max_age_is_read_and_touched_up_to_that_age(make_app, redis_server):
    app = redis_app(make_app, redis_server, session_timeout=600, session_max_age=60)
    sid = cookie_value(cookieless_client(app).get('/login?name=alice'))
    traffic = RedisTraffic(redis_server.url)
    cookieless_client(app).get('/read', headers=with_cookie(sid))
    # the update script, the record set to itself if no other request changed it: its GET and SET
    assert traffic.since() == (2, {'get': 2, 'evalsha': 1, 'set': 1})
    assert 50 <= traffic.ttl(sid) <= 60
    traffic.expire(sid, 10)
    traffic.since()
    cookieless_client(app).get('/read', headers=with_cookie(sid))
    assert traffic.since() == (2, {'get': 2, 'evalsha': 1, 'set': 1})
    assert 50 <= traffic.ttl(sid) <= 60


def test_a_flood_of_anonymous_sessions_evicts_anonymous_ones_and_no_login():
    """A bot making sessions by the thousand must not log people out: over its bound, the memory
    store evicts the least recently used anonymous session, and people's sessions stay."""
    store = canister.MemoryStore(max_sessions=300)
    people = ['user-%03d' % number for number in range(50)]
    for name in people:
        store.create('sid-' + name, '[{},"%s",0,0,0]' % name, 0, name)
    for number in range(5000):
        store.create('anonymous-%05d' % number, '[{},null,0,0,0]', 0, None)
        assert len(store) <= 300
    assert len(store) == 300
    for name in people:
        assert store.load('sid-' + name) is not None, name
        assert [sid for sid, _, _ in store.sessions_of(name)] == ['sid-' + name]
    assert store.load('anonymous-04999') is not None and store.load('anonymous-00000') is None


def test_a_store_full_of_logins_evicts_the_least_recently_used_one_and_unlists_it():
    store = canister.MemoryStore(max_sessions=300)
    for number in range(400):
        name = 'user-%03d' % number
        store.create('sid-' + name, '[{},"%s",0,0,0]' % name, 0, name)
        assert len(store) <= 300
    assert store.load('sid-user-000') is None and store.sessions_of('user-000') == []
    assert store.load('sid-user-399') is not None and len(store.sessions_of('user-399')) == 1
    assert sum(store.load('sid-user-%03d' % number) is not None for number in range(400)) == 300


def test_a_login_outlives_an_anonymous_flood_over_http(make_app):
    app = make_app(session_max=300, session_max_per_user=0)  # (no cap: one above the bound caps nothing)
    app.route('/login', callback=lambda: setattr(canister.session, 'user', 'alice') or 'ok')
    app.route('/count', callback=lambda: str(canister.session.data.setdefault('n', 1)))
    app.route('/me', callback=lambda: repr(canister.session.user))
    web = cookieless_client(app)
    alice = cookie_value(web.get('/login'))
    for _ in range(400):
        assert cookie_value(web.get('/count'))  # each one a new anonymous session
    assert web.get('/me', headers=with_cookie(alice)).text == "'alice'"


_MIXED_OPERATIONS = st.lists(st.tuples(st.sampled_from(['create', 'login', 'touch', 'delete', 'load', 'logout']),
                                       st.integers(0, 11)), max_size=150)


@settings(max_examples=300, deadline=None)
@given(bound=st.integers(1, 6), operations=_MIXED_OPERATIONS)
def test_the_memory_store_evicts_anonymous_sessions_first_and_least_recently_used_within_each_kind(bound, operations):
    """One shard: over the bound, the least recently used anonymous session goes; only when no anonymous
    session other than the one being saved is left does the least recently used session with a user go
    (never the one being saved).  The size is exactly bounded, and the user index follows.  A marker (the
    session moved to a new id) is no session: not counted, never evicted for one, and past ``bound``
    markers the oldest goes."""
    store = canister.MemoryStore(max_sessions=bound)
    model: 'OrderedDict[str, bool]' = OrderedDict()   # sid -> has a user, least recently used first
    markers: 'OrderedDict[str, None]' = OrderedDict()  # oldest first

    def admit(sid, user):
        model[sid] = user
        model.move_to_end(sid)
        if len(model) > bound:
            others = [other for other in model if other != sid]
            anonymous = [other for other in others if not model[other]]
            del model[anonymous[0] if anonymous else others[0]]

    for operation, number in operations:
        sid = 'sid-%02d' % number
        if operation in ('create', 'login'):
            if sid in model:
                continue  # ids are fresh and random: create never meets one in use
            user = 'person-%02d' % number if operation == 'login' else None
            store.create(sid, '[{},%s,0,0,0]' % json.dumps(user), 0, user)
            markers.pop(sid, None)
            admit(sid, user is not None)
        elif operation == 'touch':
            store.touch(sid, 0)
            if sid in model:
                model.move_to_end(sid)
        elif operation == 'delete':
            store.delete(sid)
            model.pop(sid, None)
            markers.pop(sid, None)
        elif operation == 'logout' and sid in model:  # the session moved to a new id: a marker, no user
            assert store.update(sid, store.load(sid), canister._MOVED, 60)[0]
            del model[sid]
            markers[sid] = None
            if len(markers) > bound:
                markers.popitem(last=False)
        assert len(store) == len(model) <= bound
    for number in range(12):
        sid = 'sid-%02d' % number
        if sid in model:
            assert store.load(sid) == '[{},%s,0,0,0]' % json.dumps('person-%02d' % number if model[sid] else None)
        else:
            assert store.load(sid) == (canister._MOVED if sid in markers else None), sid
        listed = [found for found, _, _ in store.sessions_of('person-%02d' % number)]
        assert listed == ([sid] if model.get(sid) else []), sid


# --------------------------------------------------------------------------
# SQLite housekeeping as the README states it: busy_timeout of 5 s, expired rows removed 200 at a time every 100 writes

def test_a_request_waits_for_a_sqlite_write_lock_held_for_less_than_5_seconds(make_app, tmp_path):
    path = tmp_path / 's.db'
    web = cookieless_client(add_store_routes(make_app(session_store=sqlite_url(path))))
    lock = WriteLock(path, 1.5)
    started = time.monotonic()
    response = web.get('/', status='*')  # a new session: a row to write
    waited = time.monotonic() - started
    lock.release()
    assert response.status_int == 200 and response.text == '0'
    assert waited >= 1.3  # it did wait for the lock
    with sqlite3.connect(str(path)) as db:
        assert db.execute('SELECT count(*) FROM canister_sessions').fetchone()[0] == 1


def test_a_request_gives_up_on_a_sqlite_write_lock_after_5_seconds_with_503(make_app, tmp_path):
    path = tmp_path / 's.db'
    web = cookieless_client(add_store_routes(make_app(session_store=sqlite_url(path))))
    lock = WriteLock(path, 30)
    started = time.monotonic()
    try:
        response = web.get('/', status='*')
        waited = time.monotonic() - started
    finally:
        lock.release()
    assert response.status_int == 503 and 'session store' in response.text
    assert 4.5 <= waited < 9.5, waited  # one 5 s busy timeout, not two


def test_expired_sqlite_rows_are_removed_200_at_a_time_every_100_writes(make_app, tmp_path, clock):
    path = tmp_path / 's.db'
    web = cookieless_client(add_store_routes(make_app(session_store=sqlite_url(path), session_timeout=1)))

    def new_sessions(count):  # each a new visitor's session: one write
        for _ in range(count):
            assert web.get('/').text == '0'

    def rows():
        with sqlite3.connect(str(path)) as db:
            return db.execute('SELECT count(*) FROM canister_sessions').fetchone()[0]

    new_sessions(250)  # writes 1-250; the cleanups at 100 and 200 found nothing expired
    assert rows() == 250
    clock.advance(2)  # every one of them has expired
    new_sessions(49)  # writes 251-299: no cleanup
    assert rows() == 299
    new_sessions(1)  # write 300: 200 of the 250 expired rows go
    assert rows() == 100
    new_sessions(99)  # writes 301-399
    assert rows() == 199
    new_sessions(1)  # write 400: the 50 expired rows left go, the 150 live ones stay
    assert rows() == 150


# --------------------------------------------------------------------------
# Redis as the README states it: pooled connections with 1 s timeouts and no retries

def test_redis_connections_are_pooled_and_a_frozen_server_answers_503_after_one_1_second_timeout(
        make_app, redis_server):
    app = redis_app(make_app, redis_server)
    web = cookieless_client(app)
    sid = cookie_value(web.get('/login?name=alice'))
    stats = RedisTraffic(redis_server.url).client  # a connection of the test's own, opened now

    def connections():
        return int(stats.info('stats')['total_connections_received'])

    before = connections()
    for _ in range(5):
        assert json.loads(web.get('/read', headers=with_cookie(sid)).text)[0] == 'alice'
    assert connections() == before  # the requests reused the pool's connection

    redis_server.freeze()  # SIGSTOP: connections are accepted, nothing is answered
    try:
        for round_ in range(3):  # (a round again only when another job's load slowed this one: a second try after
            if round_:           # the timeout would take 2 s or more in every round)
                time.sleep(1.1)  # past the second after the timeout in which requests answer 503 without asking
            started = time.monotonic()
            response = web.get('/read', headers=with_cookie(sid), status='*')
            waited = time.monotonic() - started
            assert response.status_int == 503 and 'session store' in response.text
            assert waited >= 0.9, waited  # one 1 s timeout: not shorter
            if waited < 1.9:
                break
    finally:
        redis_server.thaw()
    assert 0.9 <= waited < 1.9, waited  # one 1 s timeout: not shorter, and not a second try after it

    # back by itself, within the second after the timeout in which requests answer 503 without asking Redis
    wait_until(lambda: web.get('/read', headers=with_cookie(sid), status='*').status_int == 200, 30,
               what='the session read again')
    assert json.loads(web.get('/read', headers=with_cookie(sid)).text)[0] == 'alice'


#: Each kind of ``session_store`` URL, naming a frozen Redis: the server itself, its TLS handshake, a sentinel
#: and a Cluster node, each the first thing the store asks, and silent.
REDIS_URL_KINDS = {'redis': 'redis://127.0.0.1:%d/0', 'rediss': 'rediss://127.0.0.1:%d/0',
                   'redis+sentinel': 'redis+sentinel://127.0.0.1:%d/mymaster/0',
                   'redis+cluster': 'redis+cluster://127.0.0.1:%d'}


@pytest.mark.parametrize('kind', sorted(REDIS_URL_KINDS))
def test_session_redis_timeout_makes_a_frozen_redis_answer_503_sooner_than_the_default_1_second(
        make_app, redis_server, kind):
    url = REDIS_URL_KINDS[kind] % redis_server.port
    redis_server.freeze()  # SIGSTOP: connections are accepted, nothing is answered
    try:
        with pytest.warns(canister.CanisterWarning, match='unreachable for now'):
            apps = {'0.2': add_store_routes(make_app(session_store=url, session_redis_timeout='0.2')),
                    'default': add_store_routes(make_app(session_store=url))}
        for _ in range(3):  # (a round again only when another job's load slowed this one: each claim holds alone)
            time.sleep(1.1)  # past the earlier timeouts, after which requests answer 503 at once for a while
            waited = {}
            for name, app in apps.items():
                started = time.monotonic()
                response = cookieless_client(app).get('/', status='*')
                waited[name] = time.monotonic() - started
                assert response.status_int == 503 and 'session store' in response.text, (name, response.text)
            if waited['0.2'] < 0.7 and waited['default'] > 2.5 * waited['0.2']:
                break
    finally:
        redis_server.thaw()
    assert waited['0.2'] < 0.7 and waited['default'] >= 0.9, waited  # the 0.2 s well under the default 1 s
    assert waited['default'] > 2.5 * waited['0.2'], waited


@pytest.fixture
def stopped_monotonic(monkeypatch):
    """Canister's monotonic clock (``canister._monotonic``: when the second after a Redis timeout ends), stopped
    until the test moves it on: a request meant to come within that second does, however slow a loaded machine is
    (the real clock still times what Redis and the sockets wait)."""
    stopped = Clock(time.monotonic())
    monkeypatch.setattr(canister, '_monotonic', stopped)
    return stopped


def test_after_a_request_met_session_redis_timeout_the_others_answer_at_once_for_as_long_then_one_asks_again(
        make_app, redis_server, stopped_monotonic):
    """Under a 1 s timeout (the time requests answer at once after one met it: the timeout, 1 s at most), the
    request within that second answers without waiting; the one past it waits out the timeout again.  Told apart
    by the wait the second one skips, which the load of other jobs cannot make up (it adds to each request alike)."""
    web = cookieless_client(add_store_routes(make_app(session_store=redis_server.url, session_redis_timeout=1)))
    assert web.get('/').text == '0'                  # connected

    def waited():
        started = time.monotonic()
        web.get('/', status=503)
        return time.monotonic() - started

    redis_server.freeze()  # SIGSTOP: connections are accepted, nothing is answered
    try:
        first = waited()                             # waits out its 1 s
        at_once = waited()                           # within the second after it: answered without asking Redis
        stopped_monotonic.advance(1.1)
        again = waited()                             # past it: one request asks Redis again, and waits
    finally:
        redis_server.thaw()
    assert first >= 0.95 and again >= 0.95 and at_once < min(first, again) - 0.5, (first, at_once, again)


def test_with_a_session_redis_timeout_above_1_second_requests_ask_redis_again_1_second_after_a_timeout(
        make_app, redis_server):
    """The 503 says ``Retry-After: 1``: a client that waits that second is served once Redis answers, though each
    command may wait 3 s (the others used to answer 503 at once for the timeout's whole 3 s)."""
    web = cookieless_client(add_store_routes(make_app(session_store=redis_server.url, session_redis_timeout=3)))
    assert web.get('/').text == '0'                  # connected
    redis_server.freeze()  # SIGSTOP: connections are accepted, nothing is answered
    try:
        started = time.monotonic()
        timed_out = web.get('/', status=503)         # waits out its 3 s
        assert time.monotonic() - started >= 2.9
    finally:
        redis_server.thaw()                          # SIGCONT: Redis answers again at once
    assert timed_out.headers['Retry-After'] == '1'
    time.sleep(1.2)
    assert web.get('/').text == '0'                  # asked again, and served (its cookieless session is new)


def test_with_a_session_redis_timeout_above_1_second_the_readiness_probe_asks_redis_again_1_second_after_a_timeout(
        make_app, redis_server, stopped_monotonic):
    app = add_store_routes(make_app(session_store=redis_server.url, session_redis_timeout=3))
    web = cookieless_client(app)
    assert web.get('/').text == '0'                  # connected
    redis_server.freeze()  # SIGSTOP: connections are accepted, nothing is answered
    try:
        started = time.monotonic()
        web.get('/', status=503)                     # waits out its 3 s
        timed_out = time.monotonic() - started
        started = time.monotonic()
        problem = plugin_of(app).store_problem()     # within the second after it: that request's words, at once
        probed = time.monotonic() - started
    finally:
        redis_server.thaw()                          # SIGCONT: Redis answers again at once
    # (at once: a tenth of a second at most for its quick PING, not the timeout's 3 s, which load only lengthens)
    assert timed_out >= 2.9 and probed < timed_out / 2, (timed_out, probed)
    assert 'unavailable: Timeout' in problem, problem
    stopped_monotonic.advance(1.2)
    assert plugin_of(app).store_problem() is None    # asked again (a PING), not for the timeout's whole 3 s


def a_user_with_many_listed_sessions(web, traffic, name, count=300_000):
    """Log ``name`` in, then list ``count`` more ids in its set of sessions (``<prefix>user:<key>``), as years of
    logins without ``session_max_age`` leave it: SMEMBERS of it takes Redis longer than 0.01 s."""
    before = set(traffic.client.keys('canister:session:user:*'))
    web.get('/login?name=%s' % name)
    user_set, = set(traffic.client.keys('canister:session:user:*')) - before
    for start in range(0, count, 20_000):
        traffic.client.sadd(user_set, *('%022d' % number for number in range(start, start + 20_000)))


def test_a_listing_that_takes_redis_longer_than_the_timeout_answers_503_and_other_requests_are_served_once_it_ends(
        make_app, redis_server):
    """Redis runs one command at a time: SMEMBERS of 300,000 ids holds it up for some 50 ms, every client's
    command with it, so the requests of that time answer 503 as in a stall; they are served again as soon as it is
    done (what the stall mode holds after a timeout, ``session_redis_timeout`` at most, lies inside that time)."""
    app = redis_app(make_app, redis_server, session_redis_timeout=0.01)
    traffic = RedisTraffic(redis_server.url)
    bob = cookie_value(cookieless_client(app).get('/login?name=bob'))
    a_user_with_many_listed_sessions(cookieless_client(app), traffic, 'alice')
    for _ in range(3):  # (a listing again only when another job's load slowed the requests after it: a stall
        traffic.client.slowlog_reset()  # held for a second would outlast the listing by that much in every round)
        with pytest.raises(canister.StoreUnavailable, match='Timeout reading'):
            plugin_of(app).end_sessions('alice')   # (an admin's script: its listing of alice's set times out)
        timed_out = time.monotonic()
        wait_until(lambda: cookieless_client(app).get('/read', headers=with_cookie(bob), status='*').status_int == 200,
                   30, interval=0.005, what="bob's session read again")
        served_again = time.monotonic() - timed_out
        busy = [entry['duration'] / 1e6 for entry in traffic.client.slowlog_get(16)
                if entry['command'].upper().startswith(b'SMEMBERS')]
        assert len(busy) == 1, busy  # (slowlog: over 10 ms)
        if served_again < busy[0] + 0.75:
            break
    # (the margin is a loaded machine's scheduling, well short of the second a stall holds)
    assert served_again < busy[0] + 0.75, (served_again, busy)
