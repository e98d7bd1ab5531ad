// The live board: counts on top, filters, a page of open cases; rows change as the server's
// events arrive (a new case appears, a flagged one turns red) without a reload.
import { html, useEffect, useRef, useState } from '../vendor/htm-preact-standalone.module.js';
import { get, session, stream } from '../api.js';
import { label, t } from '../i18n.js';
import { duration, Failure, Flags, Loading, Select, shortId, Urgency } from '../ui.js';

const URGENCIES = ['critical', 'high', 'medium', 'low'];
const STAGES = ['waiting', 'en_route', 'stuck', 'returned', 'cannot_leave', 'arrived'];
const SORTS = ['urgency', 'waiting', 'since_contact', 'newest', 'recent_activity'];
const LIMIT = 50;

function boardParams(f, offset) {
  return {
    urgency: f.urgency || null, stage: f.stage || null, sort: f.sort, limit: LIMIT, offset,
    status: f.status === 'open' ? null : f.status,
    flagged: f.flagged === '' ? null : f.flagged,
    assignee_id: f.mine ? session.actor : null,
  };
}

const RANK = { critical: 0, high: 1, medium: 2, low: 3 };
const ORDER = {  // the API's orders, to place a row that arrives before the page is read again
  urgency: (c) => [RANK[c.urgency] ?? 4, c.opened_at],
  waiting: (c) => [c.opened_at],
  since_contact: (c) => [c.last_contact_at || c.opened_at, RANK[c.urgency] ?? 4],
  newest: (c) => [-Date.parse(c.opened_at)],
  recent_activity: () => [-Infinity],
};

function shown(row, { filters: f }) {
  const open = row.status === 'unassigned' || row.status === 'assigned';
  return (f.status === 'open' ? open : row.status === f.status)
    && (!f.urgency || row.urgency === f.urgency) && (!f.stage || row.stage === f.stage)
    && (f.flagged === '' || (row.flags_active > 0) === (f.flagged === 'true'))
    && (!f.mine || row.assignee_id === session.actor);
}

function placed(page, row, { filters: f, offset }) {
  const key = ORDER[f.sort];
  const before = (a, b) => { const x = key(a), y = key(b);
    for (let i = 0; i < x.length; i += 1) { if (x[i] < y[i]) return true; if (x[i] > y[i]) return false; }
    return false; };
  const at = page.cases.findIndex((c) => before(row, c));
  if (at === 0 && offset > 0) return page;  // it may belong on an earlier page
  if (at < 0 && (page.cases.length >= LIMIT || offset + page.cases.length < page.total)) return page;
  const cases = page.cases.slice();
  cases.splice(at < 0 ? cases.length : at, 0, row);
  return { ...page, total: page.total + 1, cases: cases.slice(0, LIMIT) };
}

// A psychologist's board holds only the cases of the support groups they lead (the API
// decides that); the counts of the whole board are not theirs to see.
const wholeBoard = () => session.has('volunteer', 'supervisor');

function Counts({ counts }) {
  if (!counts) return null;
  const open = (counts.by_status.unassigned || 0) + (counts.by_status.assigned || 0);
  return html`<section aria-label=${t('status')} class="counts">
    <dl>
      <div><dt>${t('open')}</dt><dd data-testid="count-open">${open}</dd></div>
      <div><dt>${t('unassigned')}</dt><dd>${counts.by_status.unassigned || 0}</dd></div>
      ${URGENCIES.map((u) => html`<div class=${`urgency-${u}`} key=${u}>
        <dt>${t(u)}</dt><dd>${counts.by_urgency[u] || 0}</dd></div>`)}
      <div class="flag-count"><dt>${t('flagged')}</dt><dd>${counts.flagged}</dd></div>
    </dl></section>`;
}

