// sheetsync for any page: <sheetsync-progress>, <sheetsync-badge> and connect(), served by the
// service at /sheetsync.js (no build step, no dependency). docs/embedding.md shows how to use it.
//
//   <script type="module" src="https://sync.example.com/sheetsync.js"></script>
//   <sheetsync-progress source="sales"></sheetsync-progress>
//   <sheetsync-badge source="sales"></sheetsync-badge>
//
// Attributes: server (default: the origin this module was loaded from), source (default: the
// server's default source). Properties: token (a string) or tokenProvider (a function returning
// the token or a promise of it; asked again after a 401). The service must allow the page's origin:
// sheetsync serve --cors-origin=https://app.example.com (module scripts are fetched with CORS).
//
// Everything runs on the built-in pages' client core (/assets/sync-core.js): one connection per
// server and source, shared by every element and every connect() of the page.

import './assets/sync-core.js';

const Core = globalThis.SheetSyncCore;
const MODULE_ORIGIN = new URL(import.meta.url).origin;

// -- connections ---------------------------------------------------------------------------------

const shared = new Map();  // server + ' ' + source -> handle

function normalizeServer(server) {
  return String(server || MODULE_ORIGIN).replace(/\/+$/, '');
}

/** A shared connection: EventTarget with 'status' and 'complete' events. */
class Handle extends EventTarget {
  constructor(server, source) {
    super();
    this.server = server;
    this._token = '';
    this._provider = null;
    this._conn = Core.createConnection({
      server,
      source,
      getToken: () => this._token,
      askToken: (rejected) => this._askToken(rejected),
    });
    this._completed = new Set();  // sync ids whose 'complete' event was sent
    this._baseline = true;        // the first status heard: a sync finished before the page
    this._conn.subscribe((status, info) => this._changed(status, info));
    this._opening = null;
  }

  get status() { return this._conn.state(); }
  get connection() { return this._conn.connection(); }
  get source() { return this._conn.source(); }

  subscribe(fn) { this._open(); return this._conn.subscribe(fn); }
  start() { this._open(); return this._conn.start(); }
  cancel() { return this._conn.cancel(); }
  fetch(path, init) { return this._conn.fetch(path, init); }

  /** Sets the token (a string) or the provider (a function); reconnects if one was missing. */
  setToken(token) {
    if (typeof token === 'function') this._provider = token;
    else if (token !== undefined && token !== null) this._token = String(token);
    if (this._opening && this._conn.connection() === 'unauthorized') {
      this._fromProvider().then(() => this._conn.retry());
    }
  }

  _fromProvider() {
    if (!this._provider) return Promise.resolve();
    return Promise.resolve().then(() => this._provider()).then((t) => {
      if (t) this._token = String(t);
    }, (err) => { console.error('sheetsync: the token provider failed', err); });
  }

  _askToken(rejected) {
    if (!this._provider) return '';
    const before = this._token;
    return this._fromProvider().then(() => (rejected && this._token === before ? '' : this._token));
  }

  _open() {
    if (!this._opening) this._opening = this._fromProvider().then(() => this._conn.open());
    return this._opening;
  }

  _changed(status, info) {
    this.dispatchEvent(new CustomEvent('status', { detail: { status, info } }));
    if (!status) return;
    const baseline = this._baseline;
    this._baseline = false;
    if (status.status !== 'complete' || this._completed.has(status.syncId)) return;
    this._completed.add(status.syncId);
    // A sync that had finished before this page connected is no news.
    if (baseline && !Core.isRunning(info.previous)) return;
    this.dispatchEvent(new CustomEvent('complete', { detail: status }));
  }
}

/**
 * The page's connection to a sheetsync server for a source (one per server and source, shared):
 * {subscribe(fn), start(), cancel(), status, connection, addEventListener('complete', fn)}.
 * token: a string, or a function returning one (or a promise of one).
 */
export function connect({ server, source, token } = {}) {
  const url = normalizeServer(server);
  const key = url + ' ' + (source || '');
  let handle = shared.get(key);
  if (!handle) {
    handle = new Handle(url, source || '');
    shared.set(key, handle);
  }
  if (token !== undefined) handle.setToken(token);
  handle._open();
  return handle;
}

export const { isRunning, isFinished, isQueued, formatBytes, PHASES } = Core;

// -- styles --------------------------------------------------------------------------------------

