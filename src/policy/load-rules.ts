import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { SerError } from '../errors.js';
import { rulesSchema, type RuleSet, type RulesSchemaOptions } from './rules-schema.js';

/**
 * Reads and validates the rules file at start-up (never on first use): a bad rule stops the program
 * with RULES_INVALID naming the rule, the key and what was expected.
 */
export function loadRules(path: string, opts: RulesSchemaOptions = {}): RuleSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SerError('RULES_FILE_UNREADABLE', `cannot read rules file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const detail = err instanceof YAMLParseError ? err.message : String(err);
    throw new SerError('RULES_INVALID', `${path} is not valid YAML: ${detail}`);
  }
  return parseRules(doc ?? {}, path, opts);
}

/** Validates an already-parsed rules document; `source` names it in error messages. */
export function parseRules(doc: unknown, source = 'rules', opts: RulesSchemaOptions = {}): RuleSet {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new SerError('RULES_INVALID', `${source}: the top level must be a mapping (dryRun, safety, rules)`);
  }
  const result = rulesSchema(opts).safeParse(doc);
  if (!result.success) throw rulesError(result.error, doc as Record<string, unknown>, source);
  return result.data;
}

function rulesError(error: z.ZodError, doc: Record<string, unknown>, source: string): SerError {
  const rules = Array.isArray(doc.rules) ? (doc.rules as unknown[]) : [];
  const lines = error.issues.map((issue) => {
    const path = issue.path as (string | number)[];
    if (path[0] === 'rules' && typeof path[1] === 'number') {
      const raw = rules[path[1]];
      const name = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? ` "${(raw as { name: string }).name}"` : '';
      return `  rule${name} (rules[${path[1]}]) ${formatPath(path.slice(2)) || '(the rule)'}: ${issue.message}`;
    }
    return `  ${formatPath(path) || '(top level)'}: ${issue.message}`;
  });
  return new SerError('RULES_INVALID', `invalid rules file ${source}:\n${lines.join('\n')}`);
}

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');
}
