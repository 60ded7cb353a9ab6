// The official Milvus Node SDK (@zilliz/milvus2-sdk-node, pinned in
// package.json, used unmodified) against raftvec's Milvus-compatible gRPC
// endpoint: one collection's life from create to drop, every step checked.
//
//   MILVUS_ADDR=127.0.0.1:7404 node flow.mjs           # the flow
//   MILVUS_ADDR=127.0.0.1:7404 node flow.mjs --probe   # is the endpoint up? (exit 0/1)
//
// Each step prints one line; the first failed check prints the step, the
// values and the last request the SDK put on the wire for that RPC (decoded
// from its protobuf bytes), and exits 1. FLOW_TRACE=1 logs every RPC's
// request and response. run.sh starts a three-node cluster and runs this.
import { MilvusClient, DataType, ErrorCode, CONNECT_STATUS } from '@zilliz/milvus2-sdk-node';
import { isDeepStrictEqual } from 'node:util';

const ADDR = process.env.MILVUS_ADDR;
const TRACE = !!process.env.FLOW_TRACE;
const FLOW_TIMEOUT_MS = Number(process.env.FLOW_TIMEOUT_MS || 120000);
const PROBE = process.argv.includes('--probe');

const DIM = 8;
const N = 10000;
const BATCH = 2000;
const COLORS = ['red', 'green', 'blue'];
const COLLECTION = `nodeflow_${process.pid}_${Date.now()}`;

if (!ADDR) {
  console.error('flow: set MILVUS_ADDR (host:port of a raftvec Milvus endpoint)');
  process.exit(2);
}

// ---- deterministic data ----------------------------------------------------

// mulberry32: a tiny deterministic PRNG, so every run inserts the same rows.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
// float32 values, so what comes back from the server compares exactly.
const vector = seed => {
  const r = prng(seed);
  return Array.from({ length: DIM }, () => Math.fround(r()));
};
const row = i => ({
  id: i,
  vec: vector(1000003 * i + 17),
  age: i % 60,
  price: i * 0.5 + 0.25,
  name: `name_${i}`,
  ok: i % 2 === 0,
  meta: { i, tag: `t${i % 5}`, nested: { a: i % 3 } },
  color: COLORS[i % 3], // not in the schema: goes into the dynamic field
});
const upserted = i => ({
  id: i,
  vec: vector(7777777 * i + 5),
  age: 99,
  price: 1000 + i + 0.5,
  name: `upserted_${i}`,
  ok: i % 2 !== 0,
  meta: { i, tag: 'upserted', nested: { a: -1 } },
  color: 'purple',
});
const l2sq = (a, b) => a.reduce((s, x, k) => s + (x - b[k]) ** 2, 0);

// model: what the collection should hold, id -> row
const model = new Map();

// ---- reporting ------------------------------------------------------------

let currentStep = '(start)';
let stepNo = 0;
let client;
// method -> last request object the SDK handed to grpc-js
const lastRequest = new Map();
// method -> its last response (or gRPC error), shrunk, as text
const lastResponse = new Map();

class FlowError extends Error {}
function fail(msg) {
  throw new FlowError(`${currentStep}: ${msg}`);
}
function check(cond, what, got, want) {
  if (!cond) fail(`${what}: got ${show(got)}, want ${show(want)}`);
}

function show(v, max = 600) {
  let s;
  try {
    s = JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x));
  } catch {
    s = String(v);
  }
  if (s === undefined) s = String(v);
  return s.length > max ? s.slice(0, max) + `…(${s.length} chars)` : s;
}

// Shrinks a decoded request for printing: bytes as a length, long arrays as
// their first items and a count.
function shrink(v, depth = 0, dropDefaults = false) {
  if (v === null || v === undefined) return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (Array.isArray(v)) {
    const head = v.slice(0, 4).map(x => shrink(x, depth + 1, dropDefaults));
    return v.length > 4 ? [...head, `…(${v.length} items)`] : head;
  }
  if (typeof v === 'object') {
    if (depth > 8) return '…';
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      // proto3 defaults clutter the output: drop empty strings/arrays/false/0
      if (dropDefaults && (x === '' || x === false || x === 0 || x === '0' || (Array.isArray(x) && x.length === 0))) continue;
      o[k] = shrink(x, depth + 1, dropDefaults);
    }
    return o;
  }
  return v;
}

