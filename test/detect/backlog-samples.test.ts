/**
 * The round-15 samples (samples/record/lib-x15.sh): a busy gunicorn behind a small listen backlog,
 * recorded with the kernel's own counters. Expected counts come from each meta.json, which
 * x15-meta.py wrote only after the capture agreed with ListenOverflows/ListenDrops, gunicorn's
 * access log and curl's results.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { SAMPLES_DIR, SampleMeta } from '../samples';
import { ofKind } from './reuse-kit';

interface BacklogMeta extends SampleMeta {
  configured: Record<string, number>;
  facts: {
    connections: number; served: number; reportableOverflows: number; handshakeResets: number;
    synDroppedConnections: number; droppedSyns: number;
    kernel: { ListenOverflows: number; ListenDrops: number; SyncookiesSent: number };
  };
}

const SAMPLES = [
  'accept-queue-overflow-gunicorn', 'accept-queue-overflow-syncookies-gunicorn', 'accept-queue-overflow-abort-gunicorn',
  'syn-backlog-full-gunicorn', 'syn-backlog-cookies-gunicorn'];

function load(name: string): BacklogMeta {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as BacklogMeta;
}

const present = SAMPLES.filter((s) => fs.existsSync(path.join(SAMPLES_DIR, `${s}.pcap`)));

(present.length > 0 ? describe : describe.skip)('backlog samples against the kernel counters', () => {
  const results = new Map<string, AnalysisResult>();
  beforeAll(async () => {
    for (const s of present) results.set(s, await analyzeFiles([path.join(SAMPLES_DIR, `${s}.pcap`)]));
  });

  test.each(present)('%s: one finding per overflowed connection and per SYN-dropped one, as counted by the meta', (s) => {
    const meta = load(s);
    const r = results.get(s)!;
    expect(r.stats.connections).toBe(meta.facts.connections);
    const overflows = ofKind(r, 'accept-queue-overflow');
    expect(overflows).toHaveLength(meta.facts.reportableOverflows);
    const expectedOverflows = (meta.expect ?? []).filter((e) => e.kind === 'accept-queue-overflow').map((e) => e.client).sort();
    expect(overflows.map((f) => f.client).sort()).toEqual(expectedOverflows);
    // Every connection the listener refused was counted by the kernel (one or more times each).
    expect(overflows.length).toBeLessThanOrEqual(meta.facts.kernel.ListenOverflows);
    const resets = overflows.filter((f) => f.evidence.signal === 'reset-after-handshake');
    expect(resets).toHaveLength(meta.facts.handshakeResets);
    expect(resets.length > 0).toBe(meta.configured.tcpAbortOnOverflow === 1);
    const syns = ofKind(r, 'syn-unanswered');
    expect(syns).toHaveLength(meta.facts.synDroppedConnections);
    expect(syns.length).toBeLessThanOrEqual(meta.facts.kernel.ListenDrops);
    // A full queue with something listening is never "nothing listens".
    expect(ofKind(r, 'connection-refused')).toEqual([]);
    if (meta.silent) expect(r.anomalies).toEqual([]);
  });

  test.each(present.filter((s) => load(s).facts.reportableOverflows > 0))('%s: the diagnosis names the listen backlog, somaxconn and tcp_abort_on_overflow', (s) => {
    const [d, ...rest] = results.get(s)!.diagnoses.filter((x) => x.kind === 'accept-queue-overflow');
    expect(rest).toEqual([]);
    expect(d.count).toBe(load(s).facts.reportableOverflows);
    expect(d.remedy).toContain('listen() backlog');
    expect(d.remedy).toContain('net.core.somaxconn');
    expect(d.remedy).toContain('tcp_abort_on_overflow');
    expect(d.remedy).toContain('ListenOverflows');
  });

  test.each(present.filter((s) => load(s).facts.synDroppedConnections > 0))('%s: the SYN-drop diagnosis names the SYN backlog and SYN cookies', (s) => {
    const meta = load(s);
    const [d] = results.get(s)!.diagnoses.filter((x) => x.kind === 'syn-unanswered');
    expect(d.count).toBe(meta.facts.synDroppedConnections);
    expect(d.explanation).toContain(`of ${meta.facts.connections} connection attempts`);
    expect(d.remedy).toContain('tcp_max_syn_backlog');
    expect(d.remedy).toContain('tcp_syncookies');
  });

  test.each(present.filter((s) => s !== 'accept-queue-overflow-abort-gunicorn' && load(s).facts.reportableOverflows > 0))(
    '%s: an overflow that leaves no SYN-ACK repeat (SYN cookie, or a request retransmitted first) is the request dropped until accepted',
    (s) => {
      const findings = ofKind(results.get(s)!, 'accept-queue-overflow');
      for (const f of findings.filter((x) => x.evidence.synAckRepeats === 0)) {
        expect(f.evidence).toMatchObject({ signal: 'data-acked-late', dataAcked: true, outcome: 'accepted-later' });
        expect(f.evidence.dataRetransmissionsBeforeAck as number).toBeGreaterThanOrEqual(2);
      }
      // Every client was served in the end (gunicorn's access log, in the meta's facts).
      expect(load(s).facts.served).toBe(load(s).facts.connections);
      expect(findings.every((f) => f.evidence.outcome === 'accepted-later')).toBe(true);
    },
  );
});
