/** What `ser-ari run` wires in: load the rules at start-up, build the engine, feed it updates. */
export { loadRules, parseRules } from './load-rules.js';
export { RuleEngine, type Clock, type RuleEngineOptions } from './engine.js';
export type { ActionControl, ActionSpec, PendingAction } from './control.js';
export type { Rule, RuleSet, Safety } from './rules-schema.js';