// What went on the wire for method, decoded back from its protobuf bytes
// (so SDK-side keys the proto does not know are gone), schema bytes and
// placeholder groups decoded too.
function wireRequest(method) {
  const req = lastRequest.get(method);
  if (req === undefined || !client) return undefined;
  try {
    const def = client._MilvusService.service[method];
    const decoded = def.requestDeserialize(def.requestSerialize(req));
    if (method === 'CreateCollection' && decoded.schema?.length) {
      const t = client.schemaProto.lookupType('milvus.proto.schema.CollectionSchema');
      decoded.schema = t.toObject(t.decode(decoded.schema), { longs: String, enums: String });
    }
    if (method === 'Search' && decoded.placeholder_group?.length) {
      const t = client.milvusProto.lookupType('milvus.proto.common.PlaceholderGroup');
      const pg = t.toObject(t.decode(decoded.placeholder_group), { enums: String });
      decoded.placeholder_group = pg.placeholders?.map(p => ({
        tag: p.tag, type: p.type, values: `${p.values?.length} values of ${p.values?.[0]?.length} bytes`,
      }));
    }
    return shrink(decoded, 0, true);
  } catch (e) {
    return shrink(req);
  }
}

// Installs a recorder on the SDK's generated gRPC client (prototype methods,
// so the clients the SDK's pool creates later are covered too).
function instrument(c) {
  const ctor = c._MilvusService;
  for (const method of Object.keys(ctor.service)) {
    const orig = ctor.prototype[method];
    if (typeof orig !== 'function') continue;
    ctor.prototype[method] = function (req, ...rest) {
      lastRequest.set(method, req);
      if (TRACE) console.error(`  >> ${method} ${show(wireRequest(method), 2000)}`);
      const i = rest.findIndex(x => typeof x === 'function');
      if (i >= 0) {
        const cb = rest[i];
        rest[i] = (err, res) => {
          lastResponse.set(method, err
            ? `gRPC error code=${err.code} details=${show(err.details ?? err.message)}`
            : res && typeof res === 'object' && Object.keys(res).length === 0
              ? `{} (an empty message: the SDK's retry interceptor turns a gRPC UNIMPLEMENTED status into one, so the server most likely does not implement ${method})`
              : show(shrink(res), 1500));
          if (TRACE) {
            if (err) console.error(`  << ${method} error code=${err.code} ${err.details || err.message}`);
            else console.error(`  << ${method} ${show(shrink(res), 2000)}`);
          }
          cb(err, res);
        };
      }
      return orig.call(this, req, ...rest);
    };
  }
}

const METHOD = {
  hasCollection: 'HasCollection', createCollection: 'CreateCollection', insert: 'Insert',
  upsert: 'Upsert', createIndex: 'CreateIndex', describeIndex: 'DescribeIndex',
  loadCollectionSync: 'GetLoadingProgress', getLoadState: 'GetLoadState', search: 'Search',
  query: 'Query', delete: 'Delete', describeCollection: 'DescribeCollection',
  dropCollection: 'DropCollection', getVersion: 'GetVersion', checkHealth: 'CheckHealth',
  showCollections: 'ShowCollections',
};

