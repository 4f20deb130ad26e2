import { checkDecimal, compareDecimals, DecimalSum, isDecimalText } from '../../../src/records/decimal';

/** Reference comparator: both values scaled to integers as BigInt. */
function reference(a: string, b: string): number {
  const scale = (text: string) => (text.includes('.') ? text.length - text.indexOf('.') - 1 : 0);
  const width = Math.max(scale(a), scale(b));
  const toBig = (text: string) => {
    const negative = text.startsWith('-');
    const [whole = '0', fraction = ''] = text.replace('-', '').split('.');
    const value = BigInt(whole + fraction.padEnd(width, '0'));
    return negative ? -value : value;
  };
  const difference = toBig(a) - toBig(b);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

/** Deterministic decimal strings of 1–25 digits, some negative, some with fractions. */
function* decimals(count: number): Generator<string> {
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let i = 0; i < count; i++) {
    const wholeDigits = next() % 20;
    let whole = wholeDigits === 0 ? '0' : String(1 + (next() % 9));
    for (let d = 1; d < wholeDigits; d++) whole += String(next() % 10);
    const fractionDigits = next() % 4 === 0 ? 0 : next() % 8;
    let fraction = '';
    for (let d = 0; d < fractionDigits; d++) fraction += String(next() % 10);
    const negative = next() % 3 === 0;
    yield `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
  }
}

describe('compareDecimals', () => {
  it.each([
    ['1', '1.0', 0],
    ['0.1', '0.10', 0],
    ['-0', '0', 0],
    ['-0.00', '0', 0],
    ['2', '10', -1],
    ['-2', '-10', 1],
    ['19.99', '19.989', 1],
    ['0.01', '0', 1],
    ['-0.01', '0', -1],
  ])('compares short values: %s vs %s → %i', (a, b, expected) => {
    expect(Math.sign(compareDecimals(a, b))).toBe(expected);
    expect(Math.sign(compareDecimals(b, a))).toBe(-expected || 0);
  });

  it.each([
    // Values a double cannot tell apart: the comparison must work on the text.
    ['12345678901234567890', '12345678901234567891', -1],
    ['9007199254740993', '9007199254740992', 1],
    ['0.10000000000000001', '0.1', 1],
    ['-0.10000000000000001', '-0.1', -1],
    ['999999999999999999.99', '1000000000000000000', -1],
    ['100000000000000000000', '99999999999999999999.99', 1],
    ['-12345678901234567890.5', '1', -1],
    ['5', '12345678901234567', -1],
    ['-5', '-12345678901234567', 1],
    ['-0.0000000000000000', '0', 0],
    ['0.0000000000000000', '-0.00000000000000000000', 0],
    ['1234567890123456.50', '1234567890123456.5', 0],
  ])('compares values beyond 15 digits exactly: %s vs %s → %i', (a, b, expected) => {
    expect(Math.sign(compareDecimals(a, b))).toBe(expected);
    expect(Math.sign(compareDecimals(b, a))).toBe(-expected || 0);
  });

  it('agrees with an exact BigInt comparison on 10,000 generated pairs', () => {
    const values = [...decimals(5_001)];
    const disagreements: string[] = [];
    const compare = (a: string, b: string) => {
      if (Math.sign(compareDecimals(a, b)) !== reference(a, b)) disagreements.push(`${a} vs ${b}`);
    };
    for (let i = 0; i < values.length - 1; i++) {
      const a = values[i]!;
      compare(a, values[i + 1]!);
      // Near neighbours, where float rounding bites: the same digits with one more at the end.
      compare(a, a.includes('.') ? `${a}1` : `${a}.1`);
    }
    expect(disagreements).toEqual([]);
  });
});

describe('isDecimalText', () => {
  it.each(['0', '1', '-1', '19.99', '0.5', '-0.5', '123456789012345678901234.5'])('accepts %s', (text) => {
    expect(isDecimalText(text)).toBe(true);
  });
  it.each(['', '.5', '5.', '01.5', '00', '+1', ' 1', '1 ', '1,5', '1e5', 'NaN', 'Infinity', '0x10', '--1', '1.2.3'])(
    'refuses %j',
    (text) => {
      expect(isDecimalText(text)).toBe(false);
    },
  );
});

describe('checkDecimal', () => {
  const price = { scale: 2, exclusiveMinimum: '0' };

  it('accepts prices within scale and above zero', () => {
    for (const text of ['0.01', '1', '19.99', '19.9', '123456789012345678.99']) expect(checkDecimal(text, price)).toBeUndefined();
  });

  it('says why a value breaks the rule', () => {
    expect(checkDecimal('19.999', price)).toBe('must have at most 2 decimal places');
    expect(checkDecimal('19.990', price)).toBe('must have at most 2 decimal places');
    expect(checkDecimal('0', price)).toBe('must be greater than 0');
    expect(checkDecimal('0.00', price)).toBe('must be greater than 0');
    expect(checkDecimal('-1', price)).toBe('must be greater than 0');
    expect(checkDecimal('1e3', price)).toBe('must be a decimal number like 12.34');
    expect(checkDecimal('', price)).toBe('must be a decimal number like 12.34');
  });

  it('applies inclusive and exclusive bounds exactly, also beyond 15 digits', () => {
    const rule = { minimum: '-10.5', maximum: '999999999999999999.99' };
    expect(checkDecimal('-10.5', rule)).toBeUndefined();
    expect(checkDecimal('-10.50', rule)).toBeUndefined();
    expect(checkDecimal('-10.51', rule)).toBe('must be at least -10.5');
    expect(checkDecimal('999999999999999999.99', rule)).toBeUndefined();
    // As doubles these two are equal; as decimals the second is over.
    expect(checkDecimal('1000000000000000000.00', rule)).toBe('must be at most 999999999999999999.99');
    expect(checkDecimal('999999999999999999.991', rule)).toBe('must be at most 999999999999999999.99');

    const open = { exclusiveMaximum: '100000000000000000000' };
    expect(checkDecimal('99999999999999999999.99', open)).toBeUndefined();
    expect(checkDecimal('100000000000000000000.00', open)).toBe('must be less than 100000000000000000000');
  });

  it('with no rule only checks the text', () => {
    expect(checkDecimal('-123456789012345678901234.123456', {})).toBeUndefined();
    expect(checkDecimal('12,50', {})).toBe('must be a decimal number like 12.34');
  });
});

describe('checkDecimal: what counts as a decimal', () => {
  const NOT_DECIMAL = 'must be a decimal number like 12.34';
  const tricky = ['0', '-0', '00', '01', '-01', '0.5', '.5', '5.', '-', '', '1.2.3', '1e5', ' 1', '1 ', '+1', '--1', '-.5', '0.00', '10', '1٣', '1.٣', '12345678901234567890.123'];

  it('agrees with the decimal pattern on tricky and random texts, and counts decimal places', () => {
    let x = 12345;
    const next = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) % 7;
    const random = Array.from({ length: 5000 }, () => Array.from({ length: 1 + next() }, () => '-0.19a'[next() % 6]).join(''));
    for (const text of [...tricky, ...random]) {
      expect([text, checkDecimal(text, {}) === NOT_DECIMAL]).toEqual([text, !isDecimalText(text)]);
      if (isDecimalText(text)) {
        const places = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
        expect(checkDecimal(text, { scale: places })).toBeUndefined();
        if (places > 0) expect(checkDecimal(text, { scale: places - 1 })).toBe(`must have at most ${places - 1} decimal places`);
      }
    }
  });
});

describe('DecimalSum: control totals, exact', () => {
  it('adds at the largest scale seen, whatever the order, and compares as numbers', () => {
    const sum = new DecimalSum();
    for (const text of ['0.1', '0.2', '-0.05', '10', '0007.125']) expect(sum.add(text)).toBe(true);
    expect(sum.toString()).toBe('17.375');
    expect(sum.equals('17.375')).toBe(true);
    expect(sum.equals('17.3750')).toBe(true);
    expect(sum.equals('17.37')).toBe(false);
    expect(sum.equals('abc')).toBe(false);
  });

  it('refuses what is not a decimal, adding nothing', () => {
    const sum = new DecimalSum();
    for (const text of ['', '1e3', '1.', '.5', 'n/a', '1,5', ' 1']) expect(sum.add(text)).toBe(false);
    expect(sum.toString()).toBe('0');
  });

  it('keeps digits no double holds, and negative totals', () => {
    const sum = new DecimalSum();
    sum.add('99999999999999999999.99');
    sum.add('0.01');
    expect(sum.toString()).toBe('100000000000000000000.00');
    const negative = DecimalSum.from('-0.5');
    negative.add('0.25');
    expect(negative.toString()).toBe('-0.25');
    expect(DecimalSum.from(negative.toString()).equals('-0.25')).toBe(true);
  });
});
