// The console's only way to corridor: its HTTP API, with the caller's token in a header
// (never in a URL). Commands carry a command id chosen once per action; a retry after no
// answer (network error, 503, 504) sends the same id, so the action is done at most once.

const TOKEN_KEY = 'corridor.console.token';
// sessionStorage, not localStorage: the token (no personal data) survives a reload of this
// tab (phones reload background tabs) and is gone when the tab closes; no other tab sees it.

export class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

function payloadOf(token) {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a token');
  const text = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(decodeURIComponent(escape(text)));
}

export const session = {
  token: null, actor: null, roles: [], expires: 0,
  restore() {
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) { try { this.use(saved); } catch { this.clear(); } }
    return Boolean(this.token);
  },
  use(token) {
    const claims = payloadOf(token.trim());  // for display and menus; the server checks it
    if (!claims.sub || !Array.isArray(claims.roles)) throw new Error('not a corridor token');
    if (claims.exp && claims.exp * 1000 < Date.now()) throw new Error('expired');
    this.token = token.trim();
    this.actor = claims.sub;
    this.roles = claims.roles;
    this.expires = (claims.exp || 0) * 1000;
    sessionStorage.setItem(TOKEN_KEY, this.token);
  },
  clear() {
    this.token = null; this.actor = null; this.roles = []; this.expires = 0;
    sessionStorage.removeItem(TOKEN_KEY);
  },
  has(...roles) {
    return this.roles.includes('admin') || roles.some((r) => this.roles.includes(r));
  },
};

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === '') continue;
    for (const v of [].concat(value)) search.append(key, String(v));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

async function answer(response) {
  const type = response.headers.get('content-type') || '';
  const body = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new Problem(response.status, typeof body === 'object' ? body : null);
  return body;
}

export async function get(path, params) {
  const response = await fetch(path + query(params), {
    headers: { Authorization: `Bearer ${session.token}`, Accept: 'application/json' },
    cache: 'no-store',
  });
  if (response.status === 401) window.dispatchEvent(new CustomEvent('corridor:signed-out'));
  return answer(response);
}

export async function download(path, params, filename) {
  const response = await fetch(path + query(params), {
    headers: { Authorization: `Bearer ${session.token}` }, cache: 'no-store',
  });
  if (!response.ok) return answer(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url; link.download = filename;
  document.body.append(link); link.click(); link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return null;
}

export async function signInWithCode(code) {
  const response = await fetch('/console/sign-in', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code }), cache: 'no-store',
  });
  return answer(response);
}

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));  // insecure contexts lack randomUUID
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const RETRIABLE = new Set([503, 504]);
const DELAYS_MS = [500, 1000, 2000, 4000, 8000];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Send one command: `path` as in /commands/<path>, `fields` without command_id. The same
// command id is used for every retry; onRetry(attempt) is told before each retry.
export async function send(path, fields, onRetry) {
  const body = JSON.stringify({ command_id: newId(), ...fields });
  for (let attempt = 0; ; attempt += 1) {
    let response = null;
    try {
      response = await fetch(`/commands/${path}`, {
        method: 'POST', body, cache: 'no-store',
        headers: { Authorization: `Bearer ${session.token}`, 'Content-Type': 'application/json' },
      });
    } catch (networkError) {
      if (attempt >= DELAYS_MS.length) throw networkError;
    }
    if (response && !RETRIABLE.has(response.status)) return answer(response);
    if (response && attempt >= DELAYS_MS.length) return answer(response);
    const after = Number(response?.headers.get('retry-after')) * 1000;
    if (onRetry) onRetry(attempt + 1);
    await sleep(Math.max(after || 0, DELAYS_MS[attempt]));
  }
}

// The board's server-sent events, read with fetch (EventSource cannot send a header, and
// the token must not go in the URL). Reconnects after `retry` ms until stop() is called.
export function stream(path, onEvent, onState) {
  let stopped = false;
  let controller = null;
  let retryMs = 2000;
  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const response = await fetch(path, {
          headers: { Authorization: `Bearer ${session.token}`, Accept: 'text/event-stream' },
          signal: controller.signal, cache: 'no-store',
        });
        if (!response.ok || !response.body) throw new Problem(response.status, null);
        onState(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const parsed = parseFrame(frame);
            if (parsed.retry) retryMs = parsed.retry;
            if (parsed.event) onEvent(parsed.event, parsed.data);
          }
        }
      } catch (error) {
        if (stopped) return;
      }
      onState(false);
      if (!stopped) await sleep(retryMs);
    }
  }
  run();
  return () => { stopped = true; if (controller) controller.abort(); };
}

function parseFrame(frame) {
  const found = { event: null, data: '', retry: 0 };
  for (const line of frame.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') found.event = value;
    else if (field === 'data') found.data += value;
    else if (field === 'retry') found.retry = Number(value) || 0;
  }
  if (found.event) {
    try { found.data = found.data ? JSON.parse(found.data) : {}; } catch { found.data = {}; }
  }
  return found;
}
