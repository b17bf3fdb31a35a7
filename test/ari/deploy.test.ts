import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_OVERRIDES, loadConfig } from '../../src/config/load.js';
import { parseWav } from '../../src/audio/wav.js';
import { REPO } from '../helpers/paths.js';

/*
 * `docker compose config` is not available here (docker CLI without the compose plugin), so the
 * compose file is checked structurally with the yaml package, and against the dialplan/ files it mounts.
 */
interface Service {
  image: string;
  networks: Record<string, { ipv4_address: string }>;
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  command?: string[];
}
interface Compose {
  name: string;
  services: Record<string, Service>;
  networks: Record<string, { ipam: { config: Array<{ subnet: string }> } }>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8')) as Compose;
const dialplan = (f: string): string => readFileSync(join(REPO, 'dialplan', f), 'utf8');

/** key = value of one [section] of an Asterisk .conf file. */
function confSection(text: string, section: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inside = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    const head = /^\[([^\]]+)\]/.exec(line);
    if (head) inside = head[1] === section;
    else if (inside && line.includes('=')) {
      const [k, ...v] = line.split('=');
      out[k!.trim()] = v.join('=').trim();
    }
  }
  return out;
}

function inSubnet(ip: string, subnet: string): boolean {
  const [base, bits] = subnet.split('/') as [string, string];
  const n = (s: string): number => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(base) / size);
}

describe('docker-compose.yml', () => {
  const { asterisk, 'ser-ari': ser } = compose.services;

  it('has an Asterisk and a ser-ari service on one network, with fixed addresses inside its subnet', () => {
    expect(asterisk?.image).toMatch(/asterisk/);
    expect(readFileSync(join(REPO, 'Dockerfile'), 'utf8')).toMatch(/^FROM node:20-bookworm-slim$/m);
    const [net] = Object.keys(compose.networks);
    const subnet = compose.networks[net!]!.ipam.config[0]!.subnet;
    for (const s of [asterisk!, ser!]) {
      expect(Object.keys(s.networks)).toEqual([net]);
      expect(inSubnet(s.networks[net!]!.ipv4_address, subnet)).toBe(true);
    }
  });

  it('mounts dialplan/ files that exist into /etc/asterisk', () => {
    const mounts = asterisk!.volumes!.map((v) => v.split(':'));
    expect(mounts.length).toBeGreaterThanOrEqual(5);
    for (const [src, dst] of mounts) {
      expect(existsSync(join(REPO, src!))).toBe(true);
      expect(dst).toMatch(/^\/etc\/asterisk\/[a-z_]+\.conf$|^\/var\/lib\/asterisk\/sounds\/[a-z-]+\.wav$/);
    }
    // the prompt the example rules warn with is installed where `sound:ser-abuse-warning` finds it
    expect(mounts.map((m) => m[1])).toContain('/var/lib/asterisk/sounds/ser-abuse-warning.wav');
    expect(mounts.map((m) => m[1])).toEqual(expect.arrayContaining(['/etc/asterisk/ari.conf', '/etc/asterisk/http.conf', '/etc/asterisk/extensions_ser.conf']));
  });

  it('points ser-ari at Asterisk ARI as configured in http.conf and ari.conf, and Asterisk at ser-ari for RTP', () => {
    const env = ser!.environment!;
    for (const key of Object.keys(env)) expect(Object.keys(ENV_OVERRIDES)).toContain(key);
    const mounted = asterisk!.volumes!.map((v) => v.split(':')).find((m) => m[1] === '/etc/asterisk/http.conf')![0]!;
    const http = confSection(readFileSync(join(REPO, mounted), 'utf8'), 'general');
    // the sample for a host install keeps ARI on loopback; only the compose network variant opens it
    expect(confSection(dialplan('http.conf'), 'general').bindaddr).toBe('127.0.0.1');
    const url = new URL(env.SER_ARI_URL!);
    expect(url.hostname).toBe(Object.values(asterisk!.networks)[0]!.ipv4_address);
    expect(url.port).toBe(http.bindport);
    expect(http.enabled).toBe('yes');
    const user = confSection(dialplan('ari.conf'), env.SER_ARI_USER!);
    expect(user.type).toBe('user');
    expect(user.read_only).toBe('no');
    expect(env.SER_ARI_PASSWORD).toContain(`:-${user.password}}`);
    expect(env.SER_RTP_HOST).toBe(Object.values(ser!.networks)[0]!.ipv4_address);
  });

  it('builds ser-ari once from the Dockerfile, as a non-root user, and mounts its config read-only and a volume for the history', () => {
    expect((ser as { build?: string }).build).toBe('.');
    expect(ser!.command).toBeUndefined(); // the image's CMD: nothing installed or compiled at start
    const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["run", "--config", "\/etc\/ser-ari\/ser-ari\.yaml"\]$/m);
    expect(dockerfile).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip/);
    // the call history needs a folder the image's user can write, kept in a named volume
    const historyPath = /SER_HISTORY_PATH=(\S+)/.exec(dockerfile)?.[1];
    expect(historyPath).toBeDefined();
    const historyDir = historyPath!.slice(0, historyPath!.lastIndexOf('/'));
    expect(dockerfile).toContain(`chown node:node ${historyDir}`);
    expect(dockerfile).toMatch(new RegExp(`^VOLUME ${historyDir}$`, 'm'));
    expect(ser!.volumes).toEqual(['./dialplan/ser-ari.docker.yaml:/etc/ser-ari/ser-ari.yaml:ro', `ser-history:${historyDir}`]);
    expect(compose.volumes).toHaveProperty('ser-history');
    // what the image copies exists in the checkout
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(' ')) if (!src.includes('*')) expect(existsSync(join(REPO, src)), src).toBe(true);
    }
  });

  it('runs with a config file that loads and keeps the taps within half the Asterisk RTP range', () => {
    const mount = ser!.volumes!.map((v) => v.split(':')).find((m) => m[1] === '/etc/ser-ari/ser-ari.yaml')!;
    const path = join(REPO, mount[0]!);
    const env = Object.fromEntries(Object.entries(ser!.environment!).map(([k, v]) => [k, v.replace(/\$\{\w+:-([^}]*)\}/, '$1')]));
    const { config } = loadConfig({ file: path, env });
    const rtp = confSection(dialplan('rtp.conf'), 'general');
    const ports = Number(rtp.rtpend) - Number(rtp.rtpstart) + 1;
    expect(config.ari.maxTaps).toBeLessThan(ports / 2);
    expect(config.ari.url).toBe(ser!.environment!.SER_ARI_URL);
  });

  it('gives the console the token it requires when it listens beyond loopback, and compose refuses to start without one', () => {
    const env = ser!.environment!;
    expect(env.SER_HTTP_HOST).toBe('0.0.0.0');
    expect(env.SER_CONSOLE_TOKEN).toMatch(/^\$\{SER_CONSOLE_TOKEN:\?.+\}$/);
    const { config } = loadConfig({ file: join(REPO, 'dialplan/ser-ari.docker.yaml'), env: { ...env, SER_CONSOLE_TOKEN: 'a-token-of-sixteen-chars' } });
    expect(config.http.token).toBe('a-token-of-sixteen-chars');
  });
});

