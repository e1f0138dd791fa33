/**
 * Separate hosts on one machine, for partition tests: a network namespace per host,
 * each joined by a veth pair to a bridge in the first host's namespace (a small LAN in
 * 10.231.0.0/24, private to these namespaces: nothing outside them can reach it, and
 * every run has its own). A partition is a pair of blackhole routes, one on each side,
 * so both hosts' packets vanish silently with every link still up, as behind a
 * firewall that drops; healing deletes them.
 *
 * Needs root and iproute2. `unavailable()` says why a test must skip; `destroy()`
 * deletes every namespace made (with them their links and routes), and an 'exit'
 * hook does it if the test process goes away first.
 */
import { spawnSync } from 'node:child_process';

const SUBNET = '10.231.0';

function ip(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  // stdout and stderr are null when ip could not be started at all.
  return { ok: r.status === 0, out: `${(r.stdout as string | null) ?? ''}${(r.stderr as string | null) ?? ''}${r.error ? r.error.message : ''}`.trim() };
}

function must(args: string[]): void {
  const r = ip(args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.out}`);
}

/** Why namespaces cannot be made here, or undefined if they can (tries one). */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'making network namespaces needs root (ip netns add); run the tests as root to include it';
  const probe = `fcprobe${process.pid}`;
  const r = ip(['netns', 'add', probe]);
  if (!r.ok) return /ENOENT|not found/i.test(r.out) ? 'iproute2 is not installed (no `ip` command)' : `ip netns add was refused: ${r.out}`;
  ip(['netns', 'del', probe]);
  return undefined;
}

const live = new Set<NetnsLab>();
process.on('exit', () => {
  for (const lab of live) lab.destroy();
});

export class NetnsLab {
  private readonly made: string[] = [];
  private readonly addresses = new Map<string, string>();
  private readonly tag = `fc${process.pid % 100000}`;

  /** The first host holds the bridge; each host gets the address SUBNET.(10 + its index). */
  constructor(readonly hosts: string[]) {
    live.add(this);
    try {
      const hub = this.ns(hosts[0]!);
      for (const h of hosts) {
        must(['netns', 'add', this.ns(h)]);
        this.made.push(this.ns(h));
        must(['-n', this.ns(h), 'link', 'set', 'lo', 'up']);
      }
      must(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
      must(['-n', hub, 'link', 'set', 'br0', 'up']);
      hosts.forEach((h, i) => {
        const address = `${SUBNET}.${10 + i}`;
        this.addresses.set(h, address);
        // The host's end is eth0 in its namespace; the other end is a bridge port in the hub's.
        must(['link', 'add', 'eth0', 'netns', this.ns(h), 'type', 'veth', 'peer', 'name', `port${i}`, 'netns', hub]);
        must(['-n', hub, 'link', 'set', `port${i}`, 'master', 'br0']);
        must(['-n', hub, 'link', 'set', `port${i}`, 'up']);
        must(['-n', this.ns(h), 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
        must(['-n', this.ns(h), 'link', 'set', 'eth0', 'up']);
      });
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  ns(host: string): string {
    return `${this.tag}-${host}`.slice(0, 40);
  }

  address(host: string): string {
    const a = this.addresses.get(host);
    if (!a) throw new Error(`no host "${host}" in this lab`);
    return a;
  }

  /** The command prefix that runs a process on `host`. */
  prefix(host: string): string[] {
    return ['ip', 'netns', 'exec', this.ns(host)];
  }

  /** Drops every packet between `a` and `b`, both ways. */
  partition(a: string, b: string): void {
    must(['-n', this.ns(a), 'route', 'add', 'blackhole', `${this.address(b)}/32`]);
    must(['-n', this.ns(b), 'route', 'add', 'blackhole', `${this.address(a)}/32`]);
  }

  heal(a: string, b: string): void {
    must(['-n', this.ns(a), 'route', 'del', 'blackhole', `${this.address(b)}/32`]);
    must(['-n', this.ns(b), 'route', 'del', 'blackhole', `${this.address(a)}/32`]);
  }

  /** Deletes the namespaces (and with them the links and routes); safe to call twice. */
  destroy(): void {
    for (const n of this.made.splice(0)) ip(['netns', 'del', n]);
    live.delete(this);
  }
}
