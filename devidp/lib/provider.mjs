// The oidc-provider configuration that makes devidp behave like HelseID for
// the parts the portal depends on.

import * as crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

import { CONTENT_SECURITY_POLICY, errorPage, logoutPage, messagePage } from './pages.mjs';
import { HELSEID_AUTHORIZATION_PARAM, fromIndicator, toIndicator } from './resources.mjs';

export const CLAIM = {
  pid: 'helseid://claims/identity/pid',
  securityLevel: 'helseid://claims/identity/security_level',
  hprNumber: 'helseid://claims/hpr/hpr_number',
  orgnrParent: 'helseid://claims/client/claims/orgnr_parent',
  orgnrChild: 'helseid://claims/client/claims/orgnr_child',
  orgnrSupplier: 'helseid://claims/client/claims/orgnr_supplier',
  hprDetails: 'helseid://claims/hpr/hpr_details',
  clientName: 'helseid://claims/client/client_name',
  clientAmr: 'helseid://claims/client/amr',
  clientTenancy: 'helseid://claims/client/claims/client_tenancy',
};

// Claims that describe the client (the calling system), not the user: HelseID puts them into
// every access token. User claims go in only when the API's registration lists them.
const CLIENT_CLAIMS = new Set([CLAIM.orgnrParent, CLAIM.orgnrChild, CLAIM.orgnrSupplier, CLAIM.clientName]);

export const SCOPE = {
  pid: 'helseid://scopes/identity/pid',
  securityLevel: 'helseid://scopes/identity/security_level',
  hprNumber: 'helseid://scopes/hpr/hpr_number',
};

export const ROUTES = {
  authorization: '/connect/authorize',
  end_session: '/connect/endsession',
  introspection: '/connect/introspect',
  jwks: '/.well-known/openid-configuration/jwks',
  pushed_authorization_request: '/connect/par',
  revocation: '/connect/revocation',
  token: '/connect/token',
  userinfo: '/connect/userinfo',
};

const IDP = 'testidp';
const AMR = ['pwd'];
const CLIENT_ASSERTION_MAX_LIFETIME = 60; // seconds, as HelseID demands
// A few seconds for clocks that differ, and no more: HelseID allows no grace beyond `exp`.
const CLOCK_TOLERANCE = 5;
// HelseID's access tokens (and client-credentials tokens) live ten minutes.
const ACCESS_TOKEN_TTL = 600;

const HOUR = 60 * 60;

// Per-login test overrides (security_level, no_hpr, organisation index).
// A login's overrides are remembered by session uid and copied onto every
// grant created for that session; tokens find them by grantId.
export class LoginOverrides {
  #bySession = new Map();
  #byGrant = new Map();
  #limit = 10000;

  #remember(map, key, value) {
    map.delete(key);
    map.set(key, value);
    if (map.size > this.#limit) map.delete(map.keys().next().value);
  }

  setForSession(sessionUid, accountId, overrides) {
    this.#remember(this.#bySession, sessionUid, { accountId, overrides });
  }

  forSession(sessionUid, accountId) {
    const entry = this.#bySession.get(sessionUid);
    return entry && entry.accountId === accountId ? entry.overrides : {};
  }

  setForGrant(grantId, overrides) {
    this.#remember(this.#byGrant, grantId, overrides);
  }

