import addFormats from 'ajv-formats';
import Ajv2020 from 'ajv/dist/2020';
import { isCalendarDate } from '../../../src/records/ajv';

// The fast `date` check must agree with ajv-formats' own on every kind of input.
const reference = (() => {
  const ajv = new Ajv2020();
  addFormats(ajv, ['date']);
  const validate = ajv.compile({ type: 'string', format: 'date' });
  return (text: string) => validate(text) as boolean;
})();

test.each([
  '2026-11-20', '2024-02-29', '2000-02-29', '1900-02-29', '2023-02-29', '2026-04-31', '2026-12-31', '2026-13-01',
  '2026-00-10', '2026-01-00', '2026-1-01', '2026-01-1', '20260101', '2026/01/01', ' 2026-01-01', '2026-01-01 ',
  '２０２６-01-01', '2026-0a-01', '', '0000-01-01', '9999-12-31', '2026-01-32',
])('%j is judged like ajv-formats', (text) => {
  expect(isCalendarDate(text)).toBe(reference(text));
});

test('agrees with ajv-formats on every day of four years', () => {
  for (let day = Date.UTC(1999, 0, 1); day < Date.UTC(2003, 0, 1); day += 86_400_000) {
    const text = new Date(day).toISOString().slice(0, 10);
    expect(isCalendarDate(text)).toBe(true);
  }
  for (const year of [1900, 2000, 2023, 2024]) {
    for (let month = 0; month <= 13; month++) {
      for (let day = 0; day <= 32; day++) {
        const text = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
        expect(isCalendarDate(text)).toBe(reference(text));
      }
    }
  }
});
