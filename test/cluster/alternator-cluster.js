#!/usr/bin/env node
'use strict';
/*
 * A local stand-in for a ScyllaDB Alternator cluster, for tests.
 *
 * N nodes, node i listening on 127.0.0.i, all on one common port, all
 * fronting one in-memory DynamoDB implementation (dynalite, run in-process
 * on 127.0.0.1 with a free port).  Each node serves GET /localnodes,
 * GET / (health) and POST / (the DynamoDB API, forwarded to dynalite),
 * optionally enforcing SigV4 like Alternator does.
 *
 * Control: one command per line on stdin (replies on stdout) or on the
 * control TCP port printed in the READY line.  See README.md.
 */

const http = require('http');
const https = require('https');
const fs = require('fs');
const net = require('net');
const crypto = require('crypto');
const zlib = require('zlib');
const readline = require('readline');

const ERR_PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const MAX_BODY = 16 * 1024 * 1024;
const SKEW_MS = 15 * 60 * 1000;

function log(...a) {
  if (process.env.ALT_CLUSTER_VERBOSE) process.stderr.write('[alternator-cluster] ' + a.join(' ') + '\n');
}
function warn(...a) {
  process.stderr.write('[alternator-cluster] ' + a.join(' ') + '\n');
}

/* ------------------------------------------------------------------ args */

function usage(msg) {
  if (msg) warn(msg);
  process.stderr.write('usage: node alternator-cluster.js [--nodes N] [--port P] [--auth KEY:SECRET] [--tls CERT:KEY] ' +
    '[--old-server] [--topology "dc1:r1,dc1:r2,dc2:r1"] [--joining 4,5] [--delist-delay MS] [--hang-delist-delay MS]\n');
  process.exit(2);
}

// A delist delay: an integer >= 0 (ms) or -1 (never delisted).
function delayArg(s, what, onErr) {
  if (typeof s !== 'string' || !/^(-1|\d+)$/.test(s.trim())) onErr('bad ' + what + ' (ms, or -1 for never): ' + s);
  return parseInt(s, 10);
}

function parseArgs(argv) {
  // delistDelay / hangDelistDelay: how long a killed / hung node stays in
  // the other nodes' /localnodes answers (ms; -1 = for ever, 0 = not at all).
  // A real ScyllaDB keeps listing a dead node until gossip's failure
  // detector convicts it (failure_detector_timeout_in_ms, 20 s by default),
  // and a node whose Alternator hangs while its gossip lives, for ever.
  const o = { nodes: 3, port: 0, auth: null, oldServer: false, topology: null, joining: [], tls: null,
    delistDelay: 20000, hangDelistDelay: -1 };
  for (let k = 0; k < argv.length; k++) {
    let a = argv[k];
    let v = null;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    const val = () => {
      if (v !== null) return v;
      if (k + 1 >= argv.length) usage('missing value for ' + a);
      return argv[++k];
    };
    switch (a) {
      case '--nodes': o.nodes = parseInt(val(), 10); break;
      case '--port': o.port = parseInt(val(), 10); break;
      case '--auth': {
        const s = val(); const c = s.indexOf(':');
        if (c <= 0) usage('--auth wants KEY:SECRET');
        o.auth = { key: s.slice(0, c), secret: s.slice(c + 1) };
        break;
      }
      case '--old-server': o.oldServer = true; break;
      case '--tls': {
        // --tls CERT.pem:KEY.pem: every node serves HTTPS with that one
        // certificate (as a cluster behind one fake domain would).
        const s = val(); const c = s.indexOf(':');
        if (c <= 0) usage('--tls wants CERT:KEY');
        o.tls = { cert: fs.readFileSync(s.slice(0, c)), key: fs.readFileSync(s.slice(c + 1)) };
        break;
      }
      case '--topology': o.topology = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--joining': o.joining = val().split(',').map((s) => parseInt(s, 10)).filter((n) => n > 0); break;
      case '--delist-delay': o.delistDelay = delayArg(val(), a, usage); break;
      case '--hang-delist-delay': o.hangDelistDelay = delayArg(val(), a, usage); break;
      case '-h': case '--help': usage(); break;
      default: usage('unknown argument: ' + a);
    }
  }
  if (!(o.nodes >= 1 && o.nodes <= 254)) usage('--nodes must be 1..254');
  if (!(o.port >= 0 && o.port <= 65535)) usage('--port must be 0..65535');
  if (o.topology) {
    if (o.topology.length > o.nodes) o.nodes = o.topology.length;
    for (const t of o.topology) if (!/^[^:]+:[^:]+$/.test(t)) usage('bad topology entry: ' + t);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));