  forToken(token) {
    if (token?.grantId && this.#byGrant.has(token.grantId)) return this.#byGrant.get(token.grantId);
    return {};
  }
}

// RFC 9396's error for authorization_details the server will not grant (HelseID answers a
// multi-tenant client whose organisation has not delegated to its supplier with an error of its own
// kind at PAR or at the token endpoint; devidp names it as the RFC does).
export class InvalidAuthorizationDetails extends errors.CustomOIDCProviderError {
  constructor(description) {
    super('invalid_authorization_details', description);
  }
}

const AUTHORIZATION_TYPE = 'helseid_authorization';
const ORGNR_VALUE = /^NO:ORGNR:(\d{9}):(\d{9})?$/;

// The organisation a multi-tenant client asks for, as HelseID reads it from authorization_details:
// [{"type": "helseid_authorization", "practitioner_role": {"organization": {"identifier":
// {"system": "urn:oid:1.0.6523", "type": "ENH", "value": "NO:ORGNR:<parent>:<child>"}}}}].
// Refused unless the legal entity has delegated to the client's supplier.
export function organisationFromDetails(raw, client, delegations) {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let details = raw;
  if (typeof raw === 'string') {
    try {
      details = JSON.parse(raw);
    } catch {
      throw new InvalidAuthorizationDetails('authorization_details is not valid JSON');
    }
  }
  if (!Array.isArray(details)) details = [details];
  const ours = details.filter((d) => d && d.type === AUTHORIZATION_TYPE);
  if (ours.length !== 1) {
    throw new InvalidAuthorizationDetails(`authorization_details must hold exactly one object of type ${AUTHORIZATION_TYPE}`);
  }
  const identifier = ours[0].practitioner_role?.organization?.identifier;
  if (!identifier || identifier.system !== 'urn:oid:1.0.6523' || identifier.type !== 'ENH') {
    throw new InvalidAuthorizationDetails('practitioner_role.organization.identifier must have system urn:oid:1.0.6523 and type ENH');
  }
  const match = ORGNR_VALUE.exec(String(identifier.value || ''));
  if (!match) throw new InvalidAuthorizationDetails('identifier value must be NO:ORGNR:<parent>:<child> (the child may be empty)');
  const [, parent, child = ''] = match;
  if (client?.client_tenancy !== 'multi-tenant' || !client.orgnr_supplier) {
    throw new InvalidAuthorizationDetails('only a multi-tenant client with a supplier may ask for an organisation this way');
  }
  const delegated = delegations.some((d) => d.orgnr_parent === parent && d.orgnr_supplier === client.orgnr_supplier);
  if (!delegated) {
    throw new InvalidAuthorizationDetails(`organisation ${parent} has not delegated to supplier ${client.orgnr_supplier}`);
  }
  return { orgnr_parent: parent, orgnr_child: child, orgnr_supplier: client.orgnr_supplier };
}

// What devidp says about a person for one login, after overrides. No organisation of its own: the
// organisation is the client's (overrides.org, from authorization_details). hpr_details never in
// the ID token: HelseID serves it from userinfo, and in an access token for an API whose
// registration lists it among its user claims.
export function personClaims(person, overrides = {}, use = 'id_token') {
  const claims = {
    sub: person.sub,
    name: person.name,
    given_name: person.given_name,
    family_name: person.family_name,
    idp: IDP,
    [CLAIM.pid]: person.pid,
    [CLAIM.securityLevel]: overrides.security_level || person.security_level,
  };
  if (person.middle_name) claims.middle_name = person.middle_name;
  if (person.hpr_number && !overrides.no_hpr) {
    claims[CLAIM.hprNumber] = person.hpr_number;
    if ((use === 'userinfo' || use === 'access_token') && person.hpr_details) {
      claims[CLAIM.hprDetails] = { hpr_number: person.hpr_number, ...person.hpr_details };
    }
  }
  const org = overrides.org;
  if (org) {
    claims[CLAIM.orgnrParent] = org.orgnr_parent;
    if (org.orgnr_child) claims[CLAIM.orgnrChild] = org.orgnr_child;
    claims[CLAIM.orgnrSupplier] = org.orgnr_supplier;
  }
  return claims;
}

function setHtml(ctx, html, status) {
  ctx.type = 'html';
  if (status) ctx.status = status;
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  ctx.body = html;
}

function clientLabel(client) {
  return client?.clientName || client?.clientId;
}

export function buildProvider({ issuer, config, overrides, log }) {
  const { persons, apiResources } = config;
  const delegations = config.delegations || [];
  const apiScopes = apiResources.flatMap((api) => api.scopes);
  const apiByAudience = new Map(apiResources.map((api) => [api.audience, api]));

  function resourceServer(api) {
    return {
      scope: api.scopes.join(' '),
      audience: api.audience,
      accessTokenFormat: 'jwt',
      accessTokenTTL: ACCESS_TOKEN_TTL,
      jwt: { sign: { alg: 'RS256' } },
    };
  }

  async function findAccount(ctx, sub, token) {
    const person = persons.bySub.get(sub);
    if (!person) return undefined;
    let loginOverrides = token
      ? overrides.forToken(token)
      : overrides.forSession(ctx?.oidc?.session?.uid, sub);
    // A refresh_token grant whose client assertion asked for another organisation: from now on
    // the grant's tokens are for that one (HelseID's pattern for switching without a new login).
    if (token?.grantId && ctx?.devidpOrg) {
      loginOverrides = { ...loginOverrides, org: ctx.devidpOrg };
      overrides.setForGrant(token.grantId, loginOverrides);
    }
    return {
      accountId: sub,
      async claims(use) {
        return personClaims(person, loginOverrides, use);
      },
    };
  }

  // First-party IdP: consent is implied. Every authorization gets a grant that
  // covers what was asked for (the scopes the client may have were already
  // checked against its "scope" metadata by oidc-provider).
  async function loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const { Grant } = oidc.provider;
    const accountId = oidc.session.accountId;
    const clientId = oidc.client.clientId;
    const freshLogin = Boolean(oidc.result?.login);

    if (freshLogin) {
      overrides.setForSession(oidc.session.uid, accountId, oidc.result.devidp || {});
    }

    let grant;
    if (!freshLogin) {
      const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(clientId);
      if (grantId) grant = await Grant.find(grantId);
      if (grant && (grant.accountId !== accountId || grant.clientId !== clientId)) grant = undefined;
    }
    const isNew = !grant;
    if (isNew) grant = new Grant({ accountId, clientId });

    const oidcScopes = [...oidc.requestParamOIDCScopes];
    if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
    const claims = [...oidc.requestParamClaims];
    if (claims.length) grant.addOIDCClaims(claims);
    for (const [indicator, server] of Object.entries(oidc.resourceServers || {})) {
      const scopes = [...oidc.requestParamScopes].filter((s) => server.scopes.has(s));
      if (scopes.length) grant.addResourceScope(indicator, scopes.join(' '));
    }
    await grant.save();
    // The organisation this authorization asked for (checked at PAR), or none.
    const org = organisationFromDetails(oidc.params[HELSEID_AUTHORIZATION_PARAM], oidc.client, delegations);
    const loginOverrides = isNew ? overrides.forSession(oidc.session.uid, accountId) : overrides.forToken({ grantId: grant.jti });
    const { org: _previous, ...rest } = loginOverrides;
    overrides.setForGrant(grant.jti, org ? { ...rest, org } : rest);
    return grant;
  }

