import { COERCERS, isColumnType } from '../../../src/records/coerce';

describe('COERCERS', () => {
  it('turns exact integers into numbers', () => {
    expect(COERCERS.integer('0')).toBe(0);
    expect(COERCERS.integer('42')).toBe(42);
    expect(COERCERS.integer('-7')).toBe(-7);
    expect(COERCERS.integer('10000')).toBe(10000);
    expect(COERCERS.integer('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each(['', '007', '1.0', '1.5', '1e3', '+1', ' 1', '1 ', '0x10', 'one', '9007199254740992', '-9007199254740993', '1_000'])(
    'leaves %j as text for integer columns, so the schema reports the original value',
    (text) => {
      expect(COERCERS.integer(text)).toBe(text);
    },
  );

  it('turns exact numbers into numbers', () => {
    expect(COERCERS.number('1.5')).toBe(1.5);
    expect(COERCERS.number('-0.25')).toBe(-0.25);
    expect(COERCERS.number('1e3')).toBe(1000);
    expect(COERCERS.number('1E-2')).toBe(0.01);
    expect(COERCERS.number('12')).toBe(12);
  });

  it.each(['', '.5', '1.', '01', 'NaN', 'Infinity', '-Infinity', '1e400', '0x10', '1,5', ' 2'])('leaves %j as text for number columns', (text) => {
    expect(COERCERS.number(text)).toBe(text);
  });

  it('accepts only lower-case true/false as booleans', () => {
    expect(COERCERS.boolean('true')).toBe(true);
    expect(COERCERS.boolean('false')).toBe(false);
    for (const text of ['TRUE', 'False', '1', '0', 'yes', '']) expect(COERCERS.boolean(text)).toBe(text);
  });

  it('keeps strings untouched', () => {
    for (const text of ['', ' padded ', '19.99', '007', 'true']) expect(COERCERS.string(text)).toBe(text);
  });
});

describe('isColumnType', () => {
  it('knows the four scalar types and nothing else', () => {
    for (const type of ['string', 'integer', 'number', 'boolean']) expect(isColumnType(type)).toBe(true);
    for (const type of ['object', 'array', 'null', ['string', 'null'], undefined, 'toString', '__proto__']) {
      expect(isColumnType(type)).toBe(false);
    }
  });
});