const STYLE = `
:host {
  --_accent: var(--sheetsync-accent, #2563eb);
  --_fg: var(--sheetsync-fg, #1f2937);
  --_muted: var(--sheetsync-muted, #6b7280);
  --_bg: var(--sheetsync-bg, #ffffff);
  --_track: var(--sheetsync-track, #e5e7eb);
  --_success: var(--sheetsync-success, #15803d);
  --_error: var(--sheetsync-error, #b91c1c);
  --_radius: var(--sheetsync-radius, 8px);
  font-family: var(--sheetsync-font, system-ui, sans-serif);
  color: var(--_fg);
}
:host([hidden]) { display: none; }
.icon { width: 1.25em; height: 1.25em; vertical-align: -0.25em; flex: none; }
button {
  font: inherit; border-radius: var(--_radius); border: 1px solid var(--_accent);
  padding: 0.4em 0.9em; cursor: pointer; background: var(--_bg); color: var(--_accent);
  display: inline-flex; gap: 0.4em; align-items: center;
}
button.primary { background: var(--_accent); color: var(--_bg); }
button:disabled { opacity: 0.6; cursor: default; }
button:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px; }
`;

const PROGRESS_STYLE = STYLE + `
:host { display: block; }
.card { background: var(--_bg); border: 1px solid var(--_track); border-radius: var(--_radius); padding: 1em; }
.head { display: flex; align-items: center; gap: 0.5em; justify-content: space-between; flex-wrap: wrap; }
.title { display: flex; align-items: center; gap: 0.4em; font-weight: 600; }
.actions { display: flex; gap: 0.5em; }
.bar { height: 0.6em; background: var(--_track); border-radius: 999px; overflow: hidden; margin: 0.8em 0 0.4em; }
.fill { height: 100%; width: 0; background: var(--_accent); transition: width 0.3s ease; }
.phases { display: flex; gap: 1em; color: var(--_muted); font-size: 0.9em; flex-wrap: wrap; }
.phase { display: flex; align-items: center; gap: 0.3em; }
.phase.active { color: var(--_accent); font-weight: 600; }
.phase.done { color: var(--_success); }
.message, .stats { color: var(--_muted); font-size: 0.9em; margin-top: 0.4em; }
.result { display: flex; align-items: center; gap: 0.5em; margin-top: 0.6em; padding: 0.5em 0.7em; border-radius: var(--_radius); }
.result.success { color: var(--_success); border: 1px solid currentColor; }
.result.error { color: var(--_error); border: 1px solid currentColor; }
.result .text { flex: 1; }
.result button { border: none; padding: 0.2em; color: inherit; background: transparent; }
[hidden] { display: none !important; }
`;

const BADGE_STYLE = STYLE + `
:host { display: inline-block; }
.badge {
  display: inline-flex; align-items: center; gap: 0.3em; padding: 0.15em 0.6em;
  border-radius: 999px; font-size: 0.85em; border: 1px solid currentColor; background: var(--_bg);
}
.badge.running { color: var(--_accent); }
.badge.complete { color: var(--_success); }
.badge.error, .badge.cancelled { color: var(--_error); }
`;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function iconNode(name) {
  const span = el('span');
  span.innerHTML = Core.icon(name);  // fixed SVG markup of the core, no data
  return span.firstChild;
}

// -- the elements' shared part -----------------------------------------------------------------

class SheetSyncElement extends HTMLElement {
  static get observedAttributes() { return ['server', 'source']; }

  constructor() {
    super();
    this._token = undefined;
    this._handle = null;
    this._unsubscribe = null;
  }

  /** The API token (a string), for protected services. */
  get token() { return this._token; }
  set token(value) {
    this._token = value;
    if (this._handle) this._handle.setToken(value);
  }

  /** A function returning the token (or a promise of it); asked again after a 401. */
  get tokenProvider() { return this._provider; }
  set tokenProvider(fn) {
    this._provider = fn;
    if (this._handle) this._handle.setToken(fn);
  }

  /** The shared connection this element shows. */
  get connection() { return this._handle; }

  connectedCallback() {
    // A token set before this module defined the element sits on the instance: take it over.
    for (const name of ['token', 'tokenProvider']) {
      if (Object.prototype.hasOwnProperty.call(this, name)) {
        const value = this[name];
        delete this[name];
        this[name] = value;
      }
    }
    this._attach();
  }
  disconnectedCallback() { this._detach(); }
  attributeChangedCallback() { if (this.isConnected && this._handle) { this._detach(); this._attach(); } }

