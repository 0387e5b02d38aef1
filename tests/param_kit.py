"""Helpers shared by the parameter tests (a handler's annotated parameters read from a query, a form or a body).

``client_serving`` gives a test client of a new app serving one handler (``server_client_serving``: a client over
a real server; ``client_serving_posts``: several handlers, each at POST /<its name>); ``title_app`` is an app whose
POST /todos needs a ``title``; ``post_json_text`` sends a JSON body written by hand (digits as written, or text that
is not JSON); ``assert_400_warned`` checks that an answer is a 400 naming a problem and that the log holds a WARNING
line for it. ``Price`` is a record with a ``Decimal`` field.
"""
from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from typing import Any, Callable

import pydantic
import webtest

from helpers import client, read_log
from servers import Client


def client_serving(make_app: Callable[..., Any], path: str, handler: Callable[..., Any], method: str = 'POST',
                   **app_options: Any) -> webtest.TestApp:
    """A test client of a new app (``make_app(**app_options)``) that serves ``handler`` at ``method path``."""
    app = make_app(**app_options)
    app.route(path, method, handler)
    return client(app)


def server_client_serving(make_app: Callable[..., Any], serve: Callable[[Any], str], path: str,
                          handler: Callable[..., Any], method: Any = 'POST') -> Client:
    """``client_serving`` over a real server: a ``servers.Client`` of a new app, served by ``serve`` (the fixture),
    that serves ``handler`` at ``method path``."""
    app = make_app()
    app.route(path, method, handler)
    return Client(serve(app))


def client_serving_posts(make_app: Callable[..., Any], *handlers: Callable[..., Any]) -> webtest.TestApp:
    """A test client of a new app that serves each handler at POST /<the handler's name>."""
    app = make_app()
    for handler in handlers:
        app.route('/' + handler.__name__, 'POST', handler)
    return client(app)


def title_app(make_app: Callable[..., Any]) -> Any:
    """An app whose POST /todos takes a mandatory ``title`` and answers with it."""
    app = make_app()

    @app.post('/todos')
    def add(title: str) -> str:
        return title

    return app


def post_json_text(web: webtest.TestApp, path: str, text: str, **kwargs: Any) -> webtest.TestResponse:
    """POST ``text`` as it is, under Content-Type: application/json."""
    return web.post(path, text, headers={'Content-Type': 'application/json'}, **kwargs)


def assert_400_warned(answer: webtest.TestResponse, log_dir: Any, problem: str) -> None:
    """Assert ``answer`` is a 400 whose text holds ``problem`` and the log a WARNING 'Bad request: problem' line."""
    assert answer.status_int == 400, answer
    assert problem in answer.text
    assert re.search(r' WARNING .*Bad request: %s' % re.escape(problem), read_log(log_dir))


@dataclasses.dataclass
class Price:
    """A record with a ``Decimal`` field, a float with a default and a field of any type."""

    amount: Decimal
    rate: float = 1.0
    note: Any = None


class Vault(pydantic.BaseModel):
    """A model with a secret field whose name does not look secret, and a check whose message repeats its value."""
    owner: str
    mnemonic: pydantic.SecretStr

    @pydantic.model_validator(mode='after')
    def long_enough(self) -> 'Vault':
        if len(self.mnemonic.get_secret_value()) < 12:
            raise ValueError('%s is too short' % self.mnemonic.get_secret_value())
        return self
