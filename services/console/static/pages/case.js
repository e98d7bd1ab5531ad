// One case: what the board knows (no personal data), the journey and personal data only
// after the caller says why (the API records the disclosure), and the actions their roles
// allow, each one command through the command API.
import { html, useEffect, useState } from '../vendor/htm-preact-standalone.module.js';
import { get, newId, session } from '../api.js';
import { label, t } from '../i18n.js';
import { clockTime, CommandForm, duration, Failure, Flags, Loading, Select, shortId, TextField,
  Urgency } from '../ui.js';

const PURPOSES = ['casework', 'supervision', 'follow_up', 'safety_check'];
// A fixed list: a purpose goes in the request's query string, and typed text could carry a
// name or a phone number into a URL.
const STEPS = {
  give_advice: [['text', 'text', true]], record_departure: [],
  record_checkpoint: [['checkpoint', 'checkpoint']], record_stuck: [['place', 'place'], ['reason', 'reason', true]],
  record_return: [['reason', 'reason', true]], record_border_crossing: [['crossing', 'crossing']],
  record_arrival: [['place', 'place']], record_cannot_leave: [['reason', 'reason', true]],
  record_follow_up: [['text', 'text', true]],
};
const OUTCOMES = ['evacuated', 'stays', 'lost_contact', 'referred_elsewhere'];
const CHANNELS = ['phone', 'sms', 'telegram', 'viber', 'whatsapp', 'signal', 'email', 'web',
  'in_person', 'other'];
const ids = (text) => text.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

function Resource({ r }) {
  return html`<li class=${r.usable ? 'usable' : 'unusable'}>
    <strong>${label('kind_', r.kind)}</strong> <code>${shortId(r.resource_id)}</code>
    · ${label('st_', r.status)} · ${label('ver_', r.verification)}
    · ${r.usable ? t('usable') : html`<strong class="warn">${t('notUsable')}</strong>`}
    ${r.expires_at && html`<br /><span class="muted">${t('expires')}: ${clockTime(r.expires_at)}</span>`}
  </li>`;
}

function Summary({ row }) {
  const needs = row.needs.length ? row.needs.join(', ') : t('none');
  return html`<dl class="facts">
    <div><dt>${t('urgency')}</dt><dd><${Urgency} value=${row.urgency} /></dd></div>
    <div><dt>${t('status')}</dt><dd data-testid="case-status">${t(row.status)}</dd></div>
    <div><dt>${t('stage')}</dt><dd>${label('stage_', row.stage)}</dd></div>
    <div><dt>${t('region')}</dt><dd>${row.region || '–'} → ${row.destination || '–'}</dd></div>
    <div><dt>${t('household')}</dt><dd>${row.adults ?? 0} ${t('adults')}, ${row.children ?? 0} ${t('children')}, ${row.pets ?? 0} ${t('pets')}</dd></div>
    <div><dt>${t('needs')}</dt><dd>${needs}</dd></div>
    <div><dt>${t('languages')}</dt><dd>${row.languages.join(', ') || '–'}</dd></div>
    <div><dt>${t('waiting')}</dt><dd>${duration(row.waiting_seconds)}</dd></div>
    <div><dt>${t('sinceContact')}</dt><dd>${duration(row.since_contact_seconds)}</dd></div>
    <div><dt>${t('assignee')}</dt><dd>${row.assignee_id === session.actor ? t('me') : shortId(row.assignee_id)}</dd></div>
    <div><dt>${t('flags')}</dt><dd><${Flags} flags=${row.flags} /></dd></div>
    <div><dt>${t('holds')}</dt><dd>${row.seats_held + row.seats_confirmed || t('none')}</dd></div>
  </dl>`;
}

