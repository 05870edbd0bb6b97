import { hostOf } from './facts';
import type { Finding } from './finding';
import { firstAtOrAfter } from './sorted-search';

/** Refusals looked at per wait: a flood of them in one wait is named by its first few anyway. */
const LOOKED_PER_WAIT = 64;

/**
 * connection-refused's findings (a SYN answered by RST) by time, for a proxy's error whose upstream
 * address the capture does not name (no forwarded request copies one): a refusal from another host
 * than the error's client, to another endpoint than the proxy, within the error's wait is most
 * likely the proxy's own connect (blind 14 S2: nginx's fast 502 and HAProxy's 503 after its 1 s
 * retry pauses, each told "the capture does not show the upstream side" beside their refusals).
 * Sorted once, at the first question (asked in onFinish, when connection-refused has reported).
 */
export class RefusalsDuring {
  private sorted: Finding[] | null = null;

  constructor(private readonly findings: () => readonly Finding[]) {}

  /** The refusals within [from, to] not from `client`'s host and not to `proxy`, at most LOOKED_PER_WAIT looked at. */
  within(from: number, to: number, proxy: string, client: string): Finding[] {
    this.sorted ??= [...this.findings()].sort((a, b) => a.ts - b.ts);
    const out: Finding[] = [];
    const host = hostOf(client);
    const list = this.sorted;
    for (let i = firstAtOrAfter(list, from, (f) => f.ts), looked = 0; i < list.length && list[i].ts <= to && looked < LOOKED_PER_WAIT; i++, looked++) {
      const f = list[i];
      if (f.server !== proxy && f.client !== null && hostOf(f.client) !== host) out.push(f);
    }
    return out;
  }
}
