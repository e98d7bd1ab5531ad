// Inline SVG charts (no library): bars for hours per day, lines for open cases by urgency.
// Each has a text alternative (role="img" and a label) and the figures in a table beside it.
import { html } from './vendor/htm-preact-standalone.module.js';

const W = 320, H = 160, PAD = 28;

export function BarChart({ title, bars, unit }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const step = (W - PAD) / Math.max(1, bars.length);
  const summary = `${title}: ${bars.map((b) => `${b.label} ${b.value.toFixed(1)} ${unit}`).join(', ')}`;
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${summary}>
      <line x1=${PAD} y1=${H - 20} x2=${W} y2=${H - 20} class="axis" />
      <text x="2" y="14" class="tick">${max.toFixed(0)}</text>
      ${bars.map((b, i) => {
        const h = ((H - 40) * b.value) / max;
        return html`<g key=${b.label}><rect x=${PAD + i * step + 4} y=${H - 20 - h}
          width=${Math.max(2, step - 8)} height=${h} class="bar" />
          <text x=${PAD + i * step + step / 2} y=${H - 6} class="tick" text-anchor="middle">${b.label}</text></g>`;
      })}
    </svg><figcaption>${title}</figcaption></figure>`;
}

export function LineChart({ title, series, labels }) {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const n = Math.max(2, labels.length);
  const x = (i) => PAD + ((W - PAD - 4) * i) / (n - 1);
  const y = (v) => H - 20 - ((H - 40) * v) / max;
  const summary = `${title}: ${series.map((s) => `${s.name} ${s.values[s.values.length - 1] ?? 0}`).join(', ')}`;
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${summary}>
      <line x1=${PAD} y1=${H - 20} x2=${W} y2=${H - 20} class="axis" />
      <text x="2" y="14" class="tick">${max}</text>
      ${series.map((s) => html`<polyline key=${s.name} class=${`line ${s.className}`} fill="none"
        points=${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')} />`)}
      <text x=${PAD} y=${H - 6} class="tick">${labels[0]}</text>
      <text x=${W - 4} y=${H - 6} class="tick" text-anchor="end">${labels[labels.length - 1]}</text>
    </svg>
    <figcaption>${title}
      <ul class="legend">${series.map((s) => html`<li key=${s.name}><span class=${`swatch ${s.className}`}
        aria-hidden="true"></span>${s.name}</li>`)}</ul></figcaption></figure>`;
}