function Personal({ detail }) {
  const p = detail.personal;
  if (p === '[erased]') return html`<p>${t('erased')}</p>`;
  if (typeof p === 'string') return html`<p class="notice" data-testid="no-personal">${t('notEntitled')}</p>`;
  return html`<div data-testid="personal"><p class="muted">${t('disclosedAs')}: ${detail.disclosure}</p>
    <dl class="facts">${Object.entries(p).map(([k, v]) => html`<div key=${k}><dt>${k.replaceAll('_', ' ')}</dt>
      <dd>${typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd></div>`)}</dl>
    ${detail.notes.length > 0 && html`<h3>${t('notes')}</h3><ul>${detail.notes.map((n, i) => html`
      <li key=${i}>${typeof n === 'string' ? n : n.text || JSON.stringify(n)}</li>`)}</ul>`}</div>`;
}

function Journey({ detail }) {
  const text = (personal) => (typeof personal === 'string' ? ''
    : Object.values(personal || {}).filter((v) => typeof v === 'string').join(' · '));
  return html`<ol class="timeline" data-testid="journey">
    <li><time>${clockTime(detail.opened_at)}</time> <strong>CaseOpened</strong></li>
    ${detail.journal.map((e, i) => html`<li key=${i}><time>${clockTime(e.at)}</time>
      <strong>${e.event}</strong> ${text(e.personal)}</li>`)}
    ${detail.flags.map((f) => html`<li key=${f.flag_id} class="flag-entry"><time>${clockTime(f.raised_at)}</time>
      <strong>⚑ ${label('flag_', f.reason)}</strong> ${text(f.personal)}</li>`)}
    ${detail.psychologist_id && html`<li><strong>${t('supportGroup')}</strong>:
      ${t('psychologist')} ${shortId(detail.psychologist_id)}; ${t('members')}
      ${detail.support_member_ids.map(shortId).join(', ') || t('none')}</li>`}
  </ol>`;
}

function JourneyAsk({ caseId, onShown }) {
  const [purpose, setPurpose] = useState('casework');
  const [error, setError] = useState(null);
  async function show(event) {
    event.preventDefault();
    try { onShown(await get(`/cases/${caseId}`, { purpose })); } catch (e) { setError(e); }
  }
  return html`<form class="ask" onSubmit=${show} data-testid="purpose-form">
    <${Select} id="purpose" labelText=${t('purposeAsk')} value=${purpose}
      onChange=${(e) => setPurpose(e.currentTarget.value)}
      options=${PURPOSES.map((p) => [p, t(`purpose_${p}`)])} />
    <button type="submit">${t('showJourney')}</button>
    ${error && html`<${Failure} error=${error} />`}</form>`;
}

function StepForm({ caseId, done }) {
  const [kind, setKind] = useState('give_advice');
  return html`<${CommandForm} path=${`cases/${kind.replaceAll('_', '-')}`} testId="step-form"
      submitLabel=${t('recordStep')} done=${done}
      fields=${(form) => {
        const body = { case_id: caseId };
        for (const [name] of STEPS[kind]) body[name] = form.elements[`step-${name}`].value;
        return body;
      }}>
    <${Select} id="step-kind" labelText=${t('stepKind')} value=${kind}
      onChange=${(e) => setKind(e.currentTarget.value)}
      options=${Object.keys(STEPS).map((k) => [k, t(`step_${k}`)])} />
    ${STEPS[kind].map(([name, key, multi]) => html`<${TextField} key=${name} id=${`step-${name}`}
      labelText=${t(key)} required=${true} multiline=${multi} maxLength=${multi ? 2000 : 200} />`)}
  </${CommandForm}>`;
}

function Suggestions({ caseId, done }) {
  const [found, setFound] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { get(`/cases/${caseId}/suggestions`, { resources: 0, near_misses: 0 })
    .then(setFound, setError); }, [caseId]);
  if (error) return html`<${Failure} error=${error} />`;
  if (!found) return html`<${Loading} />`;
  return html`<div><h3>${t('suggestions')}</h3>
    ${found.volunteers.length === 0 && html`<p class="muted">${t('noSuggestions')}</p>`}
    <ul class="suggestions">${found.volunteers.map((v) => html`<li key=${v.volunteer_id}>
      <${CommandForm} path="cases/assign" submitLabel=${`${t('assign')} ${shortId(v.volunteer_id)}`}
        done=${done} fields=${() => ({ case_id: caseId, volunteer_id: v.volunteer_id })}>
        <p><code>${shortId(v.volunteer_id)}</code> · ${v.reasons.join('; ')}</p>
      </${CommandForm}></li>`)}</ul></div>`;
}

