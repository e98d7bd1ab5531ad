// The resource directory by kind and region, each verification counting down to its expiry;
// fact-checkers verify or reject, supervisors mark unsafe, full or closed.
import { html, useEffect, useState } from '../vendor/htm-preact-standalone.module.js';
import { get, session } from '../api.js';
import { label, t } from '../i18n.js';
import { CommandForm, duration, Failure, Loading, Select, shortId, TextField } from '../ui.js';

const KINDS = ['shelter', 'transport', 'food_point', 'medicine', 'route', 'border_crossing',
  'contact', 'corridor', 'checkpoint', 'curfew'];
const VERIFICATIONS = ['unverified', 'verified', 'expired', 'rejected'];
const RECALLS = [['mark-unsafe', 'markUnsafe'], ['mark-full', 'markFull'],
  ['close', 'closeResource'], ['reopen', 'reopen']];
const LIMIT = 50;

function Countdown({ r, offsetMs, tick }) {
  if (!r.expires_at) return html`<span class="muted">${t('neverVerified')}</span>`;
  const left = (Date.parse(r.expires_at) - (Date.now() + offsetMs)) / 1000;
  if (left <= 0) return html`<strong class="warn">${t('expired')}</strong>`;
  return html`<span class=${left < 3600 ? 'warn' : ''} data-tick=${tick}>${t('expiresIn')} ${duration(left)}</span>`;
}

function Card({ r, offsetMs, tick, reload }) {
  const done = (accepted) => reload(accepted.position);
  const checker = session.has('fact_checker');
  const supervisor = session.has('supervisor');
  return html`<li class=${`resource ${r.usable ? 'usable' : 'unusable'}`} data-resource-id=${r.resource_id}>
    <h2 class="resource-title">${label('kind_', r.kind)} · ${r.region}${r.place ? ` · ${r.place}` : ''}</h2>
    <p>${r.details || ''}</p>
    <p><span class="badge">${label('st_', r.status)}</span>
      <span class=${`badge ver-${r.verification}`} data-testid="verification">${label('ver_', r.verification)}</span>
      <${Countdown} r=${r} offsetMs=${offsetMs} tick=${tick} /></p>
    <p class="muted"><code>${shortId(r.resource_id)}</code> · ${r.cases_relying} ${t('relying')}
      · ${r.cases_flagged} ${t('flaggedCases')}${r.reason ? ` · ${r.reason}` : ''}</p>
    ${checker && html`<div class="row-actions">
      <${CommandForm} path="resources/verify" submitLabel=${t('verify')} done=${done}
        testId="verify-form" fields=${() => ({ resource_id: r.resource_id })} />
      <${CommandForm} path="resources/reject" submitLabel=${t('reject')} done=${done}
        fields=${(f) => ({ resource_id: r.resource_id, reason: f.elements[`reject-${r.resource_id}`].value })}>
        <${TextField} id=${`reject-${r.resource_id}`} labelText=${t('reason')} required=${true} />
      </${CommandForm}></div>`}
    ${supervisor && html`<${CommandForm} path=${null} submitLabel=${t('submit')} done=${done}
        className="recall"
        fields=${(f) => ({ resource_id: r.resource_id, reason: f.elements[`why-${r.resource_id}`].value })}
        choosePath=${(f) => `resources/${f.elements[`what-${r.resource_id}`].value}`}>
      <${Select} id=${`what-${r.resource_id}`} labelText=${t('actions')} value="mark-unsafe"
        options=${RECALLS.map(([p, key]) => [p, t(key)])} />
      <${TextField} id=${`why-${r.resource_id}`} labelText=${t('reason')} required=${true} />
    </${CommandForm}>`}
  </li>`;
}

export function ResourcesPage() {
  const [filters, setFilters] = useState({ kind: '', verification: '', region: '' });
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [offsetMs, setOffsetMs] = useState(0);
  const [tick, setTick] = useState(0);
  async function load(position) {
    try {
      const found = await get('/resources', { kind: filters.kind || null,
        verification: filters.verification || null, region: filters.region || null,
        limit: LIMIT, offset, min_position: position || null });
      setOffsetMs(Date.parse(found.now) - Date.now());
      setPage(found); setError(null);
    } catch (e) { setError(e); }
  }
  useEffect(() => { load(); }, [filters, offset]);
  useEffect(() => { const id = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(id); }, []);
  const change = (key) => (e) => { setOffset(0); setFilters({ ...filters, [key]: e.currentTarget.value }); };
  return html`<section aria-labelledby="resources-title">
    <header class="page-head"><h1 id="resources-title">${t('resources')}</h1></header>
    <div class="filter-grid">
      <${Select} id="r-kind" labelText=${t('kind')} value=${filters.kind} onChange=${change('kind')}
        options=${[['', t('all')], ...KINDS.map((k) => [k, label('kind_', k)])]} />
      <${Select} id="r-verification" labelText=${t('verification')} value=${filters.verification}
        onChange=${change('verification')}
        options=${[['', t('all')], ...VERIFICATIONS.map((v) => [v, label('ver_', v)])]} />
      <div class="field"><label for="r-region">${t('region')}</label>
        <input id="r-region" type="search" value=${filters.region}
          onChange=${change('region')} /></div>
    </div>
    ${error && html`<${Failure} error=${error} retry=${() => load()} />`}
    ${!page && !error && html`<${Loading} />`}
    ${page && html`<ul class="cards" data-testid="resources">${page.resources.map((r) => html`
        <${Card} key=${r.resource_id} r=${r} offsetMs=${offsetMs} tick=${tick} reload=${load} />`)}</ul>
      ${page.resources.length === 0 && html`<p class="muted">${t('noResources')}</p>`}
      <nav class="pager" aria-label=${t('page')}>
        <button type="button" disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - LIMIT))}>${t('prev')}</button>
        <span>${page.total}</span>
        <button type="button" disabled=${offset + LIMIT >= page.total} onClick=${() => setOffset(offset + LIMIT)}>${t('next')}</button>
      </nav>`}
  </section>`;
}
