/**
 * connection-refused when the refused client is a proxy (Apache mod_proxy_balancer, a member whose
 * connect was refused and that it then holds in error state): the proxy failed one request when
 * its connect was refused, then answered the next ones 503 at once without any SYN upstream. The
 * diagnosis says so, and that no timeout is at work; no other detector invents one.
 */
import { DETECTORS } from '../../src/detect/registry';
import { buildTcpPacket, TCP_ACK, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { BACKEND, PROXY, PROXY_ENDPOINT, scene } from './proxy-scenes';
import { Capture, ofKind } from './reuse-kit';

/** The proxy's SYN to the backend's port 9002, answered by RST,ACK. */
function refusedConnect(cap: Capture, at: number, port: number): void {
  cap.add(at, buildTcpPacket({ src: PROXY, dst: BACKEND, sport: port, dport: 9002, seq: 500, flags: TCP_SYN }));
  cap.add(at + 0.00002, buildTcpPacket({ src: BACKEND, dst: PROXY, sport: 9002, dport: port, seq: 0, ack: 501, flags: TCP_RST | TCP_ACK }));
}

function build(withFastFailures: boolean): Capture {
  const cap = new Capture();
  // The proxy forwards from its own address (seen with two answered requests).
  scene(cap, 0, { delay: 0.01, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/ok/1' });
  scene(cap, 0.5, { delay: 0.01, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/ok/2' });
  // A request whose connect is refused: answered 503 0.3 ms later.
  scene(cap, 1, { delay: 0.0003, upstream: 'none', answer: '503 Service Unavailable', uri: '/down/1' });
  refusedConnect(cap, 1.0011, 45000);
  if (withFastFailures) {
    for (const [i, t] of [1.3, 1.6, 1.9].entries()) scene(cap, t, { delay: 0.0002, upstream: 'none', answer: '503 Service Unavailable', uri: `/down/${i + 2}` });
  }
  return cap;
}

describe('connection-refused, the refused client being a proxy', () => {
  test("the proxy's 503s at once without any SYN are told apart from a timeout", () => {
    const r = build(true).analyze(DETECTORS);
    expect(ofKind(r, 'connection-refused')).toHaveLength(1);
    const [d] = r.diagnoses.filter((x) => x.kind === 'connection-refused');
    expect(d.explanation).toContain(`The refused client is a proxy (${PROXY_ENDPOINT}): it failed 1 of its clients' request(s) with 503 when its connect was refused`);
    expect(d.explanation).toContain('and 3 more with 503');
    expect(d.explanation).toContain('No timeout is at work');
    expect(r.diagnoses.map((x) => x.kind)).toEqual(['connection-refused']);
  });

  test('without such failures the diagnosis says nothing of a proxy marking the backend down', () => {
    const r = build(false).analyze(DETECTORS);
    const [d] = r.diagnoses.filter((x) => x.kind === 'connection-refused');
    expect(d.explanation).toContain('when its connect was refused');
    expect(d.explanation).not.toContain('marked the backend down');
  });
});
