// graphql-jit serving the plans phase's in-memory list over node:http (bench/plans_phase.py).
//
// Usage: node server.mjs <port> <items.json>
//        node server.mjs --measure <items.json> <body.json>
//
// The schema is bench/inmemory_app.py's (Item: 8 scalar fields; Query.items: [Item!]!),
// its items the JSON file the phase writes from inmemory_app.item_values(), so both
// sides hold the same data. Like the Python endpoints, each POST body
// ({"query": ..., "variables": ...}) is read and parsed, its document looked up by text
// (parsed, validated and compiled on first use), executed and serialized:
//   POST /graphql      graphql-jit's default serializer (JSON.stringify)
//   POST /graphql-fjs  graphql-jit with customJSONSerializer (fast-json-stringify)
//   GET  /healthz      "ok"
// With --measure, no server: the microseconds per body answered in-process (JSON in,
// execute, JSON out), for each serializer, as JSON on stdout (the median of 15 batch
// means of 100 calls, after 1,000 calls of warm-up, as bench/inmemory_app.py measures).

import { readFileSync } from "node:fs";
import http from "node:http";
import { buildSchema, parse, validate } from "graphql";
import { compileQuery, isCompiledQuery } from "graphql-jit";

const [port, itemsPath, bodyPath] = process.argv.slice(2);
if (!port || !itemsPath || (port === "--measure" && !bodyPath)) {
  console.error("usage: node server.mjs <port> <items.json> | --measure <items.json> <body.json>");
  process.exit(2);
}
const items = JSON.parse(readFileSync(itemsPath, "utf8"));

const schema = buildSchema(`
  type Item {
    id: ID!
    name: String!
    sku: String!
    price: Float!
    quantity: Int!
    rating: Float!
    inStock: Boolean!
    category: String!
  }

  type Query {
    items: [Item!]!
  }
`);
schema.getQueryType().getFields().items.resolve = () => items;

const compiledByText = { plain: new Map(), fjs: new Map() };

function compiled(query, fast) {
  const cache = fast ? compiledByText.fjs : compiledByText.plain;
  let found = cache.get(query);
  if (found === undefined) {
    const document = parse(query);
    const errors = validate(schema, document);
    if (errors.length > 0) {
      throw new Error(errors.map((e) => e.message).join("; "));
    }
    found = compileQuery(schema, document, undefined, { customJSONSerializer: fast });
    if (!isCompiledQuery(found)) {
      throw new Error(JSON.stringify(found));
    }
    cache.set(query, found);
  }
  return found;
}

function send(res, status, type, text) {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function answerBody(raw, fast) {
  const body = JSON.parse(raw);
  const plan = compiled(body.query, fast);
  let result = plan.query(undefined, {}, body.variables || {});
  if (result !== null && typeof result.then === "function") {
    result = await result;
  }
  return plan.stringify(result);
}

async function answer(req, res, raw) {
  try {
    send(res, 200, "application/json", await answerBody(raw, req.url === "/graphql-fjs"));
  } catch (error) {
    send(res, 500, "text/plain", String(error && error.stack ? error.stack : error));
  }
}

async function measure(raw, fast, { batches = 15, batch = 100, warmup = 1000 } = {}) {
  for (let i = 0; i < warmup; i++) {
    await answerBody(raw, fast);
  }
  const means = [];
  for (let b = 0; b < batches; b++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) {
      await answerBody(raw, fast);
    }
    means.push(Number(process.hrtime.bigint() - started) / batch / 1000);
  }
  means.sort((a, b) => a - b);
  return Math.round(means[Math.floor(means.length / 2)] * 10) / 10;
}

if (port === "--measure") {
  const raw = readFileSync(bodyPath, "utf8");
  const costs = { graphql_jit: await measure(raw, false), graphql_jit_fjs: await measure(raw, true) };
  console.log(JSON.stringify(costs));
  process.exit(0);
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/healthz") {
    send(res, 200, "text/plain", "ok");
    return;
  }
  if (req.method !== "POST" || (req.url !== "/graphql" && req.url !== "/graphql-fjs")) {
    send(res, 404, "text/plain", "not found");
    return;
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => answer(req, res, Buffer.concat(chunks).toString("utf8")));
});
// wrk keeps its connections open for the whole run.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(Number(port), "127.0.0.1", () => {
  console.log(`graphql-jit on 127.0.0.1:${port} (node ${process.version})`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
