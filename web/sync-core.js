/* sheetsync's client core: one connection to a sheetsync server, the single source of truth for
 * sync state on a page. Both the built-in pages (sync-client.js: window.SheetSync) and the module
 * for other sites (/sheetsync.js: <sheetsync-progress>, <sheetsync-badge>, connect()) run on it.
 * It is a classic script that is also valid module code, so the pages load it with <script> and
 * the module imports it; either way it defines globalThis.SheetSyncCore.
 *
 * It reads the event stream GET /api/sync-sheets-bg/events with fetch() (EventSource cannot send
 * an Authorization header) and parses the server-sent events itself; while the stream is down it
 * polls GET /api/sync-sheets-bg every second and keeps trying to reconnect (with Last-Event-ID).
 * On a 401 it asks options.askToken(rejected) for a token (once, shared by every request waiting)
 * and retries.
 *
 * Several sources: a connection tracks one source (options.source; '' = the server's default).
 * Events of every source arrive on the one stream; only the tracked source's statuses move state()
 * and the subscribers; onStatus() hears them all.
 *
 *   SheetSyncCore.createConnection(options)  a connection, not yet open; options:
 *       server      the server's origin ('' = this page's, e.g. 'https://sync.example.com')
 *       source      the tracked source's name ('' = the default source)
 *       getToken()  the API token to send ('' = none)
 *       askToken(rejected)  a promise of a token after a 401 ('' = give up: 'unauthorized');
 *                   rejected: the token sent was refused. None: a 401 is 'unauthorized' at once.
 *       onPicked(name)  the tracked source changed (setSource, or an unknown one was dropped)
 *       onNudge()   a sync was started or cancelled here (the pages tell their other tabs)
 *   connection.open()        connects (the stream, else polling); again after close()
 *   connection.close()       stops the stream and the polling
 *   connection.subscribe(fn) fn(status, info) now (if known) and on every change of the tracked
 *                            source's status, of the connection or of the tracked source (status
 *                            may then be null); returns an unsubscribe function.
 *                            info = {previous, connection, source} (source: what caused it:
 *                            'stream', 'poll', 'start', 'cancel', 'connection', 'source', ...)
 *   connection.state()       the tracked source's latest status (docs/http-api.md), or null
 *   connection.onStatus(fn)  fn(status) for every status change of any source; returns unsubscribe
 *   connection.source()      the tracked source's name ('' until the default one is known)
 *   connection.picked()      the name asked for ('' = the default source)
 *   connection.setSource(n)  tracks source n
 *   connection.sources()     promise of GET /api/sources' list (fetched once; sources(true) again,
 *                            which also refreshes every sourcePicker)
 *   connection.withSource(p) p with &source=<picked> appended when a source is picked
 *   connection.sourcePicker(select, wrapper)  fills a <select> with the sources, hides wrapper
 *                            when there is only one, and tracks the choice
 *   connection.start()       POST for the tracked source: resolves {ok, code, body}; 409 adopts
 *                            the running sync
 *   connection.cancel()      DELETE the running sync
 *   connection.fetch(path, init)  fetch from the server with the token and askToken on a 401
 *   connection.connection()  'connecting' | 'live' | 'polling' | 'unauthorized'
 *   connection.retry()       after a 401 was given up: ask again and reconnect
 *   connection.poll()        asks for the status now (when not live)
 *   helpers: isRunning(status) (a queued sync counts: it is in progress), isQueued(status),
 *            isFinished(status), PHASES, icon(name), formatBytes(n)
 */