// One group of actions, folded away unless it needs attention (a phone shows the case first,
// not a page of forms); its title says what is inside.
function Section({ title, open, testId, children }) {
  return html`<details class="group" open=${open} data-testid=${testId}>
    <summary>${title}</summary>${children}</details>`;
}

function FlagsToClear({ row, done }) {
  if (!row.flags.length) return null;
  return html`<div data-testid="flags-to-clear">
    <ul class="plain">${row.flags.map((f) => html`<li key=${f.flag_id}>
      <${CommandForm} path="cases/clear-flag" className="inline" done=${done}
        submitLabel=${`${t('clearFlag')}: ${label('flag_', f.reason)}`}
        fields=${(form) => ({ case_id: row.case_id, flag_id: f.flag_id,
          reason: form.elements[`clear-${f.flag_id}`].value })}>
        <${TextField} id=${`clear-${f.flag_id}`} labelText=${t('clearReason')} required=${true}
          maxLength=${200} />
      </${CommandForm}></li>`)}</ul></div>`;
}

function Contact({ caseId, done }) {
  return html`<${CommandForm} path="cases/record-contact" submitLabel=${t('recordContact')}
      done=${done} testId="contact-form"
      fields=${(f) => ({ case_id: caseId, channel: f.elements['contact-channel'].value,
        reached: f.elements['contact-reached'].checked, note: f.elements['contact-note'].value })}>
    <${Select} id="contact-channel" labelText=${t('channel')} value="phone"
      options=${CHANNELS.map((c) => [c, label('ch_', c)])} />
    <div class="field check"><input type="checkbox" id="contact-reached" name="contact-reached" checked />
      <label for="contact-reached">${t('reached')}</label></div>
    <${TextField} id="contact-note" labelText=${t('note')} multiline=${true} />
  </${CommandForm}>`;
}

function Seats({ row, done }) {
  const household = (row.adults || 0) + (row.children || 0) || 1;
  const transports = row.relied_on.filter((r) => r.kind === 'transport');
  return html`<div data-testid="seats">
    ${row.holds.length === 0 && html`<p class="muted">${t('none')}</p>`}
    <ul class="plain">${row.holds.map((h) => html`<li key=${h.hold_id}>
      <code>${shortId(h.resource_id)}</code> · ${h.seats} ${t('seatsWord')} ·
      ${h.confirmed ? t('confirmed') : html`${t('runsOutIn')} ${duration(h.runs_out_in_seconds)}`}
      ${!h.confirmed && html`<${CommandForm} path="cases/confirm-seats" className="inline"
        submitLabel=${t('confirm')} done=${done}
        fields=${() => ({ case_id: row.case_id, hold_id: h.hold_id })} />`}
      <${CommandForm} path="cases/release-seats" className="inline" submitLabel=${t('releaseSeats')}
        done=${done} fields=${(f) => ({ case_id: row.case_id, hold_id: h.hold_id,
          no_show: f.elements[`noshow-${h.hold_id}`].checked })}>
        <div class="field check"><input type="checkbox" id=${`noshow-${h.hold_id}`} name=${`noshow-${h.hold_id}`} />
          <label for=${`noshow-${h.hold_id}`}>${t('noShow')}</label></div>
      </${CommandForm}></li>`)}</ul>
    <${CommandForm} path="cases/hold-seats" submitLabel=${t('holdSeats')} done=${done}
        testId="hold-form" fields=${(f) => ({ case_id: row.case_id, hold_id: newId(),
          resource_id: f.elements['hold-resource'].value.trim(),
          seats: Number(f.elements['hold-seats'].value) })}>
      <div class="field"><label for="hold-resource">${t('transportId')}</label>
        <input id="hold-resource" name="hold-resource" list="hold-transports" required
          autocomplete="off" spellcheck="false" pattern="[0-9a-fA-F-]{36}" />
        <datalist id="hold-transports">${transports.map((r) => html`
          <option key=${r.resource_id} value=${r.resource_id} />`)}</datalist></div>
      <div class="field"><label for="hold-seats">${t('seatsWord')}</label>
        <input type="number" id="hold-seats" name="hold-seats" min="1" max="100" value=${household}
          required /></div>
    </${CommandForm}></div>`;
}