/* -------------------------------------------------------------- dynalite */

let dyn = null;          // dynalite http.Server (in-process)
let dynPort = 0;
const dynAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function startDynalite() {
  const dynalite = require('dynalite');
  // No `path`: dynalite uses memory-level (pure JS, in memory).
  // Tables become ACTIVE at once, as on Alternator.
  dyn = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  return new Promise((resolve, reject) => {
    dyn.once('error', reject);
    dyn.listen(0, '127.0.0.1', () => { dynPort = dyn.address().port; resolve(); });
  });
}

/* ----------------------------------------------------------------- nodes */

const nodes = [];        // index 0 unused: nodes[i] is node i
let commonPort = 0;

function newNode(i, dcRack) {
  const [dc, rack] = dcRack.split(':');
  return {
    i, addr: '127.0.0.' + i, dc, rack,
    server: null, up: false, sockets: new Set(),
    hung: false, held: [], slowMs: 0, failCode: 0, dropApi: false,
    lnBody: null, lnStatus: 0, lnHuge: null,
    listedOut: false,    // leaving / joining: not in any /localnodes
    // kill / hang: when it happened (ms, Date.now()) and how long the node
    // stays listed after it (-1: for ever).  See isListed().
    downAt: 0, downDelay: 0, hungAt: 0, hungDelay: 0,
    c: { localnodes: 0, health: 0, api: 0, other: 0, conns: 0, dropped: 0 },
  };
}

// Whether node n appears in /localnodes answers now.  A killed or hung node
// stays listed for its delist delay, counted from the kill / hang.
function stillListed(since, delay, now) { return delay < 0 || now < since + delay; }
function isListed(n, now = Date.now()) {
  if (n.listedOut) return false;
  if (!n.up && !stillListed(n.downAt, n.downDelay, now)) return false;
  if (n.hung && !stillListed(n.hungAt, n.hungDelay, now)) return false;
  return true;
}

function listen(n) {
  return new Promise((resolve, reject) => {
    const handler = (req, res) => onRequest(n, req, res);
    const srv = opts.tls
      ? https.createServer({ keepAliveTimeout: 0, cert: opts.tls.cert, key: opts.tls.key }, handler)
      : http.createServer({ keepAliveTimeout: 0 }, handler);
    srv.keepAliveTimeout = 0;        // never close idle keep-alive connections
    srv.requestTimeout = 0;          // hung nodes really hang
    srv.headersTimeout = 0;
    srv.on('connection', (sock) => {
      n.c.conns++;
      n.sockets.add(sock);
      sock.on('close', () => n.sockets.delete(sock));
    });
    srv.on('clientError', (err, sock) => { if (!sock.destroyed) sock.destroy(); });
    const onErr = (err) => { reject(err); };
    srv.once('error', onErr);
    srv.listen({ port: commonPort, host: n.addr, exclusive: true }, () => {
      srv.removeListener('error', onErr);
      srv.on('error', (e) => warn('node', n.i, 'server error:', e.message));
      n.server = srv;
      n.up = true;
      resolve();
    });
  });
}

function killNode(n) {
  return new Promise((resolve) => {
    n.up = false;
    const srv = n.server;
    n.server = null;
    n.held = [];
    for (const s of n.sockets) s.destroy();
    n.sockets.clear();
    if (!srv) return resolve();
    srv.close(() => resolve());
  });
}

