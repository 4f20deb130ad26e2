/**
 * The arithmetic behind `npm run bench:cost` (bench/cost-model.ts): SQS's
 * 64 KiB billing units, Lambda's vCPU share, how a batch splits into ranges
 * and invocations, the requests and writes counted per batch, and the price
 * lines. Every expected figure is worked out by hand in the comments.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  batchUsage,
  billedSqsRequests,
  lambdaSeconds,
  lineItems,
  regionPrices,
  sendRangesOf,
  totalUsd,
  type BatchAssumptions,
  type MeasuredPerMillion,
  type PricesFile,
  type RegionPrices,
  type StackShape,
} from '../../../bench/cost-model';

const GIB = 1024 ** 3;
const shape: StackShape = {
  architecture: 'arm64',
  ingestMemoryMb: 1024,
  sendMemoryMb: 1024,
  timeoutSeconds: 900,
  stopMarginSeconds: 60,
  chunkItems: 1000,
  maxSendRanges: 4,
  minChunksPerRange: 20,
  stagingPartBytes: 8 * 1024 * 1024,
  stagingRetentionDays: 15,
};
const measured: MeasuredPerMillion = {
  csvBytes: GIB,
  stagedBytes: GIB,
  validateCpuSeconds: 100,
  sendCpuSeconds: 200,
  sendRequests: 100_000,
  sendBilledRequests: 100_000,
};
const assumptions: BatchAssumptions = { sqsRoundTripSeconds: 0.02, sendConcurrency: 8, writeUnitsPerLedgerWrite: 1 };

test('SQS bills each started 64 KiB of a request, and at least one', () => {
  expect(billedSqsRequests(0)).toBe(1);
  expect(billedSqsRequests(65_536)).toBe(1);
  expect(billedSqsRequests(65_537)).toBe(2);
  expect(billedSqsRequests(262_144)).toBe(4);
  expect(billedSqsRequests(1_048_576)).toBe(16);
});

test('below 1,769 MB a function gets that share of a vCPU, so CPU-bound work takes longer', () => {
  expect(lambdaSeconds(10, 1769)).toBe(10);
  expect(lambdaSeconds(10, 3538)).toBe(10);
  expect(lambdaSeconds(10, 1024)).toBeCloseTo((10 * 1769) / 1024, 10);
});

test('a send is split into ranges as BatchRun.planRanges splits it', () => {
  expect(sendRangesOf(1000, shape)).toBe(4); // min(4, floor(1000 / 20))
  expect(sendRangesOf(39, shape)).toBe(1); // floor(39 / 20) = 1: not split
  expect(sendRangesOf(40, shape)).toBe(2);
});

test('a 1M-row batch: one validation invocation, four ranges, a checkpoint and a ranged GET per chunk', () => {
  const usage = batchUsage(1_000_000, measured, shape, assumptions);
  expect(usage).toMatchObject({ chunks: 1000, ranges: 4, validateInvocations: 1, sendInvocations: 4, lambdaRequests: 5 });
  expect(usage.validateSeconds).toBeCloseTo((100 * 1769) / 1024, 9); // 172.75 s
  expect(usage.sendSeconds).toBeCloseTo((200 * 1769) / 1024, 9); // CPU 345.5 s > 100,000 × 20 ms / 8 = 250 s
  expect(usage.lambdaGbSeconds).toBeCloseTo(518.26171875, 9); // (172.75 + 345.51) s × 1 GB
  expect(usage.s3Puts).toBe(134); // upload 1 + archive 1 + (1 GiB in 128 parts + create + complete) + rejects 1 + manifest 1
  expect(usage.s3Gets).toBe(1008); // HEAD 1 + archive read 1 + manifest per send invocation 4, dispatch and completion 2 + chunks 1000
  expect(usage.s3GbMonths).toBeCloseTo(2.5, 12); // inbound + archive 2 GiB, staged 1 GiB for half a month
  expect(usage.dynamoWriteUnits).toBe(1036); // chunks 1000 + batch 10 + ranges 4 × 6 + 2
  expect(usage.sqsBilledRequests).toBe(100_012); // work queue 100,000 + file event 3 + ranges 1 + 2 × 4
  expect(usage).toMatchObject({ snsPublishes: 1, eventBridgeEvents: 1 });
});

test('a small batch is sent by the invocation that validated it', () => {
  const usage = batchUsage(10_000, measured, shape, assumptions);
  expect(usage).toMatchObject({ chunks: 10, ranges: 1, validateInvocations: 1, sendInvocations: 1, lambdaRequests: 1 });
  expect(usage.sendSeconds).toBeCloseTo((2 * 1769) / 1024, 9); // CPU 3.46 s > 1,000 × 20 ms / 8 = 2.5 s
  expect(usage.s3Puts).toBe(8); // 10.7 MB staged: 2 parts + create + complete
  expect(usage.s3Gets).toBe(13);
  expect(usage.dynamoWriteUnits).toBe(20);
  expect(usage.sqsBilledRequests).toBe(1003);
});

test('a validation longer than one invocation pauses, and each pause saves and restores its progress', () => {
  const usage = batchUsage(10_000_000, measured, shape, assumptions);
  expect(usage.validateInvocations).toBe(3); // 1,727.5 s of work, 840 s per invocation
  // Each of 3 segments stages 3.33 GiB (427 parts + 2) and a rejects report; 2 pauses write a chunk list and a key set.
  expect(usage.s3Puts).toBe(1 + 1 + 3 * (429 + 1) + 2 * 2 + 1);
  expect(usage.sendSeconds).toBeCloseTo((2000 * 1769) / 1024, 6);
  expect(usage.sendInvocations).toBe(4 * 2); // 3,455 s over 4 ranges = 864 s each: 2 invocations per range
  // chunks 10,000 + batch 10 + 2 pauses × 4 + ranges 4 × 6 + 2 + 4 extra send invocations × 2
  expect(usage.dynamoWriteUnits).toBe(10_000 + 10 + 8 + 26 + 8);
});

test('line items multiply each quantity by its price; the total adds them', () => {
  const ones: RegionPrices = {
    lambdaGbSecond: { arm64: 1, x86_64: 2 },
    lambdaRequest: 1,
    sqsRequest: 1,
    s3Put: 1,
    s3Get: 1,
    s3GbMonth: 1,
    dynamoWriteUnit: 1,
    snsPublish: 1,
    eventBridgeEvent: 1,
  };
  const usage = batchUsage(1_000_000, measured, shape, assumptions);
  expect(totalUsd(lineItems(usage, ones, 'arm64'))).toBeCloseTo(518.26171875 + 5 + 100_012 + 134 + 1008 + 2.5 + 1036 + 1 + 1, 9);
  const x86 = lineItems(usage, ones, 'x86_64');
  expect(x86[0]).toMatchObject({ item: 'Lambda compute (x86_64)', unit: 'GB-s' });
  expect(x86[0]!.usd).toBeCloseTo(2 * 518.26171875, 9);
});

test('bench/prices.json gives every price as dollars per unit', () => {
  const file = JSON.parse(readFileSync(path.resolve(__dirname, '../../../bench/prices.json'), 'utf8')) as PricesFile;
  const prices = regionPrices(file, 'us-east-1');
  expect(prices.sqsRequest).toBeCloseTo(0.4 / 1e6, 15);
  expect(prices.s3Put).toBeCloseTo(0.005 / 1000, 15);
  for (const value of [...Object.values(prices.lambdaGbSecond), ...Object.values(prices).filter((price) => typeof price === 'number')]) {
    expect(value).toBeGreaterThan(0);
  }
  expect(() => regionPrices(file, 'xx-nowhere-1')).toThrow(/no prices for xx-nowhere-1 \(it has us-east-1\)/);
});
