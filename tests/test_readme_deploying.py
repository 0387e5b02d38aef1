"""The README's Deploying section, its blocks as written: its ``app.ini`` and ``app.py`` in a directory of their own,
served by its gunicorn or waitress command (port 8000 changed to a free one, the app's directory ``/srv/shop`` to
the test's own) behind a real nginx that terminates TLS
(a certificate made by openssl) and holds the section's ``location`` block, the very text of the README.

The test's client connects to nginx from 127.0.0.2, so that the client's address differs from the proxy's
(127.0.0.1, the one in ``trusted_proxies``)."""
import http.client
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from typing import Callable, Dict, Iterator, List, Optional

import bottle
import pytest

import canister
from helpers import log_entries, readme_section, signed_token
from redis_topologies import make_certificates
from servers import REPO_ROOT, _terminate, held_port, served_on_a_free_port, wait_until

SECTION = readme_section('## Deploying')
INI = re.findall(r'```ini\n(.*?)```', SECTION, re.S)[0]
APP_PY = re.findall(r'```python\n(.*?)```', SECTION, re.S)[0]
GUNICORN, WAITRESS = re.findall(r'```sh\n(.*?)\n```', SECTION, re.S)
LOCATION = re.findall(r'```nginx\n(.*?)```', SECTION, re.S)[0]
CLIENT = '127.0.0.2'
FORGED = '198.51.100.66'
SECRET = 'a-secret-of-32-bytes-or-more-for-hs256'
APP_DIR = '/srv/shop'


def ini_in(directory: pathlib.Path, ini: str = INI) -> str:
    """The section's ``app.ini`` for an app in ``directory`` in place of /srv/shop."""
    return ini.replace(APP_DIR, str(directory))


def nginx_binary() -> str:
    found = shutil.which('nginx') or ('/usr/sbin/nginx' if os.access('/usr/sbin/nginx', os.X_OK) else None)
    assert found, 'nginx was not found (scripts/test.sh installs nginx-light)'
    return found