  // What HelseID adds to an access token: the client's claims (name, how it authenticated, its
  // tenancy, its organisation), `sid` for a user's login, and those of the user's claims that
  // the API's registration lists (user_claims), and no others.
  async function extraTokenClaims(ctx, token) {
    const client = token.client || (token.clientId && await ctx.oidc.provider.Client.find(token.clientId));
    const extra = {
      [CLAIM.clientAmr]: 'private_key_jwt',
      [CLAIM.clientTenancy]: client?.client_tenancy || 'single-tenant',
    };
    if (client?.clientName) extra[CLAIM.clientName] = client.clientName;
    if (token.kind === 'ClientCredentials') {
      if (client?.orgnr_parent) extra[CLAIM.orgnrParent] = client.orgnr_parent;
      if (client?.orgnr_child) extra[CLAIM.orgnrChild] = client.orgnr_child;
      return extra;
    }
    if (token.sid) extra.sid = token.sid;
    const api = apiByAudience.get(fromIndicator(String(token.resourceServer?.audience || '')));
    const person = token.accountId && persons.bySub.get(token.accountId);
    if (api && person) {
      const allowed = new Set(api.userClaims);
      const tokenOverrides = ctx.devidpOrg ? { ...overrides.forToken(token), org: ctx.devidpOrg } : overrides.forToken(token);
      for (const [name, value] of Object.entries(personClaims(person, tokenOverrides, 'access_token'))) {
        if (CLIENT_CLAIMS.has(name) || allowed.has(name)) extra[name] = value;
      }
    }
    // A single-tenant client's organisation is its own: HelseID adds it to every token.
    if (client?.client_tenancy !== 'multi-tenant' && client?.orgnr_parent) {
      extra[CLAIM.orgnrParent] = client.orgnr_parent;
      if (client.orgnr_child) extra[CLAIM.orgnrChild] = client.orgnr_child;
    }
    return extra;
  }

  // oidc-provider follows OpenID Connect Core and drops offline_access unless
  // prompt=consent is sent; HelseID does not ask for that. So a client that
  // is registered for refresh_token (and, if it lists scopes, offline_access)
  // gets a refresh token with every authorization_code exchange.
  async function issueRefreshToken(ctx, client, code) {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    if (code.scopes.has('offline_access')) return true;
    return !client.scope || client.scope.split(' ').includes('offline_access');
  }

