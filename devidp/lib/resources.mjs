// HelseID names APIs by audience strings such as "nhn:pps" and clients send
// them as the `resource` parameter. oidc-provider follows RFC 8707 strictly
// and accepts only absolute URIs there, so a plain name like "maaledata-api"
// would be refused. devidp therefore rewrites such names into a URN before
// oidc-provider sees the request, and maps them back when it answers
// getResourceServerInfo. The access token's `aud` is the plain name.

const PREFIX = 'urn:devidp:resource:';
const MAX_BODY = 56 * 1024; // oidc-provider's own limit for form bodies

export function toIndicator(name) {
  return URL.parse(name) ? name : `${PREFIX}${encodeURIComponent(name)}`;
}

export function fromIndicator(indicator) {
  return indicator.startsWith(PREFIX) ? decodeURIComponent(indicator.slice(PREFIX.length)) : indicator;
}

// HelseID's authorization_details (type helseid_authorization: which organisation a multi-tenant
// client acts for) is not RFC 9396's access to a resource server, which is what oidc-provider would
// make of it (demanding a resource). devidp hands it on under its own name, and reads it itself
// (provider.mjs, organisationFromDetails).
export const HELSEID_AUTHORIZATION_PARAM = 'helseid_authorization_details';

function rewrite(params) {
  let changed = false;
  if (params.has('authorization_details')) {
    params.set(HELSEID_AUTHORIZATION_PARAM, params.get('authorization_details'));
    params.delete('authorization_details');
    changed = true;
  }
  const values = params.getAll('resource');
  if (!values.length) return changed;
  params.delete('resource');
  for (const value of values) params.append('resource', toIndicator(value));
  return true;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request entity too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const FORM_ROUTES = new Set(['/connect/par', '/connect/token']);

// Rewrites `resource` in the query of GET /connect/authorize and in the form
// body of POST /connect/par and /connect/token. A body that was read is left
// on req.body, where oidc-provider picks it up.
export async function rewriteResourceParams(req) {
  const url = new URL(req.url, 'http://devidp.invalid');
  if (req.method === 'GET' && url.pathname === '/connect/authorize') {
    if (rewrite(url.searchParams)) req.url = `${url.pathname}?${url.searchParams}`;
    return;
  }
  const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (req.method === 'POST' && FORM_ROUTES.has(url.pathname) && type === 'application/x-www-form-urlencoded') {
    const body = await readBody(req);
    const params = new URLSearchParams(body);
    req.body = rewrite(params) ? params.toString() : body;
  }
}
