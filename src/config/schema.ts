import { z } from 'zod';

const portRange = z
  .string()
  .regex(/^\d{1,5}-\d{1,5}$/, 'a port range like "40000-40999"')
  .refine((s) => {
    const [min, max] = s.split('-').map(Number) as [number, number];
    return min >= 1024 && max <= 65535 && min <= max;
  }, 'a range within 1024-65535 with min <= max');

export const configSchema = z
  .object({
    ari: z
      .object({
        url: z
          .url({ protocol: /^https?$/, error: 'an http:// or https:// URL of Asterisk ARI' })
          .nullable()
          .default(null)
          .describe('http(s) base of Asterisk ARI; null runs the built-in simulator'),
        user: z.string().min(1).default('ser'),
        password: z.string().default(''),
        app: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a Stasis app name (letters, digits, _ or -)').default('ser'),
        requestTimeoutMs: z.int().min(100).max(60000).default(5000),
        reconnectMinMs: z.int().min(10).max(60000).default(500),
        reconnectMaxMs: z.int().min(100).max(600000).default(30000),
        tapFormat: z.enum(['ulaw', 'slin16']).default('ulaw').describe('externalMedia format of the tap'),
        tapHealthMs: z.int().min(100).max(30000).default(1000).describe('a tap with no RTP this long after bridging is rebuilt'),
        tapRetries: z.int().min(0).max(10).default(2),
        maxTaps: z.int().min(0).max(100000).default(500).describe('keep below half of the RTP ports in Asterisk rtp.conf'),
        agentTap: z.boolean().default(false).describe('also tap the agent side (spy=in on the agent channel)'),
        escalateNegativity: z.number().min(0).max(1).default(0.7).describe('SER_ESCALATE=1 from this smoothed negativity'),
        escalatePriority: z.int().min(0).max(1000).default(10).describe('QUEUE_PRIO written for an escalated call the rules did not prioritise'),
        transferContext: z.string().min(1).default('ser-transfer'),
        agentAnswerTimeoutMs: z.int().min(1000).max(600000).default(30000),
        decideBudgetMs: z.int().min(10).max(1000).default(80).describe('time Stasis(ser,decide) may spend before returning the call'),
        shutdownTimeoutMs: z.int().min(500).max(60000).default(4000),
      })
      .strict()
      .prefault({}),
    freeswitch: z
      .object({
        host: z
          .string()
          .min(1)
          .nullable()
          .default(null)
          .describe('FreeSWITCH event socket host (SER_ESL_HOST); set, it selects FreeSWITCH instead of Asterisk'),
        port: z.int().min(1).max(65535).default(8021).describe('event socket port (SER_ESL_PORT)'),
        password: z.string().default('ClueCon').describe('event socket password (SER_ESL_PASSWORD): change it on the switch too'),
        forkPort: z.int().min(0).max(65535).default(8095).describe('our WebSocket listener for mod_audio_fork (SER_FORK_PORT), bound on rtp.host'),
        forkUrl: z
          .url({ protocol: /^wss?$/, error: 'a ws:// or wss:// URL' })
          .nullable()
          .default(null)
          .describe('the fork URL FreeSWITCH is told (SER_FORK_URL), when it must differ from ws://rtp.host:forkPort (NAT, TLS proxy)'),
        soundsDir: z.string().min(1).default('/usr/share/freeswitch/sounds/ser').describe('where sound:<name> is <name>.wav on the FreeSWITCH host'),
        context: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('default').describe('dialplan context of transfers (queue-<name>, extensions)'),
        instance: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]+$/)
          .nullable()
          .default(null)
          .describe('the name this ser-ari claims calls with (mod_hash realm ser_claim); null: the host name. Two instances must differ'),
        requestTimeoutMs: z.int().min(100).max(60000).default(5000),
        reconnectMinMs: z.int().min(10).max(60000).default(500),
        reconnectMaxMs: z.int().min(100).max(600000).default(30000),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.int().min(0).max(65535).default(8090),
        token: z.string().min(16, 'at least 16 characters').nullable().default(null),
      })
      .strict()
      .prefault({}),
    console: z
      .object({
        allowedHosts: z
          .array(z.string().regex(/^\.?[A-Za-z0-9.-]+$/, 'a host name like "ser.example.com", or ".example.com" for its subdomains'))
          .default([])
          .describe('names besides loopback and http.host that browsers may use to reach the console (DNS rebinding defence)'),
        maxConnections: z.int().min(1).max(100000).default(512).describe('open console connections at once, all clients'),
        maxConnectionsPerIp: z.int().min(1).max(100000).default(64).describe('open console connections at once from one address'),
        stallTimeoutMs: z.int().min(100).max(3600000).default(60000).describe('an event-stream consumer that does not read for this long is disconnected'),
        tokens: z
          .array(
            z
              .object({
                name: z.string().regex(/^[^\s:][^:]{0,63}$/, 'a supervisor name of 1 to 64 characters, without ":"'),
                token: z.string().min(16, 'at least 16 characters'),
              })
              .strict(),
          )
          .default([])
          .refine((ts) => new Set(ts.map((t) => t.token)).size === ts.length, 'each token listed once')
          .describe("named bearer tokens, one per supervisor: the audit names whoever's token was used (besides http.token)"),
      })
      .strict()
      .prefault({}),
    targets: z
      .object({
        dialplan: z
          .array(z.string().regex(/^[A-Za-z0-9_-]+,[A-Za-z0-9_+*#-]+$/, 'a "context,extension" pair'))
          .default(['ser-escalate,agent'])
          .describe('dialplan places transfers (rules and the console) may send a caller to'),
        agents: z
          .array(z.string().regex(/^[A-Za-z0-9_-]+\/[^\s,]+$/, 'an endpoint like "PJSIP/1001"'))
          .default([])
          .describe('agent endpoints a transfer may ring, besides every queue\'s agents'),
        supervisors: z
          .array(z.string().regex(/^[A-Za-z0-9_-]+\/[^\s,]+$/, 'an endpoint like "PJSIP/2001"'))
          .default([])
          .describe('endpoints a supervisor may listen in from (the console rings one, bridged to a snoop on the caller)'),
      })
      .strict()
      .prefault({}),
    history: z
      .object({
        store: z.enum(['sqlite', 'postgres', 'none']).default('sqlite').describe('where call history and audit are kept'),
        path: z.string().min(1).default('data/ser-history.sqlite').describe('the SQLite file (relative to the working directory); ":memory:" keeps nothing'),
        url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').nullable().default(null).describe('PostgreSQL connection URL when store is postgres'),
        retentionDays: z.number().gt(0).max(36500).nullable().default(30).describe('calls older than this are deleted; null keeps everything'),
        flushMs: z.int().min(50).max(60000).default(1000).describe('history is written once per interval: what a crash can lose'),
        instance: z.string().min(1).max(64).nullable().default(null).describe("this ser-ari's name in a shared history; null: the host name"),
      })
      .strict()
      .prefault({})
      .refine((h) => h.store !== 'postgres' || h.url !== null, { message: 'history.url is required when history.store is postgres', path: ['url'] }),
    rtp: z
      .object({
        host: z.string().min(1).default('127.0.0.1').describe('address we bind and give Asterisk as external_host'),
        ports: portRange.default('40000-40999'),
        jitterPackets: z.int().min(1).max(25).default(3),
        maxPacketRate: z
          .int()
          .min(60)
          .max(10000)
          .default(200)
          .describe('packets/s one tap accepts (Asterisk sends 50); beyond it packets are dropped and the stream is muted until it calms'),
        recvBufferBytes: z.int().min(65536).max(64 * 1024 * 1024).default(1024 * 1024).describe('SO_RCVBUF asked for each RTP socket (the kernel caps it at net.core.rmem_max)'),
        slin16PayloadType: z.int().min(96).max(127).default(118),
        pinSource: z
          .boolean()
          .default(true)
          .describe("accept a tap's RTP only from the address and port Asterisk reports for it (UNICASTRTP_LOCAL_*); false when NAT sits between"),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        path: z.string().min(1).default('models/ser-cnn.onnx'),
        workers: z.int().min(1).max(64).default(2),
        maxBatch: z.int().min(1).max(256).default(32),
        maxWaitMs: z.number().min(0).max(1000).default(15),
      })
      .strict()
      .prefault({}),
    audio: z
      .object({
        minSpeechRatio: z.number().min(0).max(1).default(0.25),
        vadThresholdDb: z.number().min(0).max(40).default(6).describe('a 20 ms frame is speech this far above the tracked noise floor (9 without the speech gate)'),
        vadMinSpeechDbfs: z.number().min(-90).max(0).default(-70).describe('... and at least this loud: low, so a quiet caller (-40 to -45 dBFS) counts (-50 without the speech gate)'),
        speechGate: z.boolean().default(true).describe('Silero VAD judges the windows the energy VAD passes: tones, DTMF, noise and music are not scored'),
        speechGateMinShare: z.number().min(0).max(1).default(0.1).describe("share of a window's 32 ms chunks Silero must call speech"),
      })
      .strict()
      .prefault({}),
    emotion: z
      .object({
        smoothing: z.number().gt(0).max(1).default(0.5).describe('weight of the newest window in the moving average'),
      })
      .strict()
      .prefault({}),
    rules: z.string().nullable().default(null),
    queues: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a queue name (letters, digits, _ or -), as in Stasis(ser,queue,<name>)'),
            agents: z
              .array(z.string().regex(/^[A-Za-z0-9_-]+\/[^\s,]+$/, 'an endpoint like "PJSIP/1001"'))
              .min(1)
              .refine((a) => new Set(a).size === a.length, 'each agent listed once'),
            ringTimeoutSeconds: z.int().min(1).max(600).default(15),
            retrySeconds: z.number().min(0).max(600).default(5).describe('rest of an agent after a ring that was not answered or was busy'),
            moh: z.string().min(1).default('default').describe('music-on-hold class of the holding bridge'),
            maxWaitSeconds: z.number().gt(0).nullable().default(null).describe('then the caller continues in the dialplan with SER_QUEUESTATUS=TIMEOUT'),
          })
          .strict(),
      )
      .default([])
      .refine((qs) => new Set(qs.map((q) => q.name)).size === qs.length, 'queue names must be unique'),
    ami: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.int().min(1).max(65535).default(5038),
        user: z.string().min(1),
        secret: z.string().min(1),
        timeoutMs: z.int().min(100).max(60000).default(5000),
      })
      .strict()
      .nullable()
      .default(null)
      .describe('Asterisk Manager Interface, only to reprioritise callers waiting in app_queue'),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
