/**
 * What conncheck says about Apache httpd as a reverse proxy (mod_proxy_http), on the recorded
 * samples (samples/record/*-apache-proxy.sh, checked against Apache's own logs while recording):
 * the remedies name Apache's own settings, and no timeout is inferred where none was at work.
 */
import { analyzeSample } from '../samples';

function diagnosis(r: Awaited<ReturnType<typeof analyzeSample>>, kind: string, server: string) {
  const found = r.diagnoses.filter((d) => d.kind === kind && d.server === server);
  expect(found).toHaveLength(1);
  return found[0];
}

describe('Apache mod_proxy samples', () => {
  test('backend keep-alive race: the remedies name ProxyPass ttl=, and the client-side closes infer no proxy timeout', async () => {
    const r = await analyzeSample('keepalive-race-apache-proxy');
    expect(diagnosis(r, 'keepalive-race', '10.99.0.2:9001').remedy).toContain('ProxyPass `ttl=`');
    expect(diagnosis(r, 'keepalive-race', '10.99.0.2:9001').remedy).toContain('Apache mod_proxy without `ttl=`');
    expect(diagnosis(r, 'idle-timeout-mismatch', '10.99.0.2:9001').remedy).toContain('ProxyPass `ttl=`');
    // The client-side closes are the races' other leg: listed with them, no diagnosis (nor timeout) of their own.
    const race = diagnosis(r, 'keepalive-race', '10.99.0.2:9001');
    const closes = r.anomalies.filter((f) => f.kind === 'unanswered-request' && f.server === '127.0.0.2:8080');
    expect(closes.length).toBeGreaterThan(0);
    expect(race.anomalyIds).toEqual(expect.arrayContaining(closes.map((f) => f.id)));
    expect(r.diagnoses.filter((d) => d.kind === 'unanswered-request' && d.server === '127.0.0.2:8080')).toEqual([]);
    expect(race.explanation).toContain('AH01104');
    expect(r.anomalies.filter((f) => f.kind === 'keepalive-race' && f.server === '127.0.0.2:8080')).toEqual([]);
  });

  test('ProxyPass timeout=1: the remedy names Apache ProxyTimeout / timeout=', async () => {
    const r = await analyzeSample('gateway-timeout-apache-proxy');
    const d = diagnosis(r, 'gateway-timeout', '127.0.0.2:8080');
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(1.0, 1);
    expect(d.remedy).toContain('Apache `ProxyTimeout` or ProxyPass `timeout=`');
  });

  test('a balancer member in error state: 503s without any SYN infer no timeout', async () => {
    const r = await analyzeSample('backend-down-apache-proxy');
    expect(r.diagnoses.map((d) => d.kind)).toEqual(['connection-refused']);
    expect(r.diagnoses.flatMap((d) => Object.keys(d.inferred))).toEqual([]);
    const [refused] = r.diagnoses;
    expect(refused.explanation).toContain('it failed 1 of its clients\' request(s) with 503 when its connect was refused, and 5 more with 503');
    expect(refused.explanation).toContain('No timeout is at work');
  });
});