// One SDK call: a thrown error or a non-Success status fails the step, with
// the RPC's request.
async function sdk(name, req, { timeoutMs = 30000 } = {}) {
  let res;
  const wire = () => {
    let m = METHOD[name];
    // loadCollectionSync = LoadCollection, then GetLoadingProgress polls
    if (name === 'loadCollectionSync' && !lastRequest.has('GetLoadingProgress')) m = 'LoadCollection';
    const r = wireRequest(m);
    return r === undefined
      ? `(the SDK sent no ${m} request)`
      : `${m} ${show(r, 1500)}; its response: ${lastResponse.get(m) ?? '(none yet)'}`;
  };
  try {
    res = await withTimeout(client[name](req), timeoutMs, `${name} did not return`);
  } catch (e) {
    if (e instanceof FlowError) {
      if (e.timedOut) fail(`${name}(${show(shrink(req), 300)}) did not return within ${timeoutMs} ms; last request: ${wire()}`);
      throw e;
    }
    const what = e && e.code !== undefined && e.details !== undefined
      ? `gRPC error code=${e.code} details=${show(e.details)}`
      : e && e.error_code !== undefined
        ? `rejected with status ${show(e)}`
        : `threw ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : show(e)}`;
    fail(`${name}(${show(shrink(req), 300)}) ${what}; last request: ${wire()}`);
  }
  const status = res && (res.status !== undefined ? res.status : res.error_code !== undefined ? res : undefined);
  if (status && status.error_code !== ErrorCode.SUCCESS) {
    fail(`${name} returned status ${show(status)}; last request: ${wire()}`);
  }
  return res;
}

function withTimeout(p, ms, msg) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(Object.assign(new FlowError(`${currentStep}: ${msg} within ${ms} ms`), { timedOut: true })), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

async function step(name, fn) {
  currentStep = `${String(++stepNo).padStart(2, '0')} ${name}`;
  const t0 = Date.now();
  const detail = await fn();
  console.log(`ok   ${currentStep} (${Date.now() - t0} ms)${detail ? ': ' + detail : ''}`);
}

// ---- checks ----------------------------------------------------------------

const OUT = ['age', 'price', 'name', 'ok', 'meta', 'color'];
// Search output fields. The SDK (3.x) builds a hit from the columns named in
// SearchResultData.output_fields and does not copy SearchResultData.ids into
// it; raftvec always lists the primary key there, so a search that does not
// ask for "id" still returns it (checkRow requires it).
const SEARCH_OUT = OUT;

// A returned row (search hit or query row) must be the model's row for its id
// (so deleted rows and pre-upsert values both fail), field by field.
//
// Dynamic keys: the SDK's search spreads them into the hit (it names columns
// by SearchResultData.output_fields, as Milvus fills it), while its query
// names columns by fields_data and so leaves them under "$meta" (as it does
// against Milvus); dynamicUnderMeta accepts the latter.
function checkRow(what, r, fields, { dynamicUnderMeta = false } = {}) {
  check(r && r.id !== undefined && r.id !== null, `${what}: has id`, r, 'an id field');
  const id = Number(r.id);
  const want = model.get(id);
  check(want !== undefined, `${what}: id ${r.id} is a live row`, r, 'a row that exists (not deleted)');
  for (const f of fields) {
    const meta = dynamicUnderMeta && !(f in r) && r.$meta && typeof r.$meta === 'object' && f in r.$meta;
    check(f in r || meta, `${what}: id ${id} has output field ${f}`, Object.keys(r), f);
    const got = meta ? r.$meta[f] : r[f];
    const exp = want[f];
    const same = f === 'vec'
      ? Array.isArray(got) && got.length === DIM && got.every((x, k) => Math.fround(x) === exp[k])
      : f === 'meta'
        ? isDeepStrictEqual(typeof got === 'string' ? JSON.parse(got) : got, exp)
        : got === exp;
    check(same, `${what}: id ${id} field ${f}`, got, exp);
  }
  return id;
}

