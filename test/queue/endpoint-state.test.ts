import { describe, expect, it } from 'vitest';
import { CallRegistry } from '../../src/calls/registry.js';
import { EventBus } from '../../src/events/bus.js';
import { createLogger } from '../../src/log/logger.js';
import type { QueueAri, QueueAriEvent } from '../../src/queue/port.js';
import { PriorityQueue } from '../../src/queue/queue.js';

/**
 * A switch that accepts every request and records it: enough to watch the queue's decisions about
 * agent availability, which the simulator cannot drive (it sends no EndpointStateChange).
 */
class RecordingAri implements QueueAri {
  readonly calls: Array<[string, unknown]> = [];
  readonly states = new Map<string, string>();
  #listener: ((e: QueueAriEvent) => void) | null = null;
  emit(e: QueueAriEvent): void {
    this.#listener?.(e);
  }
  onEvent(l: (e: QueueAriEvent) => void) {
    this.#listener = l;
    return () => (this.#listener = null);
  }
  #rec = async (name: string, arg: unknown) => void this.calls.push([name, arg]);
  originate = (p: Parameters<QueueAri['originate']>[0]) => this.#rec('originate', p);
  hangup = (id: string) => this.#rec('hangup', id);
  answer = (id: string) => this.#rec('answer', id);
  createBridge = (p: unknown) => this.#rec('createBridge', p);
  destroyBridge = (id: string) => this.#rec('destroyBridge', id);
  listBridges = async () => [];
  startMoh = (id: string) => this.#rec('startMoh', id);
  addChannels = (id: string, chans: string[]) => this.#rec('addChannels', [id, chans]);
  removeChannel = (id: string, chan: string) => this.#rec('removeChannel', [id, chan]);
  continueInDialplan = (id: string) => this.#rec('continue', id);
  setVariable = (id: string, n: string, v: string) => this.#rec('setVariable', [id, n, v]);
  getVariable = async () => null;
  endpointState = async (e: string) => this.states.get(e) ?? null;
  subscribeEndpoints = (e: string[]) => this.#rec('subscribe', e);
}

function setup() {
  const port = new RecordingAri();
  const bus = new EventBus();
  const q = new PriorityQueue(
    { name: 'support', agents: ['PJSIP/1001', 'PJSIP/1002'], ringTimeoutSeconds: 30, retrySeconds: 0, moh: 'default', maxWaitSeconds: null },
    { ari: port, registry: new CallRegistry(bus), bus, logger: createLogger('silent') },
  );
  port.onEvent((e) => q.handleEvent(e));
  return { port, q };
}

const rung = (port: RecordingAri) => port.calls.filter(([n]) => n === 'originate').map(([, p]) => (p as { endpoint: string }).endpoint);

describe('agent availability from endpoint state', () => {
  it('an agent offline at start is not rung; when its endpoint comes online a waiting caller rings it', async () => {
    const { port, q } = setup();
    port.states.set('PJSIP/1001', 'offline');
    port.states.set('PJSIP/1002', 'offline');
    await q.start();
    expect(port.calls).toContainEqual(['subscribe', ['PJSIP/1001', 'PJSIP/1002']]);
    await q.admit('caller-1', 'Up');
    expect(rung(port)).toEqual([]);
    port.emit({ type: 'EndpointStateChange', endpoint: 'PJSIP/1002', state: 'online' });
    expect(rung(port)).toEqual(['PJSIP/1002']);
    expect(q.agents().map((a) => a.state)).toEqual(['offline', 'ringing']);
    await q.stop();
  });

  it('an agent going offline is not rung for the next caller', async () => {
    const { port, q } = setup();
    await q.start(); // both endpoints unknown to the switch: reachable
    port.emit({ type: 'EndpointStateChange', endpoint: 'PJSIP/1001', state: 'offline' });
    await q.admit('caller-1', 'Up');
    expect(rung(port)).toEqual(['PJSIP/1002']);
    await q.stop();
  });

  it('a caller not yet answered is answered before it hears music on hold', async () => {
    const { port, q } = setup();
    await q.admit('caller-1', 'Ring');
    const names = port.calls.map(([n]) => n);
    expect(names.indexOf('answer')).toBeGreaterThanOrEqual(0);
    expect(names.indexOf('answer')).toBeLessThan(names.indexOf('addChannels'));
    await q.stop();
  });
});