  // HelseID's rules for a client assertion, on top of oidc-provider's (signature, iss, exp with
  // CLOCK_TOLERANCE, a jti not seen before): aud is the issuer and nothing else, sub is the
  // client, exp at most 60 s ahead.
  async function assertJwtClientAuthClaimsAndHeader(ctx, claims, header, client) {
    if (claims.sub !== undefined && claims.sub !== claims.iss) {
      throw new errors.InvalidClientAuth('sub (JWT subject) must be the client_id');
    }
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (audiences.length !== 1 || audiences[0] !== issuer) {
      throw new errors.InvalidClientAuth(`client_assertion aud must be the issuer ${issuer} alone`);
    }
    if (typeof claims.jti !== 'string' || !claims.jti) {
      throw new errors.InvalidClientAuth('client_assertion must have a jti');
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp > now + CLIENT_ASSERTION_MAX_LIFETIME + CLOCK_TOLERANCE) {
      throw new errors.InvalidClientAuth(`client_assertion exp must be at most ${CLIENT_ASSERTION_MAX_LIFETIME} seconds ahead`);
    }
    // HelseID's recommended way to switch organisation: authorization_details in the client
    // assertion of a refresh_token grant.
    if (claims.authorization_details !== undefined) {
      if (ctx.oidc.route !== 'token' || ctx.oidc.params.grant_type !== 'refresh_token') {
        throw new errors.InvalidRequest('authorization_details in a client assertion is read only in a refresh_token grant');
      }
      ctx.devidpOrg = organisationFromDetails(claims.authorization_details, client, delegations);
    }
  }

