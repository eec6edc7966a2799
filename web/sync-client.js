/* sheetsync web client of the built-in pages: window.SheetSync, one connection (sync-core.js) to
 * the server that serves the page, the single source of truth for sync state on every page.
 * Load sync-core.js first.
 *
 * On top of the core: the tracked source comes from ?source=NAME in the URL and is kept there (and
 * in links marked data-keeps-source); on a 401 an inline dialog asks for the API token, which is
 * kept in sessionStorage and shared with the other tabs (BroadcastChannel), as are starts and
 * cancels (the other tabs poll at once when their stream is down).
 *
 *   SheetSync.subscribe, state, onStatus, source, picked, unknownSource, setSource, sources,
 *   withSource, sourcePicker, start, cancel, fetch, connection: as sync-core.js says
 *   SheetSync.retry()        after the token dialog was closed: ask again and reconnect
 *   SheetSync.forgetToken(), SheetSync.hasToken()
 *   helpers: isRunning(status) (a queued sync counts: it is in progress), isQueued(status),
 *            isFinished(status), PHASES, icon(name), formatBytes(n)
 */
(function () {
  'use strict';

  var Core = window.SheetSyncCore;
  var TOKEN_KEY = 'sheetsync.token';

  // -- the token: kept for the tab, asked for in a dialog ------------------------------------------

  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }
  function setToken(t) {
    try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* private mode */ }
  }

  var tokenRequest = null;    // the pending dialog's promise, shared by every request that waits
  var tokenDismissed = false; // the user closed the dialog: stop asking until they act again
  var channel = null;
  try { channel = new BroadcastChannel('sheetsync'); } catch (e) { channel = null; }

  function askForToken(rejected) {
    if (tokenRequest) return tokenRequest;
    tokenRequest = new Promise(function (resolve) {
      var dlg = document.createElement('dialog');
      dlg.className = 'token-dialog';
      dlg.setAttribute('aria-labelledby', 'ss-token-title');
      dlg.innerHTML =
        '<form method="dialog" class="token-form">' +
        '<h2 id="ss-token-title">API token required</h2>' +
        '<p class="muted">This sheetsync server needs a token. It is kept for this tab only.</p>' +
        (rejected ? '<p class="token-error" role="alert">That token was not accepted. Try again.</p>' : '') +
        '<label for="ss-token-input">API token</label>' +
        '<input id="ss-token-input" name="token" type="password" autocomplete="off" spellcheck="false" required>' +
        '<div class="actions">' +
        '<button type="button" class="btn" value="cancel">Cancel</button>' +
        '<button type="submit" class="btn btn-primary" value="ok">Use token</button>' +
        '</div></form>';
      var input = dlg.querySelector('input');
      var finish = function (token) {
        if (!dlg.isConnected) return;
        if (dlg.open) dlg.close();
        dlg.remove();
        tokenRequest = null;
        waitingForToken = null;
        resolve(token);
      };
      dlg.querySelector('form').addEventListener('submit', function (ev) {
        ev.preventDefault();
        var t = input.value.trim();
        if (!t) return;
        setToken(t);
        tokenDismissed = false;
        if (channel) channel.postMessage({ type: 'token', token: t });
        finish(t);
      });
      dlg.querySelector('button[value=cancel]').addEventListener('click', function () {
        tokenDismissed = true;
        finish('');
      });
      dlg.addEventListener('cancel', function (ev) { ev.preventDefault(); tokenDismissed = true; finish(''); });
      // A token typed into another tab's dialog answers this one too.
      waitingForToken = function (t) { setToken(t); tokenDismissed = false; finish(t); };
      document.body.appendChild(dlg);
      dlg.showModal();
      input.focus();
    });
    return tokenRequest;
  }

  var waitingForToken = null;
  function onChannel(ev) {
    var m = ev.data || {};
    if (m.type === 'token' && typeof m.token === 'string') {
      if (tokenRequest && waitingForToken) waitingForToken(m.token);
    } else if (m.type === 'nudge' && conn.connection() !== 'live') {
      conn.poll();
    }
  }
  if (channel) channel.onmessage = onChannel;

  // -- ?source= in the URL --------------------------------------------------------------------------

  // Keeps ?source= in the URL (and in the links that carry it), so the choice can be bookmarked.
  function syncUrl(picked) {
    try {
      var q = new URLSearchParams(location.search);
      if (picked) q.set('source', picked); else q.delete('source');
      var url = location.pathname + (q.toString() ? '?' + q : '') + location.hash;
      if (url !== location.pathname + location.search + location.hash) history.replaceState(history.state, '', url);
    } catch (e) { /* an old browser: the choice is not kept */ }
    var links = document.querySelectorAll('a[data-keeps-source]');
    for (var i = 0; i < links.length; i++) {
      var a = links[i];
      var base = a.getAttribute('href').split('?')[0];
      a.setAttribute('href', picked ? base + '?source=' + encodeURIComponent(picked) : base);
    }
  }

  var picked = '';
  try { picked = new URLSearchParams(location.search).get('source') || ''; } catch (e) { picked = ''; }

  var conn = Core.createConnection({
    server: '',
    source: picked,
    getToken: getToken,
    askToken: function (rejected) {
      if (tokenDismissed) return '';
      if (rejected) setToken('');
      return askForToken(rejected);
    },
    onPicked: syncUrl,
    onNudge: function () { if (channel) channel.postMessage({ type: 'nudge' }); }
  });

  window.SheetSync = {
    subscribe: conn.subscribe,
    state: conn.state,
    onStatus: conn.onStatus,
    source: conn.source,
    picked: conn.picked,
    unknownSource: conn.unknownSource,
    setSource: conn.setSource,
    sources: conn.sources,
    withSource: conn.withSource,
    sourcePicker: conn.sourcePicker,
    start: conn.start,
    cancel: conn.cancel,
    fetch: conn.fetch,
    connection: conn.connection,
    forgetToken: function () { setToken(''); },
    retry: function () {
      tokenDismissed = false;
      conn.retry();
    },
    hasToken: function () { return !!getToken(); },
    isRunning: Core.isRunning,
    isQueued: Core.isQueued,
    isFinished: Core.isFinished,
    PHASES: Core.PHASES,
    icon: Core.icon,
    formatBytes: Core.formatBytes
  };

  syncUrl(picked);
  conn.open();
})();