function SupportGroup({ caseId, done }) {
  return html`<div data-testid="support-group">
    <${CommandForm} path="cases/form-support-group" submitLabel=${t('formGroup')} done=${done}
        fields=${(f) => ({ case_id: caseId, psychologist_id: f.elements['group-psychologist'].value.trim(),
          member_ids: ids(f.elements['group-members'].value) })}>
      <${TextField} id="group-psychologist" labelText=${t('psychologistId')} required=${true} maxLength=${36} />
      <${TextField} id="group-members" labelText=${t('memberIds')} maxLength=${2000} />
    </${CommandForm}>
    <${CommandForm} path="cases/add-support-member" submitLabel=${t('addMember')} done=${done}
        fields=${(f) => ({ case_id: caseId, volunteer_id: f.elements['group-add'].value.trim() })}>
      <${TextField} id="group-add" labelText=${t('volunteerId')} required=${true} maxLength=${36} />
    </${CommandForm}>
    <${CommandForm} path="cases/dissolve-support-group" submitLabel=${t('dissolveGroup')} done=${done}
        fields=${(f) => ({ case_id: caseId, reason: f.elements['group-dissolve'].value })}>
      <${TextField} id="group-dissolve" labelText=${t('reason')} required=${true} maxLength=${200} />
    </${CommandForm}></div>`;
}

function Reopen({ caseId, done }) {
  return html`<section aria-labelledby="actions-title" class="actions">
    <h2 id="actions-title">${t('actions')}</h2>
    <${CommandForm} path="cases/reopen" submitLabel=${t('reopenCase')} done=${done} testId="reopen-form"
        fields=${(f) => ({ case_id: caseId, reason: f.elements['reopen-reason'].value })}>
      <${TextField} id="reopen-reason" labelText=${t('reason')} required=${true} maxLength=${200} />
    </${CommandForm}></section>`;
}

