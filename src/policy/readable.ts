import type { RuleInfo } from '../console/api-history.js';
import { describe } from './condition.js';
import type { Condition, DerivedSignal, FieldSignal, Leaf, Rule } from './rules-schema.js';

const LABEL_WORDS: Record<string, string> = { ANG: 'anger', DIS: 'disgust', FEA: 'fear', HAP: 'happiness', NEU: 'neutral', SAD: 'sadness' };

const SIGNAL_WORDS: Record<FieldSignal | DerivedSignal, string> = {
  negativityRise: 'negativity above this caller\'s usual',
  negativity: 'negativity',
  arousal: 'arousal',
  confidence: 'confidence',
  loudness: 'loudness',
  speechRatio: 'speech',
  adjustedNegativity: 'negativity above this caller\'s usual',
  baselineNegativity: 'this caller\'s usual negativity',
  familiarity: 'voice familiarity',
};

function signalWords(leaf: Leaf): string {
  const s = leaf.signal;
  if (s.kind === 'labels') return s.labels.map((l) => LABEL_WORDS[l] ?? l).join('/');
  return SIGNAL_WORDS[s.name];
}

function leafWords(leaf: Leaf): string {
  if (leaf.signal.kind === 'field' && leaf.signal.name === 'loudness') return `loudness ${leaf.op} ${leaf.enter} dBFS`;
  if (leaf.signal.kind === 'derived') {
    return `negativity ${Math.round(Math.abs(leaf.enter) * 100)} points ${leaf.enter >= 0 ? 'above' : 'below'} this caller's usual${leaf.op === 'below' ? ' or less' : ''}`;
  }
  const pct = `${Math.round(leaf.enter * 100)}%`;
  return `${signalWords(leaf)} ${leaf.op} ${pct}`;
}

/** "speechRatio above x" reads as "while speaking", said once at the end. */
function isSpeaking(c: Condition): boolean {
  return !('all' in c) && !('any' in c) && c.signal.kind === 'field' && c.signal.name === 'speechRatio' && c.op === 'above';
}

function words(c: Condition): string {
  if ('all' in c) return c.all.filter((x) => !isSpeaking(x)).map((x) => ('any' in x ? `(${words(x)})` : words(x))).join(' and ');
  if ('any' in c) return c.any.map((x) => ('all' in x ? `(${words(x)})` : words(x))).join(' or ');
  return leafWords(c);
}

function seconds(s: number): string {
  return s >= 120 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

/**
 * A rule's condition in words for the supervisor ("Anger/disgust above 75% and negativity above 85%
 * for 20 s while speaking"), next to the rule syntax the rules file uses.
 */
export function readableRule(rule: Rule): RuleInfo {
  const speaking = isSpeaking(rule.when) || ('all' in rule.when && rule.when.all.some(isSpeaking));
  const text = words(rule.when);
  const readable = `${text.charAt(0).toUpperCase()}${text.slice(1)} for ${seconds(rule.forSeconds)}${speaking ? ' while speaking' : ''}`;
  const kinds = rule.actions.map((a) => a.kind);
  const severity = kinds.includes('hangup') ? 3 : kinds.includes('transfer') ? 2 : 1;
  return { name: rule.name, alert: rule.alert, readable, syntax: `${describe(rule.when)} for ${rule.forSeconds}s`, severity, shadow: rule.shadow };
}
