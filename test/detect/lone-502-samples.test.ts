/**
 * A proxy's 502s read from what the capture holds of them (blind round 11, proxies s1, s3, s5):
 * nginx's lone 502 after a wait on its client leg (a worker killed at its timeout, a kill -9 with
 * the request in flight, Go's WriteTimeout) is the backend ending the connection, one finding
 * each, with no time limit inferred from one; and a two-proxy chain's relayed 502s are one failure
 * each, counted at their origin (the inner proxy), not a second intermittent endpoint at the front.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatAddress } from '../../src/decode/address';
import type { PacketView } from '../../src/decode/packet-view';
import { analyzeSample, SAMPLES_DIR } from '../samples';
import { analyzeWithout } from '../robustness/sample-without';
import { ofKind } from './reuse-kit';

const has = (name: string): boolean => fs.existsSync(path.join(SAMPLES_DIR, `${name}.pcap`));
const metaOf = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as T;
/** Packets to or from a port: a leg left out of the capture. */
const onPort = (port: number) => (view: PacketView): boolean => view.srcPort === port || view.dstPort === port;
const withAddress = (ip: string) => (view: PacketView): boolean => formatAddress(view, 'src') === ip || formatAddress(view, 'dst') === ip;

describe('recorded: nginx-502-lone-client-leg (nginx in front of gunicorn, the client leg only)', () => {
  const NAME = 'nginx-502-lone-client-leg';
  (has(NAME) ? test : test.skip)("each lone 502 after a wait is a finding: the backend ended the connection; the fast one is counted among all 8 requests", async () => {
    const meta = metaOf<{ observed: { clientStatuses: Record<string, number> } }>(NAME);
    const r = await analyzeSample(NAME);
    // Before: only the fast 502 was reported ("1 of 6 requests"); the worker kill and the in-flight 502 had no finding.
    const ended = ofKind(r, 'gateway-timeout');
    expect(ended.map((f) => f.evidence.uri).sort()).toEqual(['/sleep/3/inflight', '/sleep/6/lone']);
    expect(ended.every((f) => f.evidence.upstreamPhase === 'ended' && f.evidence.delayClustered === false)).toBe(true);
    const [d] = r.diagnoses.filter((x) => x.kind === 'gateway-timeout');
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('name no time limit');
    expect(d.remedy).toContain('gunicorn --timeout');
    const [fast] = ofKind(r, 'intermittent-5xx');
    const requests = Object.keys(meta.observed.clientStatuses).length;
    const failed = Object.values(meta.observed.clientStatuses).filter((s) => s === 502).length;
    expect(fast.evidence).toMatchObject({ fast: true, failures: 1, otherFailures: failed - 1, successes: requests - failed });
    expect(r.diagnoses.find((x) => x.kind === 'intermittent-5xx')!.explanation).toContain(`answered 502 to 1 of ${requests} requests`);
  });
});

describe('recorded: worker-timeout-gunicorn-nginx, its client leg alone (gunicorn killed on a 1 s tick: 2.66, 2.16, 2.18 s)', () => {
  const NAME = 'worker-timeout-gunicorn-nginx';
  (has(NAME) ? test : test.skip)('all three 502s are found, in one diagnosis naming the two that agree', async () => {
    const r = await analyzeWithout(NAME, onPort(8081));
    // Before: the two that agree only; the 2.658 s one had no finding.
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(3);
    expect(found.every((f) => f.evidence.upstreamPhase === 'ended')).toBe(true);
    const ds = r.diagnoses.filter((x) => x.kind === 'gateway-timeout');
    expect(ds).toHaveLength(1);
    expect(ds[0].inferred.backendEndedAfter).toMatchObject({ samples: 2 });
  });
});

describe('recorded: chain-haproxy-nginx-refused (HAProxy relaying nginx\'s fast 502s, nginx\'s upstream not captured)', () => {
  const NAME = 'chain-haproxy-nginx-refused';
  (has(NAME) ? test : test.skip)("one intermittent-5xx at nginx, the origin, counting HAProxy's relays; none at HAProxy", async () => {
    const meta = metaOf<{ facts: { failedRequests: number } }>(NAME);
    const n = meta.facts.failedRequests;
    const r = await analyzeSample(NAME);
    // Before: two findings (127.0.0.3:8380 and 127.0.0.2:8390) for the same failures.
    const found = ofKind(r, 'intermittent-5xx');
    expect(found.map((f) => f.server)).toEqual(['127.0.0.3:8380']);
    expect(found[0].evidence).toMatchObject({ failures: n, relayedByFronts: n, fast: true });
    const [d] = r.diagnoses.filter((x) => x.kind === 'intermittent-5xx');
    expect(d.explanation).toContain(`127.0.0.2:8390 relayed ${n} of them to its clients`);
    expect(d.explanation).toContain('the backend refused the connection');
  });
});

describe('recorded: refused-behind-nginx-chain without the backend (the inner nginx tier\'s refused connects out of sight)', () => {
  const NAME = 'refused-behind-nginx-chain';
  (has(NAME) ? test : test.skip)("the front nginx's relays are counted at the inner tier: one finding, not one per tier", async () => {
    const r = await analyzeWithout(NAME, withAddress('127.0.0.3'));
    const found = ofKind(r, 'intermittent-5xx');
    // Before: 127.0.0.2:8080 and 127.0.0.4:8081, 11 of 40 each.
    expect(found.map((f) => f.server)).toEqual(['127.0.0.4:8081']);
    expect(found[0].evidence.relayedByFronts).toBe(found[0].evidence.failures);
    // With the backend in sight, connection-refused keeps both tiers' 502s (the golden holds that whole reading).
  });
});
