// HTML pages devidp renders itself: the "Velg testperson" page, logout pages
// and errors. No JavaScript and no external assets; the one inline <style>
// block is allowed by its hash in the Content-Security-Policy.

import * as crypto from 'node:crypto';

export function esc(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
:root { color-scheme: light; --blue: #015e8c; --blue-dark: #013d5b; --line: #c9d3da; --muted: #4a5863; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 1rem; line-height: 1.5; color: #1b1f23; background: #f3f6f8; }
header { background: var(--blue-dark); color: #fff; padding: .75rem 1.5rem; }
header p { margin: 0; font-weight: 600; }
main { max-width: 46rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 0 0 .75rem; }
.note { background: #fff8e1; border-left: 4px solid #b58100; padding: .5rem .75rem; margin: 0 0 1.25rem; }
.error { background: #fdecea; border-left: 4px solid #b3261e; padding: .5rem .75rem; margin: 0 0 1.25rem; }
ul.persons { list-style: none; padding: 0; margin: 0 0 1.5rem; display: grid; gap: .75rem; }
ul.persons > li { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; }
.person-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem; }
button { font: inherit; cursor: pointer; border-radius: 4px; }
button.person { background: var(--blue); color: #fff; border: 2px solid var(--blue); padding: .4rem 1rem; font-weight: 600; font-size: 1.05rem; }
button.person:hover { background: var(--blue-dark); border-color: var(--blue-dark); }
button.secondary { background: #fff; color: var(--blue); border: 2px solid var(--blue); padding: .4rem 1rem; }
button:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
.desc { margin: .35rem 0 .25rem; }
.facts { margin: 0; padding: 0; list-style: none; color: var(--muted); font-size: .92rem; display: flex; flex-wrap: wrap; gap: .15rem 1.25rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; background: #fff; margin: 0 0 1.5rem; padding: .75rem 1rem; }
legend { font-weight: 600; padding: 0 .25rem; }
label { display: block; margin: .35rem 0; }
select { font: inherit; padding: .2rem; }
.actions { display: flex; gap: 1rem; flex-wrap: wrap; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; word-break: break-all; }
`;

const STYLE_HASH = `'sha256-${crypto.createHash('sha256').update(STYLE).digest('base64')}'`;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${STYLE_HASH}`,
  "img-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function layout(title, body) {
  return `<!DOCTYPE html>
<html lang="nb">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} – devidp</title>
<style>${STYLE}</style>
</head>
<body>
<header><p>devidp – lokal erstatning for HelseID (kun for utvikling og test)</p></header>
<main>
${body}
</main>
</body>
</html>`;
}

function securityLevelText(level) {
  return `sikkerhetsnivå ${level}`;
}

function authorisationText(person) {
  const approvals = person.hpr_details?.approvals || [];
  return approvals.map((a) => {
    const until = a.authorization?.valid_to ? ` til ${a.authorization.valid_to}` : '';
    const state = a.authorization?.revoked ? 'tilbakekalt' : `gyldig fra ${a.authorization?.valid_from || '?'}${until}`;
    return `autorisasjon ${a.profession} (${state})`;
  });
}

function personItem(person) {
  const descId = `desc-${person.id}`;
  const hpr = person.hpr_number ? `HPR-nummer ${person.hpr_number}` : 'uten HPR-nummer';
  const facts = [
    hpr,
    ...authorisationText(person),
    securityLevelText(person.security_level),
    `fødselsnummer ${person.pid}`,
  ];
  // HelseID knows the person, not where they work: the client asks for an organisation.
  return `
    <li>
      <div class="person-head">
        <button type="submit" class="person" name="person" value="${esc(person.id)}" aria-describedby="${esc(descId)}">${esc(person.name)}</button>
      </div>
      <div id="${esc(descId)}">
        <p class="desc">${esc(person.description || '')}</p>
        <ul class="facts">
          ${facts.map((f) => `<li>${esc(f)}</li>`).join('\n          ')}
        </ul>
      </div>
    </li>`;
}

export function choosePersonPage({ uid, clientName, persons, error, reprompt }) {
  const action = `/interaction/${encodeURIComponent(uid)}/login`;
  const abort = `/interaction/${encodeURIComponent(uid)}/abort`;
  return layout('Velg testperson', `
  <h1>Velg testperson</h1>
  <p class="note">Dette er devidp, en lokal testtjeneste som etterligner HelseID. Alle personene er oppdiktet.
  ${clientName ? `Du logger inn i <strong>${esc(clientName)}</strong>.` : ''}
  ${reprompt ? 'Tjenesten ba om ny innlogging.' : ''}</p>
  ${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
  <form method="post" action="${esc(action)}">
    <fieldset>
      <legend>Testvalg for denne innloggingen (valgfritt)</legend>
      <label for="security_level">Sikkerhetsnivå
        <select id="security_level" name="security_level">
          <option value="" selected>Personens eget nivå</option>
          <option value="4">4 (BankID, Buypass, Commfides)</option>
          <option value="3">3 (MinID)</option>
        </select>
      </label>
      <label><input type="checkbox" name="no_hpr" value="1"> Utelat HPR-nummer</label>
    </fieldset>
    <h2>Testpersoner</h2>
    <ul class="persons" aria-label="Testpersoner">
      ${persons.map(personItem).join('\n')}
    </ul>
  </form>
  <form method="post" action="${esc(abort)}" class="actions">
    <button type="submit" class="secondary">Avbryt innlogging</button>
  </form>`);
}

export function messagePage(title, text) {
  return layout(title, `
  <h1>${esc(title)}</h1>
  <p>${esc(text)}</p>`);
}

export function logoutPage(form, clientName) {
  // oidc-provider hands us a form with the xsrf token; the button goes inside
  // it so both a browser and a plain HTTP client can submit it.
  const withButton = form.replace(
    '</form>',
    '<button type="submit" class="person" name="logout" value="yes" autofocus>Logg ut</button></form>',
  );
  return layout('Logg ut', `
  <h1>Logg ut</h1>
  <p>Vil du logge ut${clientName ? ` fra ${esc(clientName)} og` : ''} fra devidp?</p>
  ${withButton}`);
}

export function errorPage(out) {
  const rows = Object.entries(out)
    .map(([key, value]) => `<dt>${esc(key)}</dt><dd>${esc(value)}</dd>`)
    .join('\n    ');
  return layout('Feil', `
  <h1>Noe gikk galt</h1>
  <p>devidp kunne ikke fullføre forespørselen.</p>
  <dl>
    ${rows}
  </dl>`);
}