function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function startNodes() {
  const fixed = opts.port !== 0;
  for (let attempt = 0; attempt < 30; attempt++) {
    commonPort = fixed ? opts.port : await freePort('127.0.0.1');
    let ok = true;
    for (let i = 1; i < nodes.length; i++) {
      try {
        await listen(nodes[i]);
      } catch (e) {
        ok = false;
        for (let j = 1; j < i; j++) await killNode(nodes[j]);
        if (fixed || e.code !== 'EADDRINUSE') throw new Error(`node ${i} cannot listen on ${nodes[i].addr}:${commonPort}: ${e.message}`);
        log('port', commonPort, 'busy on', nodes[i].addr, '- retrying');
        break;
      }
    }
    if (ok) return;
  }
  throw new Error('could not find a port free on all node addresses');
}

/* ------------------------------------------------------------ /localnodes */

function localnodesList(n, query) {
  let dc = n.dc, rack = null;
  if (!opts.oldServer && query) {
    if (query.has('dc')) dc = query.get('dc');
    if (query.has('rack')) rack = query.get('rack');
  }
  if (dc === '' || rack === '') return [];
  const out = [];
  const now = Date.now();
  for (let i = 1; i < nodes.length; i++) {
    const m = nodes[i];
    if (!isListed(m, now) || m.dc !== dc) continue;
    if (rack !== null && m.rack !== rack) continue;
    out.push(m.addr);
  }
  return out;
}

function hugeBody(bytes) {
  const parts = [];
  let size = 2, k = 0;
  while (size < bytes) {
    const s = `"127.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}"`;
    k++;
    if (k >= 1 << 24) k = 0;
    parts.push(s);
    size += s.length + 1;
  }
  return Buffer.from('[' + parts.join(',') + ']');
}

/* ------------------------------------------------------------- responses */

function errBody(type, message) {
  return JSON.stringify({ __type: ERR_PREFIX + type, message });
}

function typeForCode(code) {
  switch (code) {
    case 400: return 'ValidationException';
    case 413: return 'RequestEntityTooLarge';
    case 429: return 'ThrottlingException';
    case 503: return 'ServiceUnavailable';
    default: return 'InternalServerError';
  }
}

