// Reading and checking devidp's environment and files. Everything here fails
// with a ConfigError whose message names the variable or file at fault.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEVIDP_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export class ConfigError extends Error {}

function readJson(file, what) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${file}: ${err.code || err.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${what} ${file} is not valid JSON: ${err.message}`);
  }
}

function parsePort(raw) {
  if (raw === undefined || raw === '') return 8081;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw new ConfigError(`DEVIDP_PORT must be an integer 0-65535 (0 = pick a free port), got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

const ORGNR = /^\d{9}$/;

function checkOrgnr(value, where, { allowEmpty }) {
  if (value === undefined || (allowEmpty && value === '')) return;
  if (typeof value !== 'string' || !ORGNR.test(value)) {
    throw new ConfigError(`${where} must be a 9-digit string${allowEmpty ? ' or ""' : ''}, got ${JSON.stringify(value)}`);
  }
}

// An API resource as HelseID registers it: an audience named `<prefix>:<name>`, scopes named
// `<audience>/<scope>`, and the user claims its access tokens may carry.
function checkApiResource(api, where) {
  if (!api || typeof api !== 'object') throw new ConfigError(`${where} must be an object`);
  if (typeof api.audience !== 'string' || !/^[a-z0-9-]+:[a-z0-9._-]+$/i.test(api.audience)) {
    throw new ConfigError(`${where}.audience must be named <prefix>:<name>, as HelseID names APIs, got ${JSON.stringify(api.audience)}`);
  }
  if (!Array.isArray(api.scopes) || api.scopes.length === 0) throw new ConfigError(`${where}.scopes must be a non-empty list`);
  for (const scope of api.scopes) {
    if (typeof scope !== 'string' || !scope.startsWith(`${api.audience}/`) || scope.length <= api.audience.length + 1) {
      throw new ConfigError(`${where}: scope ${JSON.stringify(scope)} must be named ${api.audience}/<scope>`);
    }
  }
  const userClaims = api.user_claims ?? [];
  if (!Array.isArray(userClaims) || userClaims.some((c) => typeof c !== 'string')) {
    throw new ConfigError(`${where}.user_claims must be a list of claim names`);
  }
  return { audience: api.audience, scopes: [...api.scopes], userClaims: [...userClaims] };
}

export function loadClients(file) {
  const doc = readJson(file, 'DEVIDP_CLIENTS_FILE');
  if (!doc || !Array.isArray(doc.clients)) {
    throw new ConfigError(`DEVIDP_CLIENTS_FILE ${file} must be an object {"clients": [ ... ], "api_resources": [ ... ]}`);
  }
  doc.clients.forEach((client, i) => {
    if (!client || typeof client !== 'object' || typeof client.client_id !== 'string' || !client.client_id) {
      throw new ConfigError(`DEVIDP_CLIENTS_FILE ${file}: clients[${i}] has no client_id`);
    }
  });
  const apis = doc.api_resources ?? [];
  if (!Array.isArray(apis)) throw new ConfigError(`DEVIDP_CLIENTS_FILE ${file}: api_resources must be a list`);
  const apiResources = apis.map((api, i) => checkApiResource(api, `DEVIDP_CLIENTS_FILE ${file}: api_resources[${i}]`));
  // Which legal entities have delegated to which supplier (Altinn, in HelseID's world): a
  // multi-tenant client may ask only for these.
  const delegations = doc.delegations ?? [];
  if (!Array.isArray(delegations)) throw new ConfigError(`DEVIDP_CLIENTS_FILE ${file}: delegations must be a list`);
  delegations.forEach((d, i) => {
    const where = `DEVIDP_CLIENTS_FILE ${file}: delegations[${i}]`;
    checkOrgnr(d?.orgnr_parent, `${where}.orgnr_parent`, { allowEmpty: false });
    checkOrgnr(d?.orgnr_supplier, `${where}.orgnr_supplier`, { allowEmpty: false });
    if (!d.orgnr_parent || !d.orgnr_supplier) throw new ConfigError(`${where} needs orgnr_parent and orgnr_supplier`);
  });
  return { clients: doc.clients, apiResources, delegations };
}

// sub is HelseID-like: a pseudonym of the pid, never the pid itself.
export function pseudonym(pid) {
  return crypto.createHash('sha256').update(`devidp:${pid}`).digest('base64url');
}

export function loadPersons(file) {
  const doc = readJson(file, 'persons file');
  if (!doc || !Array.isArray(doc.persons) || doc.persons.length === 0) {
    throw new ConfigError(`persons file ${file} must be an object {"persons": [ ... ]} with at least one person`);
  }
  const byId = new Map();
  const bySub = new Map();
  for (const [i, p] of doc.persons.entries()) {
    const where = `persons file ${file}: persons[${i}]`;
    for (const key of ['id', 'pid', 'name', 'given_name', 'family_name', 'security_level']) {
      if (typeof p?.[key] !== 'string' || !p[key]) {
        throw new ConfigError(`${where} needs a non-empty string "${key}"`);
      }
    }
    if (!/^[a-z0-9][a-z0-9-]*$/.test(p.id)) {
      throw new ConfigError(`${where}: id ${JSON.stringify(p.id)} must be lowercase letters, digits and "-"`);
    }
    if (byId.has(p.id)) throw new ConfigError(`${where}: duplicate id ${p.id}`);
    if (!/^\d{11}$/.test(p.pid)) throw new ConfigError(`${where}: pid must be 11 digits`);
    if (!/^[1-4]$/.test(p.security_level)) throw new ConfigError(`${where}: security_level must be "1".."4"`);
    if (p.hpr_number !== undefined && (typeof p.hpr_number !== 'string' || !/^\d+$/.test(p.hpr_number))) {
      throw new ConfigError(`${where}: hpr_number must be a string of digits when present`);
    }
    if (p.organisations !== undefined) {
      throw new ConfigError(`${where}: HelseID does not know where a person works; remove "organisations" (the client asks for one with authorization_details)`);
    }
    if (p.hpr_details !== undefined && (!p.hpr_details || !Array.isArray(p.hpr_details.approvals))) {
      throw new ConfigError(`${where}: hpr_details must be {"approvals": [{"profession", "authorization": {...}}, ...]}`);
    }
    const person = { ...p, sub: pseudonym(p.pid) };
    byId.set(p.id, person);
    bySub.set(person.sub, person);
  }
  return { list: [...byId.values()], byId, bySub };
}

function jwkThumbprint(jwk) {
  // RFC 7638 for RSA and EC keys (the only kinds accepted here).
  const members = jwk.kty === 'RSA'
    ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return crypto.createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

export function generateSigningKeys() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: jwkThumbprint(jwk), alg: 'RS256', use: 'sig' }] };
}

