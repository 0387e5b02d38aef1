"""Handler parameters annotated with a pydantic model, as FastAPI users write them.

Canister never imports pydantic: it tells a model by its ``model_validate`` and ``model_fields`` (pydantic 1's
``parse_obj`` and ``__fields__``), builds it with ``Model.model_validate(obj)`` from a JSON object, and answers a
``ValidationError`` with a 400 naming the parameter and the failing fields.
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings
from typing import Dict, List, Optional

import pydantic
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator

from helpers import client, read_log, warning_lines
from param_kit import client_serving, client_serving_posts
from pydantic_models import Key

with warnings.catch_warnings():  # (pydantic.v1 warns on a Python it does not fully support)
    warnings.simplefilter('ignore')
    import pydantic.v1


class Owner(BaseModel):
    name: str


class Item(BaseModel):
    name: str
    qty: int = 1
    owner: Optional[Owner] = None


class Order(BaseModel):
    """A model with a field named as the parameter that takes it."""
    order: str
    qty: int = 1


class Login(BaseModel):
    user: str
    password: str

    @field_validator('password')
    @classmethod
    def long_enough(cls, value: str) -> str:
        if len(value) < 8:
            raise ValueError('%s is too short' % value)  # (a message that repeats the value sent)
        return value


class Strict(BaseModel):
    model_config = ConfigDict(extra='forbid')
    a: int
    b: int
    c: int
    d: int


class Broken(BaseModel):
    name: str

    @field_validator('name')
    @classmethod
    def fails(cls, value: str) -> str:
        raise RuntimeError('the model\'s own bug')


class Wordy(BaseModel):
    name: str

    @field_validator('name')
    @classmethod
    def refuses(cls, value: str) -> str:
        raise ValueError('no ' * 100)


class OldItem(pydantic.v1.BaseModel):
    name: str
    qty: int = 1


class OldLogin(pydantic.v1.BaseModel):
    password: str

    @pydantic.v1.validator('password')
    def long_enough(cls, value: str) -> str:
        if len(value) < 8:
            raise ValueError('%s is too short' % value)
        return value


class Signup(BaseModel):
    password: str
    confirm: str

    @field_validator('confirm')
    @classmethod
    def same(cls, value: str, info: ValidationInfo) -> str:
        if value != info.data.get('password'):
            raise ValueError('%s is not %s' % (value, info.data.get('password')))  # (another field's value)
        return value


class Pair(BaseModel):
    user: str
    password: str

    @model_validator(mode='after')
    def apart(self) -> 'Pair':
        if self.user in self.password:
            raise ValueError('%s holds the user name' % self.password)  # (no field: the model's own check)
        return self


@dataclasses.dataclass
class Holder:
    password: Key


@dataclasses.dataclass
class Account:
    """A dataclass with a secret-looking field beside a model whose message may quote that field's value."""
    password: str
    check: Key
    checks: List[Key] = dataclasses.field(default_factory=list)


#: What a 400 says in place of a pydantic message that holds a value sent to a secret-looking field.
HIDDEN = '(its message is not shown: it holds the value sent, and the name looks secret)'


def item_app(make_app, **config):
    app = make_app(**config)

    @app.post('/items')
    def create(item: Item):
        return repr(item)

    return app


def test_a_pydantic_model_parameter_is_built_with_model_validate_from_the_json_object_under_its_name(make_app):
    def create(item: Item, dry_run: bool = False):
        return repr((item, dry_run))

    web = client_serving(make_app, '/items', create)
    sent = {'item': {'name': 'pen', 'qty': '2', 'owner': {'name': 'ann'}}, 'dry_run': True}
    assert web.post_json('/items', sent).text == repr((Item.model_validate(sent['item']), True))


def test_a_lone_pydantic_model_parameter_takes_the_whole_json_body_as_in_fastapi(make_app):
    web = client(item_app(make_app))
    assert web.post_json('/items', {'name': 'pen', 'qty': 2}).text == repr(Item(name='pen', qty=2))
    assert web.post_json('/items', {'item': {'name': 'ink'}}).text == repr(Item(name='ink'))


