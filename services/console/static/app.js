// The console's shell: sign-in, the menu its roles allow, the language switch, hash routes.
// Routes live in the fragment (#/case/<id>): ids only, never personal data, and a fragment
// is never sent to the server.
import { html, render, useEffect, useState } from './vendor/htm-preact-standalone.module.js';
import { get, Problem, session, signInWithCode } from './api.js';
import { chooseLanguage, language, LANGS, setLanguage, t } from './i18n.js';
import { AuditPage } from './pages/audit.js';
import { BoardPage } from './pages/board.js';
import { CasePage } from './pages/case.js';
import { ResourcesPage } from './pages/resources.js';
import { WorkloadPage } from './pages/workload.js';

const LANG_KEY = 'corridor.console.language';  // a preference, not personal data
const PAGES = [
  { id: 'board', roles: ['volunteer', 'supervisor', 'psychologist'] },
  { id: 'resources', roles: ['volunteer', 'supervisor', 'fact_checker', 'psychologist', 'intake'] },
  { id: 'workload', roles: ['volunteer', 'supervisor'] },
  { id: 'audit', roles: ['auditor', 'supervisor'] },
];

function route() {
  const [, page = '', id = ''] = (location.hash || '').replace(/^#/, '').split('/');
  return { page, id };
}

function allowed() { return PAGES.filter((p) => session.has(...p.roles)); }

function SignIn({ onSignedIn, message }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  function submit(event) {
    event.preventDefault();
    try { session.use(token); onSignedIn(); } catch { setError(t('badToken')); }
  }
  return html`<main id="main" class="sign-in"><h1>${t('app')}</h1>
    <form onSubmit=${submit}><p>${t('signInHelp')}</p>
      <div class="field"><label for="token">${t('tokenLabel')}</label>
        <textarea id="token" rows="4" autocomplete="off" spellcheck="false" value=${token}
          onInput=${(e) => setToken(e.currentTarget.value)} required></textarea></div>
      <button type="submit">${t('signIn')}</button>
      ${(error || message) && html`<p class="problem" role="alert">${error || message}</p>`}</form></main>`;
}

function Shell({ onSignOut, onLanguage }) {
  const [where, setWhere] = useState(route());
  useEffect(() => {
    const moved = () => { setWhere(route()); document.getElementById('main')?.focus(); };
    window.addEventListener('hashchange', moved);
    return () => window.removeEventListener('hashchange', moved);
  }, []);
  const pages = allowed();
  let page = where.page;
  if (page !== 'case' && !pages.some((p) => p.id === page)) page = pages[0]?.id || '';
  const content = {
    board: () => html`<${BoardPage} />`, resources: () => html`<${ResourcesPage} />`,
    workload: () => html`<${WorkloadPage} />`, audit: () => html`<${AuditPage} />`,
    case: () => html`<${CasePage} key=${where.id} caseId=${where.id} />`,
  }[page];
  return html`<a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>${t('skip')}</a>
    <header class="top">
      <nav aria-label=${t('nav')}><ul>${pages.map((p) => html`<li key=${p.id}>
        <a href=${`#/${p.id}`} aria-current=${page === p.id ? 'page' : undefined}>${t(p.id)}</a></li>`)}</ul></nav>
      <div class="who">
        <label for="lang" class="visually-hidden">${t('language')}</label>
        <select id="lang" value=${language()} onChange=${(e) => onLanguage(e.currentTarget.value)}>
          ${Object.entries(LANGS).map(([code, name]) => html`<option value=${code} selected=${code === language()}>${name}</option>`)}
        </select>
        <span class="muted">${session.roles.join(', ')}</span>
        <button type="button" onClick=${onSignOut}>${t('signOut')}</button></div>
    </header>
    <main id="main" tabindex="-1">${content ? content() : html`<p>${t('notAllowed')}</p>`}</main>`;
}

async function volunteerLanguage() {
  if (!session.has('volunteer', 'supervisor') || session.roles.includes('admin')) return null;
  try { return (await get(`/workload/${session.actor}`)).languages; } catch { return null; }
}

function App() {
  const [signedIn, setSignedIn] = useState(() => session.restore());
  const [message, setMessage] = useState('');
  const [, setLang] = useState(language());
  const changeLanguage = (code) => { localStorage.setItem(LANG_KEY, code); setLanguage(code); setLang(code); };
  async function afterSignIn() {
    setSignedIn(true);
    if (!localStorage.getItem(LANG_KEY)) {
      const spoken = await volunteerLanguage();
      if (spoken) { setLanguage(chooseLanguage(spoken)); setLang(language()); }
    }
  }
  useEffect(() => {
    const out = () => { session.clear(); setSignedIn(false); };
    window.addEventListener('corridor:signed-out', out);
    const code = new URLSearchParams(location.hash.replace(/^#/, '')).get('sign-in');
    if (code) {  // a one-time link: take the code out of the address bar and history first
      history.replaceState(null, '', `${location.pathname}#/board`);
      signInWithCode(code).then((s) => { session.use(s.token); afterSignIn(); },
        (e) => setMessage(`${t('signInLinkFailed')}: ${e instanceof Problem ? e.message : ''}`));
    } else if (signedIn) afterSignIn();
    return () => window.removeEventListener('corridor:signed-out', out);
  }, []);
  if (!signedIn) return html`<${SignIn} onSignedIn=${afterSignIn} message=${message} />`;
  return html`<${Shell} onLanguage=${changeLanguage}
    onSignOut=${() => { session.clear(); setSignedIn(false); location.hash = ''; }} />`;
}

setLanguage(localStorage.getItem(LANG_KEY) || chooseLanguage());
render(html`<${App} />`, document.getElementById('app'));