function Row({ row }) {
  const mine = row.assignee_id && row.assignee_id === session.actor;
  const flags = row.contact_overdue  // not a raised flag, but as urgent to see
    ? [...row.flags, { flag_id: 'contact-overdue', reason: 'contact_overdue' }] : row.flags;
  return html`<tr class=${row.flags_active > 0 ? 'flagged' : ''} data-case-id=${row.case_id}
      data-flagged=${row.flags_active > 0 ? 'true' : 'false'}>
    <td data-label=${t('urgency')}><${Urgency} value=${row.urgency} /></td>
    <td data-label=${t('case')}><a href=${`#/case/${row.case_id}`}>${shortId(row.case_id)}</a>
      <span class="muted"> ${row.region || ''}${row.destination ? ` → ${row.destination}` : ''}</span></td>
    <td data-label=${t('status')}>${t(row.status)}</td>
    <td data-label=${t('stage')}>${label('stage_', row.stage)}</td>
    <td data-label=${t('waiting')}>${duration(row.waiting_seconds)}</td>
    <td data-label=${t('sinceContact')}>${duration(row.since_contact_seconds)}</td>
    <td data-label=${t('assignee')}>${mine ? t('me') : shortId(row.assignee_id)}</td>
    <td data-label=${t('flags')}><${Flags} flags=${flags} /></td>
  </tr>`;
}

export function BoardPage() {
  const [filters, setFilters] = useState({ urgency: '', stage: '', status: 'open', flagged: '',
    sort: 'urgency', mine: false });
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState(null);
  const [counts, setCounts] = useState(null);
  const [error, setError] = useState(null);
  const [live, setLive] = useState(false);
  const latest = useRef({ filters, offset });
  latest.current = { filters, offset };
  const timers = useRef({});

  async function load() {  // the rows first; the counts after them, not competing with them
    const { filters: f, offset: o } = latest.current;
    try {
      setPage(await get('/board', boardParams(f, o)));
      setError(null);
    } catch (e) { setError(e); }
    if (wholeBoard()) get('/board/counts').then(setCounts, () => {});
  }
  function later(name, ms, work) {  // at most one reload per `ms`, however busy the stream
    if (timers.current[name]) return;
    timers.current[name] = setTimeout(() => { timers.current[name] = null; work(); }, ms);
  }

  useEffect(() => { load(); }, [filters, offset]);
  useEffect(() => {  // the first page of rows is on screen: `corridor bench` reads this mark
    if (page && performance.getEntriesByName('corridor:board-rendered').length === 0) {
      performance.mark('corridor:board-rendered');
    }
  }, [page]);
  useEffect(() => {
    const stop = stream('/board/stream?compact=true', (event, data) => {
      if (event === 'refresh') { later('page', 200, load); return; }
      if (event !== 'cases') return;
      const rows = data.rows.map((values) => Object.fromEntries(
        data.fields.map((name, i) => [name, values[i]])));
      setPage((current) => {
        if (!current) return current;
        let next = current;
        for (const row of rows) {
          const at = next.cases.findIndex((c) => c.case_id === row.case_id);
          if (at >= 0) {
            const cases = next.cases.slice();
            cases[at] = row;
            next = { ...next, cases };
          } else if (shown(row, latest.current)) next = placed(next, row, latest.current);
        }
        return next;
      });
      // The rows are shown at once; the API's page (order, total) stays the truth and is
      // read again after a quiet moment, at most every 2 s however busy the stream.
      later('page', 2000, load);
      if (wholeBoard()) later('counts', 2000, async () => { try { setCounts(await get('/board/counts')); } catch {} });
    }, setLive);
    return () => { stop(); Object.values(timers.current).forEach(clearTimeout); };
  }, []);

  const change = (key) => (event) => {
    const value = event.currentTarget.type === 'checkbox' ? event.currentTarget.checked
      : event.currentTarget.value;
    setOffset(0);
    setFilters({ ...filters, [key]: value });
  };
  const pages = page ? Math.max(1, Math.ceil(page.total / LIMIT)) : 1;
  return html`<section aria-labelledby="board-title">
    <header class="page-head"><h1 id="board-title">${wholeBoard() ? t('board') : t('mySupportGroups')}</h1>
      <span class=${`live ${live ? 'on' : 'off'}`} role="status" data-testid="live">
        ${live ? t('live') : t('offline')}</span></header>
    <${Counts} counts=${counts} />
    <details class="filters" open=${window.innerWidth > 700}>
      <summary>${t('filters')}</summary>
      <div class="filter-grid">
        <${Select} id="f-status" labelText=${t('status')} value=${filters.status}
          onChange=${change('status')} options=${[['open', t('open')],
            ['unassigned', t('unassigned')], ['assigned', t('assigned')], ['closed', t('closed')]]} />
        <${Select} id="f-urgency" labelText=${t('urgency')} value=${filters.urgency}
          onChange=${change('urgency')} options=${[['', t('all')], ...URGENCIES.map((u) => [u, t(u)])]} />
        <${Select} id="f-stage" labelText=${t('stage')} value=${filters.stage}
          onChange=${change('stage')} options=${[['', t('all')], ...STAGES.map((s) => [s, label('stage_', s)])]} />
        <${Select} id="f-flagged" labelText=${t('flags')} value=${filters.flagged}
          onChange=${change('flagged')} options=${[['', t('all')], ['true', t('withFlags')],
            ['false', t('withoutFlags')]]} />
        <${Select} id="f-sort" labelText=${t('sort')} value=${filters.sort}
          onChange=${change('sort')} options=${SORTS.map((s) => [s, t(`sort_${s}`)])} />
        ${session.has('volunteer') && html`<div class="field check"><input type="checkbox"
          id="f-mine" checked=${filters.mine} onChange=${change('mine')} />
          <label for="f-mine">${t('onlyMine')}</label></div>`}
      </div></details>
    ${error && html`<${Failure} error=${error} retry=${load} />`}
    ${!page && !error && html`<${Loading} />`}
    ${page && html`<table class="board" data-testid="board">
      <caption class="visually-hidden">${t('board')}: ${page.total} ${t('cases')}</caption>
      <thead><tr><th scope="col">${t('urgency')}</th><th scope="col">${t('case')}</th>
        <th scope="col">${t('status')}</th><th scope="col">${t('stage')}</th>
        <th scope="col">${t('waiting')}</th><th scope="col">${t('sinceContact')}</th>
        <th scope="col">${t('assignee')}</th><th scope="col">${t('flags')}</th></tr></thead>
      <tbody>${page.cases.map((row) => html`<${Row} key=${row.case_id} row=${row} />`)}</tbody>
    </table>
    ${page.cases.length === 0 && html`<p class="muted">${t('noCases')}</p>`}
    <nav class="pager" aria-label=${t('page')}>
      <button type="button" disabled=${offset === 0}
        onClick=${() => setOffset(Math.max(0, offset - LIMIT))}>${t('prev')}</button>
      <span>${t('page')} ${Math.floor(offset / LIMIT) + 1} ${t('of')} ${pages} · ${page.total} ${t('cases')}</span>
      <button type="button" disabled=${offset + LIMIT >= page.total}
        onClick=${() => setOffset(offset + LIMIT)}>${t('next')}</button>
    </nav>`}
  </section>`;
}
