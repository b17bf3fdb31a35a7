import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallRegistry } from '../../src/calls/registry.js';
import { healthReport } from '../../src/console/health.js';
import { EmotionTracker } from '../../src/emotion/tracker.js';
import { EventBus } from '../../src/events/bus.js';
import { emotionEventInput } from '../../src/events/from-tracker.js';
import type { EmotionEvent } from '../../src/events/types.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { observeBus } from '../../src/metrics/observe.js';
import { RuleEngine } from '../../src/policy/engine.js';
import { parseRules } from '../../src/policy/load-rules.js';
import { HAVE_CHROMIUM, launchChromium, type Browser } from '../helpers/chromium.js';
import { REPO } from '../helpers/paths.js';
import { TOKEN, world, type World, RecordingControl } from './support.js';

const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];
const SCREENSHOT = join(REPO, 'test-artifacts', 'console.png');


/** Per caller: the model output of each second (same order as LABELS). */
const CALLERS = {
  'calm-1': { number: '+493012345601', phase: 'queued' as const, queue: 'support', probs: [0.04, 0.03, 0.03, 0.25, 0.6, 0.05] },
  'sad-2': { number: '+493012345602', phase: 'queued' as const, queue: 'support', probs: [0.05, 0.05, 0.1, 0.05, 0.25, 0.5] },
  'abusive-3': { number: '+493012345603', phase: 'agent' as const, queue: null, probs: [0.82, 0.08, 0.03, 0.01, 0.04, 0.02] },
};

describe.skipIf(!HAVE_CHROMIUM)('supervisor console in a real browser', () => {
  let browser: Browser;
  let page: Page;
  let w: World;
  let engine: RuleEngine;
  const control = new RecordingControl();
  const trackers = new Map<string, EmotionTracker>();
  let second = 3;
  const pageErrors: string[] = [];

  /** One second of the simulated run: each caller's window goes through the real tracker, bus and rule engine. */
  function tick(): void {
    second++;
    for (const [callId, caller] of Object.entries(CALLERS)) {
      if (!w.registry.get(callId)) continue;
      const tracker = trackers.get(callId)!;
      const update = tracker.observe({ start: second - 3, end: second, speechRatio: 0.8, dbfs: -21, probs: Float32Array.from(caller.probs), completedAt: performance.now() });
      const event = w.bus.publish(emotionEventInput(update)) as EmotionEvent;
      w.registry.update(callId, { lastEmotion: event });
      engine.observe(update);
    }
  }

  beforeAll(async () => {
    const bus = new EventBus();
    const registry = new CallRegistry(bus);
    const metrics = new Metrics();
    observeBus(metrics, bus);
    const logger = (await import('../../src/log/logger.js')).createLogger('silent');
    engine = new RuleEngine({
      rules: parseRules({
        safety: { minCallAgeSeconds: 0, cooldownSeconds: 0, hangup: { minCallAgeSeconds: 0, minClassifiedWindows: 1, minSustainSeconds: 3 } },
        rules: [
          {
            name: 'abuse',
            scope: { phases: ['agent'] },
            when: { signal: 'ANG', above: 0.6, for: '3s' },
            alert: 'sustained anger',
            actions: [{ hangup: { cause: 'normal', warn: { media: 'sound:ser-warning', graceSeconds: '300s' } } }],
          },
        ],
      }),
      control,
      registry,
      bus,
      logger,
    });
    w = await world({
      bus,
      registry,
      metrics,
      actions: engine,
      health: () => healthReport({ ari: { connected: true, reconnects: 0 }, model: { loaded: true, name: 'ser-cnn' }, ports: { free: 997, total: 1000 } }),
    });
    browser = await launchChromium();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await browser?.close();
    engine?.close();
    await w?.server.close();
  });

  it('shows calls and emotion updates as they arrive, and cancels a pending hang-up', async () => {
    await page.goto(w.server.url);
    await expect.poll(() => page.locator('#conn').getAttribute('data-state')).toBe('live');
    await expect.poll(() => page.locator('#no-calls').isVisible()).toBe(true);

    for (const [callId, c] of Object.entries(CALLERS)) {
      w.registry.add({ callId, channelName: `PJSIP/trunk-${callId}`, callerNumber: c.number, callerName: null, mode: c.queue ? 'queue' : 'monitor', phase: c.phase, queue: c.queue });
      trackers.set(callId, new EmotionTracker(callId, LABELS, 0.5));
    }
    // Calls appear with their caller id and phase.
    await expect.poll(() => page.locator('#calls tbody tr').count()).toBe(3);
    const row = (id: string) => page.locator(`#calls tbody tr[data-call-id="${id}"]`);
    await expect.poll(() => row('calm-1').innerText()).toContain('+493012345601');
    await expect.poll(() => row('abusive-3').innerText()).toContain('agent');
    await expect.poll(() => row('calm-1').innerText()).toContain('support');

    // Emotion updates arrive and move the bars; the abusive caller's sustained anger opens a pending hang-up.
    for (let s = 0; s < 5; s++) {
      tick();
      await new Promise((r) => setTimeout(r, 150));
    }
    const bar = (id: string, label: string) => row(id).locator(`.vbar[data-label="${label}"]`).getAttribute('data-value');
    await expect.poll(async () => Number(await bar('abusive-3', 'ANG'))).toBeGreaterThan(0.75);
    await expect.poll(async () => Number(await bar('calm-1', 'NEU'))).toBeGreaterThan(0.55);
    await expect.poll(async () => Number(await bar('sad-2', 'SAD'))).toBeGreaterThan(0.45);
    expect(Number(await bar('calm-1', 'ANG'))).toBeLessThan(0.1);

    expect(control.ops).toEqual(['play:abusive-3']); // the warning, not the hang-up
    const pending = engine.pending('abusive-3');
    expect(pending).toHaveLength(1);
    // The pending hang-up is on the row itself, with its countdown and a Cancel button.
    await expect.poll(() => row('abusive-3').locator('[data-pending] .countdown').innerText()).toMatch(/^\d+:\d\d$/);
    await expect.poll(() => row('abusive-3').innerText()).toContain('abuse'); // the alert badge

    // The detail: big bars, a uPlot timeline, the alert and the pending action with its Cancel button.
    await row('abusive-3').click();
    await expect.poll(() => page.locator('#detail').isVisible()).toBe(true);
    await expect.poll(() => page.locator('#d-title').innerText()).toBe('+493012345603');
    await expect.poll(async () => Number(await page.locator('#d-bars .track[data-label="ANG"]').getAttribute('data-value'))).toBeGreaterThan(0.75);
    await expect.poll(() => page.locator('#d-chart .uplot canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#d-alerts').innerText()).toContain('sustained anger');
    expect(await page.locator('#d-ended').isVisible()).toBe(false);
    for (const id of Object.keys(CALLERS)) expect(await row(id).innerText()).not.toMatch(/null|undefined|NaN/);
    for (let s = 0; s < 3; s++) {
      tick();
      await new Promise((r) => setTimeout(r, 150));
    }
    const item = page.locator(`#d-actions li[data-action-id="${pending[0]!.actionId}"]`);
    await expect.poll(() => item.getAttribute('data-outcome')).toBe('pending');
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-pending.png'), fullPage: true });

    await item.getByRole('button', { name: /Cancel/ }).click();
    // The cancellation reaches the rule engine, and its cancelled event comes back to the page.
    await expect.poll(() => engine.pending('abusive-3').length).toBe(0);
    await expect.poll(() => item.getAttribute('data-outcome')).toBe('cancelled');
    await expect.poll(() => item.innerText()).toContain('cancelled by console');
    await expect.poll(() => row('abusive-3').locator('[data-pending]').count()).toBe(0);

    // Time passes beyond nothing: the hang-up never executes.
    tick();
    expect(control.ops).toEqual(['play:abusive-3']);

    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  });

  it('forces an action from the page through the API, and a call that ends leaves the table', async () => {
    await page.locator('#calls tbody tr[data-call-id="sad-2"]').click();
    await expect.poll(() => page.locator('#d-title').innerText()).toBe('+493012345602');
    await page.locator('#force select[name="kind"]').selectOption('transfer');
    await page.locator('#force input[name="queue"]').fill('vip');
    await page.locator('#force button[type="submit"]').click();
    await expect.poll(() => page.locator('#force-result').innerText()).toBe('done');
    expect(control.ops).toContain('transfer:sad-2');
    await expect.poll(() => page.locator('#d-actions').innerText()).toContain('transfer to vip');

    w.registry.remove('calm-1', 'caller hung up', { durationSeconds: 9, windows: 9, classified: 9, meanProbs: null, dominant: 'NEU', peakNegativity: 0.2, actionsExecuted: 0, rtp: null });
    engine.callEnded('calm-1');
    await expect.poll(() => page.locator('#calls tbody tr[data-call-id="calm-1"]').getAttribute('class')).toContain('ended');
    await expect.poll(() => page.locator('#calls tbody tr').count(), { timeout: 15_000 }).toBe(2);
    expect(pageErrors).toEqual([]);
  });
});

