// Small shared pieces: formatting, badges, and a form that runs one command with its states.
import { html, useState } from './vendor/htm-preact-standalone.module.js';
import { send } from './api.js';
import { t, label, language } from './i18n.js';

export { html };

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 3600) return `${Math.floor(s / 60)} ${t('minutes')}`;
  if (s < 86400) return `${Math.floor(s / 3600)} ${t('hours')} ${Math.floor((s % 3600) / 60)} ${t('minutes')}`;
  return `${Math.floor(s / 86400)} ${t('days')} ${Math.floor((s % 86400) / 3600)} ${t('hours')}`;
}

export function clockTime(iso) {
  if (!iso) return '–';
  return new Date(iso).toLocaleString(language(), { dateStyle: 'short', timeStyle: 'short' });
}

export const shortId = (id) => (id ? String(id).slice(0, 8) : '–');

export function Urgency({ value }) {
  return html`<span class="badge urgency-${value}">${t(value) || value}</span>`;
}

export function Flags({ flags }) {
  if (!flags || !flags.length) return html`<span class="muted">–</span>`;
  return html`<ul class="flags">${flags.map((f) => html`
    <li key=${f.flag_id}><span aria-hidden="true">⚑</span> ${label('flag_', f.reason)}</li>`)}</ul>`;
}

export function Loading() {
  return html`<p class="muted" role="status">${t('loading')}</p>`;
}

export function Failure({ error, retry }) {
  return html`<div class="problem" role="alert">
    <p><strong>${t('error')}:</strong> ${error.message}</p>
    ${retry && html`<button type="button" onClick=${retry}>${t('retry')}</button>`}</div>`;
}

// A form that sends one command. `fields(form)` returns the command's fields from the form
// element; `done(accepted)` runs after it was accepted. Each submit is one command id.
export function CommandForm({ path, fields, done, submitLabel, children, className, testId,
  choosePath }) {
  const [state, setState] = useState({ phase: 'idle', message: '' });
  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    setState({ phase: 'sending', message: t('sending') });
    try {
      const accepted = await send(choosePath ? choosePath(form) : path, fields(form),
        () => setState({ phase: 'sending', message: t('retrying') }));
      setState({ phase: 'done', message: t('sent') });
      form.reset();
      if (done) done(accepted);
    } catch (error) {
      setState({ phase: 'failed', message: `${t('failed')}: ${error.message}` });
    }
  }
  return html`<form class=${`command ${className || ''}`} onSubmit=${submit} data-testid=${testId}>
    ${children}
    <button type="submit" disabled=${state.phase === 'sending'}>${submitLabel}</button>
    <p class=${`outcome ${state.phase}`} role="status" aria-live="polite">${state.message}</p>
  </form>`;
}

export function Select({ id, name, value, onChange, options, labelText, required }) {
  return html`<div class="field"><label for=${id}>${labelText}</label>
    <select id=${id} name=${name || id} value=${value} onChange=${onChange} required=${required}>
      ${options.map(([v, text]) => html`<option value=${v} selected=${v === value}>${text}</option>`)}
    </select></div>`;
}

export function TextField({ id, name, labelText, required, multiline, maxLength, value, onInput }) {
  const attrs = { id, name: name || id, required, maxLength: maxLength || 2000, value, onInput };
  return html`<div class="field"><label for=${id}>${labelText}</label>
    ${multiline ? html`<textarea rows="3" ...${attrs}></textarea>` : html`<input type="text" ...${attrs} />`}</div>`;
}
