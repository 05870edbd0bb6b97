import { portReuse } from '../../src/detect/detectors/port-reuse';
import { analyzeSample, listSamples } from '../samples';
import { Capture, get, ofKind, ok } from './reuse-kit';
import { buildTcpPacket, TCP_SYN } from '../helpers/packet-builder';

const KIND = 'port-reuse';
const only = [portReuse];

describe('port-reuse: synthetic connections', () => {
  test('a SYN with a new ISN 50 ms after the connection on that 4-tuple closed (server closed first)', () => {
    const cap = new Capture();
    const a = cap.connection({ cport: 40000, isn: 1000 });
    a.handshake(0).exchange(0.001).close(0.01, 's');
    const b = cap.connection({ cport: 40000, isn: 900_000 });
    b.handshake(0.0602).exchange(0.061).close(0.07, 'c');
    const r = cap.analyze(only);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.severity).toBe('info');
    expect(f.flowId).toBe(2);
    expect(f.client).toBe('10.0.0.1:40000');
    expect(f.evidence).toMatchObject({
      previousFlowId: 1,
      previousClosed: true,
      gap: 0.05,
      previousClosedBy: 'server',
      previousClose: 'fin',
      timeWaitHeldBy: 'server',
      previousIsn: 1000,
    });
    expect(f.frames).toHaveLength(2); // the old connection's last packet, the new SYN
    expect(f.summary).toContain('TIME_WAIT');
  });

  test('a SYN with a new ISN on a 4-tuple whose connection is still open: warning', () => {
    const cap = new Capture();
    const a = cap.connection({ cport: 40000, isn: 1000 });
    a.handshake(0).exchange(0.001);
    const b = cap.connection({ cport: 40000, isn: 900_000 });
    b.handshake(2).exchange(2.001);
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.severity).toBe('warning');
    expect(f.evidence).toMatchObject({ previousClosed: false, previousClosedBy: null, timeWaitHeldBy: null });
    expect(f.summary).toContain('still open');
  });

  test('still open in a capture that lost packets (of that connection, or of another before): info, uncertain (its FIN may be what was lost)', () => {
    const build = (lossOn: 'previous' | 'other' | 'none') => {
      const cap = new Capture();
      const lossy = (conn: ReturnType<Capture['connection']>, at: number): void => {
        conn.send(at, 's', 'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n' + 'x'.repeat(5));
        if (lossOn === 'none') conn.send(at + 0.0005, 's', 'x'.repeat(10));
        else conn.unseen('s', 'x'.repeat(10));
        conn.response(at + 0.001, 'x'.repeat(5));
      };
      if (lossOn === 'other') {
        const other = cap.connection({ cport: 39000 }).handshake(0).request(0.001, get('/o'));
        lossy(other, 0.002);
        other.close(0.01, 'c'); // ended, its loss measured, before the reuse
      }
      const a = cap.connection({ cport: 40000, isn: 1000 }).handshake(0.5).request(0.501, get('/a'));
      if (lossOn === 'previous') lossy(a, 0.502);
      else a.response(0.502, ok());
      // After the other connection's close has lingered out of the table (closedLinger, 5 s).
      cap.connection({ cport: 40000, isn: 900_000 }).handshake(10).exchange(10.001);
      return ofKind(cap.analyze(only), KIND);
    };
    for (const [lossOn, scope] of [['previous', 'connection'], ['other', 'capture']] as const) {
      const [f, ...rest] = build(lossOn);
      expect(rest).toEqual([]);
      expect([lossOn, f.severity]).toEqual([lossOn, 'info']);
      expect(f.evidence).toMatchObject({ previousClosed: false, uncertain: true, captureLoss: scope });
      expect(f.summary).toContain('still open');
      expect(f.summary).toContain('uncertain: the capture lost packets');
    }
    // The near miss: nothing lost, a warning.
    const [g] = build('none');
    expect(g.severity).toBe('warning');
    expect(g.evidence.uncertain).toBeUndefined();
  });

  describe('stays silent', () => {
    test('a retransmitted SYN (same ISN)', () => {
      const cap = new Capture();
      const syn = (): Uint8Array => buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 1000, flags: TCP_SYN });
      cap.add(0, syn());
      cap.add(1, syn());
      cap.add(3, syn());
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('the port reused long after the previous connection left the table', () => {
      const cap = new Capture();
      cap.connection({ cport: 40000, isn: 1000 }).handshake(0).exchange(0.001, get('/a')).close(0.01, 'c');
      cap.connection({ cport: 40000, isn: 900_000 }).handshake(120).exchange(120.001, get('/b')).close(120.01, 'c');
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------- samples

const samples = new Map(listSamples().map((s) => [s.name, s]));

const silent = [
  'connection-churn', 'keepalive-node-agent', 'clean-keepalive-reuse', 'client-closes-idle-first', 'connection-close-curl',
  'half-close', 'abortive-close-after-response', 'http10-keepalive-and-close', 'tcp-keepalive-probes', 'pipelining',
  'chunked-responses', 'syn-unanswered', 'retransmitted-fin', 'keepalive-race-crossing', 'keepalive-race-python',
  'keepalive-race-apache-java', 'healthy-apache-lighttpd-java',
].filter((n) => samples.has(n));

(samples.has('port-reuse') ? test : test.skip)('sample port-reuse: each reuse with its gap and the side holding TIME_WAIT', async () => {
  const meta = samples.get('port-reuse')!.meta!;
  const expected = (meta.expect ?? []).filter((e) => e.kind === KIND);
  const found = ofKind(await analyzeSample('port-reuse'), KIND);
  expect(found).toHaveLength(expected.length);
  expect(found.map((f) => f.evidence.timeWaitHeldBy)).toEqual(expected.map((e) => (e.evidence as Record<string, string>).timeWaitHeldBy));
  found.forEach((f, i) => {
    const ev = expected[i].evidence as Record<string, number>;
    expect(f.client).toBe(expected[i].client);
    expect(f.severity).toBe('info');
    expect(Math.abs((f.evidence.gap as number) * 1000 - ev.gapMs)).toBeLessThanOrEqual(1);
  });
});

test.each(silent)('port-reuse stays silent on sample %s', async (name) => {
  expect(ofKind(await analyzeSample(name), KIND).map((f) => f.summary)).toEqual([]);
});

describe('port-reuse: a busy client reusing ports after a close', () => {
  /** `n` connections in turn on one 4-tuple, each closed by the server 10 ms before the next SYN; then one reused while still open. */
  const busy = (n: number, openAtEnd: boolean) => {
    const cap = new Capture();
    let t = 0;
    for (let i = 0; i < n; i++) {
      const c = cap.connection({ cport: 40000, isn: 1000 + i * 100_000 });
      c.handshake(t).exchange(t + 0.001).close(t + 0.01, i % 2 === 0 ? 's' : 'c');
      t += 0.02 + i * 0.001;
    }
    if (openAtEnd) {
      cap.connection({ cport: 41000, isn: 5 }).handshake(t).exchange(t + 0.001);
      cap.connection({ cport: 41000, isn: 9_000_000 }).handshake(t + 2).exchange(t + 2.001);
    }
    return ofKind(cap.analyze(only), KIND);
  };

  test('the first ten reuses of a client host and server are listed, the rest told in one note with their count and gaps', () => {
    const found = busy(14, false);
    const listed = found.filter((f) => f.evidence.reusesNotListed === undefined);
    const notes = found.filter((f) => f.evidence.reusesNotListed !== undefined);
    expect(listed).toHaveLength(10);
    expect(notes).toHaveLength(1);
    const [note] = notes;
    expect(note.severity).toBe('info');
    expect(note.evidence).toMatchObject({ reusesNotListed: 3, reusesListed: 10, timeWaitHeldByClient: 1, timeWaitHeldByServer: 2 });
    // Gaps grow by 1 ms a connection: the 12th to 14th SYNs came 20 to 22 ms after the previous connection's last packet.
    expect(note.evidence.minGap).toBeCloseTo(0.02, 3);
    expect(note.evidence.maxGap).toBeCloseTo(0.022, 3);
    expect(note.summary).toContain('3 more new connections from 10.0.0.1');
    expect(note.frames).toHaveLength(2);
  });

  test('ten or fewer reuses: each listed, no note', () => {
    const found = busy(11, false);
    expect(found).toHaveLength(10);
    expect(found.every((f) => f.evidence.reusesNotListed === undefined)).toBe(true);
  });

  test('a reuse of a connection still open is a warning, listed past the cap too', () => {
    const found = busy(14, true);
    const open = found.filter((f) => f.evidence.previousClosed === false);
    expect(open).toHaveLength(1);
    expect(open[0].severity).toBe('warning');
  });
});
