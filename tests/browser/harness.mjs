// Helpers for the browser tests: child processes that are always killed, the fake sheet server,
// `sheetsync serve`, headless Chromium (Debian's), screenshots and polling waits.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.SHEETSYNC_BIN || path.join(REPO, 'build', 'sheetsync');
export const ARTIFACTS = process.env.SHEETSYNC_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts');
export const CHROMIUM = process.env.SHEETSYNC_CHROMIUM || '/usr/bin/chromium';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// -- processes -------------------------------------------------------------------------------

const children = new Set();
const tmpDirs = new Set();

// Last resort when the test process exits without its after() hooks (a crash, a timeout, ^C).
function killAllNow() {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const dir of tmpDirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
}
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAllNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

export function makeTmpDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.add(dir);
  return dir;
}

/**
 * Starts a process and resolves once a line of its stdout matches `ready` (the match is returned).
 * Its output is also written to <artifacts>/<name>.log. Rejects when it exits or does not get
 * ready within timeoutMs, with the end of its output in the message.
 */
export function startProcess(name, command, args, { ready, timeoutMs = 15000, stdin = 'ignore' } = {}) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const log = fs.createWriteStream(path.join(ARTIFACTS, `${name}.log`));
  log.write(`$ ${command} ${args.join(' ')}\n`);
  const child = spawn(command, args, { cwd: REPO, stdio: [stdin, 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const record = (chunk) => {
    output += chunk;
    if (output.length > 20000) output = output.slice(-10000);
    log.write(chunk);
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', record);
  child.stdout.setEncoding('utf8');
  child.on('exit', () => { children.delete(child); });
  child.on('close', () => log.end());

  return new Promise((resolve, reject) => {
    let buffered = '';
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop(child);
      reject(new Error(`${name} (${command} ${args.join(' ')}) ${why}; its output:\n` +
        output.trim().split('\n').slice(-20).join('\n')));
    };
    const timer = setTimeout(() => fail(`printed no line matching ${ready} within ${timeoutMs} ms`), timeoutMs);
    child.stdout.on('data', (chunk) => {
      record(chunk);
      if (settled) return;
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        const m = ready.exec(line);
        if (m) {
          settled = true;
          clearTimeout(timer);
          resolve({ child, match: m, output: () => output });
          return;
        }
      }
    });
    child.on('error', (err) => fail(`could not start: ${err.message}`));
    child.on('exit', (code, signal) => fail(`exited (${signal || 'code ' + code}) before it was ready`));
  });
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export function stop(child, graceMs = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    try { child.stdin?.end(); } catch { /* closed */ }
    try { child.kill('SIGTERM'); } catch { clearTimeout(timer); resolve(); }
  });
}

/** Stops every process started here and removes the temporary folders. */
export async function stopAll() {
  await Promise.all([...children].map((child) => stop(child)));
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
  tmpDirs.clear();
}

/** tests/fake_server.py serving config/demo.csv; resolves its base URL. */
export async function startFakeSheetServer() {
  const { match } = await startProcess('fake-sheet-server', 'python3',
    ['tests/fake_server.py', '--exit-on-stdin-eof', '--csv', 'config/demo.csv'],
    { ready: /^PORT (\d+)/, stdin: 'pipe' });
  return `http://127.0.0.1:${match[1]}`;
}

/**
 * tests/fake_google.py serving `sheets` (id -> sheet, see its docstring) with `apiKey` valid;
 * resolves its base URL.
 */
export async function startFakeGoogle(sheets, apiKey) {
  const dir = makeTmpDir('fake-google-');
  const file = path.join(dir, 'sheets.json');
  fs.writeFileSync(file, JSON.stringify(sheets));
  const { match } = await startProcess('fake-google', 'python3',
    ['tests/fake_google.py', '--exit-on-stdin-eof', '--sheets', file, '--api-key', apiKey],
    { ready: /^PORT (\d+)/, stdin: 'pipe' });
  return `http://127.0.0.1:${match[1]}`;
}

export function checkBinary() {
  if (!fs.existsSync(BIN)) {
    throw new Error(`The sheetsync binary is missing: ${BIN} does not exist. ` +
      'Build it first (scripts/build), or point SHEETSYNC_BIN at it.');
  }
  fs.accessSync(BIN, fs.constants.X_OK);
}

/**
 * `sheetsync serve` on a free port with a fresh cache file; resolves {url, child}.
 * `name` names its log file in the artifacts folder.
 */
export async function startSheetsync(name, source, extraArgs = []) {
  checkBinary();
  const dir = makeTmpDir('sheetsync-web-');
  const args = ['serve', '--port=0', `--db=${path.join(dir, 'cache.db')}`, `--source=${source}`,
    '--cooldown=0s', ...extraArgs];
  const { child, match } = await startProcess(name, BIN, args,
    { ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/, stdin: 'pipe' });
  return { url: `http://127.0.0.1:${match[1]}`, child };
}

/**
 * `sheetsync serve --config-file=FILE` on a free port with a fresh cache file, FILE holding
 * `configText` (CAF's config format, e.g. a `[sheetsync]` section with `sources = {...}`);
 * resolves {url, child}.
 */
export async function startSheetsyncWithConfig(name, configText, extraArgs = []) {
  checkBinary();
  const dir = makeTmpDir('sheetsync-web-');
  const config = path.join(dir, 'sheetsync.conf');
  fs.writeFileSync(config, configText);
  const args = ['serve', `--config-file=${config}`, '--port=0', `--db=${path.join(dir, 'cache.db')}`,
    '--cooldown=0s', ...extraArgs];
  const { child, match } = await startProcess(name, BIN, args,
    { ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/, stdin: 'pipe' });
  return { url: `http://127.0.0.1:${match[1]}`, child };
}

// -- browser ---------------------------------------------------------------------------------

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Debian's Chromium, headless. Playwright gives it a fresh temporary user-data-dir (and removes
 * it on close); every test then takes its own context (no shared storage between tests).
 */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing: ${CHROMIUM} does not exist (apt-get install chromium).`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
}

/** A page in a fresh context that records uncaught page errors in page.errors. */
export async function newPage(browser, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(String(err)));
  page.setDefaultTimeout(15000);
  return page;
}

export async function screenshot(page, name, options = {}) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, ...options });
  return file;
}

/**
 * Polls `check` (async, returns truthy when done) every 50 ms; throws after timeoutMs with `what`
 * and the last value or error.
 */
export async function until(what, check, timeoutMs = 15000) {
  const started = Date.now();
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() - started > timeoutMs) {
      const detail = last instanceof Error ? `: ${last.message}` : last === undefined ? '' : ` (last: ${JSON.stringify(last)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(50);
  }
}
