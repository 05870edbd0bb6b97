import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';

const SAMPLES = path.resolve(__dirname, '../../samples');

describe('http: false analyzes TCP only', () => {
  test.each(['keepalive-race-nginx.pcap', 'refused-connection.pcap', 'keepalive-race-tls-nginx.pcap'])(
    '%s: the same connections, and no exchange, HTTP count or finding that rests on an exchange',
    async (name) => {
      const file = path.join(SAMPLES, name);
      const withHttp = await analyzeFiles([file]);
      const tcpOnly = await analyzeFiles([file], { http: false });
      // Every connection is rebuilt as before: TCP state does not depend on the payload's meaning.
      const tcpView = (flows: typeof withHttp.flows) =>
        flows.map((f) => ({ id: f.id, client: f.client, server: f.server, state: f.state, history: f.history, closedBy: f.closedBy, packets: f.packets, bytes: f.bytes }));
      expect(tcpView(tcpOnly.flows)).toEqual(tcpView(withHttp.flows));
      expect(tcpOnly.stats.packets).toBe(withHttp.stats.packets);
      expect(tcpOnly.exchanges).toEqual([]);
      expect(tcpOnly.stats.exchanges).toBe(0);
      expect(tcpOnly.stats.httpConnections).toBe(0);
      expect(tcpOnly.stats.http.tlsConnections).toBe(0);
      expect(tcpOnly.flows.every((f) => f.requests === 0)).toBe(true);
    },
  );

  test('TCP-level findings stay; a keep-alive race is still found, as bytes whose meaning was not read', async () => {
    const file = path.join(SAMPLES, 'refused-connection.pcap');
    const withHttp = await analyzeFiles([file]);
    const tcpOnly = await analyzeFiles([file], { http: false });
    const kinds = (r: typeof withHttp) => [...new Set(r.anomalies.map((a) => a.kind))].sort();
    expect(kinds(tcpOnly)).toEqual(kinds(withHttp));
    expect(tcpOnly.anomalies.length).toBe(withHttp.anomalies.length);

    const raceFile = path.join(SAMPLES, 'keepalive-race-nginx.pcap');
    const races = (r: typeof withHttp) => r.anomalies.filter((a) => a.kind === 'keepalive-race');
    const withRequests = races(await analyzeFiles([raceFile]));
    const opaque = races(await analyzeFiles([raceFile], { http: false }));
    // The race is in TCP (data after the server's FIN, answered by RST): the same connections and frames.
    expect(opaque.map((a) => [a.flowId, a.frames])).toEqual(withRequests.map((a) => [a.flowId, a.frames]));
    expect(withRequests.length).toBeGreaterThan(0);
    for (const a of opaque) {
      expect(a.summary).toMatch(/^\d+ bytes \(payload not parsed\) sent on a connection/);
      expect(a.evidence.request).toBeNull();
    }
  });
});