def test_a_pydantic_model_beside_another_parameter_takes_only_the_member_of_its_name(make_app):
    def create(item: Item, dry_run: bool = False):
        return repr(item)

    web = client_serving(make_app, '/items', create)
    assert "missing parameter 'item'" in web.post_json('/items', {'name': 'pen'}, status=400).text
    assert web.post('/items', {'name': 'pen'}, status=400).text == (
        "Bad request: missing parameter 'item' (it is built from a JSON object, which a form cannot hold: send the "
        "body as JSON, with Content-Type: application/json)\n")


def test_a_field_pydantic_refuses_is_a_400_naming_the_parameter_the_field_and_pydantics_message(make_app, log_dir):
    response = client(item_app(make_app)).post_json('/items', {'name': 'pen', 'qty': 'x'}, status=400)
    message = ("parameter 'item' must be a valid Item (field 'qty': Input should be a valid integer, unable to parse "
               "string as an integer), got 'x'")
    assert response.text == 'Bad request: %s\n' % message
    assert any(message in line for line in warning_lines(log_dir))


def test_a_missing_field_of_a_pydantic_model_is_a_400_saying_it_is_required(make_app):
    response = client(item_app(make_app)).post_json('/items', {'item': {'qty': 2}}, status=400)
    assert response.text == ("Bad request: parameter 'item' must be a valid Item (field 'name': Field required), got "
                             "{'qty': 2}\n")


def test_a_json_value_that_is_no_object_sent_to_a_pydantic_model_is_a_400_listing_its_fields(make_app):
    web = client(item_app(make_app))
    for sent, shown in (('pen', "'pen'"), (['pen'], "['pen']"), (5, '5')):
        assert web.post_json('/items', {'item': sent}, status=400).text == (
            "Bad request: parameter 'item' must be a JSON object with the fields of Item (name, qty, owner), got %s\n"
            % shown)


def test_a_text_from_the_query_or_a_form_sent_to_a_pydantic_model_is_a_400_listing_its_fields(make_app):
    app = make_app()

    @app.route('/items', ['GET', 'POST'])
    def create(item: Item, dry_run: bool = False):
        return repr(item)

    web = client(app)
    said = "Bad request: parameter 'item' must be a JSON object with the fields of Item (name, qty, owner), got 'pen'\n"
    assert web.get('/items?item=pen', status=400).text == said
    assert web.post('/items', {'item': 'pen'}, status=400).text == said


def test_a_nested_pydantic_models_failing_field_is_named_by_its_path(make_app):
    response = client(item_app(make_app)).post_json('/items', {'name': 'pen', 'owner': {'name': 7}}, status=400)
    assert ("parameter 'item' must be a valid Item (field 'owner.name': Input should be a valid string), got "
            in response.text)
    assert repr(Item(name='pen', owner=Owner(name='ann'))) == client(item_app(make_app)).post_json(
        '/items', {'name': 'pen', 'owner': {'name': 'ann'}}).text


def test_a_list_of_pydantic_models_is_built_item_by_item_and_a_bad_one_is_a_400(make_app):
    def create(items: List[Item]):
        return repr(items)

    web = client_serving(make_app, '/items', create)
    assert web.post_json('/items', {'items': [{'name': 'pen'}, {'name': 'ink', 'qty': 3}]}).text == repr(
        [Item(name='pen'), Item(name='ink', qty=3)])
    assert web.post_json('/items', {'items': [{'name': 'pen'}, {'qty': 3}]}, status=400).text == (
        "Bad request: parameter 'items' (at items[1]) must be a valid Item (field 'name': Field required), got "
        "{'qty': 3}\n")


def test_a_form_posted_to_a_pydantic_model_route_is_a_400_saying_to_send_json(make_app):
    web = client(item_app(make_app))
    assert web.post('/items', {'name': 'pen', 'qty': '2'}, status=400).text == (
        "Bad request: missing parameter 'item' (it is built from a JSON object, which a form cannot hold: send the "
        "body as JSON, with Content-Type: application/json)\n")
    assert web.post('/items', {'item': 'pen'}, status=400).text == (
        "Bad request: parameter 'item' must be a JSON object with the fields of Item (name, qty, owner), got 'pen'\n")


