/**
 * Exact decimal handling for money columns. Values stay strings end to end, so a
 * price of "19.99" reaches consumers as "19.99", never as 19.989999...
 */

const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

export interface DecimalRule {
  readonly scale?: number;
  readonly minimum?: string;
  readonly exclusiveMinimum?: string;
  readonly maximum?: string;
  readonly exclusiveMaximum?: string;
}

export function isDecimalText(text: string): boolean {
  return DECIMAL.test(text);
}

/**
 * The number of decimal places of a decimal text, or -1 when it is not one
 * (what DECIMAL matches): a scan instead of a RegExp match and a search for
 * the dot, since this runs for every money cell of every file.
 */
function decimalScale(text: string): number {
  let at = text.charCodeAt(0) === 0x2d ? 1 : 0; // '-'
  const whole = at;
  while (isDigit(text.charCodeAt(at))) at++;
  if (at === whole || (at - whole > 1 && text.charCodeAt(whole) === 0x30)) return -1; // no digits, or a leading zero
  if (at === text.length) return 0;
  if (text.charCodeAt(at) !== 0x2e) return -1; // '.'
  const dot = at++;
  while (isDigit(text.charCodeAt(at))) at++;
  return at === text.length && at > dot + 1 ? at - dot - 1 : -1;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** Compares two non-negative decimal strings without converting them to numbers. */
function compareMagnitudes(a: string, b: string): number {
  const [aWhole = '', aFraction = ''] = a.split('.');
  const [bWhole = '', bFraction = ''] = b.split('.');
  if (aWhole.length !== bWhole.length) return aWhole.length < bWhole.length ? -1 : 1;
  if (aWhole !== bWhole) return aWhole < bWhole ? -1 : 1;
  const width = Math.max(aFraction.length, bFraction.length);
  const aPadded = aFraction.padEnd(width, '0');
  const bPadded = bFraction.padEnd(width, '0');
  return aPadded === bPadded ? 0 : aPadded < bPadded ? -1 : 1;
}

function isZero(text: string): boolean {
  return /^-?0(\.0*)?$/.test(text);
}

/**
 * Below 16 significant digits a decimal string converts to a distinct double and
 * rounding preserves order, so Number comparison is exact; beyond, compare text.
 */
const EXACT_AS_DOUBLE = 15;

/** Compares two decimal strings exactly: negative, zero or positive like a sort comparator. */
export function compareDecimals(a: string, b: string): number {
  if (a.length <= EXACT_AS_DOUBLE && b.length <= EXACT_AS_DOUBLE) {
    const difference = Number(a) - Number(b);
    return difference === 0 ? 0 : difference < 0 ? -1 : 1;
  }
  const aNegative = a.startsWith('-') && !isZero(a);
  const bNegative = b.startsWith('-') && !isZero(b);
  if (aNegative !== bNegative) return aNegative ? -1 : 1;
  const magnitude = compareMagnitudes(a.replace(/^-/, ''), b.replace(/^-/, ''));
  return aNegative ? -magnitude : magnitude;
}

type Bound = keyof Omit<DecimalRule, 'scale'>;

const BOUND_CHECKS: readonly (readonly [Bound, (comparison: number) => boolean, string])[] = [
  ['exclusiveMinimum', (comparison) => comparison <= 0, 'must be greater than'],
  ['minimum', (comparison) => comparison < 0, 'must be at least'],
  ['exclusiveMaximum', (comparison) => comparison >= 0, 'must be less than'],
  ['maximum', (comparison) => comparison > 0, 'must be at most'],
];

const NOT_DECIMAL = 'must be a decimal number like 12.34';

/**
 * Compiles `rule` into a check returning why a text breaks it, or undefined.
 * Bounds are prepared once: this runs for every money cell of every file.
 */
export function decimalChecker(rule: DecimalRule): (text: string) => string | undefined {
  const bounds = BOUND_CHECKS.filter(([key]) => rule[key] !== undefined).map(([key, fails, words]) => {
    const value = rule[key]!;
    return { value, number: Number(value), short: value.length <= EXACT_AS_DOUBLE, fails, message: `${words} ${value}` };
  });
  const scaleMessage = `must have at most ${rule.scale} decimal places`;
  return (text) => {
    const scale = decimalScale(text);
    if (scale < 0) return NOT_DECIMAL;
    if (rule.scale !== undefined && scale > rule.scale) return scaleMessage;
    for (const bound of bounds) {
      const comparison =
        bound.short && text.length <= EXACT_AS_DOUBLE ? Math.sign(Number(text) - bound.number) : compareDecimals(text, bound.value);
      if (bound.fails(comparison)) return bound.message;
    }
    return undefined;
  };
}

/** Returns why `text` breaks `rule`, or undefined when it complies. */
export function checkDecimal(text: string, rule: DecimalRule): string | undefined {
  return decimalChecker(rule)(text);
}

/** A decimal as control records write it: a sign, digits (leading zeros allowed: `0001234.50`), a fraction. */
const CONTROL_DECIMAL = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/;

/**
 * An exact running sum of decimal texts, for control totals: integer units at
 * the largest scale seen (BigInt), so no amount of rows or digits ever rounds.
 */
export class DecimalSum {
  private units = 0n;
  private scale = 0;

  /** Adds `text`; false (adding nothing) when it is not a decimal. */
  add(text: string): boolean {
    const parsed = parseControlDecimal(text);
    if (!parsed) return false;
    if (parsed.scale > this.scale) {
      this.units *= 10n ** BigInt(parsed.scale - this.scale);
      this.scale = parsed.scale;
    }
    this.units += parsed.units * 10n ** BigInt(this.scale - parsed.scale);
    return true;
  }

  /** Whether the sum equals decimal `text` as a number (1234.5 equals 1234.50). */
  equals(text: string): boolean {
    const other = parseControlDecimal(text);
    if (!other) return false;
    const scale = Math.max(this.scale, other.scale);
    return this.units * 10n ** BigInt(scale - this.scale) === other.units * 10n ** BigInt(scale - other.scale);
  }

  /** The sum as decimal text, at the largest scale added (`-12.50`). */
  toString(): string {
    const negative = this.units < 0n;
    const digits = (negative ? -this.units : this.units).toString().padStart(this.scale + 1, '0');
    const whole = digits.slice(0, digits.length - this.scale);
    const fraction = this.scale ? `.${digits.slice(digits.length - this.scale)}` : '';
    return `${negative ? '-' : ''}${whole}${fraction}`;
  }

  /** A sum carried on from `text` (what toString gave): a paused validation pass resumes with it. */
  static from(text: string): DecimalSum {
    const sum = new DecimalSum();
    if (!sum.add(text)) throw new Error(`not a decimal sum: ${JSON.stringify(text)}`);
    return sum;
  }
}

/** `text` as integer units and a scale (`-1.50` → -150n, 2), or undefined when it is not a decimal. */
export function parseControlDecimal(text: string): { units: bigint; scale: number } | undefined {
  const match = CONTROL_DECIMAL.exec(text);
  if (!match) return undefined;
  const [, sign, whole, fraction = ''] = match;
  const units = BigInt(`${whole}${fraction}`);
  return { units: sign === '-' ? -units : units, scale: fraction.length };
}
