import * as http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Diagnosis, Finding } from '../detect/finding';
import type { FlowRecord } from '../flow/flow-record';

/** Numbers a scrape reads live from the running analysis. */
export interface LiveReadings {
  packets(): number;
  liveConnections(): number;
  kernelDrops(): number;
  /** Connections finished so far that the capture held one way only (AnalysisStats.oneWay). */
  oneWayConnections(): number;
  /** Data bytes the capture missed on finished connections (AnalysisStats.captureLoss). */
  captureLossBytes(): number;
}

/**
 * Prometheus metrics of a live capture (`--metrics HOST:PORT`), so an existing Prometheus
 * watches a fleet of hosts. Label values are server endpoints and kinds: bounded by what the
 * host talks to, not by traffic volume.
 */
export class CaptureMetrics {
  readonly registry = new Registry();
  private readonly findings: Counter<'kind' | 'severity' | 'server'>;
  private readonly closed: Counter<'state'>;
  private readonly requests: Counter<'server'>;
  private readonly inferred: Gauge<'kind' | 'server' | 'name'>;
  private readonly evidenceDelay: Gauge<'kind' | 'server' | 'name'>;
  private server: http.Server | null = null;

  constructor(readings: LiveReadings) {
    const registers = [this.registry];
    let packetsSeen = 0;
    new Counter({
      name: 'conncheck_packets_total', help: 'Packets read from the capture', registers,
      collect(this: Counter) {
        const now = readings.packets();
        this.inc(now - packetsSeen);
        packetsSeen = now;
      },
    });
    new Gauge({
      name: 'conncheck_kernel_drops', help: 'Packets the kernel dropped before the capture engine saw them (a lossy capture)', registers,
      collect(this: Gauge) { this.set(readings.kernelDrops()); },
    });
    new Gauge({
      name: 'conncheck_connections_live', help: 'TCP connections currently tracked', registers,
      collect(this: Gauge) { this.set(readings.liveConnections()); },
    });
    new Gauge({
      name: 'conncheck_connections_one_way', help: 'Finished connections the capture held one direction of (a mirror or filter that sees one way): not judged', registers,
      collect(this: Gauge) { this.set(readings.oneWayConnections()); },
    });
    new Gauge({
      name: 'conncheck_capture_loss_bytes', help: 'Data bytes sent on finished connections that the capture does not hold (acknowledged, never seen)', registers,
      collect(this: Gauge) { this.set(readings.captureLossBytes()); },
    });
    this.closed = new Counter({ name: 'conncheck_connections_closed_total', help: 'Connections finished, by Zeek conn_state', labelNames: ['state'], registers });
    this.findings = new Counter({ name: 'conncheck_findings_total', help: 'Findings by kind and server endpoint', labelNames: ['kind', 'severity', 'server'], registers });
    this.requests = new Counter({ name: 'conncheck_http_requests_total', help: 'HTTP requests by server endpoint', labelNames: ['server'], registers });
    this.inferred = new Gauge({ name: 'conncheck_inferred_timeout_seconds', help: 'Timeouts inferred by diagnoses', labelNames: ['kind', 'server', 'name'], registers });
    this.evidenceDelay = new Gauge({ name: 'conncheck_finding_delay_seconds', help: 'Timing evidence of the latest finding (idle gap before a server close, wait before a timeout...)', labelNames: ['kind', 'server', 'name'], registers });
  }

  onFinding(f: Finding): void {
    this.findings.inc({ kind: f.kind, severity: f.severity, server: f.server });
    for (const [name, value] of Object.entries(f.evidence)) {
      if (typeof value === 'number' && /gap|wait|delay|duration|idle|timeout/i.test(name)) {
        this.evidenceDelay.set({ kind: f.kind, server: f.server, name }, value);
      }
    }
  }

  onFlow(flow: FlowRecord): void {
    this.closed.inc({ state: flow.state });
  }

  onRequest(server: string): void {
    this.requests.inc({ server });
  }

  onDiagnoses(diagnoses: readonly Diagnosis[]): void {
    for (const d of diagnoses) {
      for (const [name, v] of Object.entries(d.inferred)) this.inferred.set({ kind: d.kind, server: d.server, name }, v.value);
    }
  }

  /** Serves GET /metrics on host:port; resolves once listening. */
  listen(host: string, port: number): Promise<void> {
    this.server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('conncheck: metrics are at /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    });
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
