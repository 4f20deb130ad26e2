import { applyErrorPolicy } from '../../../src/validate/decide';
import { RejectionCode } from '../../../src/validate/errors';

const counts = (records: number, invalid: number) => ({ records, valid: records - invalid, invalid });

describe('applyErrorPolicy: maxInvalidRatio', () => {
  const tenPercent = { maxInvalidRatio: 0.1 };

  it.each([
    [10, 0, true],
    [10, 1, true],
    [9, 1, false],
    [1000, 100, true],
    [1000, 101, false],
    [10_000_000, 1_000_000, true],
    [10_000_000, 1_000_001, false],
    [0, 0, true],
    [1, 1, false],
  ])('%i records, %i invalid: completes=%s (exactly 10%% completes)', (records, invalid, completes) => {
    const reason = applyErrorPolicy(tenPercent, counts(records, invalid));
    if (completes) expect(reason).toBeUndefined();
    else expect(reason).toEqual({ code: RejectionCode.TOO_MANY_INVALID_ROWS, message: expect.stringContaining(`${invalid} of ${records}`) });
  });

  it.each([
    // Ratios whose products are not exact in binary floating point: 0.29 * 100 is 28.999999999999996.
    [0.29, 100, 29, true],
    [0.29, 100, 30, false],
    [0.57, 100, 57, true],
    [0.07, 100, 7, true],
    [0.07, 100, 8, false],
    [0.3, 10, 3, true],
    [0.035, 1000, 35, true],
    [0.035, 1000, 36, false],
    // Finer than a millionth: the limit is what the config says.
    [0.0000001, 10_000_000, 1, true],
    [0.0000001, 10_000_000, 2, false],
    [0.0000005, 1_000_000, 1, false],
    [0.0000005, 2_000_000, 1, true],
  ])('ratio %d, %i records, %i invalid: completes=%s', (maxInvalidRatio, records, invalid, completes) => {
    expect(applyErrorPolicy({ maxInvalidRatio }, counts(records, invalid)) === undefined).toBe(completes);
  });

  it('with ratio 0 rejects any invalid row, with ratio 1 never rejects', () => {
    expect(applyErrorPolicy({ maxInvalidRatio: 0 }, counts(1_000_000, 1))?.code).toBe(RejectionCode.TOO_MANY_INVALID_ROWS);
    expect(applyErrorPolicy({ maxInvalidRatio: 0 }, counts(10, 0))).toBeUndefined();
    expect(applyErrorPolicy({ maxInvalidRatio: 1 }, counts(10, 10))).toBeUndefined();
  });

  it('explains the rejection with the percentages', () => {
    expect(applyErrorPolicy(tenPercent, counts(9, 1))!.message).toBe('1 of 9 rows are invalid (11.11%); the feed allows at most 10.00%');
  });
});

describe('applyErrorPolicy: maxInvalidCount', () => {
  it('rejects more invalid rows than the count, whatever the ratio', () => {
    const policy = { maxInvalidCount: 5 };
    expect(applyErrorPolicy(policy, counts(1_000_000, 5))).toBeUndefined();
    expect(applyErrorPolicy(policy, counts(1_000_000, 6))).toEqual({
      code: RejectionCode.TOO_MANY_INVALID_ROWS,
      message: '6 of 1000000 rows are invalid; the feed allows at most 5',
    });
    expect(applyErrorPolicy(policy, counts(6, 5))).toBeUndefined();
  });

  it('with 0 rejects the first invalid row', () => {
    expect(applyErrorPolicy({ maxInvalidCount: 0 }, counts(100, 0))).toBeUndefined();
    expect(applyErrorPolicy({ maxInvalidCount: 0 }, counts(100, 1))?.code).toBe(RejectionCode.TOO_MANY_INVALID_ROWS);
  });

  it('applies both limits when both are set', () => {
    const policy = { maxInvalidRatio: 0.1, maxInvalidCount: 50 };
    expect(applyErrorPolicy(policy, counts(1000, 50))).toBeUndefined();
    expect(applyErrorPolicy(policy, counts(1000, 51))?.message).toContain('at most 50'); // count breaks first
    expect(applyErrorPolicy(policy, counts(100, 11))?.message).toContain('10.00%'); // ratio breaks first
    expect(applyErrorPolicy(policy, counts(100, 10))).toBeUndefined();
  });

  it('with no limit configured never rejects', () => {
    expect(applyErrorPolicy({}, counts(10, 10))).toBeUndefined();
  });
});

describe('applyErrorPolicy: minRecords', () => {
  it('allows a file with no data rows by default (0)', () => {
    expect(applyErrorPolicy({ maxInvalidRatio: 0.1 }, counts(0, 0))).toBeUndefined();
    expect(applyErrorPolicy({ maxInvalidRatio: 0.1, minRecords: 0 }, counts(0, 0))).toBeUndefined();
  });

  it('rejects fewer data rows than minRecords as NO_RECORDS', () => {
    expect(applyErrorPolicy({ maxInvalidRatio: 0.1, minRecords: 1 }, counts(0, 0))).toEqual({
      code: RejectionCode.NO_RECORDS,
      message: 'the file has 0 data rows; the feed requires at least 1 (errorPolicy.minRecords)',
    });
    expect(applyErrorPolicy({ maxInvalidCount: 5, minRecords: 100 }, counts(99, 0))?.message).toBe(
      'the file has 99 data rows; the feed requires at least 100 (errorPolicy.minRecords)',
    );
    expect(applyErrorPolicy({ maxInvalidCount: 5, minRecords: 2 }, counts(1, 0))?.message).toContain('has 1 data row;');
    expect(applyErrorPolicy({ maxInvalidCount: 5, minRecords: 100 }, counts(100, 0))).toBeUndefined();
  });

  it('counts invalid rows as data rows, and says too few before too many invalid', () => {
    expect(applyErrorPolicy({ maxInvalidRatio: 1, minRecords: 3 }, counts(3, 3))).toBeUndefined();
    expect(applyErrorPolicy({ maxInvalidCount: 0, minRecords: 3 }, counts(2, 2))?.code).toBe(RejectionCode.NO_RECORDS);
    expect(applyErrorPolicy({ maxInvalidCount: 0, minRecords: 3 }, counts(3, 1))?.code).toBe(RejectionCode.TOO_MANY_INVALID_ROWS);
  });
});