def test_pydantics_message_that_repeats_a_secret_fields_value_is_not_shown(make_app, log_dir):
    def login(form: Login):
        return form.user

    web = client_serving(make_app, '/login', login)
    response = web.post_json('/login', {'user': 'ann', 'password': 'hunter2'}, status=400)
    assert response.text == ("Bad request: parameter 'form' must be a valid Login (field 'password': (its message is "
                             "not shown: it holds the value sent, and the name looks secret)) (the value is not "
                             "shown: the name looks secret)\n")
    assert 'hunter2' not in read_log(log_dir)


def test_a_pydantic_model_parameter_whose_name_looks_secret_shows_no_value_in_any_field(make_app, log_dir):
    def login(credentials: Login):
        return credentials.user

    web = client_serving(make_app, '/login', login)
    response = web.post_json('/login', {'credentials': {'user': 'ann', 'password': 'hunter2'}}, status=400)
    assert response.text == ("Bad request: parameter 'credentials' must be a valid Login (field 'password': (its "
                             "message is not shown: it holds the value sent, and the name looks secret)) (the value "
                             "is not shown: the name looks secret)\n")
    assert 'hunter2' not in read_log(log_dir)


def test_a_message_holding_a_secret_fields_value_is_not_shown_whichever_validator_wrote_it(make_app, log_dir):
    def signup(form: Signup):
        return 'never'

    def pair(form: Pair):
        return 'never'

    web = client_serving_posts(make_app, signup, pair)
    assert web.post_json('/signup', {'password': 'hunter22', 'confirm': 'hunter23'}, status=400).text == (
        "Bad request: parameter 'form' must be a valid Signup (field 'confirm': %s) (the value is not shown: the name "
        "looks secret)\n" % HIDDEN)
    assert web.post_json('/pair', {'user': 'ann', 'password': 'ann-hunter2'}, status=400).text == (
        "Bad request: parameter 'form' must be a valid Pair (its message is not shown: it holds the value sent, and the "
        "name looks secret), got {'user': 'ann', 'password': '***'}\n")  # (the model's own message: one pair of brackets)
    assert 'hunter22' not in read_log(log_dir) and 'ann-hunter2' not in read_log(log_dir)


def test_a_model_under_a_secret_looking_member_or_field_or_parameter_shows_none_of_its_values(make_app, log_dir):
    def keys(keys: Dict[str, Key]):
        return 'never'

    def holder(holder: Holder):
        return 'never'

    def secrets(secrets: Dict[str, Key]):
        return 'never'

    web = client_serving_posts(make_app, keys, holder, secrets)
    assert web.post_json('/keys', {'keys': {'password': {'value': 'hunter2'}}}, status=400).text == (
        "Bad request: parameter 'keys' must be a JSON object, each key str and each value pydantic_models.Key: "
        "its member 'password' must be a valid Key (field 'value': %s) (the value is not shown: the name looks "
        "secret)\n" % HIDDEN)
    assert web.post_json('/holder', {'password': {'value': 'hunter3'}}, status=400).text == (
        "Bad request: parameter 'holder' must be a JSON object with the fields of Holder (password): its field "
        "'password' must be a valid Key (field 'value': %s) (the value is not shown: the name looks secret)\n"
        % HIDDEN)
    assert web.post_json('/secrets', {'secrets': {'a': {'value': 'hunter4'}}}, status=400).text == (
        "Bad request: parameter 'secrets' must be a JSON object, each key str and each value pydantic_models.Key: "
        "its member 'a' must be a valid Key (field 'value': %s) (the value is not shown: the name looks secret)\n"
        % HIDDEN)
    assert not any(sent in read_log(log_dir) for sent in ('hunter2', 'hunter3', 'hunter4'))


