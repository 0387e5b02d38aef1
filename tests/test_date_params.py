"""``datetime.date``, ``datetime.datetime`` and ``datetime.time`` parameters, read from ISO 8601 text."""
from __future__ import annotations

import datetime
import re
from typing import List, Optional

import pytest

from helpers import client, read_log


def dates_app(make_app):
    app = make_app()

    @app.route('/day', method=['GET', 'POST'])
    def day(when: datetime.date):
        return {'type': type(when).__name__, 'value': when.isoformat()}

    @app.route('/moment', method=['GET', 'POST'])
    def moment(at: datetime.datetime, alarm: Optional[datetime.time] = None):
        return {'type': type(at).__name__, 'value': at.isoformat(), 'alarm': alarm and alarm.isoformat()}

    @app.get('/days')
    def days(when: List[datetime.date]):
        return {'values': [value.isoformat() for value in when]}

    return app


def test_a_date_parameter_reads_iso_text_from_the_query_a_form_and_json(make_app):
    web = client(dates_app(make_app))
    assert web.get('/day?when=2024-05-31').json == {'type': 'date', 'value': '2024-05-31'}
    assert web.post('/day', {'when': '2024-02-29'}).json == {'type': 'date', 'value': '2024-02-29'}
    assert web.post_json('/day', {'when': '2023-12-01'}).json == {'type': 'date', 'value': '2023-12-01'}
    assert web.get('/days?when=2024-01-01&when=2024-01-02').json == {'values': ['2024-01-01', '2024-01-02']}


def test_datetime_and_time_parameters_read_iso_text(make_app):
    web = client(dates_app(make_app))
    assert web.get('/moment?at=2024-05-31T14:30:00&alarm=07:15').json == {
        'type': 'datetime', 'value': '2024-05-31T14:30:00', 'alarm': '07:15:00'}
    assert web.get('/moment?at=2024-05-31T14:30:00%2B02:00').json['value'] == '2024-05-31T14:30:00+02:00'
    assert web.get('/moment?at=2024-05-31').json['value'] == '2024-05-31T00:00:00'
    assert web.get('/moment?at=2024-05-31T14:30:00&alarm=').json['alarm'] is None


@pytest.mark.parametrize('path, expected', [
    ('/day?when=31/05/2024', "parameter 'when' must be an ISO 8601 date such as 2024-05-31"),
    ('/day?when=2023-02-29', "parameter 'when' must be an ISO 8601 date such as 2024-05-31"),
    ('/moment?at=yesterday', "parameter 'at' must be an ISO 8601 datetime such as 2024-05-31T14:30:00"),
    ('/moment?at=2024-05-31T10:00:00&alarm=25:00', "parameter 'alarm' must be an ISO 8601 time such as 14:30:00"),
])
def test_a_date_that_is_not_iso_8601_gets_400_naming_the_parameter(make_app, log_dir, path, expected):
    response = client(dates_app(make_app)).get(path, expect_errors=True)
    assert response.status_int == 400
    assert expected in response.text
    assert re.search(r' WARNING .*Bad request: ' + re.escape(expected), read_log(log_dir))


def test_a_json_number_for_a_date_gets_400(make_app):
    response = client(dates_app(make_app)).post_json('/day', {'when': 20240531}, expect_errors=True)
    assert response.status_int == 400
    assert "parameter 'when' must be an ISO 8601 date" in response.text
