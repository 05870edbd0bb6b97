import Table from 'cli-table3';
import type { Finding } from '../detect/finding';
import { formatDuration, formatUtc } from './format-time';

export interface LiveStatus {
  iface: string;
  elapsed: number;
  packets: number;
  liveConnections: number;
  kernelDrops: number | null;
}

/** The refreshing view of `capture` on a terminal: counters, then findings so far by kind and server. */
export class LiveView {
  private readonly counts = new Map<string, { kind: string; server: string; n: number; last: Finding }>();

  add(f: Finding): void {
    const key = `${f.kind} ${f.server}`;
    const entry = this.counts.get(key);
    if (entry) {
      entry.n++;
      entry.last = f;
    } else {
      this.counts.set(key, { kind: f.kind, server: f.server, n: 1, last: f });
    }
  }

  render(status: LiveStatus): string {
    const lines: string[] = [];
    lines.push(`conncheck capture ${status.iface} — ${formatDuration(status.elapsed)}, ${status.packets} packets, ${status.liveConnections} live connections`);
    if (status.kernelDrops) lines.push(`WARNING: the kernel dropped ${status.kernelDrops} packets: findings may be incomplete or wrong (raise -B, narrow -f)`);
    if (this.counts.size === 0) {
      lines.push('No findings yet.');
    } else {
      const t = new Table({ head: ['kind', 'server', 'findings', 'latest (UTC)', 'latest summary'], style: { head: [], border: [] }, wordWrap: true });
      for (const e of [...this.counts.values()].sort((a, b) => b.n - a.n)) {
        t.push([e.kind, e.server, String(e.n), formatUtc(e.last.ts), e.last.summary]);
      }
      lines.push(t.toString());
    }
    lines.push('Ctrl-C stops and prints the full report.');
    return lines.join('\n') + '\n';
  }
}
