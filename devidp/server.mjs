// devidp: a local HelseID stand-in for development and tests, built on the npm
// package oidc-provider. See devidp/README.md.
//
// stdout carries exactly one line, when the server is ready:
//   DEVIDP_READY {"issuer":"http://127.0.0.1:PORT"}
// Everything else (request log, notices, errors) goes to stderr.

import * as http from 'node:http';

// oidc-provider prints its notices with console.info; keep stdout for the
// ready line alone.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);
// devidp hands oidc-provider form bodies it has already read (see
// lib/resources.mjs); that is intended, so drop the warning about it.
const warn = console.warn;
console.warn = (...args) => {
  if (String(args[0]).includes('already parsed request body detected')) return;
  warn(...args);
};

function log(message) {
  process.stderr.write(`devidp: ${message}\n`);
}

function fail(message) {
  process.stderr.write(`devidp: configuration error: ${message}\n`);
  process.exit(2);
}

const { ConfigError, loadConfig } = await import('./lib/config.mjs');
const { buildProvider, checkClients, LoginOverrides } = await import('./lib/provider.mjs');
const { handleInteraction } = await import('./lib/interactions.mjs');
const { rewriteResourceParams } = await import('./lib/resources.mjs');

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}

let handler = (req, res) => {
  res.statusCode = 503;
  res.end('devidp is starting\n');
};

const server = http.createServer((req, res) => {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number((process.hrtime.bigint() - started) / 1000000n);
    const pathOnly = (req.url || '').split('?')[0];
    log(`${req.method} ${pathOnly} ${res.statusCode} ${ms}ms`);
  });
  handler(req, res);
});

server.on('error', (err) => {
  if (err.code === 'EADDRINUSE') fail(`port ${config.port} on 127.0.0.1 is already in use (set DEVIDP_PORT, or 0 for a free port)`);
  if (err.code === 'EACCES') fail(`not allowed to listen on port ${config.port}`);
  log(`server error: ${err.stack || err}`);
  process.exit(1);
});

server.listen(config.port, '127.0.0.1', async () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const overrides = new LoginOverrides();
  let provider;
  try {
    provider = buildProvider({ issuer, config, overrides, log });
    await checkClients(provider, config.clients);
  } catch (err) {
    fail(err.message);
  }
  const callback = provider.callback();
  handler = (req, res) => {
    if (req.url === '/interaction' || req.url.startsWith('/interaction/')) {
      handleInteraction({ provider, persons: config.persons, log }, req, res).catch((err) => {
        log(`interaction failed: ${err.stack || err}`);
        if (!res.headersSent) {
          res.statusCode = 500;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        }
        res.end('devidp: internal error\n');
      });
      return;
    }
    rewriteResourceParams(req).then(() => callback(req, res), (err) => {
      res.statusCode = err.status || 400;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ error: 'invalid_request', error_description: err.message }));
    });
  };
  log(`issuer ${issuer}; ${config.clients.length} client(s) from ${config.files.clientsFile}; `
    + `${config.persons.list.length} person(s) from ${config.files.personsFile}; `
    + `signing keys ${config.keysFromFile ? 'from DEVIDP_KEYS_FILE' : 'generated'} `
    + `(${config.jwks.keys.map((k) => k.kid).join(', ')}); APIs ${config.apiResources.map((a) => a.audience).join(', ') || 'none'}; `
    + `DPoP nonce ${config.requireDpopNonce ? 'required' : 'not required'}`);
  process.stdout.write(`DEVIDP_READY ${JSON.stringify({ issuer })}\n`);
});

function shutdown(signal) {
  log(`${signal} received, stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
