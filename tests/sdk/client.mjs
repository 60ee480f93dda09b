// Drives an orderfactory server with the official, unmodified Commerce Layer JS clients and prints one JSON
// object with what they saw. Run by tests/sdk/test_official_sdk.py; usable by hand too:
//
//   node tests/sdk/client.mjs --base-url=http://127.0.0.1:8000 --client-id=ID --client-secret=SECRET \
//     [--auth-domain=localhost] [--expired-token=JWT]
//
// Both clients insist on https URLs they build themselves: js-auth posts to https://auth.<domain>/oauth/token
// (and takes no fetch option, so the global fetch is wrapped), the SDK calls https://<slug>.<domain>/api/...
// with the slug and domain read from our token (through its `fetch` option). Each wrapper sends the request,
// path and query untouched, to the server under test and records the origin the client meant to reach.
import { parseArgs } from 'node:util'
import { authenticate } from '@commercelayer/js-auth'
import { CommerceLayer } from '@commercelayer/sdk/bundle'

const { values: args } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'auth-domain': { type: 'string', default: 'localhost' },
    'expired-token': { type: 'string' },
  },
})
const baseUrl = args['base-url']
const credentials = { clientId: args['client-id'], clientSecret: args['client-secret'], domain: args['auth-domain'] }
if (!baseUrl || !credentials.clientId || !credentials.clientSecret) {
  console.error('usage: node client.mjs --base-url=URL --client-id=ID --client-secret=SECRET [--auth-domain=D]')
  process.exit(2)
}

const nativeFetch = globalThis.fetch
const intendedOrigins = new Set()
const requests = []

function redirect(input) {
  const url = new URL(input instanceof Request ? input.url : String(input))
  intendedOrigins.add(url.origin)
  return new URL(`${url.pathname}${url.search}`, baseUrl)
}

// Each request as the server received it: method, path and query, and the headers the clients chose.
async function toServer(input, init = {}) {
  const target = redirect(input)
  const headers = new Headers(init.headers)
  requests.push({
    method: init.method ?? 'GET',
    url: `${target.pathname}${target.search}`,
    accept: headers.get('accept'),
    contentType: headers.get('content-type'),
  })
  return nativeFetch(target, init)
}

globalThis.fetch = toServer

function errorSummary(error) {
  return {
    name: error?.name,
    type: error?.type,
    status: error?.status,
    code: error?.code,
    message: error?.message,
    errors: error?.errors,
  }
}

const results = { steps: [] }
function step(name) {
  results.steps.push(name)
}

try {
  const auth = await authenticate('client_credentials', credentials)
  step('authenticate')
  results.token = {
    tokenType: auth.tokenType,
    expiresIn: auth.expiresIn,
    scope: auth.scope,
    createdAt: auth.createdAt,
    hasExpires: auth.expires instanceof Date && !Number.isNaN(auth.expires.getTime()),
    errors: auth.errors,
  }
  if (auth.errors) throw new Error(`authentication failed: ${JSON.stringify(auth.errors)}`)

  // Only the access token: the SDK must find the organization and domain in it, as it does with Commerce Layer.
  const cl = CommerceLayer({ accessToken: auth.accessToken, fetch: toServer })
  results.organization = cl.currentOrganization
  const stamp = Date.now().toString(36)

  const created = await cl.price_lists.create({
    name: `SDK Euro ${stamp}`,
    code: `SDK-${stamp}`,
    currency_code: 'EUR',
    tax_included: true,
    metadata: { source: 'sdk' },
  })
  step('create price list')
  results.created = created
  await cl.price_lists.create({ name: `SDK Dollar ${stamp}`, currency_code: 'USD', tax_included: false })
  step('create second price list')

  const listed = await cl.price_lists.list({
    filters: { name_start: 'SDK' },
    sort: { name: 'desc' },
    pageSize: 1,
    pageNumber: 1,
  })
  step('list price lists')
  results.list = {
    names: listed.map((p) => p.name),
    types: listed.map((p) => p.type),
    recordCount: listed.recordCount,
    pageCount: listed.pageCount,
    hasNextPage: listed.hasNextPage(),
  }
  results.count = await cl.price_lists.count({ filters: { currency_code_eq: 'EUR' } })
  step('count price lists')

  results.retrieved = await cl.price_lists.retrieve(created.id, { fields: { price_lists: ['name', 'metadata'] } })
  step('retrieve price list')

  results.updated = await cl.price_lists.update({ id: created.id, metadata: { source: 'sdk', revised: true } })
  step('update price list')

  const address = await cl.addresses.create({
    first_name: 'Ada',
    last_name: 'Rossi',
    line_1: 'Via Roma 1',
    city: 'Firenze',
    zip_code: '50123',
    state_code: 'FI',
    country_code: 'IT',
    phone: '+39 055 000000',
  })
  step('create address')
  const location = await cl.stock_locations.create({
    name: `SDK Warehouse ${stamp}`,
    address: cl.addresses.relationship(address.id),
  })
  step('create stock location')
  const withAddress = await cl.stock_locations.retrieve(location.id, { include: ['address'] })
  step('retrieve stock location with address')
  results.stockLocation = {
    id: withAddress.id,
    name: withAddress.name,
    address: withAddress.address
      ? { id: withAddress.address.id, type: withAddress.address.type, city: withAddress.address.city }
      : null,
    addressId: address.id,
  }
  results.relatedAddress = await cl.stock_locations.address(location.id)
  step('fetch related address')

  await cl.price_lists.delete(created.id)
  step('delete price list')
  try {
    await cl.price_lists.retrieve(created.id)
    results.afterDelete = { found: true }
  } catch (error) {
    results.afterDelete = { found: false, isApiError: cl.isApiError(error), ...errorSummary(error) }
  }
  step('retrieve deleted price list')

  try {
    await cl.price_lists.create({ name: '', currency_code: 'euro' })
    results.invalid = { rejected: false }
  } catch (error) {
    results.invalid = { rejected: true, isApiError: cl.isApiError(error), ...errorSummary(error) }
  }
  step('create invalid price list')

  if (args['expired-token']) {
    // A 401 INVALID_TOKEN on an expired token makes the SDK call refreshToken and replay the request.
    let refreshes = 0
    const stale = CommerceLayer({
      accessToken: args['expired-token'],
      fetch: toServer,
      refreshToken: async () => {
        refreshes += 1
        return (await authenticate('client_credentials', credentials)).accessToken
      },
    })
    const afterRefresh = await stale.price_lists.list({ pageSize: 1 })
    results.refresh = { refreshes, recordCount: afterRefresh.recordCount, tokenChanged: stale.currentAccessToken !== args['expired-token'] }
    step('refresh expired token')
  }
} catch (error) {
  results.failure = { ...errorSummary(error), stack: error?.stack }
}

results.intendedOrigins = [...intendedOrigins]
results.requests = requests
console.log(JSON.stringify(results))