export function loadSigningKeys(file) {
  const doc = readJson(file, 'DEVIDP_KEYS_FILE');
  if (!doc || !Array.isArray(doc.keys) || doc.keys.length === 0) {
    throw new ConfigError(`DEVIDP_KEYS_FILE ${file} must be a JWKS {"keys": [ ... ]} with at least one key`);
  }
  const keys = doc.keys.map((k, i) => {
    if (!k || !['RSA', 'EC'].includes(k.kty)) {
      throw new ConfigError(`DEVIDP_KEYS_FILE ${file}: keys[${i}] must be an RSA or EC key`);
    }
    if (!k.d) {
      throw new ConfigError(`DEVIDP_KEYS_FILE ${file}: keys[${i}] has no private part ("d"); devidp signs with these keys`);
    }
    try {
      crypto.createPrivateKey({ key: k, format: 'jwk' });
    } catch (err) {
      throw new ConfigError(`DEVIDP_KEYS_FILE ${file}: keys[${i}] is not a usable private key: ${err.message}`);
    }
    return { ...k, kid: k.kid || jwkThumbprint(k), use: k.use || 'sig' };
  });
  if (!keys.some((k) => k.kty === 'RSA' && (!k.alg || k.alg === 'RS256'))) {
    throw new ConfigError(`DEVIDP_KEYS_FILE ${file} needs at least one RSA key usable for RS256`);
  }
  return { keys };
}

export function loadConfig(env = process.env) {
  const port = parsePort(env.DEVIDP_PORT);
  if (!env.DEVIDP_CLIENTS_FILE) {
    throw new ConfigError('DEVIDP_CLIENTS_FILE is required: path to a JSON file {"clients": [ <oidc-provider client metadata>, ... ]}');
  }
  const clientsFile = path.resolve(env.DEVIDP_CLIENTS_FILE);
  const personsFile = path.resolve(env.DEVIDP_PERSONS_FILE || path.join(DEVIDP_DIR, 'persons.json'));
  // HelseID answers the first DPoP proof at its token endpoint with a nonce; so does devidp unless
  // told otherwise (DEVIDP_DPOP_REQUIRE_NONCE=0).
  const nonceSetting = (env.DEVIDP_DPOP_REQUIRE_NONCE || '1').toLowerCase();
  if (!['0', '1', 'true', 'false', 'yes', 'no'].includes(nonceSetting)) {
    throw new ConfigError(`DEVIDP_DPOP_REQUIRE_NONCE must be 1 or 0, got ${JSON.stringify(env.DEVIDP_DPOP_REQUIRE_NONCE)}`);
  }
  const requireDpopNonce = ['1', 'true', 'yes'].includes(nonceSetting);
  const { clients, apiResources, delegations } = loadClients(clientsFile);
  return {
    port,
    clients,
    apiResources,
    delegations,
    persons: loadPersons(personsFile),
    jwks: env.DEVIDP_KEYS_FILE ? loadSigningKeys(path.resolve(env.DEVIDP_KEYS_FILE)) : generateSigningKeys(),
    keysFromFile: Boolean(env.DEVIDP_KEYS_FILE),
    requireDpopNonce,
    files: { clientsFile, personsFile },
  };
}
