import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SerEvent } from '../../src/events/types.js';
import type { Service } from '../../src/service/service.js';
import { HAVE_CHROMIUM, launchChromium, type Browser } from '../helpers/chromium.js';
import { HAVE_CREMA_D, REPO, testActorSpeech } from '../helpers/paths.js';
import { actionsOf, startTestService } from './support.js';

const SCREENSHOT = join(REPO, 'test-artifacts', 'console-live.png');

/** A hang-up that stays pending (long grace) so a supervisor can cancel it from the page. */
const RULES = `
safety:
  minCallAgeSeconds: 3
  hangup: { minCallAgeSeconds: 10, minClassifiedWindows: 8, minSustainSeconds: 10, minGraceSeconds: 5 }
rules:
  - name: agent-abuse-warn-hangup
    scope: { phases: [agent] }
    alert: sustained abuse, warning the caller
    when:
      all:
        - { signal: negativity, above: 0.75, clearBelow: 0.45 }
        - { signal: ANG+DIS, above: 0.55, clearBelow: 0.2 }
      for: 10s
    actions:
      - hangup: { cause: normal, warn: { media: "sound:ser-abuse-warning", graceSeconds: 600s } }
`;

/**
 * The supervisor console during a simulated run: the whole service (simulated PBX, real ARI, RTP,
 * model, queue and rules) with two callers, watched in Chromium. The supervisor sees the calls and
 * their emotion, and cancels the pending hang-up of the abusive caller from the page.
 */
describe.skipIf(!HAVE_CREMA_D || !HAVE_CHROMIUM)('console in a real browser during a simulated run', () => {
  let service: Service;
  let browser: Browser;
  let events: SerEvent[] = [];

  beforeAll(async () => {
    ({ service, events } = await startTestService(RULES, '44100-44199'));
    browser = await launchChromium();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('shows the live calls and their emotion, and cancels a pending hang-up from the page', async () => {
    const sim = service.sim!;
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(service.consoleUrl);

    const abusive = await sim.placeCall({ number: '+15550102', name: 'Abusive caller', stasisArgs: ['queue', 'support'], audio: testActorSpeech('ANG', 8, 4), loop: true });
    const calm = await sim.placeCall({ number: '+15550100', name: 'Calm caller', stasisArgs: ['queue', 'support'], audio: testActorSpeech('NEU', 8, 2), loop: true });
    const row = (id: string) => page.locator(`#calls tbody tr[data-call-id="${id}"]`);
    await expect.poll(() => row(abusive).innerText(), { timeout: 10_000 }).toContain('+15550102');
    await expect.poll(() => row(calm).innerText(), { timeout: 10_000 }).toContain('+15550100');
    await expect.poll(() => row(abusive).innerText(), { timeout: 10_000 }).toContain('agent');

    // The model's per-second verdicts reach the bars: anger for one caller, neutral for the other.
    const bar = async (id: string, label: string) => Number(await row(id).locator(`.vbar[data-label="${label}"]`).getAttribute('data-value'));
    await expect.poll(() => bar(abusive, 'ANG'), { timeout: 20_000 }).toBeGreaterThan(0.5);
    await expect.poll(() => bar(calm, 'NEU'), { timeout: 20_000 }).toBeGreaterThan(0.3);

    // Sustained anger with the agent: the warning is played and the hang-up waits for its grace period.
    await expect.poll(() => service.rules!.pending(abusive).length, { timeout: 60_000 }).toBe(1);
    const pending = service.rules!.pending(abusive)[0]!;
    await row(abusive).click();
    const item = page.locator(`#d-actions li[data-action-id="${pending.actionId}"]`);
    await expect.poll(() => item.getAttribute('data-outcome'), { timeout: 10_000 }).toBe('pending');
    await expect.poll(() => page.locator('#d-chart .uplot canvas').count()).toBeGreaterThan(0);
    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await item.getByRole('button', { name: /Cancel/ }).click();
    await expect.poll(() => item.getAttribute('data-outcome')).toBe('cancelled');
    expect(service.rules!.pending(abusive)).toEqual([]);
    const outcomes = actionsOf(events, abusive).map((a) => a.outcome);
    expect(outcomes).toContain('cancelled');
    expect(outcomes).not.toContain('executed');
    expect(sim.channel(abusive)).toMatchObject({ hungUp: false });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
