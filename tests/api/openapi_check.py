"""Checks the service's answers against docs/openapi.yaml (apihelpers' Server.request calls
check() on each): one long-lived `node openapi_validator.mjs` per test process (Ajv, JSON Schema
2020-12), fed one answer per line. A mismatch raises AssertionError naming the operation, the
status and what the validator found, so the test that received the answer fails.

The document is read from docs/openapi.yaml (python3-yaml) at first use, not from the binary:
the YAML is the source of truth, and test_openapi checks that the binary serves the same.
"""

import atexit
import json
import os
import subprocess
import tempfile
import threading

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DOCUMENT = os.path.join(REPO, 'docs', 'openapi.yaml')
VALIDATOR = os.path.join(HERE, 'openapi_validator.mjs')

_lock = threading.RLock()
_proc = None
_doc_file = None


def load_document():
    """docs/openapi.yaml as a dict (anchors and merges expanded)."""
    with open(DOCUMENT, encoding='utf-8') as f:
        # libyaml's loader when there is one: several times faster than the pure Python one.
        return yaml.load(f, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))


def _stop():
    global _proc
    if _proc is not None and _proc.poll() is None:
        _proc.stdin.close()
        try:
            _proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _proc.kill()
    _proc = None
    if _doc_file and os.path.exists(_doc_file):
        os.unlink(_doc_file)


_ready = False


def prestart():
    """Starts the validator without waiting for it (apihelpers calls this at import): node and
    Ajv's compilation of the document (a second or more on a loaded machine) then overlap the
    test's own start instead of delaying its first request."""
    global _proc, _doc_file, _ready
    with _lock:
        if _proc is not None and _proc.poll() is None:
            return
        fd, _doc_file = tempfile.mkstemp(prefix='sheetsync-openapi-', suffix='.json')
        with os.fdopen(fd, 'w') as f:
            json.dump(load_document(), f)
        # node resolves ajv from the repository's node_modules (cwd and the script's parents).
        _proc = subprocess.Popen(['node', VALIDATOR, _doc_file], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        _ready = False
        atexit.register(_stop)


def _start():
    """Waits until the validator (started now if it is not) compiled the document. Called with
    _lock held."""
    global _proc, _ready
    prestart()
    line = _proc.stdout.readline()
    try:
        first = json.loads(line)
    except ValueError:
        first = None
    if not first or not first.get('ready'):
        err = _proc.stderr.read().decode(errors='replace') if _proc.poll() is not None else ''
        proc, _proc = _proc, None
        proc.kill()
        raise AssertionError('the OpenAPI validator did not start (%s): %s %s (a mistake in the '
                             'document, or no node_modules: npm ci installs ajv and ajv-formats)'
                             % (VALIDATOR, line.decode(errors='replace'), err))
    _ready = True


def verdict(method, path, status, headers, body):
    """The validator's verdict on one answer: {'ok', 'operation', 'errors'}. `headers`: a list
    of (name, value); `body`: bytes, or None not to check it."""
    text = None
    if body is not None:
        text = body.decode('utf-8', errors='replace')
    return _ask({'method': method, 'path': path, 'status': status,
                 'headers': {k.lower(): v for k, v in headers}, 'body': text})


def schema_verdict(name, text):
    """The validator's verdict on `text` (JSON) against components/schemas/NAME."""
    return _ask({'schema': name, 'body': text})


def _ask(question):
    line = json.dumps(question) + '\n'
    with _lock:
        if not _ready or _proc is None or _proc.poll() is not None:
            _start()
        _proc.stdin.write(line.encode())
        _proc.stdin.flush()
        out = _proc.stdout.readline()
        if not out:
            raise AssertionError('the OpenAPI validator exited: %s'
                                 % _proc.stderr.read().decode(errors='replace'))
    return json.loads(out)


def compile_all():
    """The validator's verdict on compiling every schema of the document (Ajv, strict)."""
    return _ask({'compileAll': True})


def check(method, path, response):
    """Raises AssertionError when `response` (apihelpers.Response) to METHOD PATH does not
    match docs/openapi.yaml."""
    v = verdict(method, path, response.status, response.header_list, response.body)
    if not v['ok']:
        raise AssertionError(
            'answer not as docs/openapi.yaml describes it: %s -> %d\n  %s\n  body: %r'
            % (v['operation'], response.status, '\n  '.join(v['errors']), response.body[:300]))


def check_event(event):
    """Raises AssertionError when an event of the status stream (apihelpers' read_event) does
    not carry a SyncStatus as the document describes it."""
    if event.get('event') != 'status':
        raise AssertionError('event stream: an event of type %r; docs/openapi.yaml describes '
                             'only "status" events: %r' % (event.get('event'), event))
    check_schema('SyncStatus', event.get('data', ''), 'event stream: data')


def check_schema(name, text, what):
    """Raises AssertionError when `text` (JSON) is not a components/schemas/NAME of the document,
    e.g. check_schema('WebhookEvent', body, 'webhook payload') in a webhook receiver."""
    v = schema_verdict(name, text)
    if not v['ok']:
        raise AssertionError('%s not as docs/openapi.yaml describes it (%s)\n  %s\n  text: %r'
                             % (what, v['operation'], '\n  '.join(v['errors']), text[:300]))


def check_head(method, path, status, headers):
    """Raises AssertionError when the head of an answer (status and headers, without its body,
    e.g. of an event stream) does not match the document."""
    v = verdict(method, path, status, list(headers), None)
    if not v['ok']:
        raise AssertionError('answer not as docs/openapi.yaml describes it: %s -> %d\n  %s'
                             % (v['operation'], status, '\n  '.join(v['errors'])))
