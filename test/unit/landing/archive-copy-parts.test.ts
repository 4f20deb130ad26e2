import { DEFAULT_ARCHIVE_COPY_OPTIONS, planCopyParts, S3_COPY_LIMITS } from '../../../src/landing/archive';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const TIB = 1024 * GIB;

/** The parts cover 0..bytes-1 exactly once, in order, numbered from 1 (checked in one assertion: there may be 10,000). */
function expectContiguous(parts: ReturnType<typeof planCopyParts>, bytes: number): void {
  let expected = 0;
  const wrong = parts.filter((part, index) => {
    const ok = part.partNumber === index + 1 && part.first === expected && part.last >= part.first;
    expected = part.last + 1;
    return !ok;
  });
  expect(wrong).toEqual([]);
  expect(expected).toBe(bytes);
}

describe('archive copy planning', () => {
  it('defaults to CopyObject up to 5 GiB and to parts that fit 5 TiB in 10,000', () => {
    expect(DEFAULT_ARCHIVE_COPY_OPTIONS.multipartThresholdBytes).toBe(5 * GIB);
    expect(DEFAULT_ARCHIVE_COPY_OPTIONS.partBytes).toBe(525 * MIB);
    expect(DEFAULT_ARCHIVE_COPY_OPTIONS.partBytes * S3_COPY_LIMITS.maxParts).toBeGreaterThanOrEqual(5 * TIB);
    expect(DEFAULT_ARCHIVE_COPY_OPTIONS.concurrency).toBeGreaterThan(1);
  });

  it('splits 12 MiB into 5 MiB parts with a short last part', () => {
    const parts = planCopyParts(12 * MIB, 5 * MIB);
    expect(parts).toEqual([
      { partNumber: 1, first: 0, last: 5 * MIB - 1 },
      { partNumber: 2, first: 5 * MIB, last: 10 * MIB - 1 },
      { partNumber: 3, first: 10 * MIB, last: 12 * MIB - 1 },
    ]);
  });

  it('makes one part of an exact multiple without an empty tail', () => {
    const parts = planCopyParts(10 * MIB, 5 * MIB);
    expect(parts).toHaveLength(2);
    expectContiguous(parts, 10 * MIB);
  });

  it('copies a 5 GiB + 1 byte source (the first size CopyObject refuses) in default parts', () => {
    const bytes = 5 * GIB + 1;
    const parts = planCopyParts(bytes, DEFAULT_ARCHIVE_COPY_OPTIONS.partBytes);
    expect(parts).toHaveLength(10);
    expectContiguous(parts, bytes);
  });

  it('fits a 5 TiB object in 10,000 default parts', () => {
    const parts = planCopyParts(5 * TIB, DEFAULT_ARCHIVE_COPY_OPTIONS.partBytes);
    expect(parts.length).toBeLessThanOrEqual(S3_COPY_LIMITS.maxParts);
    expectContiguous(parts, 5 * TIB);
  });

  it('grows the parts when the preferred size would need more than 10,000 of them', () => {
    const bytes = 5 * TIB;
    const parts = planCopyParts(bytes, 5 * MIB);
    expect(parts.length).toBeLessThanOrEqual(S3_COPY_LIMITS.maxParts);
    const size = parts[0]!.last + 1;
    expect(size % MIB).toBe(0);
    expect(size).toBeLessThanOrEqual(S3_COPY_LIMITS.maxPartBytes);
    expectContiguous(parts, bytes);
    // Up to S3's largest object: 10,000 parts of 5 GiB.
    const largest = planCopyParts(S3_COPY_LIMITS.maxParts * S3_COPY_LIMITS.maxPartBytes, 5 * MIB);
    expect(largest).toHaveLength(S3_COPY_LIMITS.maxParts);
    expect(largest[0]!.last + 1).toBe(S3_COPY_LIMITS.maxPartBytes);
  });

  it('refuses part sizes S3 would refuse, and objects no multipart upload can hold', () => {
    expect(() => planCopyParts(12 * MIB, 5 * MIB - 1)).toThrow(RangeError);
    expect(() => planCopyParts(12 * MIB, 5 * GIB + 1)).toThrow(RangeError);
    expect(() => planCopyParts(S3_COPY_LIMITS.maxParts * S3_COPY_LIMITS.maxPartBytes + 1, 5 * MIB)).toThrow(/do not fit/);
  });
});
