import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../../src/config/errors';
import { loadPartnerRegistry } from '../../../src/config/load-partners';
import { acmeYmlUpToOrders, REPO_ROOT, tempDir } from '../../support/csv-cases';

const ACME_YML = acmeYmlUpToOrders();
const ORDERS_SCHEMA = path.join('schemas', 'records', 'orders.v1.schema.json');

describe('loadPartnerRegistry: the shipped config', () => {
  const registry = loadPartnerRegistry({ root: REPO_ROOT });
  const acme = registry.partners.get('acme')!;

  it('loads acme with its orders feed', () => {
    expect([...registry.partners.keys()]).toContain('acme');
    expect(acme.name).toBe('ACME Corp');
    expect(acme.feeds.map((feed) => feed.id)).toEqual(['orders', 'remittances']);
  });

  it('fills the orders feed from partners/acme.yml and its record schema', () => {
    const orders = acme.feeds[0]!;
    expect(orders).toEqual(
      expect.objectContaining({
        id: 'orders',
        partnerId: 'acme',
        key: 'order_id',
        errorPolicy: { maxInvalidRatio: 0.1 },
        format: { type: 'csv', delimiter: ',', quote: '"', header: true, encoding: 'utf-8', compression: 'auto' },
      }),
    );
    expect(orders.schema).toEqual(expect.objectContaining({ id: 'orders', version: 1, uri: 'urn:partner-ingest:schema:records:orders:v1' }));
    expect(orders.schema.columns).toEqual(['order_id', 'customer_id', 'sku', 'quantity', 'unit_price', 'currency', 'order_date', 'email']);
    expect(orders.schema.columnTypes.quantity).toBe('integer');
    expect(orders.limits).toEqual({
      maxFileBytes: 256 * 1024 ** 3,
      maxRecordBytes: 1024 * 1024,
      maxDecompressedBytes: 64 * 1024 ** 3,
      maxCompressionRatio: 200,
      maxReportedErrors: 100_000,
    });
    expect(orders.workItems).toEqual({ recordsPerMessage: 1, maxMessageBytes: 262_144 });
  });

  it('finds the feed of a file by its name', () => {
    expect(registry.feedForFile(acme, 'orders_2024-06-01.csv')?.id).toBe('orders');
    expect(registry.feedForFile(acme, 'orders_2024-06-01.csv.gz')?.id).toBe('orders');
    expect(registry.feedForFile(acme, 'orders.csv')).toBeUndefined();
    expect(registry.feedForFile(acme, 'xorders_1.csv')).toBeUndefined();
    expect(registry.feedForFile(acme, 'orders_1.csv.bak')).toBeUndefined();
  });
});

