/**
 * unanswered-request where the path lost the response (blind round 17, middlebox s11: 25 % random
 * loss, python http.client with a 1 s timeout): the server answered a reused connection's request
 * and resent its answer by its retransmission timer, every copy lost on the way; the client, which
 * never received a byte of it, gave up at its read timeout and closed (FIN acknowledging nothing of
 * the answer), then reset the server's FIN (its socket was gone).
 *
 * From the client's side the answer is a hole: the server's FIN comes at a sequence number past all
 * it saw, and the client's ACKs never covered those bytes (a capture that missed them at the client
 * would show the client ACKing them). From the server's side the answer and its retransmission are
 * there, never acknowledged until the client's FIN.
 */
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { Capture, Conn, get, ofKind, ok } from './reuse-kit';

const REQ = get('/small');
const RESP = ok('hi\n');

/** Two answered requests, then the third at 1.0 s, resent twice (200 ms RTO) as the path lost it. */
function prefix(cap: Capture): Conn {
  const c = cap.connection({ cport: 54126 }).handshake(0);
  c.exchange(0.1, REQ, RESP);
  c.exchange(0.2, REQ, RESP);
  return c;
}

/**
 * The client's capture where the server's FIN, queued behind its unacknowledged answer, never comes:
 * only its ACK of the client's FIN, at a sequence number past the answer, shows the answer sent.
 * `acksAt`: 'past' (that ACK past the answer) or 'answer-start' (near miss: the ACK at the answer's
 * first byte proves nothing sent: a hung server).
 */
function clientSideAckOnly(acksAt: 'past' | 'answer-start'): Capture {
  const cap = new Capture();
  const c = prefix(cap);
  const acked = c.sSeq;
  c.send(1.0, 'c', REQ);
  c.ack(1.0001, 's');
  if (acksAt === 'past') c.unseen('s', RESP);
  c.fin(2.001, 'c', { ack: acked });
  c.ack(2.0012, 's');
  return cap;
}

/** The client's capture: the answer never arrives; `through`: its retransmission did (near miss). */
function clientSide(through: boolean): Capture {
  const cap = new Capture();
  const c = prefix(cap);
  const acked = c.sSeq;
  c.send(1.0, 'c', REQ);
  c.resend(1.208, 'c', REQ);
  c.resend(1.416, 'c', REQ);
  c.ack(1.4161, 's');
  if (through) {
    c.send(1.65, 's', RESP);
    c.ack(1.6501, 'c');
    c.close(3.0, 'c');
    return cap;
  }
  c.unseen('s', RESP); // sent at 1.21 and resent at 1.65, both lost on the path
  c.fin(2.001, 'c', { ack: acked });
  c.fin(2.0012, 's');
  c.rst(2.0013, 'c');
  return cap;
}

/** The server's capture of the same: the answer and its retransmission, never ACKed; the client's FIN. */
function serverSide(through: boolean): Capture {
  const cap = new Capture();
  const c = prefix(cap);
  const acked = c.sSeq;
  c.send(1.208, 'c', REQ); // the first copy was lost before the server
  c.send(1.2082, 's', RESP, {});
  // The client's third copy (sent before the answer could reach it): it acknowledges none of the answer.
  c.cSeq -= REQ.length;
  c.send(1.416, 'c', REQ, { ack: acked });
  c.ack(1.4161, 's');
  c.resend(1.65, 's', RESP);
  if (through) {
    c.ack(1.6502, 'c');
    c.close(3.0, 'c');
    return cap;
  }
  c.fin(2.001, 'c', { ack: acked });
  c.fin(2.0012, 's');
  c.rst(2.0013, 'c');
  return cap;
}

/**
 * The server's capture where the client's timeout crossed the answer: the client closes 0.1 s after
 * the answer left (after an earlier resend of the server's on the connection), acknowledging none of
 * it: the answer was still in flight, not lost; nothing says the path lost it.
 */
function crossing(): Capture {
  const cap = new Capture();
  const c = prefix(cap);
  c.resend(0.25, 's', RESP); // a resend earlier on the connection
  const acked = c.sSeq;
  c.send(1.0, 'c', REQ);
  c.ack(1.0001, 's');
  c.send(1.9, 's', RESP);
  c.fin(2.0, 'c', { ack: acked });
  c.fin(2.0002, 's');
  c.rst(2.0003, 'c');
  return cap;
}

describe('unanswered-request: the path lost the answer, the client gave up at its timeout', () => {
  test('near miss seen from the server: the client closed while the answer was in flight (0.1 s after it left): no path loss said', () => {
    const r = crossing().analyze([unansweredRequest]);
    for (const f of ofKind(r, 'unanswered-request')) expect(f.evidence.answerLostOnPath).toBeUndefined();
  });

  test.each([
    ['client', clientSide, 'hole'],
    ['server', serverSide, 'unacked'],
  ])('seen from the %s: reported, the client closing about 1 s after its request with no byte of the answer, the path blamed', (_side, scene, view) => {
    const r = scene(false).analyze();
    const found = ofKind(r, 'unanswered-request');
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ uri: '/small', closedBy: 'client', answerLostOnPath: view, answerLostBytes: RESP.length });
    expect(found[0].summary).toContain('the path lost it, not the server');
    const d = r.diagnoses.find((x) => x.kind === 'unanswered-request')!;
    expect(d.explanation).toContain('The server answered it, but the answer never reached the client');
    expect(d.explanation).toContain('The path lost the answer, not the server');
    expect(d.explanation).not.toContain('hung or was too slow');
    expect(d.remedy).toMatch(/^Look at the path between the client and the server/);
    expect(d.remedy).not.toContain('did not answer');
  });

  test("seen from the client with only the server's ACK of the FIN past the answer (its FIN queued behind it): the path blamed; at the answer's first byte: a hung server", () => {
    const past = ofKind(clientSideAckOnly('past').analyze([unansweredRequest]), 'unanswered-request');
    expect(past).toHaveLength(1);
    expect(past[0].evidence).toMatchObject({ answerLostOnPath: 'hole', answerLostBytes: RESP.length });
    const r = clientSideAckOnly('answer-start').analyze([unansweredRequest]);
    const hung = ofKind(r, 'unanswered-request');
    expect(hung).toHaveLength(1);
    expect(hung[0].evidence.answerLostOnPath).toBeUndefined();
    expect(r.diagnoses.find((x) => x.kind === 'unanswered-request')!.explanation).toContain('its application hung or was too slow');
  });

  test.each([
    ['client', clientSide],
    ['server', serverSide],
  ])('near miss seen from the %s: the retransmitted answer got through, nothing reported', (_side, scene) => {
    const r = scene(true).analyze([unansweredRequest]);
    expect(ofKind(r, 'unanswered-request')).toEqual([]);
  });
});
