// A case's history for auditors: a slider over its versions (the state after each event, from
// one history read), the difference between two moments, the hash chain, and exports.
import { html, useState } from '../vendor/htm-preact-standalone.module.js';
import { download, get, session } from '../api.js';
import { t } from '../i18n.js';
import { clockTime, CommandForm, Failure, Loading, shortId, TextField } from '../ui.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function Changes({ changes }) {
  if (!changes.length) return html`<p class="muted">${t('noChanges')}</p>`;
  return html`<ul class="changes">${changes.map((c, i) => html`<li key=${i}>
    <code>${c.path}</code> (${c.change}): ${JSON.stringify(c.before ?? c.removed ?? null)}
    → ${JSON.stringify(c.after ?? c.added ?? null)}</li>`)}</ul>`;
}

function AsOf({ history }) {
  const last = history.entries.length;
  const [at, setAt] = useState(last);
  const entry = history.entries[at - 1];
  return html`<section aria-labelledby="asof-title"><h2 id="asof-title">${t('asOf')} ${entry.version}</h2>
    <input type="range" min="1" max=${last} value=${at} id="asof" aria-label=${t('asOf')}
      onInput=${(e) => setAt(Number(e.currentTarget.value))} />
    <p><strong>${entry.type}</strong> · ${entry.meta ? `${shortId(entry.meta.actor)} · ${clockTime(entry.meta.at)}` : ''}</p>
    <details open><summary>${t('state')}</summary>
      <pre class="state" tabindex="0" aria-label=${t('state')}>${JSON.stringify(entry.state, null, 1)}</pre></details></section>`;
}

function Diff({ streamId, last, purpose }) {
  const [range, setRange] = useState({ from: 1, to: last });
  const [found, setFound] = useState(null);
  const [error, setError] = useState(null);
  async function compare(event) {
    event.preventDefault();
    try { setFound(await get(`/audit/${streamId}/diff`, { from: range.from, to: range.to, purpose }));
      setError(null); } catch (e) { setError(e); }
  }
  const number = (key) => html`<div class="field"><label for=${`diff-${key}`}>${t(key)}</label>
    <input type="number" id=${`diff-${key}`} min="0" max=${last} value=${range[key]}
      onInput=${(e) => setRange({ ...range, [key]: Number(e.currentTarget.value) })} /></div>`;
  return html`<section aria-labelledby="diff-title"><h2 id="diff-title">${t('diff')}</h2>
    <form onSubmit=${compare} class="inline">${number('from')}${number('to')}
      <button type="submit">${t('showDiff')}</button></form>
    ${error && html`<${Failure} error=${error} />`}
    ${found && html`<${Changes} changes=${found.changes} />`}</section>`;
}

// Supervisors decide which auditor may read which case's history, for what and until when.
function Grants() {
  const field = (id, key, required = true, max = 200) => html`<${TextField} id=${id}
    labelText=${t(key)} required=${required} maxLength=${max} />`;
  const value = (f, id) => f.elements[id].value.trim();
  return html`<section aria-labelledby="grants-title" data-testid="grants">
    <h2 id="grants-title">${t('auditAccess')}</h2>
    <${CommandForm} path="audit/grant" submitLabel=${t('grantAccess')} testId="grant-form"
        fields=${(f) => ({ stream_id: value(f, 'grant-stream'), auditor: value(f, 'grant-auditor'),
          purpose: value(f, 'grant-purpose'),
          until: f.elements['grant-until'].value ? new Date(f.elements['grant-until'].value).toISOString() : null })}>
      ${field('grant-stream', 'streamId', true, 36)}${field('grant-auditor', 'auditorId')}
      ${field('grant-purpose', 'purpose')}
      <div class="field"><label for="grant-until">${t('until')}</label>
        <input type="datetime-local" id="grant-until" name="grant-until" /></div>
    </${CommandForm}>
    <${CommandForm} path="audit/revoke" submitLabel=${t('revokeAccess')}
        fields=${(f) => ({ stream_id: value(f, 'revoke-stream'), auditor: value(f, 'revoke-auditor'),
          reason: value(f, 'revoke-reason') })}>
      ${field('revoke-stream', 'streamId', true, 36)}${field('revoke-auditor', 'auditorId')}
      ${field('revoke-reason', 'reason')}
    </${CommandForm}></section>`;
}

export function AuditPage() {
  if (!session.has('auditor')) {
    return html`<section aria-labelledby="audit-title">
      <header class="page-head"><h1 id="audit-title">${t('audit')}</h1></header><${Grants} /></section>`;
  }
  return html`<${History} />${session.has('supervisor') && html`<${Grants} />`}`;
}

function History() {
  const [streamId, setStreamId] = useState('');
  const [history, setHistory] = useState(null);
  const [chain, setChain] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const purpose = 'audit';
  async function load(event) {
    event.preventDefault();
    if (!UUID.test(streamId.trim())) { setError(new Error(`${t('streamId')}: UUID`)); return; }
    setBusy(true); setChain(null);
    try { setHistory(await get(`/audit/${streamId.trim()}/history`, { purpose })); setError(null); }
    catch (e) { setError(e); setHistory(null); }
    setBusy(false);
  }
  async function verify() {
    try { setChain(await get('/audit/verify', { stream_id: streamId.trim() })); }
    catch (e) { setError(e); }
  }
  const exporting = (format) => () => download(`/audit/${streamId.trim()}/export`,
    { format, purpose }, `history-${streamId.trim()}.${format}`).catch(setError);
  return html`<section aria-labelledby="audit-title">
    <header class="page-head"><h1 id="audit-title">${t('audit')}</h1></header>
    <form onSubmit=${load} class="inline">
      <div class="field"><label for="audit-stream">${t('streamId')}</label>
        <input id="audit-stream" value=${streamId} autocomplete="off" spellcheck="false"
          onInput=${(e) => setStreamId(e.currentTarget.value)} /></div>
      <button type="submit">${t('load')}</button></form>
    ${busy && html`<${Loading} />`}
    ${error && html`<${Failure} error=${error} />`}
    ${history && html`<p class="muted">${history.type} · v${history.version} ·
        ${t('personalShown')}: ${history.personal_data}</p>
      <${AsOf} history=${history} />
      <${Diff} streamId=${streamId.trim()} last=${history.version} purpose=${purpose} />
      <section aria-labelledby="chain-title"><h2 id="chain-title">${t('chain')}</h2>
        <button type="button" onClick=${verify}>${t('verifyChain')}</button>
        ${chain && html`<p role="status" data-testid="chain" class=${chain.ok ? 'ok' : 'warn'}>
          ${chain.ok ? t('chainIntact') : t('chainBroken')} · ${chain.events_checked} ${t('eventsChecked')}
          ${chain.first_break ? ` · v${chain.first_break.version}: ${chain.first_break.detail}` : ''}</p>`}</section>
      <section aria-labelledby="export-title"><h2 id="export-title">${t('export')}</h2>
        <div class="buttons">${['json', 'csv', 'html'].map((f) => html`
          <button type="button" key=${f} onClick=${exporting(f)}>${f.toUpperCase()}</button>`)}</div>
      </section>
      <section aria-labelledby="events-title"><h2 id="events-title">${t('event')}</h2>
        <ol class="timeline">${history.entries.map((e) => html`<li key=${e.version}>
          <time>${e.meta ? clockTime(e.meta.at) : ''}</time> <strong>v${e.version} ${e.type}</strong>
          ${e.meta ? ` · ${shortId(e.meta.actor)}` : ''}</li>`)}</ol></section>`}
  </section>`;
}
