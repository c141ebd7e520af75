// Showing and reading values in the task's language (Intl): numbers with the locale's
// separators, currency with its symbol, dates in the locale's order. Values travel to and from the
// server in the API's forms: numbers, "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS", true/false.

// The currency of a language, for the languages Jam.py ships (its locale settings carry one).
const CURRENCIES = {
  en: 'USD', 'en-us': 'USD', 'en-gb': 'GBP', ru: 'RUB', hu: 'HUF', pt: 'EUR', 'pt-br': 'BRL',
  fr: 'EUR', sr: 'RSD', de: 'EUR', el: 'EUR', es: 'EUR', tr: 'TRY', it: 'EUR', bs: 'BAM',
  nl: 'EUR', pl: 'PLN', uk: 'UAH', ja: 'JPY', zh: 'CNY',
};

let locale = 'en';
let currency = 'USD';
let formats = {};

export function setLanguage(language) {
  try {
    [locale] = Intl.getCanonicalLocales(language || 'en');
  } catch {
    locale = 'en';
  }
  const key = locale.toLowerCase();
  currency = CURRENCIES[key] || CURRENCIES[key.split('-')[0]] || null;
  formats = {
    integer: new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }),
    float: new Intl.NumberFormat(locale, { maximumFractionDigits: 10 }),
    currency: currency
      ? new Intl.NumberFormat(locale, { style: 'currency', currency })
      : new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    money: new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    date: new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }),
    datetime: new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }),
  };
  const parts = new Intl.NumberFormat(locale).formatToParts(12345.6);
  formats.group = (parts.find((p) => p.type === 'group') || { value: ',' }).value;
  formats.decimal = (parts.find((p) => p.type === 'decimal') || { value: '.' }).value;
  formats.symbol = currency
    ? (formats.currency.formatToParts(1).find((p) => p.type === 'currency') || { value: '' }).value
    : '';
  // Inputs show every digit a value has (display rounds floats to 10 decimals; an input must
  // not, or leaving the field would change the number).
  formats.floatInput = new Intl.NumberFormat(locale, { maximumFractionDigits: 20 });
  // The integer part as the locale groups it, always (Spanish leaves 1234 ungrouped by default
  // but its readers write 1.234), to check the grouping a user typed.
  try {
    formats.grouped = new Intl.NumberFormat(locale, { useGrouping: 'always', maximumFractionDigits: 0 });
  } catch {
    formats.grouped = new Intl.NumberFormat(locale, { useGrouping: true, maximumFractionDigits: 0 });
  }
}

setLanguage('en');

export function getLocale() {
  return locale;
}

/** A number for display: `type` is integer, float or currency. */
export function formatNumber(value, type) {
  if (value === null || value === undefined || value === '') return '';
  return (formats[type] || formats.float).format(value);
}

/** A number for an input: separators of the locale, no currency symbol, every decimal. */
export function formatNumberInput(value, type) {
  if (value === null || value === undefined || value === '') return '';
  if (type === 'currency') return formats.money.format(value);
  if (type === 'float') return formats.floatInput.format(value);
  return formatNumber(value, type);
}

/**
 * The largest whole number the UI can send exactly: a browser's JSON numbers are doubles. (The
 * server keeps integers as 64-bit, a wider range, so everything typed here fits.)
 */
export const MAX_INTEGER = Number.MAX_SAFE_INTEGER;
/** The largest amount whose cents a double still holds exactly: 2^53 − 1 cents. */
const MAX_CENTS = BigInt(Number.MAX_SAFE_INTEGER);