def test_a_model_in_a_dataclass_whose_message_quotes_the_dataclasss_secret_field_is_not_shown_as_in_a_model(
        make_app, log_dir):
    def account(account: Account):
        return 'never'

    web = client_serving(make_app, '/account', account)
    assert web.post_json('/account', {'account': {'password': 'pass', 'check': {'value': 'pass'}}}, status=400).text == (
        "Bad request: parameter 'account' must be a JSON object with the fields of Account (password, check, checks): "
        "its field 'check' must be a valid Key (field 'value': %s) (the value is not shown: the name looks "
        "secret)\n" % HIDDEN)
    assert web.post_json('/account', {'account': {'password': 'pass', 'check': {'value': 'long enough'},
                                                  'checks': [{'value': 'pass'}]}}, status=400).text == (
        "Bad request: parameter 'account' must be a JSON object with the fields of Account (password, check, checks): "
        "its field 'checks' (at checks[0]) must be a valid Key (field 'value': %s) (the value is not shown: the name "
        "looks secret)\n" % HIDDEN)
    assert web.post_json('/account', {'account': {'password': 'hunter22', 'check': {'value': 'short'}}},
                         status=400).text == (
        "Bad request: parameter 'account' must be a JSON object with the fields of Account (password, check, checks): "
        "its field 'check' must be a valid Key (field 'value': Value error, short is too short), got "
        "'short'\n")  # (a message quoting no secret is shown)


def test_the_400_of_a_pydantic_model_names_three_failing_fields_escaped_and_counts_the_rest(make_app):
    app = make_app()

    @app.post('/strict')
    def strict(values: Strict):
        return 'ok'

    response = client(app).post_json('/strict', {'values': {'a': 'x', 'b\nforged': 1}}, status=400)
    assert ("parameter 'values' must be a valid Strict (field 'a': Input should be a valid integer, unable to parse "
            "string as an integer; field 'b': Field required; field 'c': Field required; and 2 more), got "
            in response.text)
    response = client(app).post_json('/strict', {'values': {'a': 1, 'b': 2, 'c': 3, 'd': 4, 'e\nforged': 5}},
                                     status=400)
    assert "(field 'e\\\\nforged': Extra inputs are not permitted)" in response.text


def test_a_long_pydantic_message_is_cut_to_120_characters(make_app):
    def wordy(value: Wordy):
        return 'never'

    web = client_serving(make_app, '/wordy', wordy)
    response = web.post_json('/wordy', {'name': 'pen'}, status=400)
    message = ('Value error, ' + 'no ' * 100)[:117] + '...'
    assert response.text == ("Bad request: parameter 'value' must be a valid Wordy (field 'name': %s), got 'pen'\n"
                             % message)


def test_an_error_of_a_pydantic_models_own_code_is_a_500_not_a_400(make_app):
    def broken(value: Broken):
        return 'never'

    web = client_serving(make_app, '/broken', broken, catchall=True)
    response = web.post_json('/broken', {'name': 'pen'}, status='*', expect_errors=True)
    assert response.status_int == 500


def test_a_pydantic_1_model_is_built_with_parse_obj(make_app):
    def create(item: OldItem):
        return repr(item)

    web = client_serving(make_app, '/items', create)
    assert web.post_json('/items', {'name': 'pen', 'qty': 2}).text == repr(OldItem(name='pen', qty=2))
    assert web.post_json('/items', {'name': 'pen', 'qty': 'x'}, status=400).text == (
        "Bad request: parameter 'item' must be a valid OldItem (field 'qty': value is not a valid integer), got "
        "{'name': 'pen', 'qty': 'x'}\n")


def test_a_pydantic_1_message_that_repeats_a_secret_fields_value_is_not_shown(make_app, log_dir):
    def login(form: OldLogin):
        return 'never'

    web = client_serving(make_app, '/login', login)
    assert web.post_json('/login', {'password': 'hunter2'}, status=400).text == (
        "Bad request: parameter 'form' must be a valid OldLogin (field 'password': %s), got {'password': '***'}\n"
        % HIDDEN)
    assert 'hunter2' not in read_log(log_dir)


def test_canister_does_not_import_pydantic():
    done = subprocess.run([sys.executable, '-c', 'import sys, canister; print("pydantic" in sys.modules)'],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == 'False'


def test_a_lone_model_with_a_field_named_as_its_parameter_takes_the_whole_body_as_in_fastapi(make_app):
    def create(order: Order):
        return repr(order)

    web = client_serving(make_app, '/orders', create)
    assert web.post_json('/orders', {'order': 'pen', 'qty': '2'}).text == repr(Order(order='pen', qty=2))