  _attach() {
    const token = this._provider || this._token;
    this._handle = connect({
      server: this.getAttribute('server') || undefined,
      source: this.getAttribute('source') || '',
      token,
    });
    this._unsubscribe = this._handle.subscribe((status, info) => this.render(status, info));
    this.render(this._handle.status, { connection: this._handle.connection });
  }

  _detach() {
    if (this._unsubscribe) this._unsubscribe();
    this._unsubscribe = null;
  }
}

// -- <sheetsync-progress> ------------------------------------------------------------------------

const PHASE_ORDER = ['downloading', 'processing', 'saving'];

class SheetSyncProgress extends SheetSyncElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = el('style');
    style.textContent = PROGRESS_STYLE;
    const card = el('div', 'card');
    card.setAttribute('part', 'card');

    const head = el('div', 'head');
    this._title = el('div', 'title');
    this._titleIcon = el('span');
    this._titleText = el('span', '', 'Sheet sync');
    this._percent = el('span', 'percent');
    this._title.append(this._titleIcon, this._titleText, this._percent);
    const actions = el('div', 'actions');
    this._syncButton = el('button', 'primary sync-now');
    this._syncButton.type = 'button';
    this._syncButton.setAttribute('part', 'sync-button');
    this._syncButton.append(iconNode('sync'), el('span', '', 'Sync Now'));
    this._syncButton.addEventListener('click', () => this._start());
    this._cancelButton = el('button', 'cancel');
    this._cancelButton.type = 'button';
    this._cancelButton.append(iconNode('cancelled'), el('span', '', 'Cancel'));
    this._cancelButton.hidden = true;
    this._cancelButton.addEventListener('click', () => this._cancel());
    actions.append(this._syncButton, this._cancelButton);
    head.append(this._title, actions);

    this._bar = el('div', 'bar');
    this._bar.setAttribute('role', 'progressbar');
    this._bar.setAttribute('aria-valuemin', '0');
    this._bar.setAttribute('aria-valuemax', '100');
    this._bar.setAttribute('aria-valuenow', '0');
    this._bar.setAttribute('aria-label', 'Sync progress');
    this._fill = el('div', 'fill');
    this._bar.append(this._fill);

    this._phases = el('div', 'phases');
    this._phaseNodes = {};
    for (const name of PHASE_ORDER) {
      const p = el('span', 'phase');
      p.dataset.phase = name;
      p.append(iconNode(Core.PHASES[name].icon), el('span', '', Core.PHASES[name].label));
      this._phases.append(p);
      this._phaseNodes[name] = p;
    }

    this._message = el('div', 'message');
    this._message.setAttribute('aria-live', 'polite');
    this._stats = el('div', 'stats');

    this._result = el('div', 'result');
    this._result.setAttribute('role', 'alert');
    this._result.hidden = true;
    this._resultIcon = el('span');
    this._resultText = el('span', 'text');
    const dismiss = el('button', 'dismiss');
    dismiss.type = 'button';
    dismiss.setAttribute('aria-label', 'Dismiss');
    dismiss.append(iconNode('close'));
    dismiss.addEventListener('click', () => { this._dismissed = this._shownFor; this._result.hidden = true; });
    this._result.append(this._resultIcon, this._resultText, dismiss);

    card.append(head, this._bar, this._phases, this._message, this._stats, this._result);
    root.append(style, card);
    this._busy = false;
    // The sync id shown when Sync Now was clicked ('' for none) until another
    // one's status arrives: the previous sync's 100 % and "Sync complete" are
    // not the new sync's. null: not starting.
    this._startedFrom = null;
    this._dismissed = '';
    this._shownFor = '';
    this._startError = '';
  }

  _start() {
    if (!this._handle) return;
    this._busy = true;
    this._startError = '';
    this._startedFrom = (this._handle.status && this._handle.status.syncId) || '';
    this.render(this._handle.status, {});
    this._handle.start().then((r) => {
      this._busy = false;
      if (!r.ok && r.code !== 409) {
        this._startError = (r.body && r.body.message) || ('The server answered ' + r.code);
        this._startedFrom = null;
      }
      this.render(this._handle.status, {});
    }, (err) => {
      this._busy = false;
      this._startedFrom = null;
      this._startError = err && err.code === 401
        ? 'This sheetsync server needs an API token.'
        : 'Could not reach the sheetsync server.';
      this.render(this._handle.status, {});
    });
  }

  _cancel() {
    if (this._handle) this._handle.cancel().catch(() => {});
  }

  render(status, info) {
    if (this._startedFrom !== null && status && status.syncId && status.syncId !== this._startedFrom) {
      this._startedFrom = null;
    }
    const starting = this._startedFrom !== null;
    if (starting) status = null; // shown as a fresh start, not as the previous sync
    const running = Core.isRunning(status);
    const state = status ? status.status : 'idle';
    const progress = status ? Math.max(0, Math.min(100, Math.round(status.progress || 0))) : 0;
    const connection = (info && info.connection) || (this._handle && this._handle.connection);

    this._titleIcon.replaceChildren(iconNode((Core.PHASES[state] || Core.PHASES.idle).icon));
    this._titleText.textContent = running
      ? (Core.isQueued(status) ? 'Queued' : Core.PHASES[state].label)
      : 'Sheet sync';
    this._percent.textContent = running ? progress + '%' : '';
    this._bar.setAttribute('aria-valuenow', String(running || state === 'complete' ? progress : 0));
    this._fill.style.width = (running || state === 'complete' ? progress : 0) + '%';

    const current = PHASE_ORDER.indexOf(state);
    for (const name of PHASE_ORDER) {
      const i = PHASE_ORDER.indexOf(name);
      const node = this._phaseNodes[name];
      node.classList.toggle('active', running && i === current);
      node.classList.toggle('done', (running && current > i) || state === 'complete');
    }

    this._syncButton.disabled = running || starting || this._busy || !this._handle;
    this._cancelButton.hidden = !running;
    this._message.textContent = connection === 'unauthorized'
      ? 'This sheetsync server needs an API token.'
      : starting ? 'Starting a sync…' : (status && status.message) || '';
    if (starting) this._titleText.textContent = 'Starting…';

    const stats = (status && status.stats) || {};
    const parts = [];
    if (typeof stats.lines === 'number') parts.push(stats.lines.toLocaleString() + ' rows');
    if (typeof stats.size === 'number') parts.push(Core.formatBytes(stats.size));
    this._stats.textContent = parts.join(' · ');

    // Success or error, until dismissed (per sync).
    let kind = '';
    let text = '';
    let key = '';
    if (this._startError) {
      kind = 'error'; text = this._startError; key = 'start:' + text;
    } else if (status && (state === 'complete' || state === 'error')) {
      kind = state === 'complete' ? 'success' : 'error';
      text = state === 'complete' ? 'Sync complete' + (parts.length ? ' (' + parts.join(', ') + ')' : '')
        : 'Sync failed: ' + (status.error || status.message || 'unknown error');
      key = status.syncId + ':' + state;
    }
    this._shownFor = key;
    this._result.hidden = !kind || this._dismissed === key;
    this._result.className = 'result ' + kind;
    this._result.dataset.kind = kind;
    this._resultIcon.replaceChildren(kind ? iconNode(kind === 'success' ? 'complete' : 'error') : '');
    this._resultText.textContent = text;
  }
}

