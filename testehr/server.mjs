// testehr: a small SMART on FHIR EHR stand-in for development and tests (EHR launch), built
// on the npm package oidc-provider for its authorization server. See testehr/README.md.
//
// stdout carries exactly one line, when the server is ready:
//   TESTEHR_READY {"origin":"http://127.0.0.1:PORT","iss":"http://127.0.0.1:PORT/fhir"}
// Everything else (request log, refusals) goes to stderr. Never use it outside development.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors, interactionPolicy } from 'oidc-provider';

console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

function log(message) {
  process.stderr.write(`testehr: ${message}\n`);
}

function fail(message) {
  process.stderr.write(`testehr: configuration error: ${message}\n`);
  process.exit(2);
}

const env = process.env;
const PORT = Number(env.TESTEHR_PORT ?? 8082);
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) fail(`TESTEHR_PORT must be a port number, not ${env.TESTEHR_PORT}`);
const CLIENT_ID = env.TESTEHR_CLIENT_ID || 'maaledata-portal';
const CLIENT_SECRET = env.TESTEHR_CLIENT_SECRET || 'testehr-dev-secret';
const APP_LAUNCH_URL = env.TESTEHR_APP_LAUNCH_URL || 'http://127.0.0.1:8000/launch/';
const REDIRECT_URIS = (env.TESTEHR_REDIRECT_URIS || new URL('/launch/callback/', APP_LAUNCH_URL).href)
  .split(',').map((s) => s.trim()).filter(Boolean);
const LAUNCH_TTL_SECONDS = 5 * 60;
const SCOPES = ['openid', 'fhirUser', 'launch', 'patient/Patient.read', 'patient/Encounter.read', 'user/Practitioner.read'];
const NID_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.1'; // fødselsnummer
const HPR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.4'; // HPR number (Helsepersonellregisteret)
const USER_COOKIE = 'testehr_user';

// The EHR's own records: the demo patients (same national identity numbers as devdata/demo.py)
// and one patient the portal holds nothing on (outside any agreement).
const PATIENTS = [
  { id: 'p1', nid: '30875928763', family: 'Nordmann', given: 'Kari', gender: 'female', birthDate: '1959-07-30',
    encounter: { id: 'e1', reason: 'Innlagt med tung pust og vektøkning, hjertesvikt', ward: 'Medisinsk sengepost 3' } },
  { id: 'p2', nid: '14904839826', family: 'Olsen', given: 'Per', gender: 'male', birthDate: '1948-10-14',
    encounter: { id: 'e2', reason: 'KOLS-forverring, innlagt fra legevakt', ward: 'Lungeposten' } },
  { id: 'p3', nid: '02923712995', family: 'Johansen', given: 'Aud', gender: 'female', birthDate: '1937-12-02',
    encounter: { id: 'e3', reason: 'Poliklinisk kontroll, diabetes type 2', ward: 'Endokrinologisk poliklinikk' } },
  { id: 'p4', nid: '12835140006', family: 'Utenfor', given: 'Nils', gender: 'male', birthDate: '1951-03-12',
    encounter: { id: 'e4', reason: 'Brudd i håndledd', ward: 'Ortopedisk poliklinikk' } },
];
// The EHR's users, as Practitioner resources: the same people as devidp/persons.json (same
// fødselsnummer and HPR number), some with one identifier only, and one with none.
const PRACTITIONERS = [
  { id: 'ingrid-berg', family: 'Berg', given: 'Ingrid', title: 'lege', nid: '12837826592', hpr: '565501872' },
  { id: 'marte-eik', family: 'Eik', given: 'Marte', title: 'lege', hpr: '565507062' },
  { id: 'knut-rud', family: 'Rud', given: 'Knut', title: 'lege', nid: '14897310016' },
  { id: 'tove-vikar', family: 'Vikar', given: 'Tove', title: 'sykepleier (vikar, uten nummer)' },
];
const DEFAULT_USER = PRACTITIONERS[0]; // who is logged in until someone chooses (/innlogging)
const practitionerName = (u) => `${u.given} ${u.family}`;

const server = http.createServer();
server.on('error', (err) => {
  if (err.code === 'EADDRINUSE') fail(`port ${PORT} on 127.0.0.1 is already in use (set TESTEHR_PORT, or 0 for a free port)`);
  log(`server error: ${err.stack || err}`);
  process.exit(1);
});

