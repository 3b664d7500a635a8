// Runs graphql-http's server audits (the GraphQL-over-HTTP conformance suite)
// against a live endpoint and prints every result as JSON on stdout.
//
//   node audit.mjs http://127.0.0.1:8000/graphql ['Name: value' ...]
//
// Each extra argument is a header added to every audit request, the way a
// real client satisfies the server's CSRF prevention (`Apollo-Require-Preflight: true`).
import { serverAudits } from 'graphql-http';

const [url, ...headerArgs] = process.argv.slice(2);
if (!url) {
  console.error("usage: node audit.mjs URL ['Name: value' ...]");
  process.exit(2);
}
const extraHeaders = headerArgs.map((arg) => {
  const colon = arg.indexOf(':');
  if (colon < 1) {
    console.error(`not a header: ${arg} (expected 'Name: value')`);
    process.exit(2);
  }
  return [arg.slice(0, colon).trim(), arg.slice(colon + 1).trim()];
});

function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  for (const [name, value] of extraHeaders) headers.set(name, value);
  return fetch(input, { ...init, headers });
}

async function describe(response) {
  if (!response) return undefined;
  let body;
  try {
    body = (await response.text()).slice(0, 2000);
  } catch {
    body = '<body already read>';
  }
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body,
  };
}

const results = [];
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  results.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.reason,
    response: result.status === 'ok' ? undefined : await describe(result.response),
  });
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
