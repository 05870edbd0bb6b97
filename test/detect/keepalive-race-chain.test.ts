/**
 * keepalive-race behind a chain of proxies: the proxy whose upstream keep-alive connection raced
 * the backend's idle close answers 502, and a front further up relays that 502 to its own
 * clients. The race's diagnosis counts those relays ("10.0.0.9:80 relayed 2 of them to its
 * clients"), as connection-refused's does for a refusal's (relayedToClientsText), and
 * intermittent-5xx reports neither tier.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DETECTORS } from '../../src/detect/registry';
import { analyzeSample, listSamples, SAMPLES_DIR } from '../samples';
import { FRONT_ENDPOINT, PROXY_ENDPOINT, racedChain } from './proxy-scenes';
import { ofKind } from './reuse-kit';

describe('keepalive-race behind a chain of proxies', () => {
  test("the front's relays of the proxy's race 502s are counted in the race's diagnosis", () => {
    const r = racedChain([1, 4]).analyze(DETECTORS);
    expect(ofKind(r, 'keepalive-race')).toHaveLength(2);
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.explanation).toContain(`The client here is a proxy (${PROXY_ENDPOINT}) forwarding requests it had received: of the 2 requests that met the race upstream it forwarded 2 from its clients; to its own clients it answered 502 for 2; ${FRONT_ENDPOINT} relayed 2 of them to its clients.`);
    expect(ofKind(r, 'intermittent-5xx')).toEqual([]);
  });

  test("near miss: the front's own 502 (the proxy answered 200) is no relay of the race's", () => {
    const r = racedChain([1, 4], [2]).analyze(DETECTORS);
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.explanation).toContain(`${FRONT_ENDPOINT} relayed 2 of them to its clients`);
  });

  test('near miss: a front that answered its client otherwise (not the 502 it got) relayed nothing', () => {
    const r = racedChain([1, 4], [], 6, '200 OK').analyze(DETECTORS);
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.explanation).toContain('to its own clients it answered 502 for 2.');
    expect(d.explanation).not.toContain('relayed');
  });
});

describe('recorded: keepalive-race-behind-nginx-chain (nginx → a Node proxy → a Node backend closing idle after 1.3 s)', () => {
  const name = 'keepalive-race-behind-nginx-chain';
  (listSamples().some((s) => s.name === name) ? test : test.skip)("the Node proxy's race 502s and nginx's relays of them are counted in the race's diagnosis, and nowhere else", async () => {
    const m = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as { observed: { proxy502: number; frontRelayed502: number } };
    const r = await analyzeSample(name);
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.server).toBe('127.0.0.3:9001');
    expect(d.explanation).toContain(`The client here is a proxy (127.0.0.4:8081)`);
    expect(d.explanation).toContain(`to its own clients it answered 502 for ${m.observed.proxy502}; 127.0.0.2:8080 relayed ${m.observed.frontRelayed502} of them to its clients.`);
    expect(ofKind(r, 'intermittent-5xx')).toEqual([]);
  });
});