  const configuration = {
    clients: config.clients,
    jwks: config.jwks,
    findAccount,
    loadExistingGrant,
    extraTokenClaims,
    assertJwtClientAuthClaimsAndHeader,
    issueRefreshToken,
    extraParams: {
      async [HELSEID_AUTHORIZATION_PARAM](ctx, value, client) {
        organisationFromDetails(value, client, delegations);
      },
    },
    // Like HelseID's JWTs: a token lives its TTL; a new login or a logout at
    // devidp does not end tokens already issued (use /connect/revocation).
    expiresWithSession: async () => false,
    clockTolerance: CLOCK_TOLERANCE,

    // The API scopes are listed too, so that a client's "scope" metadata may
    // name them and oidc-provider refuses (invalid_scope) the ones it lacks.
    scopes: [
      'openid', 'offline_access', 'profile', SCOPE.pid, SCOPE.securityLevel, SCOPE.hprNumber, ...apiScopes,
    ],
    claims: {
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
      openid: ['sub', 'idp', 'amr', 'auth_time', CLAIM.orgnrParent, CLAIM.orgnrChild, CLAIM.orgnrSupplier],
      profile: ['name', 'given_name', 'family_name', 'middle_name'],
      [SCOPE.pid]: [CLAIM.pid],
      [SCOPE.securityLevel]: [CLAIM.securityLevel],
      [SCOPE.hprNumber]: [CLAIM.hprNumber, CLAIM.hprDetails],
    },
    conformIdTokenClaims: false,

    responseTypes: ['code'],
    clientAuthMethods: ['private_key_jwt'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      id_token_signed_response_alg: 'RS256',
    },
    extraClientMetadata: {
      properties: ['orgnr_parent', 'orgnr_child', 'orgnr_supplier', 'client_tenancy'],
      validator(ctx, key, value) {
        if (value === undefined) return;
        if (key === 'client_tenancy') {
          if (!['none', 'single-tenant', 'multi-tenant'].includes(value)) {
            throw new errors.InvalidClientMetadata('client_tenancy must be none, single-tenant or multi-tenant');
          }
          return;
        }
        if (key === 'orgnr_child' && value === '') return;
        if (typeof value !== 'string' || !/^\d{9}$/.test(value)) {
          throw new errors.InvalidClientMetadata(`${key} must be a 9-digit string`);
        }
      },
    },
    pkce: { required: () => true },

    routes: ROUTES,
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: {
      // Cookies ignore ports: keep clear of the portal's cookie names on 127.0.0.1.
      names: {
        session: 'devidp_session',
        interaction: 'devidp_interaction',
        resume: 'devidp_interaction_resume',
      },
      keys: [crypto.randomBytes(32).toString('base64url')],
    },

    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: {
        enabled: true,
        async allowedPolicy(ctx, client, token) {
          if (token.clientId !== client.clientId) {
            throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
          }
          return true;
        },
      },
      userinfo: { enabled: true },
      pushedAuthorizationRequests: {
        enabled: true,
        requirePushedAuthorizationRequests: false, // per client: require_pushed_authorization_requests
        allowUnregisteredRedirectUris: false,
      },
      dPoP: {
        enabled: true,
        nonceSecret: crypto.randomBytes(32),
        requireNonce: () => config.requireDpopNonce,
      },
      resourceIndicators: {
        enabled: true,
        async defaultResource(ctx, client, oneOf) {
          if (oneOf) return oneOf;
          // client_credentials without `resource`: the API whose scope was asked for.
          if (ctx.oidc.route === 'token' && ctx.oidc.params.grant_type === 'client_credentials') {
            const asked = String(ctx.oidc.params.scope || '').split(' ');
            const api = apiResources.find((a) => a.scopes.some((s) => asked.includes(s))) || apiResources[0];
            return api ? toIndicator(api.audience) : undefined;
          }
          return undefined;
        },
        async useGrantedResource() {
          return true;
        },
        async getResourceServerInfo(ctx, indicator) {
          const name = fromIndicator(indicator);
          const api = apiByAudience.get(name);
          if (api) return resourceServer(api);
          throw new errors.InvalidTarget(`unknown resource ${name}; devidp knows ${[...apiByAudience.keys()].join(', ') || 'no API'}`);
        },
      },
      // A logout at devidp tells every client of that login session with a
      // backchannel_logout_uri (a logout token naming sub and sid), as HelseID does.
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          setHtml(ctx, logoutPage(form, clientLabel(ctx.oidc.client)));
        },
        async postLogoutSuccessSource(ctx) {
          setHtml(ctx, messagePage('Du er logget ut', 'Du er logget ut fra devidp. Du kan lukke dette vinduet.'));
        },
      },
    },

    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      ClientCredentials: ACCESS_TOKEN_TTL,
      IdToken: 300,
      Interaction: 10 * 60,
      Session: 12 * HOUR,
      Grant: 12 * HOUR,
      RefreshToken: 12 * HOUR,
    },

    clientBasedCORS: () => false,

    // oidc-provider refuses to call loopback addresses (SSRF protection); devidp's clients (the
    // portal's back-channel logout) live on 127.0.0.1, so for loopback URLs, and only those, it
    // calls without that guard.
    async fetch(url, options) {
      const { hostname } = new URL(url);
      if (hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]') {
        const { dispatcher, ...rest } = options;
        return globalThis.fetch(url, rest);
      }
      return globalThis.fetch(url, options);
    },

    async renderError(ctx, out, error) {
      log(`render error: ${out.error}: ${out.error_description || ''}${error?.error_detail ? ` (${error.error_detail})` : ''}`);
      setHtml(ctx, errorPage(out));
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = false;
  // HelseID names the login session (`sid`) in every ID and access token, not only for clients
  // registered for back-channel logout, as oidc-provider would.
  provider.Client.prototype.includeSid = () => true;

  const errorEvents = [
    'authorization.error', 'backchannel.error', 'discovery.error', 'end_session.error',
    'end_session_confirm.error', 'grant.error', 'introspection.error', 'jwks.error',
    'pushed_authorization_request.error', 'revocation.error', 'userinfo.error', 'server_error',
  ];
  for (const event of errorEvents) {
    provider.on(event, (ctx, err) => {
      const detail = err?.error_detail ? ` [${err.error_detail}]` : '';
      const cause = err?.cause?.message ? ` (cause: ${err.cause.message})` : '';
      const message = err?.error ? `${err.error}: ${err.error_description}` : (err?.stack || String(err));
      log(`${event} ${ctx?.method || ''} ${ctx?.path || ''}: ${message}${detail}${cause}`);
    });
  }
  return provider;
}

export async function checkClients(provider, clients) {
  for (const { client_id: id } of clients) {
    try {
      const client = await provider.Client.find(id);
      if (!client) throw new Error('not found after loading');
    } catch (err) {
      const detail = err.error_description || err.message;
      throw new Error(`client ${JSON.stringify(id)} in DEVIDP_CLIENTS_FILE is invalid: ${detail}`);
    }
  }
}
