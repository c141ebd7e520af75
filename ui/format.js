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

/** A number for an input: separators of the locale, no currency symbol. */
export function formatNumberInput(value, type) {
  if (value === null || value === undefined || value === '') return '';
  if (type === 'currency') return formats.money.format(value);
  return formatNumber(value, type);
}

/**
 * Reads a number typed in the locale's way ("1,234.5" in English, "1.234,5" in German).
 * Returns {value} (null for an empty text) or {error}.
 */
export function parseNumber(text, type) {
  let t = String(text).trim();
  if (t === '') return { value: null };
  // Group separators (including the narrow no-break spaces some locales use) and currency signs
  // go; any other letter makes it not a number.
  t = t.split(formats.group).join('').replace(/[\s\u00a0\u202f]/g, '').replace(/\p{Sc}/gu, '');
  if (formats.decimal !== '.') t = t.split(formats.decimal).join('.');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    return { error: type === 'integer' ? 'Enter a whole number' : 'Enter a number' };
  }
  const value = Number(t);
  if (!Number.isFinite(value)) return { error: 'Enter a number' };
  if (type === 'integer' && !Number.isSafeInteger(value)) return { error: 'Enter a whole number' };
  return { value };
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
