// Browser test of /sheetsync.js (<sheetsync-progress>, <sheetsync-badge>, connect()) embedded in a
// page of another origin: a small node http server on another loopback port serves the page, and
// sheetsync allows that origin with --cors-origin.
//
//   node --test tests/browser/embedding.test.mjs
//
// Env: as pages.test.mjs (SHEETSYNC_BIN, SHEETSYNC_ARTIFACTS, SHEETSYNC_CHROMIUM).

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  ARTIFACTS, checkBinary, launchBrowser, newPage, screenshot, startFakeSheetServer,
  startSheetsync, stopAll, until,
} from './harness.mjs';

// The example page of docs/embedding.md, pointed at `service`; `token` set (or not) as a property
// before the module has loaded.
function examplePage(service, { token = '' } = {}) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>My app</title>
<style>body { --sheetsync-accent: #7c3aed; font-family: serif; }</style>
<script type="module">
  import { connect } from '${service}/sheetsync.js';
  window.completes = [];
  const sync = connect(${token ? `{ token: ${JSON.stringify(token)} }` : ''});
  sync.addEventListener('complete', (ev) => window.completes.push(ev.detail.syncId));
  window.sync = sync;
</script>
</head><body>
<h1>Orders</h1>
<sheetsync-badge></sheetsync-badge>
<sheetsync-progress></sheetsync-progress>
${token ? `<script>document.querySelector('sheetsync-progress').token = ${JSON.stringify(token)};</script>` : ''}
</body></html>`;
}

/** A node http server on a free loopback port; route(url) gives the page's HTML. */
function startAppServer(route) {
  const server = http.createServer((req, res) => {
    const html = route(new URL(req.url, 'http://x'));
    if (html === null) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('sheetsync embedded in another origin', { timeout: 120000 }, () => {
  let browser;
  let sheet;
  let app;          // the second origin's server
  let appOrigin;
  let setupError = null;
  const pages = {}; // path -> HTML

  before(async () => {
    try {
      checkBinary();
      sheet = await startFakeSheetServer();
      app = await startAppServer((url) => pages[url.pathname] ?? null);
      appOrigin = `http://127.0.0.1:${app.address().port}`;
      browser = await launchBrowser();
    } catch (err) {
      setupError = err;
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
    app?.close();
    await stopAll();
  });

  async function withPage(name, fn) {
    const page = await newPage(browser);
    const failed = [];
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on('console', (m) => { if (m.type() === 'error') failed.push(`console: ${m.text()}`); });
    try {
      await fn(page, failed);
      assert.deepEqual(page.errors, [], 'uncaught errors in the page');
    } catch (err) {
      await screenshot(page, `FAILED-${name}.png`, { fullPage: true }).catch(() => {});
      err.message += `\n--- failed requests / console errors:\n${failed.join('\n')}\n--- screenshot in ${ARTIFACTS}`;
      throw err;
    } finally {
      await page.context().close().catch(() => {});
    }
  }

  const test = (name, fn) => it(name, { timeout: 40000 }, async () => {
    if (setupError) throw setupError;
    await fn();
  });

  // Clicks Sync Now and waits for the success message, the badge and the complete event.
  async function syncThroughTheElements(page) {
    const button = page.locator('sheetsync-progress button.sync-now');
    await until('Sync Now to be enabled', () => button.isEnabled());
    const values = [];
    const bar = page.getByRole('progressbar');
    await button.click();
    await until('the success message', async () => {
      values.push(Number(await bar.getAttribute('aria-valuenow')));
      const result = page.locator('sheetsync-progress .result[data-kind=success]');
      return (await result.count()) === 1 && (await result.isVisible());
    });
    assert.equal(await bar.getAttribute('aria-valuenow'), '100');
    assert.ok(values.every((v, i) => i === 0 || v >= values[i - 1]), `progress went back: ${values}`);
    const badge = page.locator('sheetsync-badge [role=status]');
    await until('the badge to say Synced', async () => (await badge.innerText()).includes('Synced'));
    assert.equal(await page.locator('sheetsync-badge').evaluate((e) => e.hidden), false);
    const completes = await until('the complete event', async () => {
      const xs = await page.evaluate(() => window.completes);
      return xs.length ? xs : null;
    });
    assert.equal(completes.length, 1);
    assert.match(completes[0], /^sync-/);
    assert.equal(await page.evaluate(() => window.sync.status.syncId), completes[0]);
    // Dismiss hides the message.
    await page.locator('sheetsync-progress button.dismiss').click();
    await until('the message to hide', async () =>
      !(await page.locator('sheetsync-progress .result').isVisible()));
  }

  test('the elements drive a sync from a page of an allowed origin', async () => {
    const server = await startSheetsync('embed-open', `${sheet}/slow?interval_ms=10&lines=121`,
      [`--cors-origin=${appOrigin}`]);
    pages['/open.html'] = examplePage(server.url);
    await withPage('embed-open', async (page) => {
      await page.goto(`${appOrigin}/open.html`);
      await until('the elements to be defined', () =>
        page.evaluate(() => !!customElements.get('sheetsync-progress') && !!window.sync));
      // Idle: the badge is hidden, the bar at 0.
      assert.equal(await page.locator('sheetsync-badge').evaluate((e) => e.hidden), true);
      assert.equal(await page.getByRole('progressbar').getAttribute('aria-valuenow'), '0');
      // One shared connection: the live event stream.
      await until('the event stream', () => page.evaluate(() => window.sync.connection === 'live'));
      // The host page's custom property reaches into the shadow DOM.
      const fill = await page.locator('sheetsync-progress .fill').evaluate((e) => getComputedStyle(e).backgroundColor);
      assert.equal(fill, 'rgb(124, 58, 237)');
      await syncThroughTheElements(page);
      await screenshot(page, 'embedding-complete.png');
      // An element added later (createElement) shows the shared connection's status at once.
      const later = await page.evaluate(() => {
        const badge = document.createElement('sheetsync-badge');
        document.body.append(badge);
        return badge.shadowRoot.querySelector('[role=status]').textContent;
      });
      assert.equal(later, 'Synced');
    });
    // The same page from an origin that is not allowed (localhost is another origin than
    // 127.0.0.1): the browser refuses the module, nothing is defined.
    await withPage('embed-refused', async (page) => {
      await page.goto(`http://localhost:${app.address().port}/open.html`);
      await page.waitForTimeout(1500);
      assert.equal(await page.evaluate(() => !!customElements.get('sheetsync-progress')), false);
      page.errors.length = 0;  // the refused import is the expected error
    });
    await stopAllOf(server);
  });

  test('a protected service: the token set as a property', async () => {
    const server = await startSheetsync('embed-token', `${sheet}/ok.csv`,
      [`--cors-origin=${appOrigin}`, '--api-token=s3cret']);
    pages['/token.html'] = examplePage(server.url, { token: 's3cret' });
    pages['/no-token.html'] = examplePage(server.url);
    await withPage('embed-token', async (page) => {
      await page.goto(`${appOrigin}/token.html`);
      await until('the event stream', () => page.evaluate(() => window.sync?.connection === 'live'));
      await syncThroughTheElements(page);
    });
    // Without a token the element says so; setting the property later connects it.
    await withPage('embed-token-late', async (page) => {
      await page.goto(`${appOrigin}/no-token.html`);
      const message = page.locator('sheetsync-progress .message');
      await until('the token message', async () => (await message.innerText()).includes('needs an API token'));
      await page.evaluate(() => { document.querySelector('sheetsync-progress').token = 's3cret'; });
      await until('the event stream', () => page.evaluate(() => window.sync.connection === 'live'));
      await syncThroughTheElements(page);
      page.errors.length = 0;
    });
    await stopAllOf(server);
  });
});

async function stopAllOf(server) {
  server.child.kill('SIGTERM');
}
