import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SerEventInput } from '../../src/events/types.js';
import { errorsOf, validator } from './schema.js';
import { addCall, probs, sseClient, world, wsClient, type Collector, type World } from './support.js';

function emotion(callId: string, seq: number): SerEventInput {
  const p = probs(seq % 2 ? 'ANG' : 'NEU', 0.6);
  return { type: 'emotion', callId, seq, start: seq, end: seq + 3, speech: true, speechRatio: 0.9, loudnessDbfs: -20, probs: p, dominant: seq % 2 ? 'ANG' : 'NEU', confidence: 0.6, negativity: 0.5, arousal: 0.4, adjusted: p, adjustedNegativity: 0.5, baselineWindows: 0, baselineNegativity: null, familiarity: null, latencyMs: 12 };
}

/** A large action event (about 20 kB of evidence), to fill socket buffers with few events. */
function bulky(callId: string, n: number): SerEventInput {
  const evidence = Array.from({ length: 120 }, (_, t) => ({ t, probs: probs('ANG', 0.8), negativity: 0.9, loudnessDbfs: -18, speechRatio: 0.8 }));
  return { type: 'action', callId, actionId: `a${n}`, rule: 'abuse', kind: 'play', params: { media: 'sound:x' }, outcome: 'proposed', reason: null, dueAt: null, shadow: false, evidence };
}