// Search results for one query vector: sorted by L2 distance (squared, as
// Milvus reports it), each hit a live row that passes pred.
function checkHits(what, hits, q, pred, predText, fields = OUT) {
  check(Array.isArray(hits), `${what}: results is an array`, hits, 'array');
  let prev = -Infinity;
  for (const [k, h] of hits.entries()) {
    const id = checkRow(`${what} hit ${k}`, h, fields);
    const r = model.get(id);
    check(pred(r), `${what} hit ${k}: id ${id} satisfies ${predText}`, r, predText);
    const d = l2sq(q, r.vec);
    check(typeof h.score === 'number' && Math.abs(h.score - d) <= 1e-4 + 1e-4 * d,
      `${what} hit ${k}: id ${id} score is the squared L2 distance`, h.score, d);
    check(h.score >= prev - 1e-6, `${what} hit ${k}: scores ascending`, h.score, `>= ${prev}`);
    prev = h.score;
  }
}

const count = async (filter = '') => {
  const res = await sdk('query', {
    collection_name: COLLECTION, filter, output_fields: ['count(*)'], consistency_level: 'Strong',
  });
  check(res.data?.length === 1 && 'count(*)' in res.data[0], `count(*)${filter ? ' where ' + filter : ''} shape`,
    res.data, [{ 'count(*)': 'n' }]);
  return Number(res.data[0]['count(*)']);
};
const modelCount = pred => [...model.values()].filter(pred).length;

// ---- the flow --------------------------------------------------------------

function newClient(extra = {}) {
  const c = new MilvusClient({ address: ADDR, timeout: 30000, logLevel: 'error', ...extra });
  return c;
}

async function probe() {
  client = newClient({ timeout: 3000, maxRetries: 0 });
  instrument(client);
  try {
    await client.connectPromise;
    const h = await client.checkHealth();
    if (h.status?.error_code !== ErrorCode.SUCCESS || h.isHealthy === false) throw new Error(`checkHealth: ${show(h)}`);
    const l = await client.showCollections();
    if (l.status?.error_code !== ErrorCode.SUCCESS) throw new Error(`showCollections: ${show(l.status)}`);
    console.log(`probe: ${ADDR} is up (healthy, ${l.data?.length ?? 0} collections)`);
    return 0;
  } catch (e) {
    console.log(`probe: ${ADDR} not ready: ${e.code !== undefined ? `code=${e.code} ` : ''}${e.details || e.message || show(e)}`);
    return 1;
  }
}