// Deliver an answer through the node's delay / hang state.
function deliver(n, req, res, status, headers, body) {
  const go = () => {
    if (res.destroyed || res.writableEnded || req.socket.destroyed) return;
    if (n.hung) { n.held.push(go); return; }
    const b = Buffer.isBuffer(body) ? body : Buffer.from(body || '');
    headers['Content-Length'] = b.length;
    try {
      res.writeHead(status, headers);
      res.end(b);
    } catch (e) {
      log('write failed on node', n.i, e.message);
    }
  };
  if (n.slowMs > 0) setTimeout(go, n.slowMs); else go();
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let len = 0, tooBig = false;
    req.on('data', (d) => {
      len += d.length;
      if (len > MAX_BODY) { tooBig = true; return; }
      if (!tooBig) chunks.push(d);
    });
    req.on('end', () => resolve(tooBig ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function onRequest(n, req, res) {
  const q = req.url.indexOf('?');
  const u = { pathname: q < 0 ? req.url : req.url.slice(0, q),
    searchParams: new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1)) };
  let kind = 'other';
  if (req.method === 'GET' && u.pathname === '/localnodes') kind = 'localnodes';
  else if (req.method === 'GET' && u.pathname === '/') kind = 'health';
  else if (req.method === 'POST' && u.pathname === '/') kind = 'api';
  n.c[kind]++;

  readBody(req).then((body) => {
    const run = () => {
      if (req.socket.destroyed) return;
      handle(n, req, res, kind, u, body).catch((e) => {
        warn('node', n.i, 'internal error:', e.stack || e);
        deliver(n, req, res, 500, { 'Content-Type': 'application/x-amz-json-1.0' },
          errBody('InternalServerError', String(e.message || e)));
      });
    };
    if (n.hung) n.held.push(run); else run();
  }, () => { if (!req.socket.destroyed) req.socket.destroy(); });
}

async function handle(n, req, res, kind, u, body) {
  const J = { 'Content-Type': 'application/json' };
  const XJ = { 'Content-Type': 'application/x-amz-json-1.0' };
  if (kind === 'localnodes') {
    let b;
    if (n.lnHuge) b = n.lnHuge;
    else if (n.lnBody !== null) b = n.lnBody;
    else b = JSON.stringify(localnodesList(n, u.searchParams));
    if (n.lnStatus && n.lnStatus >= 400 && n.lnBody === null && !n.lnHuge)
      b = errBody(typeForCode(n.lnStatus), 'injected /localnodes failure');
    return deliver(n, req, res, n.lnStatus || 200, J, b);
  }
  if (kind === 'health') {
    return deliver(n, req, res, 200, { 'Content-Type': 'text/plain' }, 'healthy: ' + (req.headers.host || ''));
  }
  if (kind === 'other') {
    return deliver(n, req, res, 404, { 'Content-Type': 'text/plain' }, 'Not found\n');
  }
  // POST /
  if (body === null) {
    return deliver(n, req, res, 413, XJ, errBody('RequestEntityTooLarge', 'Request body exceeds 16 MiB'));
  }
  if (n.failCode) {
    return deliver(n, req, res, n.failCode, XJ, errBody(typeForCode(n.failCode), `injected failure on node ${n.i}`));
  }
  if (opts.auth) {
    const err = checkAuth(req, body);
    if (err) return deliver(n, req, res, 400, XJ, errBody(err[0], err[1]));
  }
  const enc = (req.headers['content-encoding'] || '').trim().toLowerCase();
  try {
    if (enc === 'gzip') body = zlib.gunzipSync(body);
    else if (enc === 'deflate') body = zlib.inflateSync(body);
    else if (enc && enc !== 'identity') {
      return deliver(n, req, res, 400, XJ, errBody('ValidationException', 'Unsupported Content-Encoding: ' + enc));
    }
  } catch (e) {
    return deliver(n, req, res, 400, XJ, errBody('ValidationException', 'Bad compressed body: ' + e.message));
  }
  const r = await forward(req, body);
  if (n.dropApi) {
    // Applied, and then the connection dies before any answer byte: the
    // client cannot know whether the request took effect.
    n.c.dropped++;
    if (typeof req.socket.resetAndDestroy === 'function') req.socket.resetAndDestroy();
    else req.socket.destroy();
    return;
  }
  return deliver(n, req, res, r.status, r.headers, r.body);
}

function forward(req, body) {
  const now = new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const headers = {
    'Host': '127.0.0.1:' + dynPort,
    'Content-Type': req.headers['content-type'] || 'application/x-amz-json-1.0',
    'Content-Length': body.length,
    'X-Amz-Date': amzDate,
    // dynalite only checks that these look like SigV4; it verifies nothing.
    'Authorization': `AWS4-HMAC-SHA256 Credential=alternator/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, ` +
      'SignedHeaders=host;x-amz-date;x-amz-target, Signature=' + '0'.repeat(64),
  };
  if (req.headers['x-amz-target'] !== undefined) headers['X-Amz-Target'] = req.headers['x-amz-target'];
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port: dynPort, method: 'POST', path: '/', headers, agent: dynAgent }, (resp) => {
      const chunks = [];
      resp.on('data', (d) => chunks.push(d));
      resp.on('error', reject);
      resp.on('end', () => {
        let b = Buffer.concat(chunks);
        const h = { 'Content-Type': resp.headers['content-type'] || 'application/x-amz-json-1.0' };
        if (resp.headers['x-amzn-requestid']) h['x-amzn-RequestId'] = resp.headers['x-amzn-requestid'];
        if (resp.statusCode >= 400 && b.length && b.length < 65536) {
          // dynalite says com.amazon.coral.validate#X etc.; Alternator always
          // says com.amazonaws.dynamodb.v20120810#X.
          try {
            const j = JSON.parse(b.toString());
            if (j && typeof j.__type === 'string') {
              j.__type = ERR_PREFIX + j.__type.slice(j.__type.indexOf('#') + 1);
              if (j.message === undefined) j.message = '';
              b = Buffer.from(JSON.stringify(j));
            }
          } catch (e) { /* leave as is */ }
        }
        resolve({ status: resp.statusCode, headers: h, body: b });
      });
    });
    r.on('error', reject);
    r.end(body);
  });
}