describe('loadPartnerRegistry: broken configs fail with file, field and reason', () => {
  let root: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir: root, cleanup } = tempDir('partner-ingest-config-'));
    cpSync(path.join(REPO_ROOT, 'partners'), path.join(root, 'partners'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
  });
  afterEach(() => cleanup());

  const partnerFile = (name = 'acme.yml') => path.join(root, 'partners', name);
  const writePartner = (text: string, name = 'acme.yml') => writeFileSync(partnerFile(name), text);
  const editSchema = (edit: (schema: { properties: Record<string, unknown> } & Record<string, unknown>) => void, file = ORDERS_SCHEMA) => {
    const target = path.join(root, file);
    const schema = JSON.parse(readFileSync(path.join(root, ORDERS_SCHEMA), 'utf8'));
    edit(schema);
    writeFileSync(target, JSON.stringify(schema, null, 2));
  };

  function loadError(): ConfigError {
    try {
      loadPartnerRegistry({ root });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const configError = error as ConfigError;
      expect(configError.code).toBe('CONFIG_INVALID');
      // The message is "<file>: <field>: <reason>".
      expect(configError.message.startsWith(`${configError.file}: ${configError.field || '(root)'}: `)).toBe(true);
      return configError;
    }
    throw new Error('the config loaded, but it is broken');
  }

  it('loads the unmodified copy (the fixture itself is sound)', () => {
    expect(() => loadPartnerRegistry({ root })).not.toThrow();
  });

  it('an unknown top-level field', () => {
    writePartner(`${ACME_YML}colour: blue\n`);
    const error = loadError();
    expect(error.file).toBe(partnerFile());
    expect(error.field).toBe('colour');
    expect(error.message).toContain('unknown field');
  });

  it('an unknown field inside a feed format', () => {
    writePartner(ACME_YML.replace('      header: true\n', '      header: true\n      separator: ";"\n'));
    const error = loadError();
    expect(error.field).toBe('feeds[0].format.separator');
    expect(error.message).toContain('unknown field');
  });

  it('encoding ISO-8859-1 instead of the Node name latin1', () => {
    writePartner(ACME_YML.replace('encoding: utf-8', 'encoding: ISO-8859-1'));
    const error = loadError();
    expect(error.file).toBe(partnerFile());
    expect(error.field).toBe('feeds[0].format.encoding');
    expect(error.message).toContain('utf-8, latin1, ascii');
  });

  it('recordsPerMessage beyond 1000, and a compression ratio below 2', () => {
    writePartner(`${ACME_YML.trimEnd()}\n    workItems: { recordsPerMessage: 5000 }\n`);
    let error = loadError();
    expect(error.field).toBe('feeds[0].workItems.recordsPerMessage');
    expect(error.message).toContain('1000');
    writePartner(`${ACME_YML.trimEnd()}\n    limits: { maxCompressionRatio: 1 }\n`);
    error = loadError();
    expect(error.field).toBe('feeds[0].limits.maxCompressionRatio');
  });

  it("takes workItems.maxMessageBytes up to SQS's 1 MiB, and refuses more", () => {
    writePartner(`${ACME_YML.trimEnd()}\n    workItems: { recordsPerMessage: 100, maxMessageBytes: 1048576 }\n`);
    expect(loadPartnerRegistry({ root }).partners.get('acme')!.feeds[0]!.workItems).toEqual({ recordsPerMessage: 100, maxMessageBytes: 1_048_576 });
    writePartner(`${ACME_YML.trimEnd()}\n    workItems: { maxMessageBytes: 1048577 }\n`);
    const error = loadError();
    expect(error.field).toBe('feeds[0].workItems.maxMessageBytes');
    expect(error.message).toContain('1048576');
  });

  it('takes limits.maxFileBytes and errorPolicy.minRecords, and refuses them below their minimum', () => {
    writePartner(
      `${ACME_YML.replace(/ {4}errorPolicy:\n {6}maxInvalidRatio: 0.10\n/, '    errorPolicy: { maxInvalidRatio: 0.1, minRecords: 1 }\n').trimEnd()}\n    limits: { maxFileBytes: 1048576 }\n`,
    );
    const feed = loadPartnerRegistry({ root }).partners.get('acme')!.feeds[0]!;
    expect(feed.limits.maxFileBytes).toBe(1048576);
    expect(feed.limits.maxRecordBytes).toBe(1024 * 1024);
    expect(feed.errorPolicy).toEqual({ maxInvalidRatio: 0.1, minRecords: 1 });
    writePartner(`${ACME_YML.trimEnd()}\n    limits: { maxFileBytes: 0 }\n`);
    expect(loadError().field).toBe('feeds[0].limits.maxFileBytes');
    writePartner(ACME_YML.replace(/ {4}errorPolicy:\n {6}maxInvalidRatio: 0.10\n/, '    errorPolicy: { maxInvalidRatio: 0.1, minRecords: -1 }\n'));
    expect(loadError().field).toBe('feeds[0].errorPolicy.minRecords');
  });

  describe('encryption (OpenPGP)', () => {
    const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n';
    const REPORTS = `    reports: { encryptTo: ${JSON.stringify(KEY)} }\n`;
    const withEncryption = (encryption: string, reports = REPORTS) => writePartner(`${ACME_YML.trimEnd()}\n    encryption: ${encryption}\n${reports}`);

    it('takes signers as armored keys, fingerprints (as gpg prints them) and {fingerprint, publicKey}', () => {
      const signers = [KEY, 'F656 A59C 606C 48E5 AEDF  D4CA 71C6 94DC 30AA 69B8', { fingerprint: 'F656A59C606C48E5AEDFD4CA71C694DC30AA69B8', publicKey: KEY }];
      withEncryption(`{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: ${JSON.stringify(signers)} }`);
      expect(loadPartnerRegistry({ root }).partners.get('acme')!.feeds[0]!.encryption!.signers).toEqual(signers);
    });

    it('takes the setting, requireSignature defaulting to true', () => {
      withEncryption(`{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: [${JSON.stringify(KEY)}] }`);
      const feed = loadPartnerRegistry({ root }).partners.get('acme')!.feeds[0]!;
      expect(feed.encryption).toEqual({ type: 'pgp', privateKeyRef: 'partner-ingest/acme/pgp', signers: [KEY], requireSignature: true });
    });

    it('refuses a signer that is not an armored public key, an unknown field, and no signers when a signature is required', () => {
      // A fingerprint has the shape of one (40 or 64 hex digits); whether it names a key given is checkPartnerKeys' to say.
      withEncryption('{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: ["F656A59C606C48E5AEDFD4CA71C694DC30AA69"] }');
      expect(loadError().field).toBe('feeds[0].encryption.signers[0]');
      withEncryption('{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: [{ fingerprint: "F656A59C606C48E5AEDFD4CA71C694DC30AA69B8" }] }');
      expect(loadError().field).toBe('feeds[0].encryption.signers[0]');
      withEncryption(`{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: [${JSON.stringify(KEY)}], privateKey: "x" }`);
      expect(loadError().field).toBe('feeds[0].encryption.privateKey');
      withEncryption('{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: [] }');
      const error = loadError();
      expect(error.field).toBe('feeds[0].encryption.signers');
      expect(error.message).toContain('requireSignature');
      withEncryption('{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: [], requireSignature: false }');
      expect(loadPartnerRegistry({ root }).partners.get('acme')!.feeds[0]!.encryption?.requireSignature).toBe(false);
    });

    it('refuses an encrypted feed without reports.encryptTo: its rejects report would carry rows back in plaintext', () => {
      withEncryption(`{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: [${JSON.stringify(KEY)}] }`, '');
      const error = loadError();
      expect(error.file).toBe(partnerFile());
      expect(error.field).toBe('feeds[0].reports.encryptTo');
      expect(error.message).toContain('is required when the feed has encryption');
      withEncryption(`{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: [${JSON.stringify(KEY)}] }`, '    reports: { encryptTo: "not a key" }\n');
      expect(loadError().field).toBe('feeds[0].reports.encryptTo');
    });

    it('takes reports.encryptTo as written (its key is parsed by checkPartnerKeys, which is asynchronous)', () => {
      withEncryption(`{ type: pgp, privateKeyRef: partner-ingest/acme/pgp, signers: [${JSON.stringify(KEY)}] }`);
      expect(loadPartnerRegistry({ root }).partners.get('acme')!.feeds[0]!.reports).toEqual({ encryptTo: KEY });
    });
  });

  it('header and trailer records: match must compile, fields must name its groups, the summed column must be the schema\'s', () => {
    const withFormat = (extra: string) => writePartner(ACME_YML.replace('      header: true\n', `      header: true\n${extra}`));
    withFormat('      skipLeadingLines: 2\n      trailerRecord: { match: "^TRL\\\\|(?<n>\\\\d+)\\\\|(?<s>[0-9.]+)$", fields: { recordCount: n, controlSum: { group: s, column: unit_price } } }\n');
    const format = loadPartnerRegistry({ root }).partners.get('acme')!.feeds[0]!.format;
    expect(format.skipLeadingLines).toBe(2);
    expect(format.trailerRecord).toEqual({ match: '^TRL\\|(?<n>\\d+)\\|(?<s>[0-9.]+)$', fields: { recordCount: 'n', controlSum: { group: 's', column: 'unit_price' } } });
    withFormat('      trailerRecord: { match: "^TRL(", fields: {} }\n');
    expect(loadError().field).toBe('feeds[0].format.trailerRecord.match');
    withFormat('      headerRecord: { match: "^HDR\\\\|(?<seq>\\\\d+)$", fields: { sequence: sequence } }\n');
    let error = loadError();
    expect(error.field).toBe('feeds[0].format.headerRecord.fields.sequence');
    expect(error.message).toContain('"sequence" is not a named group of match (it has "seq"');
    withFormat('      trailerRecord: { match: "^TRL\\\\|(?<s>.*)$", fields: { controlSum: { group: s, column: price } } }\n');
    error = loadError();
    expect(error.field).toBe('feeds[0].format.trailerRecord.fields.controlSum.column');
    expect(error.message).toContain('"price" is not a column of schema orders v1');
    withFormat('      skipLeadingLines: -1\n');
    expect(loadError().field).toBe('feeds[0].format.skipLeadingLines');
    writePartner(`${ACME_YML.trimEnd()}\n    sequence: { first: 1 }\n`);
    const error2 = loadError();
    expect(error2.field).toBe('feeds[0].sequence');
    expect(error2.message).toContain('format.headerRecord.fields.sequence');
  });

  it('controlFile: {name} in the name, defaults, and the summed column the schema\'s', () => {
    const withControlFile = (block: string) => writePartner(`${ACME_YML.trimEnd()}\n    controlFile: ${block}\n`);
    withControlFile('{ name: "{name}.ctl", format: json, fields: { recordCount: rows } }');
    expect(loadPartnerRegistry({ root }).partners.get('acme')!.feeds[0]!.controlFile).toEqual({ name: '{name}.ctl', format: 'json', fields: { recordCount: 'rows' }, waitMinutes: 60 });
    withControlFile('{ name: "orders.ctl", format: json, fields: { recordCount: rows } }');
    expect(loadError().field).toBe('feeds[0].controlFile.name');
    withControlFile('{ name: "{name}.ctl", format: json, fields: {} }');
    expect(loadError().field).toBe('feeds[0].controlFile.fields');
    withControlFile('{ name: "{name}.ctl", format: csv, fields: { controlSum: { field: total, column: price } } }');
    const error = loadError();
    expect(error.field).toBe('feeds[0].controlFile.fields.controlSum.column');
    expect(error.message).toContain('"price" is not a column of schema orders v1');
  });

  it('a missing required field', () => {
    writePartner(ACME_YML.replace('name: ACME Corp\n', ''));
    const error = loadError();
    expect(error.field).toBe('name');
    expect(error.message).toContain('is required');
  });

  it('a feed without an error policy', () => {
    writePartner(ACME_YML.replace(/ {4}errorPolicy:\n {6}maxInvalidRatio: 0.10\n/, ''));
    const error = loadError();
    expect(error.field).toBe('feeds[0].errorPolicy');
    expect(error.message).toContain('is required');
  });

  it('an empty error policy', () => {
    writePartner(ACME_YML.replace(/ {4}errorPolicy:\n {6}maxInvalidRatio: 0.10\n/, '    errorPolicy: {}\n'));
    expect(loadError().field).toBe('feeds[0].errorPolicy');
  });

  it('a key that is not a column of the record schema', () => {
    writePartner(ACME_YML.replace('key: order_id', 'key: order_number'));
    const error = loadError();
    expect(error.file).toBe(partnerFile());
    expect(error.field).toBe('feeds[0].key');
    expect(error.message).toContain('"order_number" is not a column of schema orders v1');
  });

  it('an unknown schema version', () => {
    writePartner(ACME_YML.replace('schema: { id: orders, version: 1 }', 'schema: { id: orders, version: 2 }'));
    const error = loadError();
    expect(error.file).toBe(partnerFile());
    expect(error.field).toBe('feeds[0].schema');
    expect(error.message).toContain('record schema orders v2 not found');
  });

  it('an id that does not match the file name', () => {
    rmSync(partnerFile());
    writePartner(ACME_YML, 'globex.yml');
    const error = loadError();
    expect(error.file).toBe(partnerFile('globex.yml'));
    expect(error.field).toBe('id');
    expect(error.message).toContain('"acme" must match the file name (globex)');
  });

  it('invalid YAML', () => {
    writePartner(`${ACME_YML}feeds: [unclosed\n`);
    const error = loadError();
    expect(error.file).toBe(partnerFile());
    expect(error.field).toBe('');
    expect(error.message).toContain('(root): not valid YAML');
  });

  it('a YAML key given twice', () => {
    writePartner(`${ACME_YML}name: Other\n`);
    expect(loadError().message).toContain('not valid YAML');
  });

  it('an empty partner file', () => {
    writePartner('');
    const error = loadError();
    expect(error.file).toBe(partnerFile());
    expect(error.field).toBe('');
  });

  it('a delimiter equal to the quote character', () => {
    writePartner(ACME_YML.replace(`quote: '"'`, `quote: ","`));
    expect(loadError().field).toBe('feeds[0].format.quote');
  });

  it('a record schema property without a scalar type', () => {
    editSchema((schema) => {
      schema.properties.quantity = { type: ['integer', 'null'], minimum: 1 };
    });
    const error = loadError();
    expect(error.file).toBe(path.join(root, ORDERS_SCHEMA));
    expect(error.field).toBe('properties.quantity.type');
    expect(error.message).toContain('must be one of string, integer, number, boolean');
  });

  it('a record schema property with no type at all', () => {
    editSchema((schema) => {
      schema.properties.email = { format: 'email' };
    });
    const error = loadError();
    expect(error.file).toBe(path.join(root, ORDERS_SCHEMA));
    expect(error.field).toBe('properties.email.type');
  });

  it('a record schema that is not valid JSON', () => {
    writeFileSync(path.join(root, ORDERS_SCHEMA), '{ "type": "object", ');
    const error = loadError();
    expect(error.file).toBe(path.join(root, ORDERS_SCHEMA));
    expect(error.message).toContain('not valid JSON');
  });

  it('a record schema that Ajv refuses (unknown keyword)', () => {
    editSchema((schema) => {
      schema.properties.sku = { type: 'string', patern: '^[A-Z]+$' };
    });
    const error = loadError();
    expect(error.file).toBe(path.join(root, ORDERS_SCHEMA));
    expect(error.message).toContain('not a valid JSON Schema');
  });

  it('a new schema version that kept the old $id', () => {
    editSchema((schema) => {
      schema.properties.quantity = { type: 'integer', minimum: 1, maximum: 5 };
    }, path.join('schemas', 'records', 'orders.v2.schema.json'));
    writePartner(
      `${ACME_YML}  - id: orders-v2\n    files: ["orders2_*.csv"]\n    format: { type: csv, encoding: utf-8 }\n    schema: { id: orders, version: 2 }\n    errorPolicy: { maxInvalidCount: 0 }\n`,
    );
    const error = loadError();
    expect(error.file).toBe(path.join(root, 'schemas', 'records', 'orders.v2.schema.json'));
    expect(error.field).toBe('$id');
  });

  it('a missing partners folder', () => {
    rmSync(path.join(root, 'partners'), { recursive: true });
    expect(loadError().file).toBe(path.join(root, 'partners'));
  });

  it('ignores files that are not YAML', () => {
    mkdirSync(path.join(root, 'partners', 'notes'), { recursive: true });
    writeFileSync(path.join(root, 'partners', 'README.md'), '# partners\n');
    expect([...loadPartnerRegistry({ root }).partners.keys()].sort()).toEqual(['acme', 'globex']);
  });
});
