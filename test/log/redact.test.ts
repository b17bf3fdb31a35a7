import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';

describe('logger', () => {
  it('issue 13: redacts the user info of any URL in a field or message', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger('info', sink);
    log.info({ ari: 'http://ser:s3cret-pw@pbx:8088/', nested: { url: 'https://u:s3cret-pw@h/x' } }, 'starting');
    log.warn('cannot reach ws://ser:s3cret-pw@pbx:8088/ari/events');
    const text = lines.join('');
    expect(text).not.toContain('s3cret-pw');
    expect(text).toContain('http://[redacted]@pbx:8088/');
    expect(text).toContain('ws://[redacted]@pbx:8088/ari/events');
  });
});
