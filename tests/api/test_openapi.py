#!/usr/bin/env python3
"""docs/openapi.yaml: the service serves it at /openapi.json, it describes every route of the
facade's route table, and the check every suite runs on every answer (openapi_check, hooked into
apihelpers' Server.request) reports answers the document does not describe."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402
import openapi_check  # noqa: E402

ROUTES = os.path.join(h.REPO, 'actors', 'http_routes.cpp')


def setUpModule():
    h.require_binary()


class Served(unittest.TestCase):
    """/openapi.json, against one server with a token."""

    @classmethod
    def setUpClass(cls):
        cls.fake = h.FakeSheet()
        cls.addClassCleanup(cls.fake.stop)
        d = h.temp_dir(cls)
        cls.server = h.Server(cls.fake.url('/sheet.csv'), os.path.join(d, 'c.db'),
                              ['--api-token=secret'])
        cls.addClassCleanup(cls.server.close)

    def test_the_document_is_the_yaml_as_json(self):
        r = self.server.get('/openapi.json')  # no token: not under /api/
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header('Content-Type').startswith('application/json'))
        self.assertEqual(r.json(), openapi_check.load_document())

    def test_etag_answers_304(self):
        r = self.server.get('/openapi.json')
        etag = r.header('ETag')
        self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
        again = self.server.get('/openapi.json', headers={'If-None-Match': etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b'')
        self.assertEqual(again.header('ETag'), etag)
        other = self.server.get('/openapi.json', headers={'If-None-Match': '"0000"'})
        self.assertEqual(other.status, 200)
        head = self.server.request('HEAD', '/openapi.json')
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, b'')

    def test_wrong_answers_are_reported(self):
        # A real answer, then the same answer changed: each change is caught.
        r = self.server.get('/api/sources', headers={'Authorization': 'Bearer secret'})
        self.assertEqual(r.status, 200)
        good = r.json()
        openapi_check.check('GET', '/api/sources', r)  # as served: fine

        def verdict(body, status=200, headers=None, method='GET', path='/api/sources'):
            return openapi_check.verdict(method, path, status,
                                         headers if headers is not None else r.header_list,
                                         json.dumps(body).encode())

        extra = json.loads(json.dumps(good))
        extra['sources'][0]['surprise'] = 1
        v = verdict(extra)
        self.assertFalse(v['ok'])
        self.assertEqual(v['operation'], 'GET /api/sources')
        self.assertIn('surprise', ' '.join(v['errors']))

        wrong_type = json.loads(json.dumps(good))
        wrong_type['sources'][0]['queued'] = 'no'
        v = verdict(wrong_type)
        self.assertFalse(v['ok'])
        self.assertIn('/sources/0/queued', ' '.join(v['errors']))

        # A status the operation does not describe.
        v = verdict(good, status=418)
        self.assertFalse(v['ok'])
        self.assertIn('status 418 is not described', ' '.join(v['errors']))

        # An error without its code, a 429 without Retry-After, an unknown status value.
        v = verdict({'success': False, 'message': 'x'}, status=404, path='/api/sources/x')
        self.assertFalse(v['ok'])
        v = verdict({'success': False, 'error': 'cooldown', 'message': 'x', 'retryAfter': 3},
                    status=429, method='POST', path='/api/sync-sheets-bg')
        self.assertIn('Retry-After', ' '.join(v['errors']))
        status = {'syncId': None, 'source': 's', 'status': 'sleeping', 'progress': 0,
                  'message': '', 'lastUpdated': None, 'startedAt': None, 'finishedAt': None,
                  'stats': {'size': 0, 'lines': 0}}
        v = verdict(status, path='/api/sync-sheets-bg')
        self.assertFalse(v['ok'])
        status['status'] = 'idle'
        self.assertTrue(verdict(status, path='/api/sync-sheets-bg')['ok'])

        # An event's data, a webhook payload.
        with self.assertRaises(AssertionError) as ctx:
            openapi_check.check_event({'event': 'status', 'data': json.dumps(
                dict(status, progress=101))})
        self.assertIn('/progress', str(ctx.exception))
        openapi_check.check_schema('WebhookEvent', json.dumps(
            {'type': 'sync.completed', 'timestamp': '2026-12-04T20:00:00.000Z',
             'data': status}), 'webhook payload')
        with self.assertRaises(AssertionError):
            openapi_check.check_schema('WebhookEvent', json.dumps(
                {'type': 'sync.done', 'timestamp': 'now', 'data': status}), 'webhook payload')

        # What a test sees: an AssertionError naming the operation, the status and the error.
        bad = h.Response(200, r.header_list, json.dumps(extra).encode())
        with self.assertRaises(AssertionError) as ctx:
            openapi_check.check('GET', '/api/sources?x=1', bad)
        self.assertIn('GET /api/sources -> 200', str(ctx.exception))
        self.assertIn('surprise', str(ctx.exception))

    def test_unauthorized_and_unknown_paths_are_described(self):
        # Checked by the hook in Server.request: these pass only if the document has them.
        self.assertEqual(self.server.get('/api/sources').status, 401)
        self.assertEqual(self.server.get('/no/such/path').status, 404)
        self.assertEqual(self.server.request('PUT', '/openapi.json').status, 405)


class Document(unittest.TestCase):
    def test_it_is_a_valid_openapi_3_1_document(self):
        """Against the OpenAPI 3.1 specification's own schema (@seriousme/openapi-schema-validator,
        npm), so that tools that load it (generators, explorers) take it."""
        with tempfile.NamedTemporaryFile('w', suffix='.json') as f:
            json.dump(openapi_check.load_document(), f)
            f.flush()
            script = ("import {Validator} from '@seriousme/openapi-schema-validator';"
                      "const v = new Validator();"
                      "const r = await v.validate(process.argv[1]);"
                      "console.log(JSON.stringify({version: v.version, ...r}));")
            out = subprocess.run(['node', '--input-type=module', '-e', script, f.name],
                                 cwd=h.REPO, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        result = json.loads(out.stdout)
        self.assertEqual(result['version'], '3.1')
        self.assertTrue(result['valid'], json.dumps(result.get('errors'), indent=1)[:3000])


    def test_every_schema_compiles_in_strict_mode(self):
        """Answers compile only the schemas they need: this compiles them all (Ajv's strict mode:
        no unknown keyword, no dangling $ref)."""
        v = openapi_check.compile_all()
        self.assertTrue(v['ok'], v['errors'])


class RouteTable(unittest.TestCase):
    def test_every_route_is_described(self):
        """Every path and method of http_routes.cpp's route table is an operation."""
        with open(ROUTES) as f:
            source = f.read()
        table = source[source.index('const route routes[] = {'):]
        table = table[:table.index('};')]
        routes = re.findall(r'\{"([^"]+)", "([^"]+)", "[^"]+", \w+\}', table)
        self.assertGreater(len(routes), 10)
        paths = openapi_check.load_document()['paths']
        for path, methods in routes:
            templ = re.sub(r'/\*$', '/{name}', path)
            self.assertIn(templ, paths, 'route %s is not in docs/openapi.yaml' % path)
            for method in methods.split(', '):
                if method == 'HEAD':
                    continue  # answered as GET (info.description)
                self.assertIn(method.lower(), paths[templ],
                              '%s %s is not in docs/openapi.yaml' % (method, path))


if __name__ == '__main__':
    h.main()
