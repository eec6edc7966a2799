// Checks HTTP answers against docs/openapi.yaml (given as JSON), one per line on stdin, one
// verdict per line on stdout. tests/api/openapi_check.py runs one of these per test process.
//
//   node openapi_validator.mjs DOCUMENT.json
//   in:  {"method", "path" (with the query), "status", "headers": {lower-case name: value},
//         "body": the body's text, or null when it is not to be checked}
//   out: {"ok": true|false, "operation": "GET /api/sources", "errors": ["...", ...]}
//
// An answer must have a status its operation describes (a method the path does not take: 405,
// a path not described: 404, as info.description says), carry the headers described as
// required (their values matching their schema), a content type the response describes, and,
// for JSON, a body that its schema accepts (Ajv, JSON Schema 2020-12, strict). HEAD is checked
// against the GET operation, without a body.
import fs from 'node:fs';
import readline from 'node:readline';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const DOC_ID = 'https://sheetsync.invalid/openapi.json';
const doc = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

const ajv = new Ajv2020({strict: true, strictRequired: false, strictTypes: false, allErrors: true, allowUnionTypes: true});
addFormats(ajv);
// The document's own fields are not schema keywords: only the schemas inside it are compiled,
// through JSON pointers.
for (const k of Object.keys(doc))
  if (!['$id', '$schema'].includes(k))
    ajv.addKeyword(k);
ajv.addSchema(doc, DOC_ID);

const escape = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const compiled = new Map();

/// The validator of the schema at `pointer` (e.g. "/components/schemas/Error").
function validatorAt(pointer) {
  let v = compiled.get(pointer);
  if (!v) {
    v = ajv.compile({$ref: DOC_ID + '#' + pointer});
    compiled.set(pointer, v);
  }
  return v;
}

/// Follows a "#/..." $ref: [object, its pointer].
function deref(obj, pointer) {
  while (obj && typeof obj.$ref === 'string') {
    if (!obj.$ref.startsWith('#/'))
      throw new Error('only local $refs are supported: ' + obj.$ref);
    pointer = obj.$ref.slice(1);
    obj = pointer.split('/').slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o, k) => (o === undefined ? undefined : o[k]), doc);
    if (obj === undefined)
      throw new Error('dangling $ref ' + pointer);
  }
  return [obj, pointer];
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/// The described paths matching `path`: literal ones first, then templates (fewest
/// parameters first), as OpenAPI says.
function candidates(path) {
  const segs = path.split('/');
  const out = [];
  for (const template of Object.keys(doc.paths || {})) {
    const t = template.split('/');
    if (t.length !== segs.length)
      continue;
    let params = 0;
    let ok = true;
    for (let i = 0; i < t.length && ok; ++i) {
      if (/^\{[^}]+\}$/.test(t[i])) {
        ++params;
        ok = segs[i] !== '';
      } else {
        ok = t[i] === segs[i];
      }
    }
    if (ok)
      out.push({template, params});
  }
  return out.sort((a, b) => a.params - b.params).map((x) => x.template);
}

/// The responses an answer to a request no operation takes may have (info.description).
function unroutedResponses(path, status) {
  const r = {};
  const api = path.startsWith('/api/');
  for (const [code, name] of [['400', 'MalformedRequest'], ['413', 'RequestTooLarge'],
                              ['431', 'HeadersTooLarge'], ['501', 'NotImplemented'],
                              ['503', 'Unavailable'], ['505', 'VersionNotSupported']])
    r[code] = {$ref: '#/components/responses/' + name};
  if (api) {
    r['401'] = {$ref: '#/components/responses/Unauthorized'};
    r['429'] = {$ref: '#/components/responses/RateLimited'};
  }
  r[status] = {$ref: '#/components/responses/' + (status === '405' ? 'MethodNotAllowed' : 'NotFound')};
  return r;
}

function mediaType(x) {
  return String(x || '').split(';')[0].trim().toLowerCase();
}

/// {"schema": NAME, "body": TEXT}: TEXT against components/schemas/NAME (an event's data).
function checkSchema(x) {
  const operation = `components/schemas/${x.schema}`;
  let value;
  try {
    value = JSON.parse(x.body);
  } catch (e) {
    return {ok: false, operation, errors: [`not JSON: ${e.message}`]};
  }
  const v = validatorAt(`/components/schemas/${escape(x.schema)}`);
  if (v(value))
    return {ok: true, operation, errors: []};
  return {ok: false, operation, errors: v.errors.map((e) => `${e.instancePath || '(root)'}: ${e.message} ${JSON.stringify(e.params)}`)};
}