server.listen(PORT, '127.0.0.1', () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  const iss = `${origin}/fhir`;
  const launches = new Map(); // launch id → { patient, encounter, user, created, used }
  const grants = new Map(); // grant id → launch context { launch, patient, encounter }

  // A launch is single-use: every authorization request that names one goes through the
  // interaction, which binds the launch to a new grant (or refuses it) once.
  const policy = interactionPolicy.base();
  policy.get('consent').checks.add(new interactionPolicy.Check(
    'launch_unbound', 'an EHR launch is bound once, in the interaction', (ctx) => {
      const bound = grants.get(ctx.oidc.result?.consent?.grantId || '');
      return bound && bound.launch === ctx.oidc.params.launch
        ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    },
  ));

  const provider = new Provider(origin, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      client_name: 'Måledata (hjemmemålinger)',
      redirect_uris: REDIRECT_URIS,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    async findAccount(ctx, id) {
      const user = PRACTITIONERS.find((u) => u.id === id);
      if (!user) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, fhirUser: `${iss}/Practitioner/${id}`, name: practitionerName(user) }) };
    },
    extraParams: ['launch', 'aud'],
    scopes: SCOPES,
    // SMART puts fhirUser into the id_token of the token response (not only /me).
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: {
      names: { session: 'testehr_session', interaction: 'testehr_interaction', resume: 'testehr_interaction_resume' },
      keys: [crypto.randomBytes(32).toString('base64url')],
    },
    features: { devInteractions: { enabled: false } },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 300, Interaction: 300, Session: 8 * 3600, Grant: 8 * 3600 },
    clientBasedCORS: () => false,
    async renderError(ctx, out) {
      log(`render error: ${out.error}: ${out.error_description || ''}`);
      ctx.type = 'html';
      ctx.body = page('Feil', `<p>${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
    },
  });
  provider.proxy = false;
  for (const event of ['authorization.error', 'grant.error', 'server_error']) {
    provider.on(event, (ctx, err) => log(`${event}: ${err?.error || ''} ${err?.error_description || err?.message || err}`));
  }

  // The token response carries the launch context (SMART App Launch: patient, encounter).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body?.access_token) {
      const context = grants.get(ctx.oidc.entities.Grant?.jti || '');
      if (context) {
        ctx.body.patient = context.patient;
        ctx.body.encounter = context.encounter;
        ctx.body.need_patient_banner = false;
      }
    }
  });
  const callback = provider.callback();

  async function interaction(req, res, uid) {
    const details = await provider.interactionDetails(req, res);
    const { params } = details;
    const refuse = (description) => {
      log(`launch refused: ${description}`);
      return provider.interactionFinished(req, res, { error: 'invalid_request', error_description: description });
    };
    const launch = launches.get(String(params.launch || ''));
    if (!params.launch) return refuse('launch is required (EHR launch only)');
    if (!launch) return refuse('unknown launch');
    if (launch.used) return refuse('launch already used');
    if (Date.now() - launch.created > LAUNCH_TTL_SECONDS * 1000) return refuse('launch expired');
    if (params.aud !== iss) return refuse(`aud must be ${iss}`);
    launch.used = true;
    const grant = new provider.Grant({ accountId: launch.user, clientId: params.client_id });
    grant.addOIDCScope(String(params.scope || ''));
    const grantId = await grant.save();
    grants.set(grantId, { launch: params.launch, patient: launch.patient, encounter: launch.encounter });
    log(`launch ${params.launch.slice(0, 8)}… bound: patient ${launch.patient}, encounter ${launch.encounter}`);
    return provider.interactionFinished(req, res, {
      login: { accountId: launch.user }, consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }

  async function bearer(req) {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    if (!match) return undefined;
    const token = await provider.AccessToken.find(match[1]);
    if (!token || token.isExpired) return undefined;
    return { scopes: new Set(String(token.scope || '').split(' ')), context: grants.get(token.grantId), accountId: token.accountId };
  }

  async function fhir(req, res, path) {
    if (path === '/.well-known/smart-configuration') {
      return json(res, 200, {
        issuer: origin,
        authorization_endpoint: `${origin}/auth`,
        token_endpoint: `${origin}/token`,
        jwks_uri: `${origin}/jwks`,
        grant_types_supported: ['authorization_code'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        scopes_supported: SCOPES,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        capabilities: ['launch-ehr', 'client-confidential-symmetric', 'context-ehr-patient', 'context-ehr-encounter',
          'sso-openid-connect', 'permission-patient'],
      });
    }
    if (path === '/metadata') {
      return json(res, 200, { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1',
        format: ['json'], rest: [{ mode: 'server', resource: [{ type: 'Patient' }, { type: 'Encounter' }, { type: 'Practitioner' }] }] }, 'application/fhir+json');
    }
    const match = /^\/(Patient|Encounter|Practitioner)\/([A-Za-z0-9\-.]{1,64})$/.exec(path);
    if (!match) return outcome(res, 404, 'not-found', 'Unknown resource');
    const auth = await bearer(req);
    if (!auth) return outcome(res, 401, 'login', 'A valid access token is required');
    const [, type, id] = match;
    if (type === 'Practitioner') {
      // The user's own Practitioner (fhirUser), nobody else's.
      if (!auth.scopes.has('user/Practitioner.read')) return outcome(res, 403, 'forbidden', 'Scope user/Practitioner.read is required');
      const user = PRACTITIONERS.find((u) => u.id === id);
      if (!user) return outcome(res, 404, 'not-found', `Practitioner/${id} is not known`);
      if (auth.accountId !== id) return outcome(res, 403, 'forbidden', 'Only the logged-in user\'s own Practitioner');
      return json(res, 200, practitionerResource(user), 'application/fhir+json');
    }
    if (!auth.scopes.has(`patient/${type}.read`)) return outcome(res, 403, 'forbidden', `Scope patient/${type}.read is required`);
    const patient = PATIENTS.find((p) => (type === 'Patient' ? p.id : p.encounter.id) === id);
    if (!patient) return outcome(res, 404, 'not-found', `${type}/${id} is not known`);
    if (auth.context?.patient !== patient.id) return outcome(res, 403, 'forbidden', 'Outside the launch context');
    return json(res, 200, type === 'Patient' ? patientResource(patient) : encounterResource(patient), 'application/fhir+json');
  }

  function ehrLaunch(req, res, query) {
    const patient = PATIENTS.find((p) => p.id === query.get('patient'));
    if (!patient) return html(res, 404, page('Ukjent pasient', '<p>Pasienten finnes ikke i testjournalen.</p>'));
    const id = crypto.randomBytes(24).toString('base64url');
    const user = loggedIn(req);
    launches.set(id, { patient: patient.id, encounter: patient.encounter.id, user: user.id, created: Date.now(), used: false });
    const target = new URL(APP_LAUNCH_URL);
    target.searchParams.set('iss', iss);
    target.searchParams.set('launch', id);
    log(`launch ${id.slice(0, 8)}… for ${patient.id} by ${user.id}${query.get('embedded') ? ' (embedded)' : ''}`);
    res.statusCode = 302;
    res.setHeader('Location', target.href);
    res.setHeader('Cache-Control', 'no-store');
    return res.end();
  }

  server.on('request', (req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number((process.hrtime.bigint() - started) / 1000000n);
      log(`${req.method} ${(req.url || '').split('?')[0]} ${res.statusCode} ${ms}ms`);
    });
    const url = new URL(req.url || '/', origin);
    const path = url.pathname;
    const done = (promise) => promise.catch((err) => {
      log(`failed: ${err.stack || err}`);
      if (!res.headersSent) html(res, 500, page('Feil', '<p>Intern feil i testjournalen.</p>'));
      else res.end();
    });
    if (req.method === 'GET' && path === '/') return html(res, 200, listPage(loggedIn(req)));
    if (req.method === 'GET' && /^\/pasient\/p\d$/.test(path)) {
      const patient = PATIENTS.find((p) => p.id === path.split('/')[2]);
      if (patient) return html(res, 200, patientPage(patient, loggedIn(req)));
    }
    if (path === '/innlogging') return done(login(req, res));
    if (req.method === 'GET' && path === '/ehr/launch') return ehrLaunch(req, res, url.searchParams);
    if (req.method === 'GET' && path.startsWith('/fhir/')) return done(fhir(req, res, path.slice('/fhir'.length)));
    if (path.startsWith('/interaction/')) return done(interaction(req, res, path.split('/')[2]));
    return callback(req, res);
  });

  // The EHR's own login, for tests and demos: choose who is logged in to the EHR (a cookie).
  async function login(req, res) {
    if (req.method === 'POST') {
      const form = new URLSearchParams(await body(req));
      const user = PRACTITIONERS.find((u) => u.id === form.get('bruker'));
      if (!user) return html(res, 400, page('Ukjent bruker', '<p>Brukeren finnes ikke i testjournalen.</p>', loggedIn(req)));
      res.statusCode = 303;
      res.setHeader('Set-Cookie', `${USER_COOKIE}=${user.id}; Path=/; HttpOnly; SameSite=Lax`);
      res.setHeader('Location', '/');
      log(`logged in: ${user.id}`);
      return res.end();
    }
    const buttons = PRACTITIONERS.map((u) => `<li><form method="post" action="/innlogging"><input type="hidden" name="bruker" value="${escape(u.id)}">`
      + `<button class="button" type="submit">${escape(practitionerName(u))}</button> ${escape(u.title)}</form></li>`).join('');
    return html(res, 200, page('Logg inn i testjournalen', `<ul class="users">${buttons}</ul>`, loggedIn(req)));
  }

  function listPage(user) {
    const rows = PATIENTS.map((p) => `<tr><td>${escape(p.given)} ${escape(p.family)}</td><td>${escape(p.nid)}</td>`
      + `<td>${escape(p.encounter.ward)}: ${escape(p.encounter.reason)}</td>`
      + `<td class="actions"><a class="button" href="/ehr/launch?patient=${p.id}" target="_blank" rel="opener">Åpne hjemmemålinger</a> `
      + `<a href="/pasient/${p.id}">Vis i journalen</a></td></tr>`).join('');
    return page('Pasientliste', `<table><caption>Mine pasienter</caption><thead><tr><th scope="col">Navn</th>`
      + `<th scope="col">Fødselsnummer</th><th scope="col">Kontakt</th><th scope="col">Handlinger</th></tr></thead>`
      + `<tbody>${rows}</tbody></table>`, user);
  }

  function patientPage(p, user) {
    return page(`${p.given} ${p.family}`, `<p><a href="/">← Pasientliste</a></p>`
      + `<p>${escape(p.nid)} · ${escape(p.encounter.ward)}: ${escape(p.encounter.reason)}</p>`
      + `<h2>Hjemmemålinger</h2><iframe title="Hjemmemålinger" src="/ehr/launch?patient=${p.id}&amp;embedded=1"></iframe>`, user);
  }

  log(`origin ${origin}; FHIR base (iss) ${iss}; client ${CLIENT_ID} → ${REDIRECT_URIS.join(', ')}; launch URL ${APP_LAUNCH_URL}`);
  process.stdout.write(`TESTEHR_READY ${JSON.stringify({ origin, iss })}\n`);
});

function loggedIn(req) {
  const cookies = Object.fromEntries(String(req.headers.cookie || '').split(';')
    .map((c) => c.trim().split('=')).filter((kv) => kv.length === 2));
  return PRACTITIONERS.find((u) => u.id === cookies[USER_COOKIE]) || DEFAULT_USER;
}

function body(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      text += chunk;
      if (text.length > 10000) reject(new Error('request body too large'));
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function practitionerResource(u) {
  const identifier = [];
  if (u.nid) identifier.push({ use: 'official', system: NID_SYSTEM, value: u.nid });
  if (u.hpr) identifier.push({ use: 'official', system: HPR_SYSTEM, value: u.hpr });
  return {
    resourceType: 'Practitioner', id: u.id, active: true, identifier,
    name: [{ use: 'official', family: u.family, given: [u.given], text: practitionerName(u) }],
  };
}

function patientResource(p) {
  return {
    resourceType: 'Patient', id: p.id,
    identifier: [{ use: 'official', system: NID_SYSTEM, value: p.nid }],
    name: [{ use: 'official', family: p.family, given: [p.given], text: `${p.given} ${p.family}` }],
    gender: p.gender, birthDate: p.birthDate,
  };
}

function encounterResource(p) {
  return {
    resourceType: 'Encounter', id: p.encounter.id, status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' },
    subject: { reference: `Patient/${p.id}` },
    serviceProvider: { display: `Lovisenberg Diakonale Sykehus, ${p.encounter.ward}` },
    reasonCode: [{ text: p.encounter.reason }],
  };
}

function escape(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function json(res, status, body, type = 'application/json') {
  res.statusCode = status;
  res.setHeader('Content-Type', `${type}; charset=utf-8`);
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}

function outcome(res, status, code, text) {
  json(res, status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] },
    'application/fhir+json');
}

function html(res, status, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

function page(title, body, user = DEFAULT_USER) {
  return `<!doctype html><html lang="nb"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} – Testjournal</title><style>
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f3f5f7}
header{background:#24455e;color:#fff;padding:.75rem 1.25rem;display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem}
main{padding:1rem 1.25rem;max-width:80rem}
table{border-collapse:collapse;width:100%;background:#fff}caption{text-align:left;font-weight:600;padding:.5rem 0}
th,td{border-bottom:1px solid #d5dbe0;padding:.5rem;text-align:left;vertical-align:top}
.button{display:inline-block;background:#1f6f4a;color:#fff;padding:.4rem .75rem;border-radius:4px;text-decoration:none;margin:.15rem 0}
iframe{width:100%;height:80vh;border:1px solid #b8c2cc;background:#fff}
header a{color:#fff}.users{list-style:none;padding:0}.users li{margin:.5rem 0}
@media (max-width:700px){th:nth-child(3),td:nth-child(3){display:none}}
</style></head><body><header><strong>Testjournal (DIPS-etterligning)</strong><span>Innlogget: ${escape(practitionerName(user))}, ${escape(user.title)} · <a href="/innlogging">Bytt bruker</a></span></header>
<main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

function shutdown(signal) {
  log(`${signal} received, stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
