/**
 * response-abandoned where the path starved the body (blind round 17, middlebox s11: 25 % random
 * loss, python http.client with a 1 s timeout, GET /big cut after 1.42 s): the server had sent
 * more of the body before the silence, which the client never acknowledged (a receiver acknowledges
 * what arrives within its delayed-ACK time whether it reads or not): those bytes were lost on the
 * path, the silence was the server's retransmission timer, and the client's read timeout ran out
 * meanwhile. Seen from the server: its sent bytes unacknowledged and resent; from the client: data
 * held past a hole. Near miss: every byte sent acknowledged, then silence: the server stalled.
 */
import { responseAbandoned } from '../../src/detect/detectors/response-abandoned';
import { Capture, get } from './reuse-kit';

const SEG = 'x'.repeat(1000);
const HEAD = `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`;

/**
 * A download whose body flows for 0.2 s, then: `server` (a server-side capture: three more
 * segments, the client ACKs only up to the first, the server resends the second twice),
 * `client` (the client's capture: the second segment never arrives, the third does, held past the
 * hole), or `stall` (nothing more sent, all acknowledged); the client closes (FIN) 1.4 s after the request.
 */
function scene(view: 'server' | 'client' | 'stall'): Capture {
  const cap = new Capture();
  const c = cap.connection({ cport: 54144 }).handshake(0);
  c.request(0.01, get('/big'));
  c.response(0.02, HEAD + SEG);
  for (let k = 1; k <= 4; k++) c.response(0.02 + k * 0.05, SEG);
  if (view !== 'stall') {
    c.send(0.25, 's', SEG);
    c.ack(0.2501, 'c');
    const holeAt = c.sSeq;
    if (view === 'server') {
      c.send(0.2502, 's', SEG);
      c.send(0.2503, 's', SEG);
      c.ack(0.2504, 'c', { ack: holeAt });
      // The resends of the segment after holeAt (lost again), by the retransmission timer.
      const resend = (ts: number): void => {
        const saved = c.sSeq;
        c.sSeq = holeAt;
        c.send(ts, 's', SEG);
        c.sSeq = saved;
      };
      resend(0.46);
      resend(0.9);
    } else {
      c.unseen('s', SEG);
      c.send(0.2503, 's', SEG);
      c.ack(0.2504, 'c', { ack: holeAt });
    }
    c.fin(1.41, 'c', { ack: holeAt });
  } else {
    c.fin(1.41, 'c');
  }
  c.rst(1.4102, 'c');
  return cap;
}

describe('response-abandoned: the path lost the body\'s segments, the client timed out waiting for their retransmission', () => {
  test.each([['server'], ['client']] as const)('seen from the %s: the server is not said to stall; the path and the client timeout are', (view) => {
    const r = scene(view).analyze([responseAbandoned]);
    const d = r.diagnoses.find((x) => x.kind === 'response-abandoned');
    expect(d).toBeDefined();
    expect(d!.explanation).toContain('the server had not stalled');
    expect(d!.explanation).toContain('the path lost them');
    expect(d!.explanation).not.toContain('the server stalled mid-body');
    expect(d!.remedy).toMatch(/^Look at the path between/);
  });

  test('near miss: everything sent was acknowledged, then silence: the server stalled', () => {
    const r = scene('stall').analyze([responseAbandoned]);
    const d = r.diagnoses.find((x) => x.kind === 'response-abandoned');
    expect(d).toBeDefined();
    expect(d!.explanation).toContain('the server stalled mid-body');
    expect(d!.remedy).toMatch(/^Find why/);
  });
});
