import { rateLimited } from '../../src/detect/detectors/rate-limited';
import { analyzeSample, listSamples } from '../samples';
import { Capture, get, ofKind, ok } from './reuse-kit';

const only = [rateLimited];
const KIND = 'rate-limited';
const TOO_MANY = ok('slow down', [], 'HTTP/1.1', '429 Too Many Requests');

/** One connection from `client` at `at` carrying the given answers, 10 ms apart, then closed by the client. */
function connection(cap: Capture, client: string, at: number, answers: string[]): void {
  const conn = cap.connection({ client });
  conn.handshake(at);
  answers.forEach((a, i) => conn.exchange(at + 0.01 * (i + 1), get(`/api/items?n=${i}`), a));
  conn.close(at + 0.5, 'c');
}

describe('rate-limited on synthetic traffic', () => {
  test('429s to one client host while another is served: one info finding, that client\'s limit, its pace', () => {
    const cap = new Capture();
    connection(cap, '10.0.0.1', 0, [ok(), ok(), TOO_MANY, TOO_MANY, TOO_MANY, TOO_MANY]);
    connection(cap, '10.0.0.1', 0.005, [TOO_MANY, TOO_MANY]);
    connection(cap, '10.0.0.7', 0.02, [ok(), ok(), ok()]);
    const r = cap.analyze(only);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: 'info', server: '10.0.0.2:80', client: '10.0.0.1', flowId: null });
    expect(f.evidence).toMatchObject({
      responses429: 6, requests: 8, limitedClientHosts: ['10.0.0.1'], limitedPerHost: [6], paths: ['GET /api/items'], otherHostsServedMeanwhile: 1,
    });
    expect(f.frames.length).toBeGreaterThan(0);
    expect(f.summary).toContain('429 Too Many Requests to 6 of 8 requests from 10.0.0.1');
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('rate limiting');
    expect(d.explanation).toContain('the limit is per client');
    expect(d.explanation).not.toContain('outage of');
    expect(d.explanation).toMatch(/the client sent 8 requests in 0\.0\d+ s \(\d+\/s\) up to its last 429, 8 in its busiest second/i);
    expect(d.explanation).toContain('carried no Retry-After');
  });

  test('Retry-After: the delay-seconds the 429s carried are named; an HTTP-date is not read as one', () => {
    const cap = new Capture();
    connection(cap, '10.0.0.1', 0, [
      ok(),
      ok('slow down', ['Retry-After: 30'], 'HTTP/1.1', '429 Too Many Requests'),
      ok('slow down', ['retry-after: 5'], 'HTTP/1.1', '429 Too Many Requests'),
      ok('slow down', ['Retry-After: Wed, 21 Oct 2015 07:28:00 GMT'], 'HTTP/1.1', '429 Too Many Requests'),
    ]);
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ responses429: 3, retryAfterSeconds: [5, 30], withRetryAfter: 2 });
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('2 of the 429s asked the client to retry after 5–30 s (Retry-After)');
  });

  // The detector keeps each live connection's tally in a slot by connection id (4 096 of them):
  // a connection whose slot another took meanwhile finds its own host's tally again.
  test('a connection whose slot a later connection took: its 429s stay its own host\'s', () => {
    const cap = new Capture();
    const a = cap.connection({ client: '10.0.0.1' });
    a.handshake(0);
    a.exchange(0.01, get('/api/items'), TOO_MANY);
    for (let i = 0; i < 4095; i++) connection(cap, '10.0.0.9', 0.1 + i * 0.0001, [ok()]);
    connection(cap, '10.0.0.5', 2, [ok()]);
    a.exchange(5, get('/api/items'), TOO_MANY);
    a.close(5.5, 'c');
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ responses429: 2, limitedClientHosts: ['10.0.0.1'], limitedPerHost: [2], requestsPerHost: [2], otherHostsServedMeanwhile: 2 });
  });

  test('no 429 (200s, a 503, a 404): silent', () => {
    const cap = new Capture();
    connection(cap, '10.0.0.1', 0, [ok(), ok('x', [], 'HTTP/1.1', '503 Service Unavailable'), ok('x', [], 'HTTP/1.1', '404 Not Found'), ok()]);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });
});

describe('rate-limited on recorded samples', () => {
  const samples = listSamples().filter((s) => s.meta !== null && s.name.startsWith('rate-limits-nginx'));
  test('the samples are there', () => expect(samples.map((s) => s.name).sort()).toEqual(['rate-limits-nginx', 'rate-limits-nginx-under']));

  test('rate-limits-nginx: nginx limit_req\'s 12 429s to ab (of 15), one finding; the limit_conn 503s are not counted here', async () => {
    const r = await analyzeSample('rate-limits-nginx');
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ responses429: 12, requests: 15, limitedClientHosts: ['127.0.0.1'], paths: ['GET /api/index.txt'] });
  });

  test('rate-limits-nginx-under: a burst under the limits, silent', async () => {
    const r = await analyzeSample('rate-limits-nginx-under');
    expect(r.anomalies).toEqual([]);
  });
});
