/**
 * A 4-tuple reused by a new connection whose SYN and SYN-ACK the capture lost, after an old
 * connection whose FIN the capture lost too: when the old response announced the close
 * (Connection: close), the server's FIN comes at its next sequence number, seen or not, so a
 * segment acknowledging past it and sent from far outside the client's space is another
 * connection's (Connection.serverCloseAnnounced, TcpTracker.reusedUnseen). Blind round 5's
 * tiny.pcap (tcpdump -B 32 under ab load) held such pairs, merged as ~150 MB holes each.
 */
import { Capture, get, ok } from '../detect/reuse-kit';

/** An exchange on port 41000 whose response says `connection`, no FIN captured; then, 57 s later, the port's next connection seen from its request. */
function reusedAfter(connection: 'close' | 'keep-alive') {
  const cap = new Capture();
  const old = cap.connection({ cport: 41000 });
  old.handshake(0).request(0.01, get('/a')).response(0.02, ok('x'.repeat(100), [`Connection: ${connection}`]));
  // Linux picks the new server ISN 65537 past the old next sequence number (its TIME_WAIT); the
  // client's new ISN is far from its old one. Neither handshake packet is in the capture.
  const next = cap.connection({ cport: 41000, isn: 3_000_000_000 });
  next.sSeq = old.sSeq + 65537 + 1;
  next.request(57, get('/b')).response(57.01, ok('y'));
  return cap.analyze([]);
}

describe('a reused 4-tuple whose handshake and previous FIN the capture lost', () => {
  test('after a response with Connection: close: a new connection seen mid-stream, no bytes missing', () => {
    const r = reusedAfter('close');
    expect(r.stats.portReusesUnseen).toBe(1);
    expect(r.flows).toHaveLength(2);
    expect(r.flows[1].directionInferred).toBe(true);
    expect(r.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
    expect(r.exchanges.map((e) => `${e.flowId} ${e.uri} ${e.status}`)).toEqual([`${r.flows[0].id} /a 200`, `${r.flows[1].id} /b 200`]);
  });

  test('near miss: after a kept-alive response the acknowledgement is within reach of the old server: one connection (the limit this leaves)', () => {
    const r = reusedAfter('keep-alive');
    expect(r.stats.portReusesUnseen).toBe(0);
    expect(r.flows).toHaveLength(1);
  });

  test('near miss: the client goes on sending in its own space after the announced close: no split', () => {
    const cap = new Capture();
    const c = cap.connection({ cport: 41001 });
    c.handshake(0).request(0.01, 'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789');
    c.response(0.02, 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    c.send(2, 'c', 'abcdefghij');
    const r = cap.analyze([]);
    expect(r.stats.portReusesUnseen).toBe(0);
    expect(r.flows).toHaveLength(1);
  });
});