(function () {
  'use strict';

  var STATUS_URL = '/api/sync-sheets-bg';
  var EVENTS_URL = '/api/sync-sheets-bg/events';
  var POLL_MS = 1000;
  var STALL_MS = 45000;          // no byte (not even a keep-alive) for this long: reconnect
  var RECONNECT_MIN_MS = 1000;
  var RECONNECT_MAX_MS = 15000;

  var RUNNING = { downloading: true, processing: true, saving: true };
  var FINISHED = { complete: true, error: true, cancelled: true };

  // Icons: 24x24 outline paths (stroke = currentColor), so that pages need no image file.
  var ICONS = {
    idle: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
    downloading: '<path d="M12 3v12"/><path d="M7 10l5 5 5-5"/><path d="M5 20h14"/>',
    processing: '<path d="M4 6h16"/><path d="M4 12h10"/><path d="M4 18h6"/><path d="M17 15l3 3-3 3"/>',
    saving: '<ellipse cx="12" cy="6" rx="7" ry="3"/><path d="M5 6v12c0 1.7 3.1 3 7 3s7-1.3 7-3V6"/><path d="M5 12c0 1.7 3.1 3 7 3s7-1.3 7-3"/>',
    complete: '<circle cx="12" cy="12" r="9"/><path d="M8 12.5l2.5 2.5L16 9.5"/>',
    error: '<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5.5"/><path d="M12 16.5v.01"/>',
    cancelled: '<circle cx="12" cy="12" r="9"/><path d="M8.5 8.5l7 7"/><path d="M15.5 8.5l-7 7"/>',
    sync: '<path d="M20 11a8 8 0 0 0-14.3-4.9L4 8"/><path d="M4 4v4h4"/><path d="M4 13a8 8 0 0 0 14.3 4.9L20 16"/><path d="M20 20v-4h-4"/>',
    close: '<path d="M6 6l12 12"/><path d="M18 6L6 18"/>',
    table: '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M3 10h18"/><path d="M3 15h18"/><path d="M10 10v10"/>'
  };

  var PHASES = {
    idle: { label: 'Idle', icon: 'idle' },
    downloading: { label: 'Downloading', icon: 'downloading' },
    processing: { label: 'Processing', icon: 'processing' },
    saving: { label: 'Saving', icon: 'saving' },
    complete: { label: 'Complete', icon: 'complete' },
    error: { label: 'Error', icon: 'error' },
    cancelled: { label: 'Cancelled', icon: 'cancelled' }
  };

  function icon(name, extraClass) {
    return '<svg class="icon' + (extraClass ? ' ' + extraClass : '') + '" viewBox="0 0 24 24" ' +
      'width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" ' +
      'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">' +
      (ICONS[name] || ICONS.idle) + '</svg>';
  }

  function formatBytes(n) {
    if (typeof n !== 'number' || !isFinite(n) || n < 0) return '';
    if (n < 1024) return n + ' B';
    var units = ['KiB', 'MiB', 'GiB', 'TiB'];
    var v = n, i = -1;
    do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
    return v.toFixed(1) + ' ' + units[i];
  }

  // A started sync waits as "idle" with its id (message "queued") while other sources use every
  // sync slot: it is in progress, not idle.
  function isQueued(s) { return !!(s && s.status === 'idle' && s.syncId); }
  function isRunning(s) { return !!(s && (RUNNING[s.status] || isQueued(s))); }
  function isFinished(s) { return !!(s && FINISHED[s.status]); }

  function createConnection(options) {
    options = options || {};
    var server = (options.server || '').replace(/\/+$/, '');

    // -- state ----------------------------------------------------------------------------------

    var picked = options.source || '';  // the source asked for ('' = the server's default source)
    var defaultName = '';       // the default source's name, once known
    var bySource = {};          // latest status by source name ('' = a status without one)
    var appliedAt = {};         // performance.now() of the latest applied change, by source
    var current = null;         // the tracked source's latest status
    var connection = 'connecting';
    var subscribers = [];
    var statusListeners = [];

    function tracked() { return picked || defaultName; }

    function emit(previous, source) {
      var info = { previous: previous, connection: connection, source: source };
      subscribers.slice().forEach(function (fn) {
        try { fn(current, info); } catch (e) { console.error('SheetSync subscriber failed', e); }
      });
    }

    // Whether `next` may replace `cur`: progress is monotonic per sync and a finished sync stays
    // finished; a different sync replaces the current one unless it started earlier.
    function supersedes(next, cur) {
      if (!cur) return true;
      if (next.syncId && next.syncId === cur.syncId) {
        if (isFinished(cur)) return isFinished(next) && next.lastUpdated !== cur.lastUpdated;
        if (isFinished(next)) return true;
        return (next.progress || 0) >= (cur.progress || 0);
      }
      if (!next.syncId) return true;  // idle: nothing known (e.g. evicted, or a restarted server)
      if (next.startedAt && cur.startedAt && cur.syncId) return next.startedAt >= cur.startedAt;
      return true;
    }

    function same(a, b) {
      return a && b && a.syncId === b.syncId && a.status === b.status && a.progress === b.progress &&
        a.message === b.message && a.lastUpdated === b.lastUpdated && a.error === b.error;
    }

    // The tracked source's status: by its name, else (the default source, before its name is
    // known) a status that names no source.
    function trackedStatus() {
      var name = tracked();
      if (name && bySource[name]) return bySource[name];
      if (!picked && bySource['']) return bySource[''];
      return null;
    }

    // Makes `current` the tracked source's status again; tells the subscribers if it changed.
    function refresh(cause) {
      var next = trackedStatus();
      if (next === current) return;
      var previous = current;
      current = next;
      emit(previous, cause);
    }

    // requestedAt: when the request that brought this status was sent (polls only), so that an
    // answer overtaken by a newer change is dropped.
    function apply(status, cause, requestedAt) {
      if (!status || typeof status !== 'object' || typeof status.status !== 'string') return;
      var key = typeof status.source === 'string' ? status.source : '';
      if (requestedAt !== undefined && requestedAt < (appliedAt[key] || 0)) return;
      var cur = bySource[key] || null;
      if (same(status, cur) || !supersedes(status, cur)) return;
      bySource[key] = status;
      appliedAt[key] = now();
      statusListeners.slice().forEach(function (fn) {
        try { fn(status); } catch (e) { console.error('SheetSync listener failed', e); }
      });
      refresh(cause);
    }

    function learnDefault(name) {
      if (defaultName || !name) return;
      defaultName = name;
      refresh('default');
    }

    function setConnection(c) {
      if (c === connection) return;
      connection = c;
      emit(current, 'connection');
    }

    function now() { return (window.performance && performance.now) ? performance.now() : Date.now(); }

    // -- the token --------------------------------------------------------------------------------

    function getToken() { return (options.getToken && options.getToken()) || ''; }

    var tokenRequest = null;    // the pending askToken() promise, shared by every request that waits

    function askToken(rejected) {
      if (!options.askToken) return Promise.resolve('');
      if (!tokenRequest) {
        var done = function (t) { tokenRequest = null; return t || ''; };
        tokenRequest = Promise.resolve().then(function () { return options.askToken(rejected); })
          .then(done, function () { return done(''); });
      }
      return tokenRequest;
    }

    function withAuth(init) {
      init = Object.assign({}, init || {});
      var headers = new Headers(init.headers || {});
      var t = getToken();
      if (t) headers.set('Authorization', 'Bearer ' + t);
      init.headers = headers;
      if (!init.cache) init.cache = 'no-store';
      return init;
    }

    function UnauthorizedError() {
      var e = new Error('An API token is needed (the server answered 401).');
      e.name = 'UnauthorizedError';
      e.code = 401;
      return e;
    }

    // fetch from the server with the token; on a 401 asks for a token (once) and retries.
    function authFetch(path, init) {
      var url = path.charAt(0) === '/' ? server + path : path;
      return fetch(url, withAuth(init)).then(function (res) {
        if (res.status !== 401) return res;
        return askToken(!!getToken()).then(function (t) {
          if (!t) throw UnauthorizedError();
          return authFetch(path, init);
        });
      });
    }

    // -- polling (while the stream is down) --------------------------------------------------------

    var pollTimer = null;
    var pollInFlight = false;

    function poll() {
      if (pollInFlight) return;
      pollInFlight = true;
      var sentAt = now();
      var forPicked = picked;
      authFetch(withSource(STATUS_URL), { headers: { Accept: 'application/json' } })
        .then(function (res) {
          if (!res.ok) throw new Error('status ' + res.status);
          return res.json();
        })
        .then(function (s) {
          // Without ?source= the server answers for its default source: that names it.
          if (!forPicked && s && s.source) learnDefault(s.source);
          apply(s, 'poll', sentAt);
        })
        .catch(function (err) {
          if (err && err.name === 'UnauthorizedError') { stopPolling(); setConnection('unauthorized'); }
          /* else: the next poll tries again */
        })
        .then(function () { pollInFlight = false; });
    }

    function startPolling() {
      if (pollTimer) return;
      poll();
      pollTimer = setInterval(poll, POLL_MS);
    }
    function stopPolling() {
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = null;
    }

    // -- the event stream ------------------------------------------------------------------------

    var lastEventId = '';
    var reconnectDelay = RECONNECT_MIN_MS;
    var reconnectTimer = null;
    var streamAbort = null;

    function scheduleReconnect(delay) {
      if (reconnectTimer) return;
      reconnectTimer = setTimeout(function () { reconnectTimer = null; if (opened) connect(); }, delay);
    }

    function streamDown(delay) {
      streamAbort = null;
      setConnection('polling');
      startPolling();
      scheduleReconnect(delay);
      reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
    }

    function connect() {
      if (streamAbort) return;
      if (!window.fetch || !window.ReadableStream || !window.TextDecoder || !window.AbortController) {
        setConnection('polling');
        startPolling();
        return;
      }
      var ctrl = new AbortController();
      streamAbort = ctrl;
      var headers = { Accept: 'text/event-stream' };
      if (lastEventId) headers['Last-Event-ID'] = lastEventId;
      authFetch(EVENTS_URL, { headers: headers, signal: ctrl.signal })
        .then(function (res) {
          var type = res.headers.get('Content-Type') || '';
          if (!res.ok || !res.body || type.indexOf('text/event-stream') !== 0) {
            try { ctrl.abort(); } catch (e) { /* nothing to abort */ }
            // No stream here (an older server, a proxy): poll, and try again now and then.
            streamDown(Math.max(reconnectDelay, 10000));
            return;
          }
          setConnection('live');
          stopPolling();
          reconnectDelay = RECONNECT_MIN_MS;
          // The server sends the current status first; if it has none to send (or it is slow to),
          // ask once so that the page does not wait for the next change.
          setTimeout(function () { if (!current && streamAbort === ctrl) poll(); }, 300);
          return readStream(res.body, ctrl).then(function () {
            if (streamAbort === ctrl) streamDown(RECONNECT_MIN_MS);  // the server ended the stream
          });
        })
        .catch(function (err) {
          if (streamAbort !== ctrl) return;
          if (err && err.name === 'UnauthorizedError') {
            streamAbort = null;
            stopPolling();
            setConnection('unauthorized');  // the user declined to give a token: wait for retry()
            return;
          }
          streamDown(reconnectDelay);
        });
    }

    // Parses text/event-stream (https://html.spec.whatwg.org/#parsing-an-event-stream).
    function readStream(body, ctrl) {
      var reader = body.getReader();
      var decoder = new TextDecoder('utf-8');
      var buffer = '';
      var first = true;
      var data = [], eventType = '', hasData = false;
      var stallTimer = null;

      function armStall() {
        if (stallTimer) clearTimeout(stallTimer);
        stallTimer = setTimeout(function () { try { ctrl.abort(); } catch (e) { /* gone */ } }, STALL_MS);
      }

      function dispatch() {
        if (hasData) {
          var type = eventType || 'message';
          if (type === 'status' || type === 'message') {
            var text = data.join('\n');
            try { apply(JSON.parse(text), 'stream'); } catch (e) { console.warn('SheetSync: bad event data', text); }
          }
        }
        data = []; eventType = ''; hasData = false;
      }

      function line(l) {
        if (l === '') { dispatch(); return; }
        if (l.charAt(0) === ':') return;  // a comment (keep-alive)
        var i = l.indexOf(':');
        var field = i < 0 ? l : l.slice(0, i);
        var value = i < 0 ? '' : l.slice(i + 1);
        if (value.charAt(0) === ' ') value = value.slice(1);
        if (field === 'data') { data.push(value); hasData = true; }
        else if (field === 'event') eventType = value;
        else if (field === 'id') { if (value.indexOf('\0') < 0) lastEventId = value; }
        // 'retry' is ignored: reconnecting follows our own backoff.
      }

      function feed(text) {
        buffer += text;
        if (first && buffer.length) {
          if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
          first = false;
        }
        var start = 0;
        for (var i = 0; i < buffer.length; i++) {
          var c = buffer.charAt(i);
          if (c === '\n' || c === '\r') {
            if (c === '\r' && i + 1 === buffer.length) break;  // maybe a CRLF split across chunks
            line(buffer.slice(start, i));
            if (c === '\r' && buffer.charAt(i + 1) === '\n') i++;
            start = i + 1;
          }
        }
        buffer = buffer.slice(start);
      }

      armStall();
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) { feed(decoder.decode()); return; }
          armStall();
          feed(decoder.decode(r.value, { stream: true }));
          return pump();
        });
      }
      return pump().then(function () {
        if (stallTimer) clearTimeout(stallTimer);
      }, function (err) {
        if (stallTimer) clearTimeout(stallTimer);
        throw err;
      });
    }

    // -- actions ---------------------------------------------------------------------------------

    function readJSON(res) {
      return res.text().then(function (t) {
        try { return t ? JSON.parse(t) : {}; } catch (e) { return { message: t }; }
      });
    }

    function nudge() {
      if (options.onNudge) options.onNudge();
      if (connection !== 'live') poll();
    }

    function start() {
      return authFetch(withSource(STATUS_URL), { method: 'POST', headers: { Accept: 'application/json' } })
        .then(function (res) {
          return readJSON(res).then(function (body) {
            var key = body.source || tracked() || (current && current.source) || '';
            var known = bySource[key] && bySource[key].syncId === body.syncId;
            if (res.status === 202 && body.syncId && !known) {
              if (!picked && body.source) learnDefault(body.source);
              // Show the new sync at once; the stream (or the next poll) brings the real status. (Not
              // when the stream was faster: its status, e.g. "queued", must not be overwritten.)
              var t = new Date().toISOString();
              apply({
                syncId: body.syncId, source: key,
                status: 'downloading', progress: 0,
                message: 'Starting the sync', lastUpdated: t, startedAt: t, finishedAt: null, stats: {}
              }, 'start');
            }
            if (res.status === 202 || res.status === 409) nudge();
            var retry = body.retryAfter || Number(res.headers.get('Retry-After')) || undefined;
            return { ok: res.status === 202, code: res.status, body: body, retryAfter: retry };
          });
        });
    }

    function cancel(syncId) {
      var id = syncId || (current && current.syncId);
      if (!id) return Promise.resolve({ ok: false, code: 0, body: { message: 'No sync to cancel' } });
      return authFetch(STATUS_URL + '?syncId=' + encodeURIComponent(id),
        { method: 'DELETE', headers: { Accept: 'application/json' } })
        .then(function (res) {
          return readJSON(res).then(function (body) {
            if (res.ok) apply(body, 'cancel');
            nudge();
            return { ok: res.ok, code: res.status, body: body };
          });
        });
    }

    // -- sources -----------------------------------------------------------------------------------

    function withSource(path) {
      if (!picked) return path;
      return path + (path.indexOf('?') < 0 ? '?' : '&') + 'source=' + encodeURIComponent(picked);
    }

    var sourcesPromise = null;
    var pickers = [];           // the pickers' render functions, called with every list fetched
    var unknownPicked = '';     // a ?source= the server does not know (dropped for the default)

    function sources(reload) {
      if (sourcesPromise && !reload) return sourcesPromise;
      sourcesPromise = authFetch('/api/sources', { headers: { Accept: 'application/json' } })
        .then(function (res) {
          if (!res.ok) throw new Error('The server answered ' + res.status);
          return res.json();
        })
        .then(function (body) {
          var list = (body && body.sources) || [];
          var def = list.filter(function (x) { return x.default; })[0] || list[0];
          if (def) learnDefault(def.name);
          list.forEach(function (x) { if (x.last) apply(x.last, 'sources'); });
          if (picked && list.length && !list.some(function (x) { return x.name === picked; })) {
            unknownPicked = picked;
            setSource('');
          }
          // Sources come and go at run time (the settings page): every picker shows the new list.
          pickers.slice().forEach(function (fn) { fn(list); });
          return list;
        });
      sourcesPromise.catch(function () { sourcesPromise = null; });  // ask again next time
      return sourcesPromise;
    }

    function syncUrl() {
      if (options.onPicked) options.onPicked(picked);
    }

    function setSource(name) {
      name = name || '';
      if (name && name === defaultName && !picked) {
        // The default by name: the same source, but kept in the URL.
        picked = name;
        syncUrl();
        return;
      }
      if (name === picked) return;
      picked = name;
      syncUrl();
      var before = current;
      refresh('source');
      if (current === before) emit(current, 'source');  // pages reload for the new source anyway
      if (!current) poll();  // nothing heard of this source yet: ask
    }

    function sourcePicker(select, wrapper) {
      var render = function (list) {
        select.textContent = '';
        list.forEach(function (x) {
          var o = document.createElement('option');
          o.value = x.name;
          o.textContent = x.name + (x.default ? ' (default)' : '');
          select.appendChild(o);
        });
        select.value = tracked();
        if (wrapper) wrapper.hidden = list.length < 2;
      };
      select.addEventListener('change', function () { setSource(select.value); });
      subscribe(function (s, info) { if ((info.source === 'source' || info.source === 'default') && tracked()) select.value = tracked(); });
      var initial = sources();
      pickers.push(render);
      return initial.then(function (list) { render(list); return list; }, function () { if (wrapper) wrapper.hidden = true; return []; });
    }

    function subscribe(fn) {
      subscribers.push(fn);
      if (current || connection !== 'connecting') {
        try { fn(current, { previous: null, connection: connection, source: 'subscribe' }); } catch (e) { console.error(e); }
      }
      return function () { subscribers = subscribers.filter(function (f) { return f !== fn; }); };
    }

    // -- opening and closing -------------------------------------------------------------------------

    var opened = false;
    var watching = false;

    // Reconnect at once when the page comes back (a laptop waking up, a restored tab).
    function watchPage() {
      if (watching) return;
      watching = true;
      window.addEventListener('online', function () { if (opened && !streamAbort) connect(); });
      document.addEventListener('visibilitychange', function () {
        if (opened && document.visibilityState === 'visible' && !streamAbort) {
          if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
          connect();
        }
      });
      window.addEventListener('pagehide', function () {
        if (streamAbort) { var c = streamAbort; streamAbort = null; c.abort(); }
        stopPolling();
      });
      window.addEventListener('pageshow', function (ev) { if (opened && ev.persisted && !streamAbort) connect(); });
    }

    function open() {
      if (opened) return;
      opened = true;
      watchPage();
      connect();
      sources().catch(function () { /* an older server, or no token yet: the first poll names the default */ });
    }

    function close() {
      opened = false;
      if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
      if (streamAbort) { var c = streamAbort; streamAbort = null; c.abort(); }
      stopPolling();
    }

    return {
      open: open,
      close: close,
      subscribe: subscribe,
      state: function () { return current; },
      onStatus: function (fn) {
        statusListeners.push(fn);
        return function () { statusListeners = statusListeners.filter(function (f) { return f !== fn; }); };
      },
      source: tracked,
      picked: function () { return picked; },
      unknownSource: function () { return unknownPicked; },
      setSource: setSource,
      sources: sources,
      withSource: withSource,
      sourcePicker: sourcePicker,
      start: start,
      cancel: cancel,
      fetch: authFetch,
      connection: function () { return connection; },
      poll: poll,
      // Asks for the token again after a 401 was given up, and reconnects.
      retry: function () {
        if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
        opened = true;
        watchPage();
        if (!streamAbort) connect();
        if (!sourcesPromise) sources().catch(function () { /* the poll names the default */ });
      }
    };
  }

  globalThis.SheetSyncCore = {
    createConnection: createConnection,
    isRunning: isRunning,
    isQueued: isQueued,
    isFinished: isFinished,
    PHASES: PHASES,
    icon: icon,
    formatBytes: formatBytes
  };
})();