/* ------------------------------------------------------------------ SigV4 */

function hmac(key, s) { return crypto.createHmac('sha256', key).update(s).digest(); }
function sha256hex(b) { return crypto.createHash('sha256').update(b).digest('hex'); }

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return null;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

// Returns null when fine, else [type, message].
function checkAuth(req, body) {
  const auth = req.headers.authorization;
  if (!auth) return ['MissingAuthenticationTokenException', 'Authorization header is mandatory for signature verification'];
  if (!req.headers.host) return ['InvalidSignatureException', 'Host header is mandatory for signature verification'];
  const sp = auth.indexOf(' ');
  const algo = sp < 0 ? auth : auth.slice(0, sp);
  if (algo !== 'AWS4-HMAC-SHA256') return ['InvalidSignatureException', `Unsupported signature algorithm: ${algo}`];
  const params = {};
  for (const part of auth.slice(sp + 1).split(',')) {
    const t = part.trim(); const e = t.indexOf('=');
    if (e > 0) params[t.slice(0, e)] = t.slice(e + 1);
  }
  if (!params.Credential || !params.SignedHeaders || !params.Signature) {
    return ['InvalidSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature'];
  }
  const cred = params.Credential.split('/');
  if (cred.length !== 5 || cred[4] !== 'aws4_request') return ['InvalidSignatureException', 'Incorrect credential information format'];
  const [key, credDate, region, service] = cred;
  const signed = params.SignedHeaders.split(';');
  if (!signed.includes('x-amz-date')) return ['InvalidSignatureException', 'X-Amz-Date header is mandatory for signature verification'];
  const amzDate = req.headers['x-amz-date'];
  const t = parseAmzDate(amzDate);
  if (t === null) return ['InvalidSignatureException', 'X-Amz-Date header is malformed'];
  if (amzDate.slice(0, 8) !== credDate) return ['InvalidSignatureException', `Wrong date in credential: ${credDate} vs X-Amz-Date ${amzDate}`];
  if (Math.abs(Date.now() - t) > SKEW_MS) return ['InvalidSignatureException', `Signature expired: ${amzDate} is out of the 15 minute window`];
  if (key !== opts.auth.key) return ['UnrecognizedClientException', `User not found: ${key}`];
  const canonHeaders = signed.map((h) => {
    const v = req.headers[h];
    const val = v === undefined ? '' : (Array.isArray(v) ? v.join(',') : String(v)).trim().replace(/\s+/g, ' ');
    return h + ':' + val + '\n';
  }).join('');
  const canon = ['POST', '/', '', canonHeaders, params.SignedHeaders, sha256hex(body)].join('\n');
  const scope = `${credDate}/${region}/${service}/aws4_request`;
  const sts = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canon)].join('\n');
  let k = hmac('AWS4' + opts.auth.secret, credDate);
  k = hmac(k, region); k = hmac(k, service); k = hmac(k, 'aws4_request');
  const sig = hmac(k, sts).toString('hex');
  const given = String(params.Signature).toLowerCase();
  if (sig.length !== given.length || !crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(given))) {
    return ['UnrecognizedClientException', 'The security signature is invalid.'];
  }
  return null;
}

/* ---------------------------------------------------------------- control */

function nodeArg(s) {
  const i = parseInt(s, 10);
  if (!(i >= 1 && i < nodes.length) || String(i) !== String(s).trim()) throw new Error('no such node: ' + s);
  return nodes[i];
}
function intArg(s, what) {
  if (s === undefined || !/^\d+$/.test(s)) throw new Error('bad ' + what + ': ' + s);
  return parseInt(s, 10);
}