describe.skipIf(!HAVE_CHROMIUM)('supervisor console behind a token, in a real browser', () => {
  it('asks for the token, refuses a wrong one, then connects with the right one', async () => {
    const w = await world({ token: TOKEN });
    const browser = await launchChromium();
    try {
      w.registry.add({ callId: 'k1', channelName: 'PJSIP/k1', callerNumber: '+4940111', callerName: 'Kim', mode: 'monitor', phase: 'ivr' });
      const page = browser.context.pages()[0] ?? (await browser.context.newPage());
      await page.goto(w.server.url);
      await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
      expect(await page.locator('#calls tbody tr').count()).toBe(0);
      await page.locator('#login-token').fill('not-the-token-at-all');
      await page.locator('#login button[type="submit"]').click();
      await expect.poll(() => page.locator('#login-error').innerText()).toContain('refused');
      await page.locator('#login-token').fill(TOKEN);
      await page.locator('#login button[type="submit"]').click();
      await expect.poll(() => page.locator('#conn').getAttribute('data-state')).toBe('live');
      await expect.poll(() => page.locator('#calls tbody tr[data-call-id="k1"]').innerText()).toContain('Kim');
      // A link carrying the token signs in once and leaves the address bar clean.
      const second = await browser.context.newPage();
      await second.goto(`${w.server.url}/?token=${TOKEN}`);
      await expect.poll(() => second.locator('#conn').getAttribute('data-state')).toBe('live');
      expect(second.url()).not.toContain('token');
      expect(await second.locator('#login').isVisible()).toBe(false);
    } finally {
      await browser.close();
      await w.server.close();
    }
  });
});