// -- <sheetsync-badge> ---------------------------------------------------------------------------

class SheetSyncBadge extends SheetSyncElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = el('style');
    style.textContent = BADGE_STYLE;
    this._badge = el('span', 'badge');
    this._badge.setAttribute('role', 'status');
    this._badge.setAttribute('part', 'badge');
    this._icon = el('span');
    this._text = el('span', 'text');
    this._badge.append(this._icon, this._text);
    root.append(style, this._badge);
    // Hidden until render() (not here: an element made by createElement() may not get
    // attributes in its constructor).
  }

  render(status) {
    const state = status ? status.status : 'idle';
    const running = Core.isRunning(status);
    let text = '';
    let icon = '';
    if (running) {
      text = Math.round(status.progress || 0) + '%';
      icon = Core.PHASES[state] ? Core.PHASES[state].icon : 'idle';
    } else if (state === 'complete') {
      text = 'Synced'; icon = 'complete';
    } else if (state === 'error') {
      text = 'Sync failed'; icon = 'error';
    } else if (state === 'cancelled') {
      text = 'Cancelled'; icon = 'cancelled';
    }
    this.hidden = !text;
    this._badge.className = 'badge ' + (running ? 'running' : state);
    this._badge.dataset.state = running ? 'running' : state;
    this._badge.setAttribute('aria-label', text ? 'Sheet sync: ' + text : 'Sheet sync idle');
    this._icon.replaceChildren(icon ? iconNode(icon) : '');
    this._text.textContent = text;
  }
}

if (!customElements.get('sheetsync-progress')) customElements.define('sheetsync-progress', SheetSyncProgress);
if (!customElements.get('sheetsync-badge')) customElements.define('sheetsync-badge', SheetSyncBadge);