async function command(line) {
  line = line.replace(/\r$/, '');
  const m = /^\s*(\S+)\s*(.*)$/.exec(line);
  if (!m) return 'ERR empty command';
  const cmd = m[1];
  const rest = m[2];
  const a = rest.split(/\s+/).filter(Boolean);
  try {
    switch (cmd) {
      case 'kill': {
        // kill I [DELAY_MS]: down at once, listed for DELAY_MS more.  On a
        // node already down, only the delay changes (still counted from the
        // kill): `kill I 0` delists a killed node now.
        const n = nodeArg(a[0]);
        const d = a[1] === undefined ? opts.delistDelay : delayArg(a[1], 'delay', (m) => { throw new Error(m); });
        if (n.up) { n.downAt = Date.now(); await killNode(n); }
        n.downDelay = d;
        return 'OK';
      }
      case 'revive': {
        const n = nodeArg(a[0]);
        if (!n.up) await listen(n);
        return 'OK';
      }
      case 'hang': {
        // hang I [DELAY_MS]: hung at once, listed for DELAY_MS more (default
        // --hang-delist-delay: for ever).  On a hung node only the delay
        // changes (counted from the hang).
        const n = nodeArg(a[0]);
        const d = a[1] === undefined ? opts.hangDelistDelay : delayArg(a[1], 'delay', (m) => { throw new Error(m); });
        if (!n.hung) { n.hung = true; n.hungAt = Date.now(); }
        n.hungDelay = d;
        return 'OK';
      }
      case 'unhang': {
        const n = nodeArg(a[0]);
        n.hung = false;
        const held = n.held; n.held = [];
        for (const f of held) f();
        return 'OK';
      }
      case 'slow': nodeArg(a[0]).slowMs = intArg(a[1], 'delay'); return 'OK';
      case 'drop': nodeArg(a[0]).dropApi = true; return 'OK';
      case 'undrop': nodeArg(a[0]).dropApi = false; return 'OK';
      case 'fail': {
        const code = intArg(a[1], 'code');
        if (code !== 0 && (code < 100 || code > 599)) throw new Error('bad code: ' + code);
        nodeArg(a[0]).failCode = code;
        return 'OK';
      }
      case 'localnodes': {
        const mm = /^(\S+)(?:\s(.*))?$/.exec(rest);
        if (!mm) throw new Error('usage: localnodes I BODY|default');
        const n = nodeArg(mm[1]);
        const body = mm[2] === undefined ? '' : mm[2];
        n.lnHuge = null;
        n.lnBody = body === 'default' ? null : body;
        return 'OK';
      }
      case 'localnodes-status': {
        const code = intArg(a[1], 'code');
        if (code !== 0 && (code < 100 || code > 599)) throw new Error('bad code: ' + code);
        nodeArg(a[0]).lnStatus = code;
        return 'OK';
      }
      case 'localnodes-huge': {
        const n = nodeArg(a[0]);
        const bytes = intArg(a[1], 'size');
        if (bytes > 256 * 1024 * 1024) throw new Error('size too large');
        n.lnHuge = bytes ? hugeBody(bytes) : null;
        return 'OK ' + (n.lnHuge ? n.lnHuge.length : 0);
      }
      case 'leave': nodeArg(a[0]).listedOut = true; return 'OK';
      case 'join': nodeArg(a[0]).listedOut = false; return 'OK';
      case 'add': {
        const i = nodes.length;
        if (i > 254) throw new Error('too many nodes');
        let dr = a[0] || `${nodes[1].dc}:${nodes[1].rack}`;
        if (!/^[^:]+:[^:]+$/.test(dr)) throw new Error('bad dc:rack: ' + dr);
        const n = newNode(i, dr);
        nodes.push(n);
        try { await listen(n); } catch (e) { nodes.pop(); throw e; }
        return 'OK ' + i;
      }
      case 'stats': {
        const out = [];
        for (let i = 1; i < nodes.length; i++) {
          const n = nodes[i];
          out.push({ i, addr: n.addr, up: n.up,
            localnodes: n.c.localnodes, health: n.c.health, api: n.c.api, other: n.c.other,
            conns: n.c.conns, dropped: n.c.dropped, open: n.sockets.size,
            dc: n.dc, rack: n.rack, hung: n.hung, listed: isListed(n) });
        }
        return 'OK ' + JSON.stringify({ nodes: out, port: commonPort });
      }
      case 'reset':
        for (let i = 1; i < nodes.length; i++) {
          const c = nodes[i].c; c.localnodes = c.health = c.api = c.other = c.conns = c.dropped = 0;
        }
        return 'OK';
      case 'port': return 'OK ' + commonPort;
      case 'ping': return 'OK';
      case 'quit':
        setImmediate(() => shutdown(0));
        return 'OK';
      default:
        return 'ERR unknown command: ' + cmd;
    }
  } catch (e) {
    return 'ERR ' + String(e.message || e).replace(/\n/g, ' ');
  }
}