describe('dialplan/extensions_ser.conf', () => {
  const text = dialplan('extensions_ser.conf');

  it('offers the three integration modes under the app name ser-ari uses by default', () => {
    const app = loadConfig({ env: {}, cwd: '/nonexistent' }).config.ari.app;
    expect(text).toContain(`Stasis(${app},monitor)`);
    expect(text).toContain(`Stasis(${app},decide)`);
    expect(text).toContain(`Stasis(${app},queue,\${ARG1})`);
  });

  it('never ends a call because Stasis failed: every Stasis() line is followed by a step that carries on', () => {
    const lines = text.split('\n').map((l) => l.trim());
    const stasis = lines.map((l, i) => [l, i] as const).filter(([l]) => /Stasis\(/.test(l) && !l.startsWith(';'));
    expect(stasis.length).toBe(3);
    for (const [, i] of stasis) {
      const next = lines.slice(i + 1).find((l) => l.startsWith('same') || l.startsWith('exten'))!;
      expect(next).toMatch(/^same => n/);
      expect(next).not.toMatch(/Hangup/);
    }
    // decide writes safe defaults first, so a down ser-ari still leaves the variables defined
    for (const v of ['SER_EMOTION', 'SER_NEGATIVITY', 'SER_ESCALATE', 'QUEUE_PRIO']) expect(text).toContain(`Set(${v}=`);
  });

  it('has the transfer context ser-ari continues callers to', () => {
    const ctx = loadConfig({ env: {}, cwd: '/nonexistent' }).config.ari.transferContext;
    expect(text).toContain(`[${ctx}]`);
    expect(text).toContain('exten => _queue-.,1');
    expect(text).toContain('exten => agent-hangup,1');
  });
});

describe('the shipped warning prompt', () => {
  it('is the sound every shipped hang-up rule warns with, in a format Asterisk plays as is (8 kHz mono PCM16), with speech in it', () => {
    const wav = parseWav(readFileSync(join(REPO, 'dialplan/sounds/ser-abuse-warning.wav')));
    expect({ rate: wav.sampleRate, channels: wav.channels.length, format: wav.format }).toEqual({ rate: 8000, channels: 1, format: 'pcm16' });
    const x = wav.channels[0]!;
    expect(x.length / 8000).toBeGreaterThan(3);
    expect(x.length / 8000).toBeLessThan(12);
    const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    expect(rms).toBeGreaterThan(0.03);
    for (const rules of ['config/rules.example.yaml', 'config/rules.demo.yaml']) {
      const media = [...readFileSync(join(REPO, rules), 'utf8').matchAll(/warn: \{ media: "sound:([a-z-]+)"/g)].map((m) => m[1]);
      expect(media.length).toBeGreaterThan(0);
      for (const m of media) expect(existsSync(join(REPO, 'dialplan/sounds', `${m}.wav`))).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('dialplan'); // the prompt ships in dialplan/sounds/
  });
});

describe('deploy/systemd/ser-ari.service', () => {
  it('runs ser-ari as its own user with SIGTERM (taps released, callers returned) and the hardening options', () => {
    const unit = readFileSync(join(REPO, 'deploy/systemd/ser-ari.service'), 'utf8');
    const service = confSection(unit.replace(/^\[Service\]/m, '[general]'), 'general');
    expect(service.ExecStart).toMatch(/ser-ari run --config \/etc\/ser-ari\/ser-ari\.yaml$/);
    expect(service.User).toBe('ser-ari');
    expect(service.KillSignal).toBe('SIGTERM');
    for (const [k, v] of Object.entries({ NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', CapabilityBoundingSet: '' })) {
      expect(service[k], k).toBe(v);
    }
    expect(service.RestrictAddressFamilies).toBe('AF_INET AF_INET6 AF_UNIX');
    // ProtectSystem=strict leaves only the state folder writable: the history must live there
    expect(service.StateDirectory).toBe('ser-ari');
    expect(service.Environment).toBe('SER_HISTORY_PATH=/var/lib/ser-ari/ser-history.sqlite');
  });
});