function check(answer) {
  if (answer.schema)
    return checkSchema(answer);
  const errors = [];
  const method = String(answer.method).toLowerCase();
  const path = String(answer.path).split('?')[0].split('#')[0];
  const status = String(answer.status);
  const head = method === 'head';
  const opMethod = head ? 'get' : method;
  const paths = candidates(path);
  let operation = `${answer.method} ${path}`;
  let responses;
  let base;
  // HEAD is the GET operation's head, unless it says it takes none (the event stream).
  const template = paths.find((p) => doc.paths[p][opMethod]
                              && !(head && doc.paths[p][opMethod]['x-no-head']));
  if (template) {
    operation = `${opMethod.toUpperCase()} ${template}` + (head ? ' (as HEAD)' : '');
    responses = doc.paths[template][opMethod].responses || {};
    base = `/paths/${escape(template)}/${opMethod}/responses`;
  } else {
    const why = paths.length ? '405' : '404';
    operation += paths.length ? ` (a method ${paths[0]} does not take)` : ' (no such path)';
    responses = unroutedResponses(path, why);
    base = null;
  }
  let response = responses[status] || responses[status[0] + 'XX'] || responses.default;
  if (!response) {
    errors.push(`status ${status} is not described for ${operation} (described: ${Object.keys(responses).join(', ')})`);
    return {ok: false, operation, errors};
  }
  let pointer = base ? `${base}/${escape(responses[status] ? status : status[0] + 'XX')}` : null;
  [response, pointer] = deref(response, pointer);

  const headers = answer.headers || {};
  for (const [name, h0] of Object.entries(response.headers || {})) {
    const [h, hp] = deref(h0, pointer && `${pointer}/headers/${escape(name)}`);
    const value = headers[name.toLowerCase()];
    if (value === undefined) {
      if (h.required)
        errors.push(`header ${name} is required but missing`);
      continue;
    }
    if (h.schema && hp) {
      const v = validatorAt(`${hp}/schema`);
      if (!v(value))
        errors.push(`header ${name}: ${JSON.stringify(value)} ${ajv.errorsText(v.errors)}`);
    }
  }

  const content = response.content;
  const type = mediaType(headers['content-type']);
  const bodyText = answer.body;
  if (!content) {
    if (!head && bodyText)
      errors.push(`status ${status} of ${operation} has no body described, but the answer has one (${type || 'no type'})`);
    return {ok: errors.length === 0, operation, errors};
  }
  const key = Object.keys(content).find((k) => mediaType(k) === type)
    || Object.keys(content).find((k) => k === '*/*'
         || (k.endsWith('/*') && type.startsWith(k.slice(0, -1))));
  if (!key) {
    errors.push(`Content-Type ${JSON.stringify(headers['content-type'] || null)} is not among the described ${Object.keys(content).join(', ')}`);
    return {ok: false, operation, errors};
  }
  if (head || bodyText === null || bodyText === undefined)
    return {ok: errors.length === 0, operation, errors};
  if (type === 'application/json' && content[key].schema) {
    let body;
    try {
      body = JSON.parse(bodyText);
    } catch (e) {
      errors.push(`the body is not JSON: ${e.message}`);
      return {ok: false, operation, errors};
    }
    const v = validatorAt(`${pointer}/content/${escape(key)}/schema`);
    if (!v(body))
      for (const e of v.errors)
        errors.push(`body${e.instancePath || ''}: ${e.message}` +
                    (e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : '') +
                    ` (schema ${e.schemaPath.replace(DOC_ID, '')})`);
  }
  return {ok: errors.length === 0, operation, errors};
}

// {"compileAll": true}: compiles every schema of the document (strict mode reports unknown
// keywords, bad refs), for test_openapi. Answers compile lazily, only the schemas they need:
// compiling all takes about a second of CPU, too much for every test process.
function compileAll() {
  for (const name of Object.keys(doc.components?.schemas || {}))
    validatorAt(`/components/schemas/${escape(name)}`);
  for (const [template, item] of Object.entries(doc.paths || {}))
    for (const m of METHODS) {
      const responses = item[m]?.responses || {};
      for (const [status, r0] of Object.entries(responses)) {
        const [r, p] = deref(r0, `/paths/${escape(template)}/${m}/responses/${escape(status)}`);
        for (const [k, c] of Object.entries(r.content || {}))
          if (c.schema)
            validatorAt(`${p}/content/${escape(k)}/schema`);
        for (const [name, h0] of Object.entries(r.headers || {})) {
          const [h, hp] = deref(h0, `${p}/headers/${escape(name)}`);
          if (h.schema)
            validatorAt(`${hp}/schema`);
        }
      }
    }
}

process.stdout.write(JSON.stringify({ready: true}) + '\n');

const rl = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
rl.on('line', (line) => {
  let out;
  try {
    const x = JSON.parse(line);
    if (x.compileAll) {
      compileAll();
      out = {ok: true, operation: '(the document)', errors: []};
    } else {
      out = check(x);
    }
  } catch (e) {
    out = {ok: false, operation: '?', errors: ['validator failure: ' + (e.stack || e)]};
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
