import { formatAddress } from '../../src/decode/address';
import { analyzeSample, listSamples } from '../samples';
import { analyzeWithout } from '../robustness/sample-without';

/**
 * A proxy that relays connections byte for byte (HAProxy in mode tcp, nginx stream) closes an idle
 * connection on both legs at once, at its own timeout: keepalive-race and idle-timeout-mismatch
 * must say so, and not blame the backend whose Server and Keep-Alive headers the responses carry
 * (relayed-closes.ts). An HTTP proxy pools its backend connections on their own: never told so.
 */
const RELAYING = ['keepalive-race-haproxy-tcp', 'keepalive-race-nginx-stream'];
const RELAYED = /is a proxy that relays these connections/;

describe('idle closes of a proxy that relays connections', () => {
  test.each(RELAYING)('%s: both diagnoses name the proxy, its backend leg and its own timeout, not the backend\'s', async (name) => {
    const r = await analyzeSample(name);
    const race = r.diagnoses.find((d) => d.kind === 'keepalive-race');
    const mismatch = r.diagnoses.find((d) => d.kind === 'idle-timeout-mismatch');
    expect(race?.explanation).toMatch(/10\.99\.0\.2:8080 is a proxy that relays these connections: at each of its \d+ idle closes it also closed its own connection from 127\.0\.0\.2 to the backend 127\.0\.0\.3:9001 at the same moment/);
    expect(race?.explanation).not.toMatch(/gunicorn|turns it into a 502/);
    expect(race?.remedy).toMatch(/^Raise the proxy's idle timeout above the clients' .*HAProxy in `mode tcp`: `timeout client` and `timeout server`.*nginx `stream`: `proxy_timeout`/);
    expect(mismatch?.explanation).toMatch(/the Keep-Alive: timeout=10 in its responses is the backend's/);
    expect(mismatch?.remedy).toMatch(/^Proxy: keep idle connections for at least 10 s /);
    const finding = r.anomalies.find((f) => f.kind === 'idle-timeout-mismatch');
    expect(finding?.evidence.relayedToBackend).toBe('127.0.0.3:9001');
    expect(finding?.evidence.relayedCloses).toBe(finding?.evidence.serverIdleCloses);
  });

  test.each(RELAYING)('%s without its backend leg in the capture: nothing shows the relay, and nothing claims it', async (name) => {
    const r = await analyzeWithout(name, (view) => formatAddress(view, 'src') === '127.0.0.3' || formatAddress(view, 'dst') === '127.0.0.3');
    expect(r.diagnoses.some((d) => RELAYED.test(d.explanation))).toBe(false);
    expect(r.anomalies.filter((f) => f.kind === 'keepalive-race').length).toBeGreaterThan(0);
  });

  const others = listSamples().filter((s) => !RELAYING.includes(s.name) && s.meta !== null && !s.name.endsWith('.gz'));
  test.each(others.map((s) => s.name))('%s: no relay claimed (servers and HTTP proxies close on their own)', async (name) => {
    const r = await analyzeSample(name);
    expect(r.diagnoses.filter((d) => RELAYED.test(d.explanation)).map((d) => d.kind)).toEqual([]);
  });
});
