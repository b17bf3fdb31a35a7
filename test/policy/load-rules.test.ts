import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SerError } from '../../src/errors.js';
import { ACTION_KINDS } from '../../src/policy/action-schema.js';
import { loadRules, parseRules } from '../../src/policy/load-rules.js';

const ok = { name: 'r1', when: { signal: 'negativity', above: 0.8, for: '5s' }, actions: [{ setVars: { SER_ESCALATE: 1 } }] };
const hangup = {
  name: 'abuse',
  scope: { phases: ['agent'] },
  when: { signal: 'ANG', above: 0.8, for: '20s' },
  actions: [{ hangup: { warn: { media: 'sound:ser-warning', graceSeconds: 10 } } }],
};

function errorOf(doc: unknown, opts = {}): SerError {
  try {
    parseRules(doc, 'rules.yaml', opts);
  } catch (err) {
    expect(err).toBeInstanceOf(SerError);
    expect((err as SerError).code).toBe('RULES_INVALID');
    return err as SerError;
  }
  throw new Error('expected RULES_INVALID');
}

describe('parseRules: defaults', () => {
  it('fills every safety default and the rule defaults from them', () => {
    const set = parseRules({ rules: [ok] });
    expect(set.dryRun).toBe(false);
    expect(set.safety).toEqual({
      maxActionsPerCall: 3,
      minCallAgeSeconds: 10,
      cooldownSeconds: 120,
      maxGapSeconds: 3,
      silence: 'hold',
      hysteresis: { probability: 0.05, loudnessDb: 3 },
      evidencePoints: 60,
      hangup: { maxPerMinute: 2, minSustainSeconds: 10, minCallAgeSeconds: 60, minClassifiedWindows: 30, requireWarning: true, minGraceSeconds: 5, minSpeechAfterWarningSeconds: 3 },
    });
    const [r] = set.rules;
    expect(r).toMatchObject({ shadow: false, forSeconds: 5, cooldownSeconds: 120, minCallAgeSeconds: 10, maxPerCall: 1, scope: { phases: null, queues: null, contexts: null } });
    expect(r!.actions).toEqual([{ kind: 'setVars', vars: { SER_ESCALATE: '1' } }]);
    // Default hysteresis band: clears 0.05 below the threshold.
    expect(r!.when).toMatchObject({ op: 'above', enter: 0.8, exit: expect.closeTo(0.75, 9) });
  });

  it('parses durations, loudness bands in dB, label sums and every action kind', () => {
    const set = parseRules({
      rules: [
        {
          name: 'all-kinds',
          cooldown: '2m',
          minCallAge: '1500ms',
          when: { any: [{ signal: 'loudness', above: -20 }, { signal: 'SAD + FEA', above: 0.5, clearBelow: 0.3 }], for: 7 },
          actions: [
            { priority: { add: 5 } },
            { priority: { set: 10 } },
            { transfer: { queue: 'support' } },
            { transfer: { context: 'agents', extension: '100', priority: 2 } },
            { transfer: { agent: 'PJSIP/alice' } },
            { play: 'sound:beep' },
          ],
        },
      ],
    });
    const [r] = set.rules;
    expect(r!.cooldownSeconds).toBe(120);
    expect(r!.minCallAgeSeconds).toBe(1.5);
    expect(r!.forSeconds).toBe(7);
    expect(r!.when).toEqual({
      any: [
        { signal: { kind: 'field', name: 'loudness', field: 'loudnessDbfs' }, op: 'above', enter: -20, exit: -23 },
        { signal: { kind: 'labels', name: 'SAD+FEA', labels: ['SAD', 'FEA'] }, op: 'above', enter: 0.5, exit: 0.3 },
      ],
    });
    expect(r!.actions.map((a) => a.kind)).toEqual(['priority', 'priority', 'transfer', 'transfer', 'transfer', 'play']);
    expect(r!.actions[5]).toEqual({ kind: 'play', media: 'sound:beep' });
  });

  it('a hang-up rule never gets a call age below safety.hangup.minCallAgeSeconds', () => {
    const set = parseRules({ rules: [{ ...hangup, minCallAge: '5s' }] });
    expect(set.rules[0]!.minCallAgeSeconds).toBe(60);
  });
});

