import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { REPO } from '../helpers/paths.js';

export const SCHEMA = JSON.parse(readFileSync(`${REPO}/docs/events.schema.json`, 'utf8')) as {
  $defs: Record<string, { oneOf?: { $ref: string }[] }>;
};

const ajv = new Ajv2020({ strict: true, allErrors: true });
// RFC 3339 date-time, as Date.prototype.toISOString writes it (and any offset).
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
ajv.addSchema(SCHEMA, 'events');

export function validator(def?: string): ValidateFunction {
  return ajv.getSchema(def ? `events#/$defs/${def}` : 'events')!;
}

/** Validates and returns ajv's errors as text, empty when valid (so a failure shows what is wrong). */
export function errorsOf(validate: ValidateFunction, value: unknown): string {
  return validate(value) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}
