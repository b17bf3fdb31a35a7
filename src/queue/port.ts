/**
 * What the built-in queue needs of the switch: holding and mixing bridges, agent legs, music on hold,
 * endpoint states. The ARI adapter implements it over ari-client (src/ari/queue-ari.ts); tests may
 * drive the queue through it against the simulator. Every method rejects within a deadline, with the
 * far end's message and, when known, its HTTP status as `status` (404: the object is gone).
 */
/** The ARI events the queue reacts to, reduced to what it reads. */
export type QueueAriEvent =
  | { type: 'StasisStart'; channelId: string; args: string[] }
  | { type: 'StasisEnd'; channelId: string }
  | { type: 'ChannelDestroyed'; channelId: string; cause: number }
  | { type: 'EndpointStateChange'; endpoint: string; state: string };

export interface QueueAri {
  originate(p: { endpoint: string; channelId: string; appArgs: string; timeoutSeconds: number; originator?: string; callerId?: string }): Promise<void>;
  hangup(channelId: string, reason?: string): Promise<void>;
  answer(channelId: string): Promise<void>;
  createBridge(p: { bridgeId: string; type: 'holding' | 'mixing'; name: string }): Promise<void>;
  destroyBridge(bridgeId: string): Promise<void>;
  listBridges(): Promise<Array<{ id: string; name: string; channels: string[] }>>;
  startMoh(bridgeId: string, mohClass: string): Promise<void>;
  addChannels(bridgeId: string, channelIds: string[]): Promise<void>;
  removeChannel(bridgeId: string, channelId: string): Promise<void>;
  continueInDialplan(channelId: string): Promise<void>;
  setVariable(channelId: string, name: string, value: string): Promise<void>;
  /** null when the variable is not set. */
  getVariable(channelId: string, name: string): Promise<string | null>;
  /** ARI endpoint state (`online`, `offline`, `unknown`), null when the endpoint is unknown to the switch. */
  endpointState(endpoint: string): Promise<string | null>;
  /** Asks for EndpointStateChange events of these endpoints (ARI sends them only to subscribed apps). */
  subscribeEndpoints(endpoints: string[]): Promise<void>;
  /** Returns the unsubscribe function. */
  onEvent(listener: (event: QueueAriEvent) => void): () => void;
}

