/**
 * The sounds the simulated Asterisk has installed: ser-ari's shipped prompt (dialplan/sounds/, installed as the
 * README says) and a few of Asterisk's core sounds. A `sound:` outside this list fails to play.
 */
export const DEFAULT_SOUNDS: readonly string[] = [
  'ser-abuse-warning',
  'beep',
  'hello-world',
  'demo-congrats',
  'tt-monkeys',
  'queue-thankyou',
  'pls-hold-while-try',
  'vm-goodbye',
];
