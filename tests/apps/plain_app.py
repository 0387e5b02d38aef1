"""A plain Bottle app (no canister) used to validate the process harness."""
import os
import time

import bottle

from _common import mark_ready

app = bottle.Bottle()


@app.get('/ping')
def ping():
    return {'pong': True, 'pid': os.getpid()}


@app.get('/sleep/<seconds:float>')
def sleep(seconds):
    time.sleep(seconds)
    return {'slept': seconds, 'pid': os.getpid()}


mark_ready()