function Actions({ row, reload }) {
  const caseId = row.case_id;
  const done = (accepted) => reload(accepted.position);
  const caseworker = session.has('volunteer', 'supervisor');
  const mine = row.assignee_id === session.actor;
  const working = caseworker && (mine || session.has('supervisor'));
  if (row.status === 'closed') return caseworker ? html`<${Reopen} caseId=${caseId} done=${done} />` : null;
  const note = html`<${CommandForm} path="cases/add-note" submitLabel=${t('addNote')} done=${done}
      fields=${(f) => ({ case_id: caseId, text: f.elements['note-text'].value })}>
    <${TextField} id="note-text" labelText=${t('note')} required=${true} multiline=${true} />
  </${CommandForm}>`;
  if (!caseworker) {  // a psychologist: the board row is theirs only if they lead its group
    return session.has('psychologist') ? html`<section aria-labelledby="actions-title"
      class="actions"><h2 id="actions-title">${t('actions')}</h2>${note}</section>` : null;
  }
  return html`<section aria-labelledby="actions-title" class="actions">
    <h2 id="actions-title">${t('actions')}</h2>
    ${row.status === 'unassigned' && session.has('volunteer') && html`
      <${CommandForm} path="cases/take" submitLabel=${t('take')} done=${done} testId="take-form"
        fields=${() => ({ case_id: caseId })} />`}
    ${session.has('supervisor') && html`<${Suggestions} caseId=${caseId} done=${done} />`}
    ${working && html`
      <${Section} title=${t('recordContact')} open=${true}><${Contact} caseId=${caseId} done=${done} /></${Section}>
      <${Section} title=${t('recordStep')} open=${true}><${StepForm} caseId=${caseId} done=${done} /></${Section}>
      <${Section} title=${t('addNote')}>${note}</${Section}>
      <${Section} title=${`${t('flags')} (${row.flags.length})`} open=${row.flags.length > 0}>
        <${FlagsToClear} row=${row} done=${done} />
        <${CommandForm} path="cases/flag" submitLabel=${t('flag')} done=${done}
          fields=${(f) => ({ case_id: caseId, flag_id: newId(), reason: f.elements['flag-reason'].value,
            detail: f.elements['flag-detail'].value })}>
          <${TextField} id="flag-reason" labelText=${t('reason')} required=${true} maxLength=${200} />
          <${TextField} id="flag-detail" labelText=${t('detail')} multiline=${true} />
        </${CommandForm}></${Section}>
      <${Section} title=${`${t('seatHolds')} (${row.holds.length})`} open=${row.holds.length > 0}>
        <${Seats} row=${row} done=${done} /></${Section}>
      <${Section} title=${t('supportGroup')}><${SupportGroup} caseId=${caseId} done=${done} /></${Section}>
      ${row.status === 'assigned' && html`<${Section} title=${t('releaseCase')} testId="release">
        <${CommandForm} path="cases/release" submitLabel=${t('releaseCase')} done=${done}
            testId="release-form"
            fields=${(f) => ({ case_id: caseId, reason: f.elements['release-reason'].value })}>
          <${TextField} id="release-reason" labelText=${t('reason')} required=${true} maxLength=${200} />
        </${CommandForm}></${Section}>`}
      <${Section} title=${t('close')} testId="close">
        <${CommandForm} path="cases/close" submitLabel=${t('close')} done=${done}
          fields=${(f) => ({ case_id: caseId, outcome: f.elements['close-outcome'].value })}>
          <${Select} id="close-outcome" labelText=${t('outcome')} value="evacuated"
            options=${OUTCOMES.map((o) => [o, t(`outcome_${o}`)])} />
        </${CommandForm}></${Section}>`}
  </section>`;
}

export function CasePage({ caseId }) {
  const [row, setRow] = useState(null);
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState(null);
  async function load(position) {
    try {
      setRow(await get(`/board/${caseId}`, position ? { min_position: position } : {}));
      setError(null);
    } catch (e) { setError(e); }
  }
  useEffect(() => { setDetail(null); setRow(null); load(); }, [caseId]);
  const reload = (position) => { setDetail(null); load(position); };
  return html`<section aria-labelledby="case-title">
    <header class="page-head"><h1 id="case-title">${t('case')} <code>${shortId(caseId)}</code></h1></header>
    ${error && html`<${Failure} error=${error} retry=${() => load()} />`}
    ${!row && !error && html`<${Loading} />`}
    ${row && html`<${Summary} row=${row} />
      <section aria-labelledby="relied-title"><h2 id="relied-title">${t('reliedOn')}</h2>
        ${row.relied_on.length ? html`<ul class="relied">${row.relied_on.map((r) => html`
          <${Resource} key=${r.resource_id + r.via} r=${r} />`)}</ul>` : html`<p class="muted">${t('none')}</p>`}
      </section>
      <section aria-labelledby="journey-title"><h2 id="journey-title">${t('journey')} · ${t('personal')}</h2>
        ${detail ? html`<${Personal} detail=${detail} /><${Journey} detail=${detail} />`
          : html`<${JourneyAsk} caseId=${caseId} onShown=${setDetail} />`}
      </section>
      <${Actions} row=${row} reload=${reload} />`}
  </section>`;
}
