import { ServerStops } from '../../src/detect/server-stops';
import { Capture } from './reuse-kit';
import { buildTcpPacket, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import type { DetectorDefinition } from '../../src/detect/detector';

/** `stops` fed every connection of a capture as it ends (connection objects are reused after). */
function noteAll(cap: Capture, stops: ServerStops): void {
  const feeder: DetectorDefinition = {
    id: 'port-reuse',
    meta: { description: 'feeds ServerStops', severity: 'info', messages: {} },
    create: () => ({ onConnectionEnd: (conn) => stops.onConnectionEnd(conn) }),
  };
  cap.analyze([feeder]);
}

const BASE = 1_700_000_000;

describe('ServerStops: when a server port refused connections', () => {
  test('a flood of refusals keeps when it began (blind round 13b, S5a: 45 000 refusals, the first read 1.282 s late)', () => {
    const cap = new Capture();
    // 600 SYNs refused 2 ms apart from t = 1 s on.
    for (let i = 0; i < 600; i++) {
      const t = 1 + i * 0.002;
      cap.add(t, buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 20000 + i, dport: 80, seq: 100, ack: 0, flags: TCP_SYN }));
      cap.add(t + 0.00001, buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 20000 + i, seq: 0, ack: 101, flags: TCP_RST }));
    }
    const stops = new ServerStops();
    noteAll(cap, stops);
    const at = (t: number): number => BASE + t; // the kit's capture clock starts at BASE
    expect(stops.firstRefusalAfter('10.0.0.2:80', at(0.9995))! - BASE).toBeCloseTo(1.00001, 5);
    expect(stops.stoppedAfter('10.0.0.2:80', at(0.9995))).toBe(true);
    // The latest are kept too.
    expect(stops.firstRefusalAfter('10.0.0.2:80', at(2.1))! - BASE).toBeCloseTo(2.10001, 4);
    expect(stops.firstRefusalAfter('10.0.0.2:80', at(10))).toBeNull();
  });
});