const SPACE = /^[ \u00a0\u202f]$/;
const APOSTROPHE = /^['\u2019]$/;

/** Why a number with separators in the wrong places is refused, in the locale's terms. */
function separatorsMessage() {
  const name = (c) => (SPACE.test(c) ? 'a space' : `“${c}”`);
  return `Check the separators: ${name(formats.group)} groups thousands (${formats.grouped.format(1290)}), ` +
    `${name(formats.decimal)} marks decimals (${formats.floatInput.format(1.29)})`;
}

/** "Enter a whole number from −9,007,… to 9,007,…" for a value outside `max`. */
function rangeMessage(type) {
  // Formatted from exact decimal strings: as a double, the largest amount would round.
  const [what, max, fmt] = type === 'integer'
    ? ['a whole number', String(MAX_INTEGER), formats.integer]
    : ['an amount', `${MAX_CENTS / 100n}.${MAX_CENTS % 100n}`, formats.money];
  return `Enter ${what} from ${fmt.format(`-${max}`)} to ${fmt.format(max)}`;
}

/**
 * Reads a number typed in the locale's way ("1,234.5" in English, "1.234,5" in German), strictly:
 * group separators only where the locale puts them (every three digits in English), one decimal
 * separator, a sign, and for currency the locale's own symbol. "1,29" in English is refused, not
 * read as 129; so is a number outside its type's range, saying the range. Returns {value} (null
 * for an empty text) or {error}, a message for beside the field.
 */
export function parseNumber(text, type) {
  const typed = String(text).trim();
  if (typed === '') return { value: null };
  const whole = type === 'integer';
  const malformed = () => ({
    error: /\d/.test(typed) && /[.,'\u2019 \u00a0\u202f]/.test(typed)
      ? separatorsMessage()
      : (whole ? 'Enter a whole number' : 'Enter a number'),
  });
  let t = typed.replace(/\u2212/g, '-');
  let negative = false;
  const sign = () => {
    const m = /^([+-])\s*/.exec(t);
    if (m) {
      negative = m[1] === '-';
      t = t.slice(m[0].length);
    }
    return Boolean(m);
  };
  const signed = sign();
  // The locale's currency symbol, before or after the number ("$1.50", "-$1.50", "1,50 €").
  const symbol = type === 'currency' ? formats.symbol : '';
  if (symbol && t.startsWith(symbol)) {
    t = t.slice(symbol.length).trim();
    if (!signed) sign();
  } else if (symbol && t.endsWith(symbol)) {
    t = t.slice(0, -symbol.length).trim();
  }
  // Spaces group digits only where the locale's separator is one (French, Russian: any of the
  // three spaces will do); the same for an apostrophe (Swiss German: ' or ’).
  const group = formats.group;
  if (SPACE.test(group)) t = t.replace(/[ \u00a0\u202f]/g, group);
  else if (APOSTROPHE.test(group)) t = t.replace(/['\u2019]/g, group);
  const [integer, fraction = '', extra] = t.split(formats.decimal);
  if (extra !== undefined || !/^\d*$/.test(fraction) || (integer === '' && fraction === '')) return malformed();
  let digits = integer;
  if (integer.includes(group)) {
    digits = integer.split(group).join('');
    if (!/^\d+$/.test(digits) || formats.grouped.format(BigInt(digits)) !== integer) return malformed();
  } else if (!/^\d*$/.test(integer)) {
    return malformed();
  }
  digits = digits || '0';
  const decimals = fraction.replace(/0+$/, '');
  if (whole) {
    if (decimals) return { error: 'Enter a whole number' };
    const big = BigInt(digits);
    if (big > BigInt(MAX_INTEGER)) return { error: rangeMessage(type) };
    return { value: negative ? -Number(big) || 0 : Number(big) };
  }
  if (type === 'currency') {
    if (decimals.length > 2) return { error: 'Enter an amount with at most 2 decimals' };
    if (BigInt(digits + decimals.padEnd(2, '0')) > MAX_CENTS) return { error: rangeMessage(type) };
  }
  const value = Number(`${digits}.${decimals || '0'}`);
  if (!Number.isFinite(value)) return { error: 'The number is too large' };
  return { value: negative && value !== 0 ? -value : value };
}

function utc(text) {
  // "YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]" as a UTC instant, so the shown day never shifts.
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(String(text));
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)));
}

export function formatDate(text) {
  const d = text ? utc(text) : null;
  return d ? formats.date.format(d) : (text || '');
}

export function formatDateTime(text) {
  const d = text ? utc(text) : null;
  return d ? formats.datetime.format(d) : (text || '');
}

/** "YYYY-MM-DD HH:MM:SS" → the value of an <input type=datetime-local>. */
export function toDateTimeInput(text) {
  if (!text) return '';
  return String(text).replace(' ', 'T').slice(0, 19);
}

/** An <input type=datetime-local> value → "YYYY-MM-DD HH:MM:SS". */
export function fromDateTimeInput(value) {
  if (!value) return null;
  const [date, time = '00:00'] = value.split('T');
  const t = time.length === 5 ? `${time}:00` : time.slice(0, 8);
  return `${date} ${t}`;
}

/** Today as "YYYY-MM-DD" in the user's time zone. */
export function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function now() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${today()} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * The text a grid cell or a read-only input shows for `field` in `row` (an expanded row, where
 * lookups have `<name>.text`). `keysText` maps keys-list ids to texts when known.
 */
export function displayText(field, row, keysText) {
  const v = row[field.displayKey()];
  if (field.isKeys()) {
    if (!v) return '';
    return String(v).split(';').filter(Boolean)
      .map((id) => (keysText && keysText.has(Number(id)) ? keysText.get(Number(id)) : `#${id}`))
      .join(', ');
  }
  if (v === null || v === undefined) return '';
  if (field.isLookup()) return String(v);
  const list = field.list();
  if (list) return list.has(v) ? list.get(v) : String(v);
  switch (field.type) {
    case 'integer':
    case 'float':
    case 'currency':
      return formatNumber(v, field.type);
    case 'date':
      return formatDate(v);
    case 'datetime':
      return formatDateTime(v);
    case 'boolean':
      return v ? 'Yes' : 'No';
    default:
      return String(v);
  }
}
