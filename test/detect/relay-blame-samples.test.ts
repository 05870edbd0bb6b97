/**
 * Errors a proxy relays from its backend, read as the backend's (blind test: nginx in front of a Go
 * server whose WriteTimeout is shorter than its handler's time). Sample nginx-502-go-writetimeout
 * (samples/record/nginx-502-go-writetimeout.sh): Go writes no response once its write deadline has
 * passed and closes the connection; nginx reads EOF and answers 502 after the handler's 1.5 s.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatAddress } from '../../src/decode/address';
import type { PacketView } from '../../src/decode/packet-view';
import { analyzeSample } from '../samples';
import { analyzeWithout } from '../robustness/sample-without';
import { ofKind } from './reuse-kit';

const present = (name: string): boolean => fs.existsSync(path.join(__dirname, '..', '..', 'samples', `${name}.pcap`));
const backendPackets = (view: PacketView) => formatAddress(view, 'src') === '127.0.0.3' || formatAddress(view, 'dst') === '127.0.0.3';

describe('sample nginx-502-go-writetimeout: nginx relays a Go backend\'s close at its WriteTimeout as 502', () => {
  const NAME = 'nginx-502-go-writetimeout';
  const meta = present(NAME)
    ? (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'samples', `${NAME}.meta.json`), 'utf8')) as { observed: { slow502Seconds: number[] } })
    : null;

  (present(NAME) ? test : test.skip)('both legs: the backend ended each upstream connection unanswered; no proxy timer', async () => {
    const r = await analyzeSample(NAME);
    expect(ofKind(r, 'gateway-timeout')).toEqual([]);
    const unanswered = ofKind(r, 'unanswered-request').filter((f) => f.evidence.relayedBackendClose !== true);
    expect(unanswered).toHaveLength(meta!.observed.slow502Seconds.length);
    expect(unanswered.every((f) => f.server === '127.0.0.3:9001' && f.evidence.closedBy === 'server')).toBe(true);
    // Each 502 nginx gave its client, linked to the close it relayed.
    const relayed = ofKind(r, 'unanswered-request').filter((f) => f.evidence.relayedBackendClose === true);
    expect(relayed).toHaveLength(meta!.observed.slow502Seconds.length);
    relayed.forEach((f, i) => expect(f.evidence.delaySeconds).toBeCloseTo(meta!.observed.slow502Seconds[i], 2));
    expect(relayed.map((f) => f.evidence.upstreamFindings)).toEqual(unanswered.map((f) => [f.id]));
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(d.remedy).toContain('WriteTimeout');
    expect(r.diagnoses.some((x) => x.inferred.proxyReadTimeout !== undefined || x.inferred.upstreamTimeout !== undefined)).toBe(false);
  });

  (present(NAME) ? test : test.skip)('the client leg alone: nginx\'s 502s are the backend ending the connection after its time, not proxy_read_timeout', async () => {
    const r = await analyzeWithout(NAME, backendPackets);
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(meta!.observed.slow502Seconds.length);
    expect(found.every((f) => f.evidence.upstreamPhase === 'ended' && f.evidence.status === 502)).toBe(true);
    const [d] = r.diagnoses.filter((x) => x.kind === 'gateway-timeout');
    expect(d.inferred.upstreamTimeout).toBeUndefined();
    expect(d.inferred.backendEndedAfter.value).toBeCloseTo(Math.min(...meta!.observed.slow502Seconds), 1);
    expect(d.explanation).toContain('its own timers answer 504');
    expect(d.remedy).toContain('WriteTimeout');
    expect(d.remedy).not.toContain("raise the proxy's upstream timeout");
  });

  // Near miss: nginx's own read timeout, its upstream cut off the capture, still names the proxy's timer.
  (present('gateway-timeout-nginx') ? test : test.skip)('near miss: nginx\'s 504s on the client leg alone stay a proxy upstream timeout', async () => {
    const r = await analyzeWithout('gateway-timeout-nginx', backendPackets);
    const [d] = r.diagnoses.filter((x) => x.kind === 'gateway-timeout');
    expect(d.inferred.upstreamTimeout.value).toBeCloseTo(1, 1);
    expect(ofKind(r, 'gateway-timeout').every((f) => f.evidence.upstreamPhase === 'invisible')).toBe(true);
  });
});