// Serialize commands so replies come in order, per input stream.
function lineServer(input, write) {
  const rl = readline.createInterface({ input, crlfDelay: Infinity, terminal: false });
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    if (!line.trim()) return;
    chain = chain.then(() => command(line)).then((r) => write(r + '\n'));
  });
  rl.done = () => chain;
  return rl;
}

let control = null;
function startControl() {
  return new Promise((resolve, reject) => {
    control = net.createServer((sock) => {
      controlSockets.add(sock);
      sock.on('close', () => controlSockets.delete(sock));
      sock.on('error', () => {});
      lineServer(sock, (s) => { if (!sock.destroyed) sock.write(s); });
    });
    control.once('error', reject);
    control.listen(0, '127.0.0.1', () => resolve(control.address().port));
  });
}
const controlSockets = new Set();

/* ---------------------------------------------------------------- shutdown */

let stopping = false;
function shutdown(code) {
  if (stopping) return;
  stopping = true;
  log('shutting down');
  for (let i = 1; i < nodes.length; i++) {
    const n = nodes[i];
    n.up = false;
    for (const s of n.sockets) s.destroy();
    if (n.server) n.server.close();
  }
  for (const s of controlSockets) s.destroy();
  if (control) control.close();
  dynAgent.destroy();
  if (dyn) { try { dyn.closeAllConnections && dyn.closeAllConnections(); } catch (e) { /* */ } }
  // dynalite is in-process: exiting the process ends it.
  const out = () => process.exit(code);
  if (process.stdout.writableLength > 0) process.stdout.once('drain', out); else setImmediate(out);
  setTimeout(out, 1000).unref();
}

/* -------------------------------------------------------------------- main */

async function main() {
  const t0 = Date.now();
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGHUP', () => shutdown(0));
  process.stdout.on('error', () => shutdown(0));   // EPIPE: parent gone
  const ppid0 = process.ppid;
  setInterval(() => { if (process.ppid !== ppid0) shutdown(0); }, 500).unref();

  nodes.push(null);
  const joining = new Set(opts.joining);
  for (let i = 1; i <= opts.nodes; i++) {
    const n = newNode(i, (opts.topology && opts.topology[i - 1]) || 'dc1:rack1');
    if (joining.has(i)) n.listedOut = true;
    nodes.push(n);
  }
  await startDynalite();
  await startNodes();
  const cport = await startControl();

  // EOF on stdin means the parent closed the pipe or died: quit.  Only for a
  // pipe, socket or terminal; a regular file or /dev/null (e.g. `node ... &`
  // from a script) is read for commands, then ignored.
  let st = null;
  try { st = require('fs').fstatSync(0); } catch (e) { /* no stdin */ }
  const eofQuits = !!st && (st.isFIFO() || st.isSocket() || require('tty').isatty(0));
  if (st) {
    const rl = lineServer(process.stdin, (s) => { if (!stopping) process.stdout.write(s); });
    rl.on('close', () => {
      log('stdin closed');
      if (eofQuits) rl.done().then(() => shutdown(0));
    });
  }

  process.stdout.write(`READY port=${commonPort} control=${cport} nodes=${nodes.length - 1}\n`);
  log(`started in ${Date.now() - t0} ms (dynalite on 127.0.0.1:${dynPort})`);
  // keep the event loop alive even if stdin is not readable
  setInterval(() => {}, 1 << 30);
}

main().catch((e) => {
  warn('startup failed:', e.stack || e);
  process.exit(1);
});
