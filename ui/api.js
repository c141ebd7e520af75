// The JSON API of the server (README "The API"): every call goes through `request`, which turns
// failures into ApiError (the server's {"error": {code, message, fields}}) and, when a session
// has expired (401), waits for the user to log in again and repeats the call.

export class ApiError extends Error {
  constructor(status, code, message, fields = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

let reauthenticate = null;

/** `handler(error)` resolves once the user has logged in again; calls are then repeated. */
export function onUnauthorized(handler) {
  reauthenticate = handler;
}

async function request(method, path, body, { relogin = true } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check the connection and try again.');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok) return data;
  const e = data && data.error ? data.error : { code: 'internal', message: `The server answered ${res.status}.` };
  const error = new ApiError(res.status, e.code, e.message, e.fields || []);
  if (res.status === 401 && relogin && reauthenticate) {
    await reauthenticate(error);
    return request(method, path, body, { relogin });
  }
  throw error;
}

export function login(loginName, password) {
  return request('POST', '/api/login', { login: loginName, password }, { relogin: false });
}

export function logout() {
  return request('POST', '/api/logout', undefined, { relogin: false });
}

/** The metadata; without a session (and with safe mode) this is a 401, not a login prompt. */
export function task({ relogin = true } = {}) {
  return request('GET', '/api/task', undefined, { relogin });
}

/** `POST /api/items/{item}/open` → rows as objects keyed by field name. */
export async function open(item, params) {
  return (await openPage(item, params)).rows;
}

/**
 * As `open`, and also the reply's `total` (with `params.total`: how many rows the filters
 * select, whatever the page), for a grid's page and its pager in one request.
 */
export async function openPage(item, params) {
  const data = await request('POST', `/api/items/${encodeURIComponent(item)}/open`, params);
  const rows = data.rows.map((row) => {
    const obj = {};
    data.fields.forEach((name, i) => {
      obj[name] = row[i];
    });
    return obj;
  });
  return { rows, total: data.total };
}

/** `POST /api/items/{item}/apply` → `{changes: [...]}`, one result per change. */
export function apply(item, body) {
  return request('POST', `/api/items/${encodeURIComponent(item)}/apply`, body);
}

/** `POST /api/items/{item}/history` → `{history: [...]}`, newest first. */
export function history(item, body) {
  return request('POST', `/api/items/${encodeURIComponent(item)}/history`, body);
}

/** Any call of the API (reports and exports use it: ui/jobs.js). */
export function call(method, path, body) {
  return request(method, path, body);
}

/** Text for an error shown to a person. */
export function describeError(error) {
  if (error instanceof ApiError) return error.message;
  return `Something went wrong: ${error && error.message ? error.message : error}`;
}
