// The login interaction: GET /interaction/:uid shows "Velg testperson",
// POST /interaction/:uid/login logs the chosen person in, POST
// /interaction/:uid/abort cancels. Consent is implied (see loadExistingGrant in
// provider.mjs); a consent prompt that still reaches us is granted at once.

import { errors } from 'oidc-provider';

import { CONTENT_SECURITY_POLICY, choosePersonPage, errorPage } from './pages.mjs';

const MAX_BODY = 64 * 1024;

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(html);
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      reject(Object.assign(new Error('expected an application/x-www-form-urlencoded form post'), { status: 415 }));
      return;
    }
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('form too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function parsePersonChoice(value, persons) {
  // HelseID does not know where a person works: a person is chosen, never an organisation.
  const person = persons.byId.get(String(value || ''));
  return person ? { person } : undefined;
}

async function clientName(provider, clientId) {
  const client = await provider.Client.find(clientId).catch(() => undefined);
  return client?.clientName || clientId;
}

async function renderChoose(provider, persons, details, res, { status = 200, error } = {}) {
  send(res, status, choosePersonPage({
    uid: details.uid,
    clientName: await clientName(provider, details.params.client_id),
    persons: persons.list,
    error,
    reprompt: details.prompt.reasons?.includes('login_prompt'),
  }));
}

async function grantConsent(provider, details) {
  const { Grant } = provider;
  let grant = details.grantId ? await Grant.find(details.grantId) : undefined;
  if (!grant) {
    grant = new Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  }
  const missing = details.prompt.details || {};
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

export async function handleInteraction({ provider, persons, log }, req, res) {
  const url = new URL(req.url, 'http://devidp.invalid');
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(url.pathname);
  if (!match) {
    send(res, 404, errorPage({ error: 'not_found', error_description: 'Ukjent adresse' }));
    return;
  }
  const [, uid, action] = match;
  const method = req.method.toUpperCase();
  if ((action && method !== 'POST') || (!action && method !== 'GET')) {
    res.setHeader('Allow', action ? 'POST' : 'GET');
    send(res, 405, errorPage({ error: 'method_not_allowed', error_description: `${method} er ikke tillatt her` }));
    return;
  }

  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound || err instanceof errors.OIDCProviderError) {
      log(`interaction ${uid}: ${err.message}${err.error_detail ? ` [${err.error_detail}]` : ''}`);
      send(res, 400, errorPage({
        error: 'invalid_request',
        error_description: 'Innloggingen er utløpt eller ukjent. Start innloggingen på nytt fra tjenesten.',
      }));
      return;
    }
    throw err;
  }
  if (details.uid !== uid) {
    send(res, 400, errorPage({ error: 'invalid_request', error_description: 'Innloggingen passer ikke til denne adressen.' }));
    return;
  }

  if (!action) {
    if (details.prompt.name === 'login') {
      await renderChoose(provider, persons, details, res);
      return;
    }
    const grantId = await grantConsent(provider, details);
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  if (action === 'abort') {
    req.resume();
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  let form;
  try {
    form = await readForm(req);
  } catch (err) {
    send(res, err.status || 400, errorPage({ error: 'invalid_request', error_description: err.message }));
    return;
  }

  if (details.prompt.name !== 'login') {
    send(res, 400, errorPage({ error: 'invalid_request', error_description: 'Denne innloggingen venter ikke på valg av person.' }));
    return;
  }

  const choice = parsePersonChoice(form.get('person'), persons);
  if (!choice) {
    await renderChoose(provider, persons, details, res, { status: 400, error: 'Velg en av testpersonene.' });
    return;
  }
  const overrides = {};
  const level = (form.get('security_level') || '').trim();
  if (level) {
    if (!/^[1-4]$/.test(level)) {
      await renderChoose(provider, persons, details, res, { status: 400, error: 'Sikkerhetsnivå må være 1, 2, 3 eller 4.' });
      return;
    }
    overrides.security_level = level;
  }
  if (['1', 'true', 'on', 'yes'].includes((form.get('no_hpr') || '').toLowerCase())) overrides.no_hpr = true;

  log(`login ${choice.person.id} (sub ${choice.person.sub}) overrides ${JSON.stringify(overrides)}`);
  await provider.interactionFinished(req, res, {
    login: {
      accountId: choice.person.sub,
      amr: ['pwd'],
      remember: true,
      ts: Math.floor(Date.now() / 1000),
    },
    devidp: overrides,
  }, { mergeWithLastSubmission: false });
}
