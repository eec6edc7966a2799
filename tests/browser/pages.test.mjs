// Browser tests of the pages that `sheetsync serve` serves (web/), against the real binary.
//
//   node --test tests/browser/
//
// Env: SHEETSYNC_BIN (default build/sheetsync), SHEETSYNC_ARTIFACTS (default build/test-artifacts:
// screenshots and the servers' logs), SHEETSYNC_CHROMIUM (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ARTIFACTS, REPO, checkBinary, launchBrowser, newPage, screenshot, startFakeGoogle,
  startFakeSheetServer,
  startSheetsync, startSheetsyncWithConfig, stop, stopAll, until,
} from './harness.mjs';

const TEST_TIMEOUT = 30000;

describe('sheetsync web pages', { timeout: 120000 }, () => {
  let browser;
  let sheet;  // base URL of the fake sheet server
  // A failed set-up fails every test with its message (a failing before() hook would only
  // cancel them, which reads as "fail 0").
  let setupError = null;

  before(async () => {
    try {
      checkBinary();
      // Screenshots of an earlier failed run would mislead.
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      for (const f of fs.readdirSync(ARTIFACTS)) {
        if (f.startsWith('FAILED-')) fs.rmSync(path.join(ARTIFACTS, f));
      }
      sheet = await startFakeSheetServer();
      browser = await launchBrowser();
    } catch (err) {
      setupError = err;
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await stopAll();
  });

  // Runs fn(page) and, when it fails, saves a screenshot and the page's text for the report.
  async function withPage(name, fn, viewport) {
    const page = await newPage(browser, viewport);
    try {
      await fn(page);
      assert.deepEqual(page.errors, [], 'uncaught errors in the page');
    } catch (err) {
      await screenshot(page, `FAILED-${name}.png`, { fullPage: true }).catch(() => {});
      const text = await page.locator('body').innerText().catch(() => '(no page)');
      err.message += `\n--- ${page.url()} showed:\n${text.slice(0, 1500)}\n--- screenshot in ${ARTIFACTS}`;
      throw err;
    } finally {
      await page.context().close().catch(() => {});
    }
  }

  // `it` that first rethrows a set-up failure.
  const test = (name, options, fn) => it(name, options, async (t) => {
    if (setupError) throw setupError;
    await fn(t);
  });

  const progressValue = async (page) => page.getByRole('progressbar').getAttribute('aria-valuenow');

  // Resolves once the Sync Now button reads "Sync Now" and is enabled (the status is known and no
  // sync runs).
  async function syncNowReady(page, timeoutMs = 15000) {
    const button = page.locator('#sync-now');
    await until('the "Sync Now" button to be enabled', async () =>
      (await button.innerText()).trim() === 'Sync Now' && (await button.isEnabled()), timeoutMs);
    return button;
  }

  // Records in the page every value the progress bar and the button take (a small sync can run
  // through all its phases between two polls of the test).
  async function recordProgress(page) {
    await page.evaluate(() => {
      const bar = document.querySelector('[role=progressbar]');
      const button = document.getElementById('sync-now');
      const seen = { values: [], syncing: false };
      window.__seen = seen;
      const look = () => {
        const v = Number(bar.getAttribute('aria-valuenow'));
        if (seen.values[seen.values.length - 1] !== v) seen.values.push(v);
        if (button.disabled && button.textContent.trim() === 'Syncing...') seen.syncing = true;
      };
      new MutationObserver(look).observe(document.body, { attributes: true, childList: true, subtree: true, characterData: true });
    });
  }

  test('Sync Now on /settings runs a sync to 100 % and / shows the new rows', { timeout: TEST_TIMEOUT }, async () => {
    const server = await startSheetsync('sheetsync-serve-ok', `${sheet}/ok.csv`);
    try {
      await withPage('settings-sync', async (page) => {
        await page.goto(`${server.url}/settings`);
        const bar = page.getByRole('progressbar');
        assert.equal(await bar.getAttribute('aria-valuemin'), '0');
        assert.equal(await bar.getAttribute('aria-valuemax'), '100');
        const button = await syncNowReady(page);
        await recordProgress(page);

        await button.click();
        await until('the progress bar to reach 100', async () => (await progressValue(page)) === '100');
        await syncNowReady(page);
        await until('the success message', async () =>
          /Sync complete/.test(await page.locator('#result').innerText()));
        const seen = await page.evaluate(() => window.__seen);
        assert.ok(seen.syncing, 'the button read "Syncing..." and was disabled while the sync ran');
        for (let i = 1; i < seen.values.length; i++) {
          assert.ok(seen.values[i] >= seen.values[i - 1], `progress went back: ${seen.values.join(', ')}`);
        }
        assert.match(await page.locator('#sync-panel').innerText(), /Complete/);
        assert.match(await page.locator('#stats').innerText(), /300/, 'the stats show the rows');
        // One source: no picker. The history shows the sync once it ended.
        assert.ok(await page.locator('#source-picker-wrap').isHidden(), 'no source picker for one source');
        assert.equal(await page.getByLabel('Source', { exact: true }).count(), 1);
        const history = page.getByRole('table', { name: 'History' });
        await until('the sync in the history', async () =>
          (await history.locator('tbody tr').count()) === 1 && /Complete/.test(await history.innerText()));
        const cells = await history.locator('tbody tr').first().locator('td').allInnerTexts();
        assert.equal(cells.length, 7, `history columns: ${cells.join(' | ')}`);
        assert.equal(cells[1], 'sheet');
        assert.match(cells[2], /Complete/);
        assert.equal(cells[3], '300');
        assert.match(cells[4], /KiB|B$/);
        assert.match(cells[5], /\d+(\.\d)? s/);
        assert.equal(cells[6], '');
        await screenshot(page, 'settings.png', { fullPage: true });

        // The dashboard shows the rows the sync saved.
        await page.goto(`${server.url}/`);
        const table = page.getByRole('table');
        await until('SO-10001 in the table', async () => /SO-10001/.test(await table.innerText()));
        await until('"of 300"', async () => /of\s+300/.test(await page.locator('#range').innerText()));
        assert.match(await page.locator('#range').innerText(), /1\s*[–-]\s*50\s+of\s+300/);
        assert.equal(await page.getByRole('link', { name: 'Settings', exact: true }).getAttribute('href'), '/settings');
        await screenshot(page, 'dashboard.png');

        await page.getByRole('button', { name: 'Next page' }).click();
        await until('rows 51-100', async () => /51\s*[–-]\s*100\s+of\s+300/.test(await page.locator('#range').innerText()));
        assert.match(await table.innerText(), /SO-10051/);
        await page.getByRole('button', { name: 'Previous page' }).click();
        await until('rows 1-50 again', async () => /SO-10001/.test(await table.innerText()));
      });

      await withPage('dashboard-narrow', async (page) => {
        await page.goto(`${server.url}/`);
        await until('SO-10001 in the table', async () => /SO-10001/.test(await page.getByRole('table').innerText()));
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the page scrolls sideways at 360 px by ${overflow} px`);
        await screenshot(page, 'dashboard-360.png');
        await page.goto(`${server.url}/settings`);
        await syncNowReady(page);
        await screenshot(page, 'settings-360.png', { fullPage: true });
      }, { width: 360, height: 740 });
    } finally {
      await stop(server.child);
    }
  });

  test('a failing sync shows its error on /settings', { timeout: TEST_TIMEOUT }, async () => {
    const server = await startSheetsync('sheetsync-serve-html', `${sheet}/html`);
    try {
      await withPage('settings-error', async (page) => {
        await page.goto(`${server.url}/settings`);
        const button = await syncNowReady(page);
        await button.click();
        const alert = page.getByRole('alert');
        await until('an error message', async () => /share/i.test(await alert.innerText()));
        assert.match(await alert.innerText(), /Sync failed/);
        await syncNowReady(page);
        assert.equal(await page.locator('#sync-panel').getAttribute('data-status'), 'error');
        await screenshot(page, 'settings-error.png', { fullPage: true });

        // Dismiss clears the result.
        await alert.getByRole('button', { name: 'Dismiss' }).click();
        assert.equal(await page.getByRole('alert').count(), 0);
      });
    } finally {
      await stop(server.child);
    }
  });

  test('a sync started through the API shows the badge on an open dashboard, then the rows', { timeout: TEST_TIMEOUT }, async () => {
    // A slow sheet (about 2 s), so that the badge is seen while the sync runs.
    const server = await startSheetsync('sheetsync-serve-slow', `${sheet}/slow?interval_ms=15&lines=121`);
    try {
      await withPage('dashboard-badge', async (page) => {
        await page.goto(`${server.url}/`);
        await until('the empty cache', async () => /No data cached yet/.test(await page.locator('main').innerText()));
        assert.ok(await page.locator('#badge').isHidden(), 'no badge before a sync');
        await page.evaluate(() => { window.__sameDocument = true; });
        // Let the page's event stream connect before the sync starts.
        await page.waitForTimeout(300);

        const res = await fetch(`${server.url}/api/sync-sheets-bg`, { method: 'POST' });
        const body = await res.text();
        assert.equal(res.status, 202, `POST answered ${res.status}: ${body}`);
        const { syncId } = JSON.parse(body);
        assert.match(syncId, /^sync-/);

        const badge = page.getByRole('status').filter({ hasText: /Sync/ });
        await until('the badge with a percentage', async () =>
          (await badge.isVisible()) && /Syncing.*\d+\s*%/s.test(await badge.innerText()), 5000);
        await screenshot(page, 'dashboard-badge.png');

        await until('the rows of the slow sheet', async () => /of\s+120/.test(await page.locator('#range').innerText()), 20000);
        assert.match(await page.getByRole('table').innerText(), /row\s+1\b/);
        await until('the badge to say the sync completed', async () => /Sync complete/.test(await badge.innerText()));
        assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the table reloaded without reloading the page');
      });
    } finally {
      await stop(server.child);
    }
  });

  test('Cancel stops a running sync', { timeout: TEST_TIMEOUT }, async () => {
    const server = await startSheetsync('sheetsync-serve-cancel', `${sheet}/slow?interval_ms=50&lines=400`);
    try {
      await withPage('settings-cancel', async (page) => {
        await page.goto(`${server.url}/settings`);
        const button = await syncNowReady(page);
        await button.click();
        const cancel = page.getByRole('button', { name: 'Cancel' });
        await cancel.waitFor({ state: 'visible' });
        assert.match(await button.innerText(), /Syncing\.\.\./);
        assert.ok(await button.isDisabled());
        await cancel.click();
        await until('the cancelled message', async () => /Sync cancelled/.test(await page.locator('#result').innerText()));
        assert.equal(await page.locator('#sync-panel').getAttribute('data-status'), 'cancelled');
        await syncNowReady(page);
        assert.ok(await cancel.isHidden(), 'no Cancel button once the sync ended');
      });
    } finally {
      await stop(server.child);
    }
  });

  test('when the event stream fails the pages poll the status instead', { timeout: TEST_TIMEOUT }, async () => {
    const server = await startSheetsync('sheetsync-serve-polling', `${sheet}/ok.csv`);
    try {
      await withPage('settings-polling', async (page) => {
        await page.route('**/api/sync-sheets-bg/events', (route) => route.abort('connectionrefused'));
        await page.goto(`${server.url}/settings`);
        const button = await syncNowReady(page);
        await until('the polling indicator', async () => /Polling/.test(await page.locator('#conn-text').innerText()));
        await button.click();
        await until('the progress bar to reach 100', async () => (await progressValue(page)) === '100');
        await syncNowReady(page);
      });
    } finally {
      await stop(server.child);
    }
  });

  test('with --api-token the pages ask for the token once, then work', { timeout: TEST_TIMEOUT }, async () => {
    const token = 'web-test-token-4f1c';
    const server = await startSheetsync('sheetsync-serve-token', `${sheet}/ok.csv`, [`--api-token=${token}`]);
    try {
      const anonymous = await fetch(`${server.url}/api/sync-sheets-bg`);
      assert.equal(anonymous.status, 401, 'the API needs the token');
      await withPage('token', async (page) => {
        await page.goto(`${server.url}/settings`);
        const dialog = page.getByRole('dialog');
        await dialog.waitFor();
        assert.match(await dialog.innerText(), /API token required/);
        await screenshot(page, 'settings-token.png');

        await dialog.getByLabel('API token').fill('not-the-token');
        await dialog.getByRole('button', { name: 'Use token' }).click();
        await until('the dialog to say the token was wrong', async () => /not accepted/.test(await dialog.innerText()));
        assert.equal(await page.locator('dialog[open]').count(), 1, 'one dialog at a time');

        await dialog.getByLabel('API token').fill(token);
        await dialog.getByRole('button', { name: 'Use token' }).click();
        const button = await syncNowReady(page);
        assert.equal(await page.locator('dialog[open]').count(), 0);
        await button.click();
        await until('the progress bar to reach 100', async () => (await progressValue(page)) === '100');

        // The token is kept for the tab: the dashboard does not ask again.
        await page.goto(`${server.url}/`);
        await until('SO-10001 in the table', async () => /SO-10001/.test(await page.getByRole('table').innerText()));
        assert.equal(await page.locator('dialog[open]').count(), 0);
      });
    } finally {
      await stop(server.child);
    }
  });
  // Needs `serve --config-file` with several sources (the CLI side of issue 4).
  test('with two sources: a picker on both pages, kept in the URL; other sources do not move the bar', { timeout: 60000 }, async () => {
    const config = [
      '[sheetsync]',
      'sources = {',
      `  a = { url = "${sheet}/ok.csv" },`,
      `  b = { url = "${sheet}/slow?interval_ms=15&lines=121" }`,
      '}',
      '',
    ].join('\n');
    const server = await startSheetsyncWithConfig('sheetsync-serve-sources', config);
    try {
      const listed = await (await fetch(`${server.url}/api/sources`)).json();
      assert.deepEqual(listed.sources.map((x) => x.name), ['a', 'b'], JSON.stringify(listed));
      await withPage('settings-sources', async (page) => {
        await page.goto(`${server.url}/settings`);
        const picker = page.getByLabel('Source', { exact: true });
        await until('the source picker', async () => picker.isVisible());
        assert.deepEqual(await picker.locator('option').evaluateAll((os) => os.map((o) => o.value)), ['a', 'b']);
        assert.equal(await picker.inputValue(), 'a', 'the default source is picked');
        await syncNowReady(page);

        // Pick b: kept in the URL and in the links to the other page.
        await picker.selectOption('b');
        await until('?source=b in the URL', async () => new URL(page.url()).searchParams.get('source') === 'b');
        assert.equal(await page.getByRole('link', { name: 'Data', exact: true }).getAttribute('href'), '/?source=b');
        await syncNowReady(page);
        await recordProgress(page);

        // A sync of a, started elsewhere, runs to its end: b's panel does not move.
        const res = await fetch(`${server.url}/api/sync-sheets-bg?source=a`, { method: 'POST' });
        const started = await res.text();
        assert.equal(res.status, 202, started);
        const { syncId: syncA } = JSON.parse(started);
        const history = page.getByRole('table', { name: 'History' });
        await until("a's sync in the history", async () =>
          /Complete/.test(await history.locator(`tr[data-sync-id="${syncA}"]`).innerText().catch(() => '')), 15000);
        let seen = await page.evaluate(() => window.__seen);
        assert.ok(seen.values.every((v) => v === 0), `b's progress bar moved for a's sync: ${seen.values.join(', ')}`);
        assert.equal(seen.syncing, false, "the button did not read Syncing... for a's sync");
        assert.equal(await page.locator('#sync-panel').getAttribute('data-status'), 'idle');

        // b's own sync moves it, to 100.
        const button = await syncNowReady(page);
        await button.click();
        await until('the progress bar to reach 100', async () => (await progressValue(page)) === '100', 20000);
        seen = await page.evaluate(() => window.__seen);
        assert.ok(seen.syncing, 'the button read "Syncing..." while b synced');
        await until("b's sync first in the history", async () => {
          const rows = await history.locator('tbody tr').allInnerTexts();
          return rows.length === 2 && /\bb\b.*Complete/s.test(rows[0]) && /\ba\b.*Complete/s.test(rows[1]);
        });
        await screenshot(page, 'settings-sources.png', { fullPage: true });

        // The URL is a bookmark: b is picked again after a reload.
        await page.reload();
        await until('b picked after the reload', async () =>
          (await page.getByLabel('Source', { exact: true }).isVisible()) && (await page.getByLabel('Source', { exact: true }).inputValue()) === 'b');
        await until("b's complete sync shown", async () => /Complete/.test(await page.locator('#sync-panel').innerText()));

        // The dashboard shows the picked source's rows; switching shows the other's.
        await page.getByRole('link', { name: 'Data', exact: true }).click();
        await until('the rows of b', async () => /of\s+120/.test(await page.locator('#range').innerText()), 15000);
        const dashPicker = page.getByLabel('Source', { exact: true });
        assert.equal(await dashPicker.inputValue(), 'b');
        await dashPicker.selectOption('a');
        await until('the rows of a', async () => /of\s+300/.test(await page.locator('#range').innerText()));
        assert.match(await page.getByRole('table').innerText(), /SO-10001/);
        assert.equal(new URL(page.url()).searchParams.get('source'), 'a');
        await screenshot(page, 'dashboard-sources.png');
      });
    } finally {
      await stop(server.child);
    }
  });
  test('a spreadsheet synced tab by tab: the dashboard picks a tab by keyboard, kept in the URL', { timeout: 60000 }, async () => {
    const key = 'AIzaSyFake-browser-tabs';
    const id = '1BrowserTabs_______________________________';
    const google = await startFakeGoogle({
      [id]: {
        public: true, tabs: [
          { gid: 0, title: 'Sales', values: [['region', 'amount'], ['north', '10'], ['south', '20']] },
          { gid: 7, title: 'Q1 Costs', values: [['item', 'cost'], ['paper', '3']] },
        ],
      },
    }, key);
    const config = ['[sheetsync]', 'sources = {',
      `  book = { id = "${id}", api-key = "${key}", tabs = "all" }`, '}', ''].join('\n');
    const server = await startSheetsyncWithConfig('sheetsync-serve-tabs', config,
      [`--sheets-api-base-url=${google}`, `--docs-base-url=${google}`]);
    try {
      const res = await fetch(`${server.url}/api/sync-sheets-bg`, { method: 'POST' });
      const started = await res.text();
      assert.equal(res.status, 202, started);
      const { syncId } = JSON.parse(started);
      await until('the sync to complete', async () => {
        const st = await (await fetch(`${server.url}/api/sync-sheets-bg?syncId=${syncId}`)).json();
        if (st.status === 'error') throw new Error(`the sync failed: ${JSON.stringify(st)}`);
        return st.status === 'complete';
      }, 20000);
      await withPage('dashboard-tabs', async (page) => {
        await page.goto(`${server.url}/`);
        const picker = page.getByLabel('Tab');
        await until('the tab picker', async () => picker.isVisible());
        assert.deepEqual(await picker.locator('option').evaluateAll((os) => os.map((o) => o.value)),
          ['Sales', 'Q1 Costs']);
        assert.equal(await picker.inputValue(), 'Sales', 'the first tab is shown first');
        await until('the rows of Sales', async () => /north/.test(await page.getByRole('table').innerText()));
        // By keyboard: focus the picker and step to the next tab.
        await picker.focus();
        await page.keyboard.press('ArrowDown');
        await until('the rows of Q1 Costs', async () => /paper/.test(await page.getByRole('table').innerText().catch(() => '')));
        assert.equal(await picker.inputValue(), 'Q1 Costs');
        assert.equal(new URL(page.url()).searchParams.get('tab'), 'Q1 Costs');
        assert.doesNotMatch(await page.getByRole('table').innerText(), /north/);
        // The URL is a bookmark: the same tab after a reload.
        await page.reload();
        await until('Q1 Costs after the reload', async () =>
          (await page.getByLabel('Tab').isVisible()) && (await page.getByLabel('Tab').inputValue()) === 'Q1 Costs'
          && /paper/.test(await page.getByRole('table').innerText().catch(() => '')));
        await screenshot(page, 'dashboard-tabs.png');
      });
    } finally {
      await stop(server.child);
    }
  });

  test('a queued sync reads as in progress on /settings and in the dashboard badge', { timeout: 60000 }, async () => {
    const config = [
      '[sheetsync]',
      'max-parallel = 1',
      'sources = {',
      `  a = { url = "${sheet}/slow?interval_ms=20&lines=200" },`,
      `  b = { url = "${sheet}/slow?interval_ms=10&lines=121" }`,
      '}',
      '',
    ].join('\n');
    const server = await startSheetsyncWithConfig('sheetsync-serve-queue', config);
    try {
      await withPage('settings-queued', async (page) => {
        await page.goto(`${server.url}/settings?source=b`);
        const button = await syncNowReady(page);
        // a takes the only slot.
        const res = await fetch(`${server.url}/api/sync-sheets-bg?source=a`, { method: 'POST' });
        assert.equal(res.status, 202, await res.text());
        await until("a's sync running", async () => {
          const st = await (await fetch(`${server.url}/api/sync-sheets-bg?source=a`)).json();
          return ['downloading', 'processing', 'saving'].includes(st.status);
        });
        await button.click();
        await until('the queued state', async () =>
          (await page.locator('#sync-panel').getAttribute('data-status')) === 'queued', 5000);
        assert.match(await page.locator('#phase-label').innerText(), /Queued/);
        assert.ok(await button.isDisabled(), 'Sync Now is disabled while queued');
        assert.match(await button.innerText(), /Queued/);
        assert.ok(await page.getByRole('button', { name: 'Cancel' }).isVisible(), 'a queued sync can be cancelled');
        await screenshot(page, 'settings-queued.png', { fullPage: true });

        // The dashboard's badge shows it too.
        const dash = await page.context().newPage();
        await dash.goto(`${server.url}/?source=b`);
        const badge = dash.locator('#badge');
        await until('the queued badge', async () =>
          (await badge.isVisible()) && /Sync queued/.test(await badge.innerText()), 5000);
        await screenshot(dash, 'dashboard-queued.png');

        // It runs once a is done.
        await until('b to reach 100', async () => (await progressValue(page)) === '100', 30000);
        await until('the badge to say the sync completed', async () => /Sync complete/.test(await badge.innerText()));
        await syncNowReady(page);
      });
    } finally {
      await stop(server.child);
    }
  });
  test('the settings page adds a sheet, checks it, syncs it, edits its schedule and removes it', { timeout: 60000 }, async () => {
    const server = await startSheetsync('sheetsync-serve-add', `${sheet}/ok.csv`, ['--name=main']);
    try {
      await withPage('settings-add-source', async (page) => {
        await page.goto(`${server.url}/settings`);
        const sources = page.getByRole('table', { name: 'Sources' });
        await until('the fixed source in the list', async () => /main/.test(await sources.innerText()));
        const mainRow = sources.locator('tr[data-source=main]');
        assert.match(await mainRow.innerText(), /fixed/);
        assert.equal(await mainRow.getByRole('button', { name: 'Edit main' }).count(), 0, 'a fixed source cannot be edited');
        assert.equal(await mainRow.getByRole('button', { name: 'Remove main' }).count(), 0);

        // Check: a bad link is explained beside the field, and focus goes there.
        const link = page.getByLabel('Link or id of the sheet');
        await link.fill(`${sheet}/status/404`);
        await page.getByRole('button', { name: 'Check', exact: true }).click();
        const linkError = page.locator('#src-link-error');
        await until('the check error beside the link', async () => linkError.isVisible());
        assert.ok((await linkError.innerText()).length > 10, await linkError.innerText());
        assert.equal(await link.getAttribute('aria-invalid'), 'true');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'src-link');

        // A good link: its columns and first rows, and a proposed name.
        await link.fill(`${sheet}/ok.csv`);
        assert.ok(await linkError.isHidden(), 'the error goes once the link changes');
        await page.getByRole('button', { name: 'Check', exact: true }).click();
        const result = page.getByRole('region', { name: 'The sheet answers' });
        await until('the check result', async () => result.isVisible());
        const header = fs.readFileSync(path.join(REPO, 'config', 'demo.csv'), 'utf8').split('\n')[0].trim().split(',');
        const columns = await result.locator('thead th').allInnerTexts();
        assert.deepEqual(columns, header);
        const rows = await result.locator('tbody tr').count();
        assert.ok(rows >= 1 && rows <= 5, `${rows} rows`);
        const name = page.getByLabel(/^Name/);
        assert.ok((await name.inputValue()).length > 0, 'a name is proposed');
        await name.fill('extra');

        // Save with a schedule of every 30 minutes.
        await page.getByRole('radio', { name: 'Every' }).check();
        await page.getByLabel('How many').fill('30');
        await page.getByRole('button', { name: 'Save', exact: true }).click();
        const row = sources.locator('tr[data-source=extra]');
        await until('the new source in the list', async () => (await row.count()) === 1);
        assert.match(await row.innerText(), /Every 30 minutes/);
        assert.match(await page.locator('#sources-notice').innerText(), /Added “extra”/);
        assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Edit extra',
          'focus moves to the new source');
        const listed = await (await fetch(`${server.url}/api/sources/extra`)).json();
        assert.equal(listed.intervalSeconds, 1800, JSON.stringify(listed));
        // The picker offers it too.
        await until('the picker lists extra', async () =>
          (await page.getByLabel('Source', { exact: true }).locator('option').allInnerTexts()).includes('extra'));

        // Sync it from its row: the panel follows it, the row shows the result.
        await row.getByRole('button', { name: 'Sync now: extra' }).click();
        await until('?source=extra in the URL', async () => new URL(page.url()).searchParams.get('source') === 'extra');
        await until('the sync to complete', async () => /Complete/.test(await row.locator('.source-last').innerText()), 20000);
        await until('the panel to reach 100', async () => (await progressValue(page)) === '100');
        await screenshot(page, 'settings-sources.png', { fullPage: true });

        // Its rows on the dashboard.
        await page.getByRole('link', { name: 'Data', exact: true }).click();
        await until('SO-10001 in the table', async () => /SO-10001/.test(await page.getByRole('table').innerText()));
        assert.match(await page.locator('#range').innerText(), /of\s+300/);
        assert.equal(new URL(page.url()).searchParams.get('source'), 'extra');

        // Edit its schedule.
        await page.goto(`${server.url}/settings`);
        await until('the source in the list', async () => (await row.count()) === 1);
        await row.getByRole('button', { name: 'Edit extra' }).click();
        assert.match(await page.locator('#form-title').innerText(), /Edit “extra”/);
        assert.equal(await page.evaluate(() => document.activeElement.id), 'form-title');
        assert.equal(await page.getByLabel('How many').inputValue(), '30');
        await page.getByLabel('How many').fill('2');
        await page.getByLabel('Unit').selectOption('h');
        await page.getByRole('button', { name: 'Save changes' }).click();
        await until('the new schedule', async () => /Every 2 hours/.test(await row.innerText()));
        const edited = await (await fetch(`${server.url}/api/sources/extra`)).json();
        assert.equal(edited.intervalSeconds, 7200, JSON.stringify(edited));

        // Remove it: asked first, "Keep it" keeps it.
        await row.getByRole('button', { name: 'Remove extra' }).click();
        assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Keep it');
        await page.getByRole('button', { name: 'Keep it' }).click();
        assert.equal(await row.count(), 1);
        await row.getByRole('button', { name: 'Remove extra' }).click();
        await row.getByRole('button', { name: 'Yes, remove extra' }).click();
        await until('the source gone from the list', async () => (await row.count()) === 0);
        assert.match(await page.locator('#sources-notice').innerText(), /Removed “extra”/);
        assert.equal((await fetch(`${server.url}/api/sources/extra`)).status, 404);
      });
    } finally {
      await stop(server.child);
    }
  });

  test('the settings page works with the keyboard alone', { timeout: TEST_TIMEOUT }, async () => {
    const server = await startSheetsync('sheetsync-serve-keys', `${sheet}/ok.csv`, ['--name=main']);
    try {
      await withPage('settings-keyboard', async (page) => {
        await page.goto(`${server.url}/settings`);
        await until('the source list', async () => /main/.test(await page.locator('#sources-rows').innerText()));
        await page.getByLabel('Link or id of the sheet').focus();
        await page.keyboard.type(`${sheet}/ok.csv`);
        await page.keyboard.press('Tab');           // the name
        await page.keyboard.type('keyed');
        await page.keyboard.press('Tab');           // Check
        assert.equal(await page.evaluate(() => document.activeElement.id), 'src-check');
        await page.keyboard.press('Enter');
        await until('the check result', async () => page.locator('#check-result').isVisible());
        await page.getByLabel('Link or id of the sheet').focus();
        await page.keyboard.press('Enter');         // submits the form: Save
        const row = page.locator('#sources-rows tr[data-source=keyed]');
        await until('the source added', async () => (await row.count()) === 1);
        assert.match(await row.innerText(), /Manual/);
      });
    } finally {
      await stop(server.child);
    }
  });
});
