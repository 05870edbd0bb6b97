import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { responseTruncated } from '../../src/detect/detectors/response-truncated';
import { SAMPLES_DIR } from '../samples';
import { Capture, Conn, get, ofKind } from './reuse-kit';

const KIND = 'response-truncated';
const only = [responseTruncated];

const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';
const chunk = (n: number): string => `${n.toString(16)}\r\n${'e'.repeat(n)}\r\n`;
const LAST_CHUNK = '0\r\n\r\n';

/**
 * Blind round 15, S12: a client → a proxy (10.0.0.5:8080) that strips `/stream` → a Go backend
 * (10.0.0.9:9000) with WriteTimeout 1 s streaming a chunk every 0.2 s. The backend's FIN cuts its
 * chunked body 1.24 s after the request, 0.4 s after its last chunk; the proxy relays each chunk
 * and then ends its client's response as the proxy chooses (`front`), 0.25 ms after the cut.
 */
function streamCutBehindProxy(cap: Capture, t: number, front: (c: Conn, cutTs: number) => void, relayedChunks = 4): { client: Conn; backend: Conn } {
  const client = cap.connection({ client: '10.0.0.1', server: '10.0.0.5', sport: 8080 });
  const backend = cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9000 });
  client.handshake(t).request(t + 0.001, get('/stream/slow?chunks=10'));
  backend.handshake(t + 0.002).request(t + 0.003, get('/slow?chunks=10')).response(t + 0.03, CHUNKED_HEAD + chunk(100));
  client.response(t + 0.031, CHUNKED_HEAD + chunk(100));
  for (let k = 1; k < 4; k++) {
    backend.response(t + 0.03 + k * 0.2, chunk(100));
    if (k < relayedChunks) client.response(t + 0.031 + k * 0.2, chunk(100));
  }
  const cutTs = t + 1.24;
  backend.close(cutTs, 's');
  front(client, cutTs + 0.00025);
  return { client, backend };
}

describe('response-truncated: a backend cut its proxy passed on to its client as a whole response', () => {
  test('the proxy ended its chunked response with the last chunk (Caddy): the backend finding and diagnosis say its client saw no error', () => {
    const cap = new Capture();
    const { client } = streamCutBehindProxy(cap, 0, (c, ts) => c.response(ts, LAST_CHUNK));
    client.close(5, 'c');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    // The client leg ended whole: only the backend's cut is a finding.
    expect(found.map((f) => f.server)).toEqual(['10.0.0.9:9000']);
    expect(found[0].evidence.hiddenByProxy).toBe('10.0.0.5:8080');
    expect(found[0].evidence.hiddenEndedWith).toBe('last-chunk');
    expect(found[0].evidence.hiddenStatus).toBe(200);
    expect(found[0].evidence.hiddenBodyBytes).toBe(400);
    expect(found[0].summary).toContain('the proxy 10.0.0.5:8080 ended its response to 10.0.0.1');
    expect(found[0].summary).toContain('its client got the cut body as a complete response, with no error');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.server).toBe('10.0.0.9:9000');
    expect(d.explanation).toContain('The proxy in front (10.0.0.5:8080) passed the cut body on to its client as whole');
    expect(d.explanation).toContain('Its client saw no error');
    expect(d.explanation).toContain('silent data loss');
    expect(d.explanation).not.toContain('answers 502 or passes the cut on');
    expect(d.remedy).toContain('checking the body itself');
  });

  test('a proxy that closed its client connection to end a close-delimited body hid the cut too', () => {
    const cap = new Capture();
    const client = cap.connection({ client: '10.0.0.1', server: '10.0.0.5', sport: 8080 });
    const backend = cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9000 });
    client.handshake(0).request(0.001, get('/dump'));
    backend.handshake(0.002).request(0.003, get('/dump')).response(0.01, 'HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n' + 'x'.repeat(700));
    client.response(0.011, 'HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n' + 'x'.repeat(700));
    backend.close(1.51, 's');
    client.close(1.5102, 's');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.server)).toEqual(['10.0.0.9:9000']);
    expect(found[0].evidence.hiddenEndedWith).toBe('close');
    expect(r.diagnoses.find((x) => x.kind === KIND)!.explanation).toContain('silent data loss');
  });

  test('near-miss: a proxy that passed the cut on as a cut (its client leg cut mid-chunk too) is told as today', () => {
    const cap = new Capture();
    streamCutBehindProxy(cap, 0, (c, ts) => c.close(ts, 's'));
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found.every((f) => f.evidence.hiddenByProxy === undefined)).toBe(true);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.server).toBe('10.0.0.9:9000');
    expect(d.explanation).toContain('answers 502 or passes the cut on.');
    expect(d.explanation).not.toContain('silent data loss');
  });

  test('near-miss: a whole response with more body than the backend sent, or one ended long after the cut, hid nothing', () => {
    const cap = new Capture();
    // The proxy sent more than the backend delivered (another source: a cache, a retry elsewhere).
    const { client } = streamCutBehindProxy(cap, 0, (c, ts) => c.response(ts, chunk(300) + LAST_CHUNK));
    client.close(5, 'c');
    // The same request answered whole by the proxy 2 s after another cut: not this cut's leg.
    const late = streamCutBehindProxy(cap, 10, (c, ts) => c.response(ts + 2, LAST_CHUNK));
    late.client.close(15, 'c');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.server)).toEqual(['10.0.0.9:9000', '10.0.0.9:9000']);
    expect(found.every((f) => f.evidence.hiddenByProxy === undefined)).toBe(true);
    expect(r.diagnoses.find((x) => x.kind === KIND)!.explanation).not.toContain('silent data loss');
  });

  test('near-miss: a proxy that answered its client 502 before any body (it buffers) is no hidden cut', () => {
    const cap = new Capture();
    const client = cap.connection({ client: '10.0.0.1', server: '10.0.0.5', sport: 8080 });
    const backend = cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9000 });
    client.handshake(0).request(0.001, get('/dump'));
    backend.handshake(0.002).request(0.003, get('/dump')).response(0.01, 'HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n' + 'x'.repeat(700));
    backend.close(1.51, 's');
    client.response(1.5102, 'HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk(10) + LAST_CHUNK);
    client.close(3, 'c');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence.hiddenByProxy).toBeUndefined();
  });

  test('recorded: Caddy 2.6 ended its chunked 200s whole after a Go WriteTimeout cut both streams (response-truncated-hidden-by-caddy)', async () => {
    const r = await analyzeFiles([path.join(SAMPLES_DIR, 'response-truncated-hidden-by-caddy.pcap')], { detectors: only });
    const found = r.anomalies.filter((a) => a.kind === KIND);
    expect(found.map((f) => f.server)).toEqual(['127.0.0.3:9003', '127.0.0.3:9003']);
    expect(found.map((f) => f.evidence.hiddenByProxy)).toEqual(['127.0.0.2:8080', '127.0.0.2:8080']);
    expect(found.map((f) => f.evidence.hiddenBodyBytes)).toEqual([320, 256]);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('passed 2 cut bodies on to its clients as whole');
    expect(d.explanation).toContain('silent data loss');
  });
});