class Process:
    """A server process of the test's own (a session leader, its output in a file), stopped at the end."""

    def __init__(self, command: List[str], cwd: pathlib.Path, env: Optional[Dict[str, str]] = None,
                 name: str = 'server') -> None:
        self.output_path = cwd / ('%s.out' % name)
        with open(self.output_path, 'ab') as output:
            self.proc = subprocess.Popen(command, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=output,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.output_path.read_text(errors='replace')

    def stop(self) -> None:
        _terminate(self.proc, signal.SIGTERM, 10)

    @staticmethod
    def on_a_free_port(start: Callable[[int], 'Process'], outputs: List[pathlib.Path],
                       what: str) -> 'tuple[Process, int]':
        """``start(port)`` on a free port, and its port, once it accepts connections there; on another port if a test
        run beside this one took that one before it listened (``outputs``: the files it writes its errors to)."""
        started: Dict[int, Process] = {}

        def start_once(port: int) -> subprocess.Popen:
            started[port] = start(port)
            return started[port].proc
        _, port = served_on_a_free_port(start_once, accepts, outputs, timeout=60, what=what)
        return started[port], port

    def wait_for_exit(self, what: str) -> None:
        """Wait for the server to give up by itself: 90 s, beyond gunicorn's default graceful timeout (30 s, which
        its master may wait for a worker still booting when another failed), its output told on a timeout."""
        try:
            wait_until(lambda: self.proc.poll() is not None, 90, what=what)
        except Exception as exc:
            raise AssertionError('%s\n%s' % (exc, self.output())) from None


def accepts(port: int) -> bool:
    try:
        socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Deployment:
    """The section's app in ``directory``, served by ``command`` behind nginx with the ``location`` block."""

    def __init__(self, directory: pathlib.Path, command: str, store: str, app_py: str, location: str,
                 environ: Optional[Dict[str, Optional[str]]] = None, cwd: Optional[pathlib.Path] = None,
                 ini: str = INI) -> None:
        """``cwd``: the directory the server starts in (the app's own unless given), ``command`` naming the app's
        directory as ``/srv/shop``."""
        self.directory = directory
        self.location = location
        directory.mkdir(exist_ok=True)
        (directory / 'app.ini').write_text(ini_in(directory, ini))
        (directory / 'app.py').write_text(app_py)
        env = dict(os.environ, SHOP_JWT_SECRET=SECRET, SHOP_SESSION_STORE=store, PYTHONPATH=REPO_ROOT,
                   PYTHONUNBUFFERED='1')
        for name, value in (environ or {}).items():     # (None: left out of the environment)
            env.pop(name, None)
            if value is not None:
                env[name] = value

        def start_app(port: int) -> Process:
            program, *args = shlex.split(command.replace('8000', str(port)).replace(APP_DIR, str(directory)))
            module = {'gunicorn': 'gunicorn', 'waitress-serve': 'waitress'}[program]
            return Process([sys.executable, '-m', module, *args], cwd or directory, env, 'app')
        self.app, self.app_port = Process.on_a_free_port(start_app, [(cwd or directory) / 'app.out'], 'the app')
        self.nginx = None
        try:
            self.nginx, self.port = self._start_nginx()
        except BaseException:
            self.stop()
            raise

    def _start_nginx(self) -> 'tuple[Process, int]':
        """nginx and the port it listens on."""
        here = self.directory / 'nginx'
        here.mkdir()
        certificates = make_certificates(str(here / 'certificates'))
        self.ca = certificates['ca.crt']
        temp_paths = ''.join('%s_temp_path %s;\n' % (kind, here / kind)
                             for kind in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
        conf = here / 'nginx.conf'

        def start(port: int) -> Process:
            conf.write_text(
                'error_log %s/error.log;\nevents { worker_connections 64; }\nhttp {\naccess_log %s/access.log;\n%s'
                'server {\nlisten 127.0.0.1:%d ssl;\nssl_certificate %s;\nssl_certificate_key %s;\n%s}\n}\n'
                % (here, here, temp_paths, port, certificates['server.crt'], certificates['server.key'],
                   self.location.replace('8000', str(self.app_port))))
            return Process([nginx_binary(), '-p', str(here), '-e', str(here / 'error.log'), '-c', str(conf),
                            '-g', 'daemon off; pid %s;' % (here / 'nginx.pid')], here, name='nginx')
        return Process.on_a_free_port(start, [here / 'nginx.out', here / 'error.log'], 'nginx')

    @property
    def origin(self) -> str:
        """The origin a browser names for the shop: nginx's port is not HTTPS's default."""
        return 'https://shop.example:%d' % self.port

    def request(self, method: str, path: str, headers: Optional[Dict[str, str]] = None,
                body: Optional[str] = None) -> 'tuple[int, str]':
        """``method`` ``path`` over TLS through nginx, from 127.0.0.2, with the ``Host`` a browser sends for
        :attr:`origin` unless ``headers`` has another."""
        context = ssl.create_default_context(cafile=self.ca)
        connection = http.client.HTTPSConnection('127.0.0.1', self.port, context=context, timeout=30,
                                                 source_address=(CLIENT, 0))
        try:
            connection.request(method, path, body=body,
                               headers=dict({'Host': 'shop.example:%d' % self.port}, **(headers or {})))
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def get(self, path: str, headers: Optional[Dict[str, str]] = None) -> 'tuple[int, str]':
        return self.request('GET', path, headers)

    def logged(self, path: str, method: str = 'GET') -> Dict[str, str]:
        """The request line the app logged for ``path`` (JSON lines in ./logs/), once it is there."""
        def found() -> Optional[Dict[str, str]]:
            lines = [entry for entry in log_entries(self.directory / 'logs')
                     if entry['message'].startswith(method + ' ') and entry['message'].endswith(path)]
            return lines[0] if lines else None
        return wait_until(found, 30, what='the line of %s' % path)

    def stop(self) -> None:
        for process in (self.nginx, self.app):
            if process is not None:
                process.stop()


@pytest.fixture
def deploy(tmp_path: pathlib.Path) -> Iterator:
    started: List[Deployment] = []

    def start(command: str = GUNICORN, store: str = 'sqlite:///sessions.db', name: str = 'shop',
              app_py: str = APP_PY, location: str = LOCATION,
              environ: Optional[Dict[str, Optional[str]]] = None, cwd: Optional[pathlib.Path] = None,
              ini: str = INI) -> Deployment:
        started.append(Deployment(tmp_path / name, command, store, app_py, location, environ, cwd, ini))
        return started[-1]

    yield start
    for deployment in started:
        deployment.stop()


def test_the_section_is_in_the_contents_and_its_nginx_block_sets_the_headers_canister_reads():
    readme = (pathlib.Path(REPO_ROOT) / 'README.md').read_text(encoding='utf-8')
    assert '- [Deploying](#deploying)\n' in readme.split('\n## Install\n', 1)[0]
    assert 'X-Forwarded-For $proxy_add_x_forwarded_for;' in LOCATION
    assert 'X-Forwarded-Proto $scheme;' in LOCATION and 'Host $host:$server_port;' in LOCATION
    # (the line the WARNINGs and hints name is the block's, as written there)
    assert [line.strip() for line in LOCATION.splitlines() if ' Host ' in line] == [canister._NGINX_HOST_LINE]
    assert '--workers 2 --bind 127.0.0.1:8000' in GUNICORN


def test_through_nginx_and_gunicorn_the_log_has_the_real_client_not_a_forged_one_and_https_and_the_host(deploy):
    shop = deploy(app_py=VERSIONED)
    assert shop.get('/version?plain=1') == (200, 'v1\n')
    assert shop.get('/version?forged=1', {'X-Forwarded-For': FORGED}) == (200, 'v1\n')
    for path in ('/version?plain=1', '/version?forged=1'):
        line = shop.logged(path)
        assert line['message'] == 'GET %s%s' % (shop.origin, path)
        assert line['thread'].startswith(CLIENT + '-')
    assert FORGED not in (shop.directory / 'logs').joinpath(os.listdir(shop.directory / 'logs')[0]).read_text()
    assert shop.get('/ready') == (200, 'ready\n')
    assert (shop.directory / 'sessions.db').exists()


def test_through_nginx_and_the_readme_waitress_command_the_log_has_the_real_client_and_https(deploy):
    shop = deploy(WAITRESS, app_py=VERSIONED)
    assert shop.get('/version?forged=1', {'X-Forwarded-For': FORGED}) == (200, 'v1\n')
    line = shop.logged('/version?forged=1')
    assert line['message'] == 'GET %s/version?forged=1' % shop.origin
    assert line['thread'].startswith(CLIENT + '-')
    assert [entry for entry in log_entries(shop.directory / 'logs') if entry['level'] != 'INFO'] == []


def test_waitress_without_the_readmes_option_loses_the_client_and_https(deploy):
    plain = WAITRESS.replace(' --no-clear-untrusted-proxy-headers', '')
    assert plain == 'waitress-serve --listen=127.0.0.1:8000 app:app'
    shop = deploy(plain, app_py=VERSIONED)
    assert shop.get('/version?untrusted=1') == (200, 'v1\n')
    line = shop.logged('/version?untrusted=1')
    assert line['message'] == 'GET http://shop.example:%d/version?untrusted=1' % shop.port
    assert line['thread'].startswith('127.0.0.1-')


def paths_sentences() -> str:
    """The section's sentences on where app.ini and the relative paths are looked for."""
    return (SECTION.split('see *Rotating by renaming* under [Request logging](#request-logging)). ', 1)[1]
            .split('\n', 1)[0] + SECTION.split('\n`app.ini` is found beside `app.py`', 1)[1].split('\n', 1)[0])


def test_started_in_another_directory_the_app_reads_the_app_ini_beside_it(deploy, tmp_path: pathlib.Path):
    """A server started elsewhere (a systemd unit without WorkingDirectory=, ``gunicorn --pythonpath /srv/shop``):
    the section's app.py finds app.ini by its own path, so the log is JSON lines in the ini's absolute log_path and
    the client is the one nginx names (trusted_proxies); nothing is written where the server started."""
    assert "app.config.load_config(os.path.join(HERE, 'app.ini'))" in APP_PY
    assert 'HERE = os.path.dirname(os.path.abspath(__file__))' in APP_PY
    assert 'log_path = /srv/shop/logs\n' in INI and '# sqlite:////srv/shop/sessions.db, or a Redis URL' in APP_PY
    assert '`gunicorn --pythonpath /srv/shop app:app`' in paths_sentences()
    config = bottle.ConfigDict()
    config.load_config(str(tmp_path / 'missing.ini'))    # (what made the old app.py run on the defaults)
    assert dict(config) == {}
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    shop = deploy(GUNICORN.replace(' app:app', ' --pythonpath /srv/shop app:app'), app_py=VERSIONED, cwd=elsewhere,
                  store='sqlite:///%s' % (tmp_path / 'shop' / 'sessions.db'))
    assert shop.get('/version?elsewhere=1', {'X-Forwarded-For': FORGED}) == (200, 'v1\n')
    line = shop.logged('/version?elsewhere=1')           # (a JSON line in /srv/shop/logs)
    assert line['thread'].startswith(CLIENT + '-') and line['message'] == 'GET %s/version?elsewhere=1' % shop.origin
    assert (shop.directory / 'sessions.db').exists()
    assert sorted(path.name for path in elsewhere.iterdir()) == ['app.out']   # (the test's file of gunicorn's output)


@pytest.mark.parametrize('chdir', [False, True])
def test_relative_paths_are_taken_from_the_servers_current_directory_unless_gunicorn_is_told_chdir(
        deploy, tmp_path: pathlib.Path, chdir: bool):
    assert paths_sentences().startswith(
        "Relative paths (a `log_path` of `logs`, a store of `sqlite:///sessions.db`) are taken from the server's "
        "current directory, not from the app's: write them absolute, as here, or start the server in the app's "
        "directory (gunicorn's `--chdir /srv/shop`, systemd's `WorkingDirectory=/srv/shop`).")
    elsewhere = tmp_path / ('elsewhere-chdir' if chdir else 'elsewhere')
    elsewhere.mkdir()
    relative = INI.replace('log_path = /srv/shop/logs\n', 'log_path = logs\n')
    assert relative != INI
    option = ' --chdir /srv/shop' if chdir else ' --pythonpath /srv/shop'
    shop = deploy(GUNICORN.replace(' app:app', option + ' app:app'), app_py=VERSIONED, cwd=elsewhere,
                  ini=relative, name='relative-chdir' if chdir else 'relative')
    assert shop.get('/version?relative=1') == (200, 'v1\n')
    used, unused = (shop.directory, elsewhere) if chdir else (elsewhere, shop.directory)
    line = wait_until(lambda: [entry for entry in log_entries(used / 'logs')
                               if entry['message'].endswith('/version?relative=1')], 5, what='the request line')[0]
    assert line['thread'].startswith(CLIENT + '-')      # (app.ini was read all the same: JSON lines, the proxy)
    assert (used / 'sessions.db').exists()
    assert not (unused / 'logs').exists() and not (unused / 'sessions.db').exists()


def test_the_app_listens_on_127_0_0_1_only_where_a_client_reaching_it_could_forge_its_address(deploy):
    shop = deploy(app_py=VERSIONED)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((CLIENT, shop.app_port), timeout=2)
    direct = http.client.HTTPConnection('127.0.0.1', shop.app_port, timeout=30)
    direct.request('GET', '/version?direct=1', headers={'X-Forwarded-For': FORGED})
    assert direct.getresponse().status == 200
    direct.close()
    assert shop.logged('/version?direct=1')['thread'].startswith(FORGED + '-')


def test_through_nginx_ready_is_503_while_redis_is_down_and_ping_still_200(deploy, redis_server):
    """And, with ``log=False``, the probes' successes stay out of the log, where a 503 of ``/ready`` is in full."""
    shop = deploy(store=redis_server.url)
    assert shop.get('/ready') == (200, 'ready\n')
    redis_server.stop()
    assert shop.get('/ready') == (503, 'not ready\n')
    assert shop.get('/ping') == (200, 'ok\n')
    assert shop.logged('/ready')['level'] == 'INFO'
    entries = wait_until(lambda: [entry for entry in log_entries(shop.directory / 'logs')
                                  if entry.get('status') == 503] and log_entries(shop.directory / 'logs'), 5,
                         what='the 503 of /ready')
    messages = [entry['message'] for entry in entries]
    assert any(message.startswith('Not ready: the Redis session store is unavailable') for message in messages)
    assert [(entry['path'], entry['level']) for entry in entries if 'status' in entry] == [('/ready', 'ERROR')]
    assert [message for message in messages if '/ping' in message or '/ready' in message] == [
        'GET %s/ready' % shop.origin]
    redis_server.start()
    assert shop.get('/ready') == (200, 'ready\n')


def readme_app_from_the_environment(tmp_path, monkeypatch, uninstall_at_end):
    """The README's app.py run in ``tmp_path`` beside its app.ini, its secret and store from the environment."""
    (tmp_path / 'app.ini').write_text(ini_in(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('SHOP_JWT_SECRET', SECRET)
    monkeypatch.setenv('SHOP_SESSION_STORE', 'sqlite:///sessions.db')
    namespace: dict = {'__name__': 'app', '__file__': str(tmp_path / 'app.py')}
    exec(compile(APP_PY, 'README.md', 'exec'), namespace)
    return uninstall_at_end(namespace['app'])


def test_the_app_takes_its_secret_and_store_from_the_environment(tmp_path, monkeypatch, uninstall_at_end):
    app = readme_app_from_the_environment(tmp_path, monkeypatch, uninstall_at_end)
    assert app.config['canister.trusted_proxies'] == '127.0.0.1'
    app.route('/me', callback=canister.require_user(lambda: {'user': canister.session.user}))
    import webtest
    web = webtest.TestApp(app)
    assert web.get('/me', headers={'Authorization': 'Bearer ' + signed_token(SECRET)}).json['user']['sub'] == 'alice'
    web.get('/me', headers={'Authorization': 'Bearer ' + signed_token('another-secret-of-32-bytes-or-more')},
            status=401)
    assert web.get('/ready').text == 'ready\n'
    assert (tmp_path / 'sessions.db').exists()


def with_version(version: str) -> str:
    return APP_PY + "\n\n@app.get('/version')\ndef version():\n    return '%s\\n'\n" % version


#: The README's app.py with a route that is logged (``/ping`` and ``/ready`` take ``log=False``).
VERSIONED = with_version('v1')


@pytest.mark.parametrize('preload', [True, False])
def test_a_hup_of_gunicorn_with_preload_keeps_serving_the_old_code(deploy, preload):
    """With --preload, the new workers fork from the master, which imported app.py once; without it, each imports
    the file as it is now."""
    command = GUNICORN.replace(' app:app', ' --preload app:app') if preload else GUNICORN
    shop = deploy(command, name='preload' if preload else 'plain', app_py=with_version('v1'))
    assert shop.get('/version') == (200, 'v1\n')
    (shop.directory / 'app.py').write_text(with_version('v2'))
    booted = shop.app.output().count('Booting worker')
    shop.app.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: shop.app.output().count('Booting worker') >= booted + 2, 30, what='two new workers')
    wait_until(lambda: shop.app.output().count('Worker exiting') >= 2, 30, what='the old workers gone')
    assert {shop.get('/version') for _ in range(6)} == {(200, 'v1\n' if preload else 'v2\n')}


VISIT = '''

@app.get('/visit')
def visit():
    canister.session.data['visits'] = canister.session.data.get('visits', 0) + 1
    return 'visit\\n'
'''


def test_waitress_passing_the_headers_on_stores_sessions_unwarned_where_its_trusted_proxy_option_is_warned_of(deploy):
    shop = deploy(WAITRESS, name='passed', app_py=APP_PY + VISIT)
    assert shop.get('/visit') == (200, 'visit\n')
    assert shop.logged('/visit')['thread'].startswith(CLIENT + '-')
    assert [entry for entry in log_entries(shop.directory / 'logs') if entry['level'] != 'INFO'] == []
    # waitress's own way: the client's address in REMOTE_ADDR, X-Forwarded-For left in place, from no listed proxy
    own = WAITRESS.replace('--no-clear-untrusted-proxy-headers',
                           '--trusted-proxy=127.0.0.1 --trusted-proxy-headers="x-forwarded-for x-forwarded-proto"')
    shop = deploy(own, name='trusted', app_py=APP_PY + VISIT)
    assert shop.get('/visit') == (200, 'visit\n')
    warned = [entry['message'] for entry in log_entries(shop.directory / 'logs') if entry['level'] == 'WARNING']
    assert any('which is not in trusted_proxies' in message for message in warned), warned


ORDER = '''

@app.post('/order')
def order():
    return 'ordered %s\\n' % bottle.request.forms.get('item')
'''


def test_behind_nginx_on_a_port_of_its_own_a_same_origin_form_post_without_sec_fetch_site_is_taken(deploy):
    """A browser that sends no Sec-Fetch-Site names nginx's port in Host and Origin alike; the block passes the port
    on (``$host`` alone would drop it, and the app would take its own page for another origin and refuse it)."""
    shop = deploy(name='port', app_py=APP_PY + ORDER)
    assert shop.request('POST', '/order', {'Origin': shop.origin, 'Content-Type': 'application/x-www-form-urlencoded'},
                        'item=tea') == (200, 'ordered tea\n')
    assert shop.logged('/order', 'POST')['message'] == 'POST %s/order' % shop.origin
    assert [entry for entry in log_entries(shop.directory / 'logs') if entry['level'] != 'INFO'] == []
    # another site's page is still refused
    assert shop.request('POST', '/order', {'Origin': 'https://elsewhere.example',
                                           'Content-Type': 'application/x-www-form-urlencoded'}, 'item=tea')[0] == 403


def test_behind_nginx_the_port_the_app_sees_is_nginxs_own_not_what_the_client_wrote_after_the_colon(deploy):
    """nginx checks only the name before the colon of a Host against server_name; ``$http_host`` would pass the
    rest on as the client wrote it, to every URL the app builds from it."""
    shop = deploy(name='injected', app_py=VERSIONED)
    assert shop.get('/version?injected=1', {'Host': 'shop.example:1@evil.example'}) == (200, 'v1\n')
    assert shop.logged('/version?injected=1')['message'] == 'GET %s/version?injected=1' % shop.origin
    assert 'evil.example' not in ''.join(entry['message'] for entry in log_entries(shop.directory / 'logs'))


def test_behind_nginx_passing_host_without_its_port_a_same_origin_form_post_is_refused_and_the_warning_says_why(
        deploy):
    """``$host`` alone drops nginx's port: the app sees its own origin without it, refuses its own page's form from a
    browser that sends no Sec-Fetch-Site, and its WARNING names what nginx sent and the line that passes the port."""
    without_port = LOCATION.replace('Host $host:$server_port;', 'Host $host;')
    assert without_port != LOCATION
    shop = deploy(name='portless', app_py=APP_PY + ORDER, location=without_port)
    assert shop.request('POST', '/order', {'Origin': shop.origin, 'Content-Type': 'application/x-www-form-urlencoded'},
                        'item=tea')[0] == 403
    warned = [entry['message'] for entry in log_entries(shop.directory / 'logs') if entry['level'] == 'WARNING']
    assert len(warned) == 1, warned
    assert warned[0].endswith("; if it is this app's own page, the proxy 127.0.0.1 (in trusted_proxies) sent Host "
                              'shop.example and no X-Forwarded-Host (nginx: proxy_set_header Host $host:$server_port;))'
                              ), warned


def test_behind_nginx_as_the_section_sets_it_another_sites_form_post_is_refused_without_advice_on_the_proxy(deploy):
    """The block passes the public host, port and scheme: the refusal's WARNING must not tell to add the lines it
    has, as if the other site's page were the app's own."""
    shop = deploy(name='foreign', app_py=APP_PY + ORDER)
    assert shop.request('POST', '/order', {'Host': 'localhost:%d' % shop.port, 'Origin': 'https://evil.example',
                                           'Content-Type': 'application/x-www-form-urlencoded'}, 'item=tea')[0] == 403
    warned = [entry['message'] for entry in log_entries(shop.directory / 'logs') if entry['level'] == 'WARNING']
    assert len(warned) == 1, warned
    assert 'this app sees its own origin as https://localhost:%d; ' % shop.port in warned[0], warned
    assert warned[0].endswith('or give a route csrf=False)'), warned
    assert 'proxy' not in warned[0], warned


def test_on_https_default_port_the_host_with_443_is_the_same_origin_and_the_log_shows_the_port(tmp_path, monkeypatch,
                                                                                                  uninstall_at_end):
    """nginx on 443 passes ``shop.example:443``, which browsers leave out of their Origin."""
    (tmp_path / 'app.ini').write_text(ini_in(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('SHOP_JWT_SECRET', SECRET)
    monkeypatch.setenv('SHOP_SESSION_STORE', 'sqlite:///sessions.db')
    namespace: dict = {'__name__': 'app', '__file__': str(tmp_path / 'app.py')}
    exec(compile(APP_PY + ORDER, 'README.md', 'exec'), namespace)
    app = uninstall_at_end(namespace['app'])
    import webtest
    web = webtest.TestApp(app, extra_environ={'REMOTE_ADDR': '127.0.0.1'})
    answer = web.post('/order', {'item': 'tea'}, headers={
        'Host': 'shop.example:443', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': CLIENT,
        'Origin': 'https://shop.example'})
    assert answer.text == 'ordered tea\n'
    messages = [entry['message'] for entry in log_entries(tmp_path / 'logs')]
    assert 'POST https://shop.example:443/order' in messages, messages


def test_on_443_bottles_request_url_and_redirect_carry_the_port_and_host_alone_leaves_it_out(tmp_path, monkeypatch,
                                                                                                uninstall_at_end):
    """The README's app behind its proxy (``trusted_proxies``) on 443: with ``$host:$server_port`` the handler's
    ``request.url`` and a ``redirect()``'s Location say ``https://shop.example:443/...``, which an OAuth
    ``redirect_uri`` registered as ``https://shop.example/...`` does not match; with ``$host`` alone they leave the
    port out."""
    assert 'https://shop.example:443/x' in SECTION and 'proxy_set_header Host $host;' in SECTION
    app = readme_app_from_the_environment(tmp_path, monkeypatch, uninstall_at_end)
    import bottle
    import webtest
    app.route('/x', callback=lambda: bottle.request.url)
    app.route('/login', callback=lambda: bottle.redirect('/callback'))
    web = webtest.TestApp(app, extra_environ={'REMOTE_ADDR': '127.0.0.1'})
    for host, origin in (('shop.example:443', 'https://shop.example:443'), ('shop.example', 'https://shop.example')):
        headers = {'Host': host, 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': CLIENT}
        assert web.get('/x', headers=headers).text == origin + '/x'
        assert web.get('/login', headers=headers, status=302).headers['Location'] == origin + '/callback'  # (HTTP/1.0)


ME = """

@app.get('/me')
@canister.require_user
def me():
    return canister.session.user['sub'] + '\\n'
"""


def jwt_sentence() -> str:
    return SECTION.split('\n\n`SHOP_JWT_SECRET` is read', 1)[1].split('\n\n', 1)[0]


def test_the_section_says_the_jwt_secret_is_optional_needs_pyjwt_and_how_to_make_one():
    assert '`SHOP_JWT_SECRET` is read' + jwt_sentence() == (
        '`SHOP_JWT_SECRET` is read only when it is set: an app that takes no Bearer tokens leaves it out. One that '
        "does needs PyJWT (`pip install '/path/to/canister[jwt]'`, see [Install](#install); without it the install "
        'stops with a `MissingExtraError` that says what to install), and the secret is the one its tokens are '
        'signed with, 32 random bytes or more: `python -c "import secrets; print(secrets.token_urlsafe(32))"` '
        'makes one (43 characters, used as they are; see [Bearer JWT](#bearer-jwt-oauth2--oidc)).')
    readme = (pathlib.Path(REPO_ROOT) / 'README.md').read_text(encoding='utf-8')
    assert "pip install '/path/to/canister[jwt]'" in readme.split('\n## Install\n', 1)[1].split('\n## ', 1)[0]
    assert "if os.environ.get('SHOP_JWT_SECRET'):" in APP_PY


def test_through_nginx_and_gunicorn_the_app_serves_without_the_jwt_secret_and_takes_a_secret_made_as_it_says(
        deploy):
    """Unset, the app starts and takes no Bearer token; set to what the section's command prints, the token signed
    with that text logs in, with no warning of a short secret."""
    command = re.search(r'`python -c "([^`"]+)"` makes one \(43 characters', jwt_sentence()).group(1)
    made = subprocess.run([sys.executable, '-c', command], capture_output=True, text=True, check=True).stdout.strip()
    assert re.fullmatch(r'[A-Za-z0-9_-]{43}', made)
    token = {'Authorization': 'Bearer ' + signed_token(made)}
    without = deploy(name='no-secret', app_py=APP_PY + ME, environ={'SHOP_JWT_SECRET': None})
    assert without.get('/ready') == (200, 'ready\n')
    assert without.get('/me', token)[0] == 401
    with_secret = deploy(name='made-secret', app_py=APP_PY + ME, environ={'SHOP_JWT_SECRET': made})
    assert with_secret.get('/me', token) == (200, 'alice\n')
    assert [entry for entry in log_entries(with_secret.directory / 'logs') if entry['level'] != 'INFO'] == []


def test_under_gunicorn_without_pyjwt_the_secret_set_stops_the_app_with_missing_extra_error_and_unset_it_serves(
        tmp_path: pathlib.Path, deploy):
    blocker = tmp_path / 'no-pyjwt'
    (blocker / 'jwt').mkdir(parents=True)
    (blocker / 'jwt' / '__init__.py').write_text('raise ModuleNotFoundError("No module named \'jwt\'", name=\'jwt\')\n')
    path = '%s%s%s' % (blocker, os.pathsep, REPO_ROOT)
    shop = deploy(name='unset', environ={'SHOP_JWT_SECRET': None, 'PYTHONPATH': path})
    assert shop.get('/ready') == (200, 'ready\n')
    directory = tmp_path / 'set'
    directory.mkdir()
    (directory / 'app.ini').write_text(ini_in(directory))
    (directory / 'app.py').write_text(APP_PY)
    env = dict(os.environ, SHOP_JWT_SECRET=SECRET, SHOP_SESSION_STORE='sqlite:///sessions.db', PYTHONPATH=path)
    with held_port(reuse_address=True) as port:   # (gunicorn binds it too; no other test run's server can)
        program, *args = shlex.split(GUNICORN.replace('8000', str(port)))
        app = Process([sys.executable, '-m', program, *args], directory, env, 'app')
        try:
            app.wait_for_exit('gunicorn to give up')
        finally:
            app.stop()
    assert app.proc.returncode != 0
    assert "MissingExtraError: canister needs the 'jwt' package for this configuration" in app.output(), app.output()


def store_sentence() -> str:
    return SECTION.split('\n\n`SHOP_SESSION_STORE` is required', 1)[1].split('\n\n', 1)[0]


@pytest.mark.parametrize('command', ['gunicorn', 'waitress'])
def test_without_shop_session_store_the_app_stops_at_import_with_the_key_error_and_the_server_as_the_section_says(
        tmp_path: pathlib.Path, command: str):
    """The section's app, ``SHOP_SESSION_STORE`` left out of the environment, under its gunicorn and waitress
    commands: the server exits (not 0) before it serves, its output has the ``KeyError`` and, for gunicorn,
    ``Worker failed to boot.``, as the section's sentence says."""
    sentence = store_sentence()
    assert "`KeyError: 'SHOP_SESSION_STORE'`" in sentence and '`Worker failed to boot.`' in sentence
    assert "os.environ['SHOP_SESSION_STORE']" in APP_PY
    (tmp_path / 'app.ini').write_text(ini_in(tmp_path))
    (tmp_path / 'app.py').write_text(APP_PY)
    env = dict(os.environ, SHOP_JWT_SECRET=SECRET, PYTHONPATH=REPO_ROOT, PYTHONUNBUFFERED='1')
    env.pop('SHOP_SESSION_STORE', None)
    with held_port(reuse_address=True) as port:   # (the server binds it too; no other test run's server can)
        program, *args = shlex.split({'gunicorn': GUNICORN, 'waitress': WAITRESS}[command].replace('8000', str(port)))
        module = {'gunicorn': 'gunicorn', 'waitress-serve': 'waitress'}[program]
        app = Process([sys.executable, '-m', module, *args], tmp_path, env, 'app')
        try:
            app.wait_for_exit('%s to give up' % command)
        finally:
            app.stop()
        output = app.output()
        assert app.proc.returncode != 0 and not accepts(port)
    assert "KeyError: 'SHOP_SESSION_STORE'" in output, output
    assert ('Worker failed to boot.' in output) == (command == 'gunicorn'), output


OPERATING = SECTION.split('\n### Operating it\n', 1)[1]
CRON_LINE = re.findall(r'```crontab\n(.*?)\n```', OPERATING, re.S)[0]


def test_operating_it_is_listed_under_deploying_and_each_alert_names_a_line_a_test_asserts():
    """The lines to alert on are the ones these tests check canister writes: the store's ERROR line
    (tests/test_store_down_log_lines.py, tests/test_sqlite_full_disk.py), ``Response: 5xx`` lines (the
    store's 503 there), a request line without its ``Response:`` line (tests/test_claims_scaling.py, gunicorn's
    graceful timeout; tests/test_stores_processes.py, waitress at SIGTERM), and canister's lines on stderr when its
    log cannot be written (tests/test_logging.py)."""
    readme = (pathlib.Path(REPO_ROOT) / 'README.md').read_text(encoding='utf-8')
    assert ('- [Deploying](#deploying)\n  - [Rotating secrets](#rotating-secrets)\n'
            '  - [Operating it](#operating-it)\n- [Upgrading') in readme
    tests = pathlib.Path(REPO_ROOT) / 'tests'
    backing = {
        '`the Redis session store is unavailable: ...`': (
            'test_store_down_log_lines.py', 'def test_a_store_that_is_down_is_one_error_line_a_second_however_many'),
        '`the SQLite session store /srv/shop/sessions.db failed: ...`': (
            'test_sqlite_full_disk.py', "'the SQLite session store %s failed: database or disk is full' % path"),
        '`Response: 5xx`': ('test_store_down_log_lines.py', r"r' ERROR .*Response: 503 \(\d+ms\)$'"),
        'a request line with no `Response:` line': (
            'test_claims_scaling.py',
            'def test_a_request_gunicorn_kills_at_its_graceful_timeout_leaves_its_request_line_and_no_response_line'),
        '`canister: logging to /srv/shop/logs failed: [Errno 28] No space left on device`': (
            'test_logging.py', 'def test_a_full_disk_cuts_no_line_into_the_next_and_each_outage_is_told_on_stderr'),
        'canister writes there when it cannot write its log file': (
            'test_logging.py', 'def test_failing_writes_do_not_fail_requests_and_say_so_once_on_stderr'),
        'waitress stops at once at SIGTERM, dropping the requests in flight': (
            'test_stores_processes.py',
            'def test_at_sigterm_waitress_exits_at_once_and_a_request_in_flight_gets_no_answer_and_no_response_line'),
        '`kill -TERM` lets the requests in flight finish, then stops': (
            'test_stores_processes.py', 'def assert_no_change_in_flight_is_lost_at_a_graceful_shutdown'),
    }
    for claim, (name, text) in backing.items():
        assert claim in OPERATING, claim
        assert text in (tests / name).read_text(encoding='utf-8'), (claim, name)
    assert '[its signals](https://docs.gunicorn.org/en/stable/signals.html)' in OPERATING


def test_a_hup_of_gunicorn_reads_app_ini_again_but_the_new_workers_keep_the_environment_the_master_started_with(
        tmp_path: pathlib.Path):
    """Started as systemd starts a unit with an EnvironmentFile (the file read once, before the server), the
    environment variable changed in the file and app.ini changed, then HUP: the new workers serve the new app.ini
    and the old variable."""
    assert ('The new workers get the environment the master started with, so a changed environment variable '
            "(systemd's `Environment=` or `EnvironmentFile=`) takes a full restart.") in OPERATING
    assert '`kill -HUP` starts new workers, which import `app.py` again and so read `app.ini` again' in OPERATING
    (tmp_path / 'app.ini').write_text(ini_in(tmp_path) + '\n[shop]\nrelease = ini-1\n')
    (tmp_path / 'app.py').write_text(APP_PY + "\n\n@app.get('/release')\ndef release():\n"
                                     "    return '%s %s\\n' % (app.config['shop.release'], os.environ['SHOP_RELEASE'])\n")
    (tmp_path / 'shop.env').write_text('export SHOP_RELEASE=env-1\n')
    env = dict(os.environ, SHOP_SESSION_STORE='sqlite:///sessions.db', PYTHONPATH=REPO_ROOT, PYTHONUNBUFFERED='1')
    env.pop('SHOP_RELEASE', None)

    def start(port: int) -> Process:
        _, *args = shlex.split(GUNICORN.replace('8000', str(port)))
        return Process(['sh', '-c', '. ./shop.env && exec "$@"', 'sh', sys.executable, '-m', 'gunicorn', *args],
                       tmp_path, env, 'app')
    app, port = Process.on_a_free_port(start, [tmp_path / 'app.out'], 'gunicorn')

    def release() -> str:
        connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
        try:
            connection.request('GET', '/release')
            return connection.getresponse().read().decode()
        finally:
            connection.close()

    try:
        wait_until(lambda: app.proc.poll() is not None or accepts(port), 60, what='gunicorn')
        assert release() == 'ini-1 env-1\n', app.output()
        (tmp_path / 'shop.env').write_text('export SHOP_RELEASE=env-2\n')
        (tmp_path / 'app.ini').write_text(ini_in(tmp_path) + '\n[shop]\nrelease = ini-2\n')
        booted = app.output().count('Booting worker')
        app.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: app.output().count('Booting worker') >= booted + 2, 60, what='two new workers')
        wait_until(lambda: app.output().count('Worker exiting') >= 2, 60, what='the old workers gone')
        assert {release() for _ in range(6)} == {'ini-2 env-1\n'}
    finally:
        app.stop()


def test_the_cron_line_tidies_the_store_named_in_its_env_file_quietly_and_a_failure_reaches_stderr(
        tmp_path, monkeypatch, uninstall_at_end):
    """The crontab line as written, run by ``sh`` as cron runs it, with cron's bare environment: /srv/shop and the
    app's virtual environment's python changed to the test's. Its report goes nowhere; a store that cannot be used
    is one line on stderr (what cron mails) and exit status 1."""
    assert CRON_LINE.startswith('17 4 * * *  cd /srv/shop && . ./shop.env && ')
    assert 'python -m canister tidy-sessions --config app.ini --store-env SHOP_SESSION_STORE' in readme_section(
        '## Command line')
    command = CRON_LINE.split('  ', 1)[1].replace(APP_DIR, str(tmp_path)).replace(
        '.venv/app/bin/python', shlex.quote(sys.executable))
    readme_app_from_the_environment(tmp_path, monkeypatch, uninstall_at_end)    # (its store: sessions.db)
    cron_env = {'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path), 'PYTHONPATH': REPO_ROOT}
    (tmp_path / 'shop.env').write_text("export SHOP_SESSION_STORE='sqlite:///%s'\n" % (tmp_path / 'sessions.db'))
    done = subprocess.run(['sh', '-c', command], cwd='/', env=cron_env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, '', '')
    reported = subprocess.run(['sh', '-c', command.replace(' >/dev/null', '')], cwd='/', env=cron_env,
                              capture_output=True, text=True, timeout=60)
    assert reported.returncode == 0 and reported.stdout.startswith('Removed 0 entries'), reported
    (tmp_path / 'shop.env').write_text("export SHOP_SESSION_STORE='sqlite:///%s'\n" % (tmp_path / 'gone.db'))
    failed = subprocess.run(['sh', '-c', command], cwd='/', env=cron_env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and failed.stdout == '' and len(failed.stderr.splitlines()) == 1, failed
