import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadPartnerRegistry, type PartnerRegistry } from '../../src/config/load-partners';
import { acmeYmlUpToOrders } from './csv-cases';

export const ORDERS_HEADER = 'order_id,customer_id,sku,quantity,unit_price,currency,order_date,email';

/** A valid acme order row; `n` makes the key unique. */
export function orderRow(n: number, overrides: Partial<Record<'quantity' | 'unit_price' | 'currency' | 'customer_id', string>> = {}): string {
  const row = {
    order_id: `ORD-${String(n).padStart(9, '0')}`,
    customer_id: overrides.customer_id ?? `CUST-${n % 97}`,
    sku: `SKU-${n % 13}`,
    quantity: overrides.quantity ?? String(1 + (n % 9)),
    unit_price: overrides.unit_price ?? `${1 + (n % 50)}.${String(n % 100).padStart(2, '0')}`,
    currency: overrides.currency ?? ['EUR', 'USD', 'GBP'][n % 3]!,
    order_date: '2026-11-20',
    email: n % 2 ? `buyer${n}@example.com` : '',
  };
  return Object.values(row).join(',');
}

/** An orders file with `valid` good rows and the given bad rows appended. */
export function ordersFile(valid: number, badRows: string[] = [], eol = '\n'): string {
  const rows = Array.from({ length: valid }, (_, index) => orderRow(index + 1));
  return [ORDERS_HEADER, ...rows, ...badRows].join(eol) + eol;
}

export function gzip(text: string): Buffer {
  return gzipSync(Buffer.from(text));
}

/**
 * The shipped configuration in `dir`, with acme's orders packed 1,000 records per
 * message (moto's SQS takes about 200 messages a second): for big files in tests.
 */
export function packedOrdersRegistry(dir: string): PartnerRegistry {
  const root = path.resolve(__dirname, '..', '..');
  for (const folder of ['partners', 'schemas', 'schemas/records']) mkdirSync(path.join(dir, folder), { recursive: true });
  for (const file of ['schemas/partner.schema.json', 'schemas/records/orders.v1.schema.json', 'schemas/records/shipments.v1.schema.json']) {
    copyFileSync(path.join(root, file), path.join(dir, file));
  }
  writeFileSync(path.join(dir, 'partners/acme.yml'), `${acmeYmlUpToOrders().trimEnd()}\n    workItems: { recordsPerMessage: 1000 }\n`);
  return loadPartnerRegistry({ root: dir });
}
