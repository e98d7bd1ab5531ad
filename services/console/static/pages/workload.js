// Volunteers' load: active and urgent cases and hours on shift, overload highlighted, with
// hours per day over the last week and open cases by urgency over time as pictures.
import { html, useEffect, useState } from '../vendor/htm-preact-standalone.module.js';
import { get, session } from '../api.js';
import { language, t } from '../i18n.js';
import { BarChart, LineChart } from '../charts.js';
import { Failure, Loading, shortId } from '../ui.js';

const URGENCIES = ['critical', 'high', 'medium', 'low'];

function dayLabel(day) {
  return new Date(`${day}T12:00:00Z`).toLocaleDateString(language(), { weekday: 'short' });
}

function hoursPerDay(volunteers) {
  const total = new Map();
  for (const v of volunteers) {
    for (const d of v.hours_by_day) total.set(d.day, (total.get(d.day) || 0) + d.hours);
  }
  return [...total.entries()].sort().slice(-7).map(([day, value]) => ({ label: dayLabel(day), value }));
}

function Row({ v }) {
  const why = [v.too_many_urgent && t('tooManyUrgent'), v.long_day && t('longDay')].filter(Boolean);
  return html`<tr class=${v.overloaded ? 'overloaded' : ''} data-volunteer-id=${v.volunteer_id}>
    <td data-label=${t('volunteer')}><code>${v.volunteer_id === session.actor ? t('me') : shortId(v.volunteer_id)}</code>
      <span class="muted"> ${v.languages.join(', ')}</span></td>
    <td data-label=${t('status')}>${v.on_shift ? t('onShift') : t('offShift')}</td>
    <td data-label=${t('active')}>${v.active_cases}</td>
    <td data-label=${t('urgent')}>${v.urgent_cases}</td>
    <td data-label=${t('hoursToday')}>${v.hours_on_shift_today.toFixed(1)}</td>
    <td data-label=${t('hours7d')}>${v.hours_on_shift_7d.toFixed(1)}</td>
    <td data-label=${t('overloaded')}>${v.overloaded
      ? html`<strong class="warn">⚠ ${t('overloaded')}: ${why.join(', ')}</strong>`
      : v.has_capacity ? t('capacity') : '–'}</td>
  </tr>`;
}

export function WorkloadPage() {
  const [page, setPage] = useState(null);
  const [history, setHistory] = useState(null);
  const [overloadedOnly, setOverloadedOnly] = useState(false);
  const [error, setError] = useState(null);
  async function load() {
    try {
      const [found, open] = await Promise.all([
        get('/workload', { limit: 200, overloaded_only: overloadedOnly || null }),
        get('/board/history', { days: 7, points: 28 })]);
      setPage(found); setHistory(open); setError(null);
    } catch (e) { setError(e); }
  }
  useEffect(() => { load(); }, [overloadedOnly]);
  const series = history ? URGENCIES.map((u) => ({ name: t(u), className: `urgency-${u}`,
    values: history.points.map((p) => p.by_urgency[u] || 0) })) : [];
  const labels = history ? history.points.map((p) => dayLabel(p.at.slice(0, 10))) : [];
  return html`<section aria-labelledby="workload-title">
    <header class="page-head"><h1 id="workload-title">${t('workload')}</h1></header>
    ${error && html`<${Failure} error=${error} retry=${load} />`}
    ${!page && !error && html`<${Loading} />`}
    ${page && history && html`<div class="charts">
        <${BarChart} title=${t('hoursChart')} bars=${hoursPerDay(page.volunteers)} unit=${t('hours')} />
        <${LineChart} title=${t('openChart')} series=${series} labels=${labels} />
      </div>
      <div class="field check"><input type="checkbox" id="w-over" checked=${overloadedOnly}
        onChange=${(e) => setOverloadedOnly(e.currentTarget.checked)} />
        <label for="w-over">${t('onlyOverloaded')}</label></div>
      <table class="board" data-testid="workload">
        <caption class="visually-hidden">${t('workload')}</caption>
        <thead><tr><th scope="col">${t('volunteer')}</th><th scope="col">${t('status')}</th>
          <th scope="col">${t('active')}</th><th scope="col">${t('urgent')}</th>
          <th scope="col">${t('hoursToday')}</th><th scope="col">${t('hours7d')}</th>
          <th scope="col">${t('overloaded')}</th></tr></thead>
        <tbody>${page.volunteers.map((v) => html`<${Row} key=${v.volunteer_id} v=${v} />`)}</tbody>
      </table>
      ${page.volunteers.length === 0 && html`<p class="muted">${t('noVolunteers')}</p>`}`}
  </section>`;
}
