// The subset of asterisk-ami-client 1.1 that src/ami/ uses (the package ships no typings).
declare module 'asterisk-ami-client' {
  import { EventEmitter } from 'node:events';

  export type AmiMessage = Record<string, string>;

  interface AmiClientOptions {
    reconnect?: boolean;
    maxAttemptsCount?: number | null;
    attemptsDelay?: number;
    keepAlive?: boolean;
    keepAliveDelay?: number;
    emitEventsByTypes?: boolean;
    emitResponsesById?: boolean;
  }

  class AmiClient extends EventEmitter {
    constructor(options?: AmiClientOptions);
    connect(user: string, secret: string, options: { host: string; port: number }): Promise<unknown>;
    disconnect(): this;
    action(message: AmiMessage, promisable: true): Promise<AmiMessage>;
    action(message: AmiMessage, promisable?: false): this;
    readonly isConnected: boolean | null;
  }

  export default AmiClient;
}