/** Opens /events with a hand-made handshake and never reads: a consumer that has stopped draining. */
async function stalledWs(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const sock = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.write(
    `GET /events HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => sock.once('data', () => resolve()));
  sock.pause();
  return sock;
}

const types = (c: Collector) => c.messages.map((m) => m.type);

describe('event stream', () => {
  let w: World;
  const clients: { close(): void }[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await w.server.close();
  });

  it('delivers the hello and then every event, in order, over WebSocket and SSE alike', async () => {
    w = await world();
    const ws = await wsClient(w.server.url);
    const sse = await sseClient(w.server.url);
    clients.push(ws, sse);
    await ws.next((m) => m.type === 'hello');
    await sse.next((m) => m.type === 'hello');
    addCall(w.registry, 'c1');
    for (let i = 1; i <= 5; i++) w.bus.publish(emotion('c1', i));
    w.registry.remove('c1', 'hangup', { durationSeconds: 5, windows: 5, classified: 5, meanProbs: probs('ANG'), dominant: 'ANG', peakNegativity: 0.6, actionsExecuted: 0, rtp: null });
    for (const c of [ws, sse]) {
      await c.next((m) => m.type === 'call.ended', 'call.ended');
      expect(types(c)).toEqual(['hello', 'call.started', 'emotion', 'emotion', 'emotion', 'emotion', 'emotion', 'call.ended']);
      expect(c.messages.filter((m) => m.type === 'emotion').map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
      for (const m of c.messages) expect(errorsOf(validator(), m)).toBe('');
    }
  });

  it('filters by call, by queue (also for events that do not carry one) and by type or type prefix', async () => {
    w = await world();
    addCall(w.registry, 'q1', { queue: 'support' });
    addCall(w.registry, 'm1');
    const byCall = await wsClient(w.server.url, '?callId=m1');
    const byQueue = await sseClient(w.server.url, '?queue=support');
    const byType = await wsClient(w.server.url, '?type=call.,alert');
    const emotionsOfQ1 = await wsClient(w.server.url, '?type=emotion&callId=q1,nobody');
    clients.push(byCall, byQueue, byType, emotionsOfQ1);
    for (const c of [byCall, byQueue, byType, emotionsOfQ1]) await c.next((m) => m.type === 'hello');
    expect(((byQueue.messages[0]!.calls as { callId: string }[]).map((c) => c.callId))).toEqual(['q1']);
    expect(((byCall.messages[0]!.calls as { callId: string }[]).map((c) => c.callId))).toEqual(['m1']);

    w.bus.publish(emotion('q1', 1));
    w.bus.publish(emotion('m1', 1));
    w.bus.publish({ type: 'alert', callId: 'm1', state: 'raised', rule: 'r', message: 'm' });
    w.registry.update('m1', { phase: 'queued', queue: 'support' }); // m1 joins the queue
    w.bus.publish(emotion('m1', 2));
    w.bus.publish({ type: 'queue.position', callId: 'q1', queue: 'support', position: 2, priority: 0, waiting: 2 });
    addCall(w.registry, 'end'); // marks the end of the sequence for every consumer but the call filters
    w.bus.publish(emotion('q1', 2));

    await byType.next((m) => m.type === 'call.started' && m.callId === 'end');
    await emotionsOfQ1.next((m) => m.seq === 2);
    await byQueue.next((m) => m.type === 'emotion' && m.callId === 'q1' && m.seq === 2);
    await byCall.next((m) => m.type === 'emotion' && m.seq === 2);

    const summary = (c: Collector) => c.messages.slice(1).map((m) => `${m.type}:${m.callId}`);
    expect(summary(byCall)).toEqual(['emotion:m1', 'alert:m1', 'call.phase:m1', 'emotion:m1']);
    expect(summary(byQueue)).toEqual(['emotion:q1', 'call.phase:m1', 'emotion:m1', 'queue.position:q1', 'emotion:q1']);
    expect(summary(byType)).toEqual(['alert:m1', 'call.phase:m1', 'call.started:end']);
    expect(summary(emotionsOfQ1)).toEqual(['emotion:q1', 'emotion:q1']);
  });

  it('drops events for a consumer that stops reading, counts them, and keeps a fast consumer complete', async () => {
    w = await world({ streamCapacity: 20 });
    addCall(w.registry, 'c1');
    const fast = await wsClient(w.server.url);
    const stalledSse = await sseClient(w.server.url);
    clients.push(fast, stalledSse);
    await stalledSse.next((m) => m.type === 'hello');
    stalledSse.res.pause();
    const stalled = await stalledWs(w.server.url);
    clients.push({ close: () => stalled.destroy() });
    await fast.next((m) => m.type === 'hello');

    const total = 1500; // ~30 MB each: more than loopback socket buffers hold
    for (let n = 0; n < total; n++) {
      w.bus.publish(bulky('c1', n));
      // The fast consumer reads everything before the next burst (it shares this event loop).
      if (n % 10 === 9) await fast.next((m) => m.actionId === `a${n}`, `event ${n}`);
    }
    await fast.next((m) => m.type === 'action' && m.actionId === `a${total - 1}`, 'the last event');
    expect(fast.messages.filter((m) => m.type === 'action')).toHaveLength(total);
    expect(fast.messages.some((m) => m.type === 'gap')).toBe(false);

    const stats = w.server.stream.stats();
    const byTransport = (t: string) => stats.filter((s) => s.transport === t && s.dropped > 0);
    expect(byTransport('ws')).toHaveLength(1);
    expect(byTransport('sse')).toHaveLength(1);
    for (const s of stats) expect(s.queued).toBeLessThanOrEqual(21);
    const fastStats = stats.find((s) => s.dropped === 0)!;
    expect(fastStats.delivered).toBe(total + 1);
    const metrics = await (await fetch(`${w.server.url}/metrics`)).text();
    const wsDrops = Number(/ser_event_stream_drops_total\{transport="ws"\} (\d+)/.exec(metrics)![1]);
    const sseDrops = Number(/ser_event_stream_drops_total\{transport="sse"\} (\d+)/.exec(metrics)![1]);
    expect(wsDrops).toBe(byTransport('ws')[0]!.dropped);
    expect(sseDrops).toBe(byTransport('sse')[0]!.dropped);

    // The SSE consumer reads again: it gets what was queued, and a gap notice where events were
    // missed (one per stretch of drops: while paused, its socket still took some now and then).
    const dropped = byTransport('sse')[0]!.dropped;
    stalledSse.res.resume();
    w.bus.publish(bulky('c1', total));
    await stalledSse.next((m) => m.type === 'action' && m.actionId === `a${total}`, 'the event after the gap');
    const gaps = stalledSse.messages.filter((m) => m.type === 'gap');
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps.reduce((sum, g) => sum + (g.dropped as number), 0)).toBe(dropped);
    for (const g of gaps) expect(errorsOf(validator(), g)).toBe('');
    const actions = stalledSse.messages.filter((m) => m.type === 'action');
    expect(actions.length + dropped).toBe(total + 1);
    // Each gap sits exactly where its events are missing.
    let expected = 0;
    for (const m of stalledSse.messages.slice(1)) {
      if (m.type === 'gap') expected += m.dropped as number;
      else expect(m.actionId).toBe(`a${expected++}`);
    }
    expect(stalledSse.messages.at(-1)).toMatchObject({ actionId: `a${total}` });
  });

  it('writes nothing on the publisher\'s turn: a burst of publishes only queues, the sockets are written afterwards', async () => {
    w = await world({ streamCapacity: 50 });
    const ws = await wsClient(w.server.url);
    clients.push(ws);
    await ws.next((m) => m.type === 'hello');
    const delivered = () => w.server.stream.stats()[0]!.delivered;
    const before = delivered();
    for (let i = 1; i <= 200; i++) w.bus.publish(emotion('c1', i));
    const stats = w.server.stream.stats()[0]!;
    expect(stats.delivered).toBe(before);
    expect(stats.queued).toBe(50);
    expect(stats.dropped).toBe(150);
    await ws.next((m) => m.type === 'emotion' && m.seq === 50);
    expect(delivered()).toBe(before + 50);
  });

  it('forgets a consumer when it disconnects', async () => {
    w = await world();
    const ws = await wsClient(w.server.url);
    const sse = await sseClient(w.server.url);
    await ws.next((m) => m.type === 'hello');
    await sse.next((m) => m.type === 'hello');
    expect(w.server.stream.size).toBe(2);
    ws.close();
    sse.close();
    for (let i = 0; i < 100 && w.server.stream.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(w.server.stream.size).toBe(0);
    const metrics = await (await fetch(`${w.server.url}/metrics`)).text();
    expect(metrics).toContain('ser_event_stream_consumers{transport="ws"} 0');
    expect(metrics).toContain('ser_event_stream_consumers{transport="sse"} 0');
  });
});