describe('parseRules: BAD RULES (each error names the rule, the key and what is expected)', () => {
  const cases: [string, unknown, string][] = [
    ['clear band on the wrong side', { rules: [ok, { ...ok, name: 'bad', when: { all: [{ signal: 'ANG', above: 0.5, clearBelow: 0.6 }], for: '5s' } }] }, 'rule "bad" (rules[1]) when.all[0].clearBelow: must be <= above (0.5), got 0.6'],
    ['unknown signal', { rules: [{ ...ok, when: { signal: 'anger', above: 0.5, for: '5s' } }] }, 'rule "r1" (rules[0]) when.signal: unknown signal "anger": expected one of ANG, DIS, FEA, HAP, NEU, SAD'],
    ['probability out of range', { rules: [{ ...ok, when: { signal: 'ANG', above: 70, for: '5s' } }] }, 'when.above: ANG is a probability: expected 0..1, got 70'],
    ['both above and below', { rules: [{ ...ok, when: { signal: 'ANG', above: 0.7, below: 0.2, for: '5s' } }] }, 'rule "r1" (rules[0]) when: expected exactly one of above or below'],
    ['missing for', { rules: [{ ...ok, when: { signal: 'ANG', above: 0.7 } }] }, 'rule "r1" (rules[0]) when.for: required'],
    ['bad duration', { rules: [{ ...ok, cooldown: 'soon' }] }, 'rule "r1" (rules[0]) cooldown: expected a duration like 10s, 500ms or 2m, got "soon"'],
    ['typo in a rule key', { rules: [{ ...ok, cooldwon: '5s' }] }, 'rule "r1" (rules[0]) (the rule): Unrecognized key: "cooldwon"'],
    ['typo in a safety key', { safety: { hangup: { maxPerMinit: 3 } }, rules: [] }, 'safety.hangup: Unrecognized key: "maxPerMinit"'],
    ['unknown action', { rules: [{ ...ok, actions: [{ kick: {} }] }] }, `rule "r1" (rules[0]) actions[0]: expected one action, a mapping with a single key: ${ACTION_KINDS.join(', ')}`],
    ['priority with both add and set', { rules: [{ ...ok, actions: [{ priority: { add: 1, set: 2 } }] }] }, 'actions[0].priority.set: exactly one of add or set'],
    ['bad media', { rules: [{ ...ok, actions: [{ play: 'warning.wav' }] }] }, 'actions[0].play.media: an ARI media URI like sound:ser-warning'],
    // The limits the API has always had (issue 15: one validator for both).
    ['a negative priority', { rules: [{ ...ok, actions: [{ priority: { set: -5 } }] }] }, 'actions[0].priority.set: Too small: expected number to be >=0'],
    ['a bad variable name', { rules: [{ ...ok, actions: [{ setVars: { 'SER-X': 1 } }] }] }, 'actions[0].setVars.SER-X: a channel variable name'],
    ['no variable', { rules: [{ ...ok, actions: [{ setVars: {} }] }] }, 'actions[0].setVars: at least one variable'],
    ['a variable value over 1024 characters', { rules: [{ ...ok, actions: [{ setVars: { A: 'x'.repeat(1025) } }] }] }, 'actions[0].setVars.A: Too big'],
    ['a transfer target over 128 characters', { rules: [{ ...ok, actions: [{ transfer: { agent: 'a'.repeat(129) } }] }] }, 'actions[0].transfer.agent: Too big: expected string to have <=128 characters'],
    ['a kind inside the action', { rules: [{ ...ok, actions: [{ priority: { kind: 'hangup', add: 1 } }] }] }, 'actions[0].priority: Unrecognized key: "kind"'],
    ['a bad grace duration', { rules: [{ ...hangup, actions: [{ hangup: { warn: { media: 'sound:w', graceSeconds: 'soon' } } }] }] }, 'actions[0].hangup.warn.graceSeconds: expected a duration like 10s'],
    ['a grace over 600 s', { rules: [{ ...hangup, actions: [{ hangup: { warn: { media: 'sound:w', graceSeconds: '11m' } } }] }] }, 'actions[0].hangup.warn.graceSeconds: Too big: expected number to be <=600'],
    ['an unknown cause', { rules: [{ ...hangup, actions: [{ hangup: { cause: 'sometimes', warn: hangup.actions[0]!.hangup.warn } }] }] }, 'actions[0].hangup.cause: Invalid option'],
    ['bad phase', { rules: [{ ...ok, scope: { phases: ['talking'] } }] }, 'rule "r1" (rules[0]) scope.phases[0]'],
    ['duplicate names', { rules: [ok, ok] }, 'rule "r1" (rules[1]) name: duplicate rule name "r1"'],
    ['hang-up without phases', { rules: [{ ...hangup, scope: {} }] }, 'rule "abuse" (rules[0]) scope.phases: required for a rule that hangs up'],
    ['hang-up without warning', { rules: [{ ...hangup, actions: [{ hangup: { cause: 'normal' } }] }] }, 'rule "abuse" (rules[0]) actions[0].hangup.warn: required: play a warning before hanging up'],
    ['hang-up on a short condition', { rules: [{ ...hangup, when: { signal: 'ANG', above: 0.8, for: '3s' } }] }, 'rule "abuse" (rules[0]) when.for: a rule that hangs up must require at least 10s'],
    ['hang-up with a short grace', { rules: [{ ...hangup, actions: [{ hangup: { warn: { media: 'sound:w', graceSeconds: '2s' } } }] }] }, 'actions[0].hangup.warn.graceSeconds: at least 5s'],
    ['hang-up with another action', { rules: [{ ...hangup, actions: [...hangup.actions, { setVars: { A: 1 } }] }] }, "rule \"abuse\" (rules[0]) actions: a hangup must be the rule's only action"],
  ];
  for (const [what, doc, message] of cases) {
    it(`${what} -> RULES_INVALID`, () => {
      expect(errorOf(doc).message).toContain(message);
    });
  }

  it('the rules file\'s own forms: play shorthand, numbers and booleans as variable values, a variable named kind, durations', () => {
    const set = parseRules({
      rules: [
        { ...ok, actions: [{ play: 'sound:beep' }, { setVars: { kind: true, N: 2 } }] },
        { ...hangup, actions: [{ hangup: { cause: 'busy', warn: { media: 'sound:w', graceSeconds: '1.5m' } } }] },
      ],
    });
    expect(set.rules[0]!.actions).toEqual([{ kind: 'play', media: 'sound:beep' }, { kind: 'setVars', vars: { kind: 'true', N: '2' } }]);
    expect(set.rules[1]!.actions).toEqual([{ kind: 'hangup', cause: 'busy', warn: { media: 'sound:w', graceSeconds: 90 } }]);
  });

  it('a hang-up without warning is accepted only when safety.hangup.requireWarning is false', () => {
    const doc = { safety: { hangup: { requireWarning: false } }, rules: [{ ...hangup, actions: [{ hangup: {} }] }] };
    expect(parseRules(doc).rules[0]!.actions).toEqual([{ kind: 'hangup', cause: 'normal' }]);
  });

  it('conditions may only name the labels of the loaded model', () => {
    const doc = { rules: [{ ...ok, when: { signal: 'DIS', above: 0.5, for: '5s' } }] };
    expect(errorOf(doc, { labels: ['ANG', 'NEU', 'SAD'] }).message).toContain('unknown signal "DIS": expected one of ANG, NEU, SAD');
  });

  it('reports every problem at once', () => {
    const err = errorOf({ rules: [{ ...ok, cooldown: 'x' }, { ...ok, name: 'r2', maxPerCall: 0 }] });
    expect(err.message.split('\n').filter((l) => l.startsWith('  rule'))).toHaveLength(2);
  });
});

describe('loadRules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ser-rules-'));

  it('reads a YAML file', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'rules:\n  - name: r1\n    when: { signal: negativity, above: 0.8, for: 5s }\n    actions:\n      - setVars: { SER_ESCALATE: "1" }\n');
    expect(loadRules(file).rules.map((r) => r.name)).toEqual(['r1']);
  });

  it('an unreadable file -> RULES_FILE_UNREADABLE; bad YAML or a non-mapping -> RULES_INVALID naming the file', () => {
    expect(() => loadRules(join(dir, 'missing.yaml'))).toThrow(expect.objectContaining({ code: 'RULES_FILE_UNREADABLE' }));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'rules: [\n');
    expect(() => loadRules(bad)).toThrow(expect.objectContaining({ code: 'RULES_INVALID', message: expect.stringContaining(`${bad} is not valid YAML`) }));
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expect(() => loadRules(list)).toThrow(expect.objectContaining({ code: 'RULES_INVALID' }));
  });
});