async function flow() {
  await step('connect', async () => {
    client = newClient();
    instrument(client);
    try {
      await withTimeout(client.connectPromise, 30000, 'Connect did not return');
    } catch (e) {
      if (e instanceof FlowError) throw e;
      fail(`Connect failed: code=${e.code} ${e.details || e.message}; request: Connect ${show(wireRequest('Connect'))}`);
    }
    // CONNECTED: Connect answered with a client identifier, as Milvus does
    check(client.connectStatus === CONNECT_STATUS.CONNECTED, 'connect status',
      CONNECT_STATUS[client.connectStatus], 'CONNECTED');
    const v = await sdk('getVersion', undefined);
    const h = await sdk('checkHealth', undefined);
    check(h.isHealthy === true, 'checkHealth.isHealthy', h.isHealthy, true);
    return `${ADDR}, server version ${show(v.version)}, CONNECTED, healthy`;
  });

  await step('create collection', async () => {
    const before = await sdk('hasCollection', { collection_name: COLLECTION });
    check(before.value === false, `hasCollection(${COLLECTION}) before create`, before.value, false);
    await sdk('createCollection', {
      collection_name: COLLECTION,
      description: 'raftvec Milvus Node SDK flow',
      enable_dynamic_field: true,
      fields: [
        { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
        { name: 'vec', data_type: DataType.FloatVector, dim: DIM },
        { name: 'age', data_type: DataType.Int32 },
        { name: 'price', data_type: DataType.Double },
        { name: 'name', data_type: DataType.VarChar, max_length: 64 },
        { name: 'ok', data_type: DataType.Bool },
        { name: 'meta', data_type: DataType.JSON },
      ],
    });
    const after = await sdk('hasCollection', { collection_name: COLLECTION });
    check(after.value === true, `hasCollection(${COLLECTION}) after create`, after.value, true);
    return COLLECTION;
  });

  await step('insert', async () => {
    let total = 0;
    for (let start = 0; start < N; start += BATCH) {
      const rows = [];
      for (let i = start; i < start + BATCH; i++) rows.push(row(i));
      const res = await sdk('insert', { collection_name: COLLECTION, data: rows });
      const ids = res.IDs?.int_id?.data ?? [];
      check(Number(res.insert_cnt) === BATCH, `insert batch at ${start}: insert_cnt`, res.insert_cnt, BATCH);
      check(ids.length === BATCH && Number(ids[0]) === start && Number(ids[BATCH - 1]) === start + BATCH - 1,
        `insert batch at ${start}: IDs.int_id.data`, ids.slice(0, 3).concat(['…', ids.length]), `[${start}…${start + BATCH - 1}]`);
      check((res.err_index ?? []).length === 0, `insert batch at ${start}: err_index`, res.err_index, []);
      for (const r of rows) model.set(r.id, r);
      total += Number(res.insert_cnt);
    }
    return `${total} rows in ${N / BATCH} batches of ${BATCH} (dynamic key "color")`;
  });

  await step('create index', async () => {
    await sdk('createIndex', {
      collection_name: COLLECTION, field_name: 'vec', index_type: 'HNSW', metric_type: 'L2',
      params: { M: 16, efConstruction: 64 },
    });
    const d = await sdk('describeIndex', { collection_name: COLLECTION, field_name: 'vec' });
    const desc = d.index_descriptions ?? [];
    check(desc.length === 1 && desc[0].field_name === 'vec', 'describeIndex: one index on vec',
      desc.map(x => x.field_name), ['vec']);
    const p = Object.fromEntries((desc[0].params ?? []).map(kv => [kv.key, kv.value]));
    if (p.params) {
      try { Object.assign(p, JSON.parse(p.params)); } catch { /* checked below */ }
    }
    check(p.index_type === 'HNSW' && p.metric_type === 'L2' && String(p.M) === '16' && String(p.efConstruction) === '64',
      'describeIndex params', desc[0].params, 'index_type HNSW, metric_type L2, M 16, efConstruction 64');
    return `HNSW M=16 efConstruction=64 L2 (index "${desc[0].index_name}")`;
  });

  await step('load', async () => {
    await sdk('loadCollectionSync', { collection_name: COLLECTION }, { timeoutMs: 60000 });
    const s = await sdk('getLoadState', { collection_name: COLLECTION });
    check(s.state === 'LoadStateLoaded', 'getLoadState.state', s.state, 'LoadStateLoaded');
    return 'loadCollectionSync done, LoadStateLoaded';
  });

  // First at the collection's default level (the SDK creates collections as
  // Bounded, which may serve a slightly old state: only the filter and the
  // fields are checked), then Strong, where row 42 (age 42) must be its own
  // vector's nearest neighbour.
  await step('search with filter', async () => {
    const q = model.get(42).vec;
    const req = {
      collection_name: COLLECTION, data: q, filter: 'age > 30', output_fields: SEARCH_OUT, limit: 10,
      params: { ef: 64 },
    };
    const res = await sdk('search', req);
    check(res.results.length === 10, 'number of hits (default level)', res.results.length, 10);
    checkHits('search age > 30 (default level)', res.results, q, r => r.age > 30, 'age > 30');
    const strong = await sdk('search', { ...req, consistency_level: 'Strong' });
    const hits = strong.results;
    check(hits.length === 10, 'number of hits (Strong)', hits.length, 10);
    checkHits('search age > 30 (Strong)', hits, q, r => r.age > 30, 'age > 30');
    check(Number(hits[0].id) === 42 && hits[0].score < 1e-6, 'top hit (Strong) is the query row itself', hits[0], { id: 42, score: 0 });
    return `10 hits, all age > 30 with ${SEARCH_OUT.join(',')}, at the default level and Strong; top hit id 42 score ${hits[0].score}`;
  });

  await step('query', async () => {
    const n = await count();
    check(n === N, 'count(*)', n, N);
    const n30 = await count('age > 30');
    const want30 = modelCount(r => r.age > 30);
    check(n30 === want30, 'count(*) where age > 30', n30, want30);
    const res = await sdk('query', {
      collection_name: COLLECTION, filter: 'id in [10, 11, 12]', output_fields: ['id', 'vec', ...OUT],
      consistency_level: 'Strong',
    });
    const got = res.data.map(r => checkRow('query id in [10, 11, 12]', r, ['vec', ...OUT], { dynamicUnderMeta: true })).sort((a, b) => a - b);
    check(isDeepStrictEqual(got, [10, 11, 12]), 'query id in [10, 11, 12]: ids', got, [10, 11, 12]);
    return `count(*) = ${n}, count(*) where age > 30 = ${n30}, rows 10-12 read back field by field`;
  });

  const UPSERT_IDS = [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, N];
  await step('upsert', async () => {
    const rows = UPSERT_IDS.map(upserted);
    const res = await sdk('upsert', { collection_name: COLLECTION, data: rows });
    check(Number(res.upsert_cnt) === rows.length, 'upsert_cnt', res.upsert_cnt, rows.length);
    const ids = (res.IDs?.int_id?.data ?? []).map(Number);
    check(isDeepStrictEqual(ids, UPSERT_IDS), 'upsert IDs.int_id.data', ids, UPSERT_IDS);
    for (const r of rows) model.set(r.id, r);
    return `${rows.length} rows (ids 100-109 changed, id ${N} new)`;
  });

  await step('delete', async () => {
    const a = await sdk('delete', { collection_name: COLLECTION, filter: 'id in [1,2,3]' });
    check(Number(a.delete_cnt) === 3, 'delete id in [1,2,3]: delete_cnt', a.delete_cnt, 3);
    for (const id of [1, 2, 3]) model.delete(id);
    const wantB = modelCount(r => r.age < 20);
    const b = await sdk('delete', { collection_name: COLLECTION, filter: 'age < 20' });
    check(Number(b.delete_cnt) === wantB, 'delete age < 20: delete_cnt', b.delete_cnt, wantB);
    for (const [id, r] of model) if (r.age < 20) model.delete(id);
    return `id in [1,2,3]: ${a.delete_cnt}, age < 20: ${b.delete_cnt}`;
  });

  // Straight after the writes, no sleeping: Strong must see all of them.
  await step('strong reads see the writes', async () => {
    const n = await count();
    check(n === model.size, 'count(*) after upsert and delete', n, model.size);
    const young = await count('age < 20');
    check(young === 0, 'count(*) where age < 20 after the delete', young, 0);
    const gone = await sdk('query', {
      collection_name: COLLECTION, filter: 'id in [1,2,3]', output_fields: ['id'], consistency_level: 'Strong',
    });
    check(gone.data.length === 0, 'query id in [1,2,3] after the delete', gone.data, []);
    const up = await sdk('query', {
      collection_name: COLLECTION, filter: `id in [${UPSERT_IDS.join(',')}]`, output_fields: ['id', 'vec', ...OUT],
      consistency_level: 'Strong',
    });
    const upIds = up.data.map(r => checkRow('query upserted ids', r, ['vec', ...OUT], { dynamicUnderMeta: true })).sort((a, b) => a - b);
    check(isDeepStrictEqual(upIds, UPSERT_IDS), 'query upserted ids: ids', upIds, UPSERT_IDS);

    // The new vector of row 105 finds the new row 105.
    const q = model.get(105).vec;
    const s1 = await sdk('search', {
      collection_name: COLLECTION, data: q, filter: 'age > 30', output_fields: SEARCH_OUT, limit: 10,
      params: { ef: 64 }, consistency_level: 'Strong',
    });
    check(s1.results.length === 10, 'search (upserted vector of 105): number of hits', s1.results.length, 10);
    checkHits('search upserted vector of 105', s1.results, q, r => r.age > 30, 'age > 30');
    check(Number(s1.results[0].id) === 105 && s1.results[0].score < 1e-6, 'search (upserted vector of 105): top hit',
      s1.results[0], { id: 105, score: 0, name: 'upserted_105' });
    // The old vector of row 105: any hit must carry the current values.
    const old = row(105).vec;
    const s2 = await sdk('search', {
      collection_name: COLLECTION, data: old, output_fields: SEARCH_OUT, limit: 10, params: { ef: 64 },
      consistency_level: 'Strong',
    });
    check(s2.results.length === 10, 'search (old vector of 105): number of hits', s2.results.length, 10);
    checkHits('search old vector of 105', s2.results, old, () => true, 'true');
    // Everything with age < 20 is gone.
    const s3 = await sdk('search', {
      collection_name: COLLECTION, data: row(1).vec, filter: 'age < 20', output_fields: SEARCH_OUT, limit: 10,
      params: { ef: 64 }, consistency_level: 'Strong',
    });
    check(s3.results.length === 0, 'search age < 20 after the delete', s3.results.map(h => h.id), []);
    return `count(*) = ${n}, ids 1-3 and age < 20 gone, 11 upserted rows read back, searches agree`;
  });

  await step('describe collection', async () => {
    const d = await sdk('describeCollection', { collection_name: COLLECTION });
    check(d.collection_name === COLLECTION || d.schema?.name === COLLECTION, 'collection name',
      [d.collection_name, d.schema?.name], COLLECTION);
    check(d.schema?.enable_dynamic_field === true, 'schema.enable_dynamic_field', d.schema?.enable_dynamic_field, true);
    const want = {
      id: { data_type: 'Int64', is_primary_key: true, autoID: false },
      vec: { data_type: 'FloatVector', dim: '8' },
      age: { data_type: 'Int32' },
      price: { data_type: 'Double' },
      name: { data_type: 'VarChar', max_length: '64' },
      ok: { data_type: 'Bool' },
      meta: { data_type: 'JSON' },
    };
    const fields = d.schema?.fields ?? [];
    const byName = Object.fromEntries(fields.map(f => [f.name, f]));
    for (const [name, props] of Object.entries(want)) {
      const f = byName[name];
      check(f !== undefined, `field ${name} present`, fields.map(x => x.name), Object.keys(want));
      for (const [k, v] of Object.entries(props)) {
        check(String(f[k]) === String(v), `field ${name}.${k}`, f[k], v);
      }
      check(f.is_primary_key === (name === 'id'), `field ${name}.is_primary_key`, f.is_primary_key, name === 'id');
    }
    const extra = fields.filter(f => !(f.name in want) && !f.is_dynamic);
    check(extra.length === 0, 'no unexpected fields', extra.map(f => f.name), []);
    return fields.map(f => `${f.name}:${f.data_type}${f.dim ? '(' + f.dim + ')' : ''}${f.is_primary_key ? '[pk]' : ''}`).join(' ');
  });

  await step('drop collection', async () => {
    await sdk('dropCollection', { collection_name: COLLECTION });
    const h = await sdk('hasCollection', { collection_name: COLLECTION });
    check(h.value === false, 'hasCollection after drop', h.value, false);
    return 'hasCollection false';
  });
}

async function main() {
  if (PROBE) return probe();
  const watchdog = setTimeout(() => {
    console.log(`FAIL ${currentStep}: flow did not finish within ${FLOW_TIMEOUT_MS} ms`);
    process.exit(1);
  }, FLOW_TIMEOUT_MS);
  const t0 = Date.now();
  try {
    await flow();
    console.log(`PASS all ${stepNo} steps against ${ADDR} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  } catch (e) {
    console.log(`FAIL ${e instanceof FlowError ? e.message : `${currentStep}: ${e && e.stack || show(e)}`}`);
    return 1;
  } finally {
    clearTimeout(watchdog);
  }
}

const code = await main();
try {
  await withTimeout(client?.closeConnection() ?? Promise.resolve(), 2000, 'close');
} catch { /* exiting anyway */ }
process.exit(code);
