// Runs ProductPage through an unmodified Apollo Client and its persisted-queries
// link (APQ, GET for hashed queries) against a Vitrine server, twice, and prints
// what it received and every HTTP exchange as one JSON object on stdout.
//
//   node apq_product_page.mjs <graphql url> <ProductPage.graphql> <slug>
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const [uri, documentPath, slug] = process.argv.slice(2);
const exchanges = [];

async function recordingFetch(input, init = {}) {
  const response = await fetch(input, init);
  const body = await response.clone().text();
  exchanges.push({
    method: init.method ?? "GET",
    url: String(input),
    requestBody: init.body ?? null,
    status: response.status,
    cacheControl: response.headers.get("cache-control"),
    body: JSON.parse(body),
  });
  return response;
}

const client = new ApolloClient({
  link: new PersistedQueryLink({
    sha256: (text) => createHash("sha256").update(text).digest("hex"),
    useGETForHashedQueries: true,
  }).concat(new HttpLink({ uri, fetch: recordingFetch })),
  cache: new InMemoryCache(),
});

const query = gql(readFileSync(documentPath, "utf8"));
try {
  const first = await client.query({ query, variables: { slug }, fetchPolicy: "network-only" });
  const second = await client.query({ query, variables: { slug }, fetchPolicy: "network-only" });
  console.log(JSON.stringify({ first: first.data, second: second.data, exchanges }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error), exchanges }));
  process.exit(1);
}
