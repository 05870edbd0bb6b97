/**
 * The pipeline, and the only place that wires stages together:
 * source → decode → flow → http → detect → result.
 */
import * as path from 'node:path';
import { hostOfEndpoint } from './decode/address';
import { TranslatedServers } from './detect/translated-servers';
import { DECODE_ISSUES, DecodeIssue } from './decode/decode-issue';
import { decodePacket } from './decode/decode-packet';
import { flowHash } from './decode/flow-hash';
import { CollectLimits, FlowPacketCollector, FlowPacketRequest, FlowPackets, FrameLocation, FrameLocator } from './decode/flow-packets';
import { PacketFilter } from './decode/packet-filter';
import { DecodeStatus, PacketView } from './decode/packet-view';
import { TUNNEL_NAMES, TUNNEL_NONE } from './decode/tunnel';
import { AnalyzedConnection, ConnectionHttp, RECENT_EXCHANGES_KEPT } from './detect/analyzed-connection';
import { DEFAULT_DETECT_OPTIONS, DetectOptions, DetectorDefinition } from './detect/detector';
import { DetectionEngine } from './detect/engine';
import type { AnomalyKind, Diagnosis, Finding, Severity } from './detect/finding';
import { DETECTORS } from './detect/registry';
import { CaptureCopies } from './flow/capture-copies';
import { ConnStateLabel, connState } from './flow/conn-state';
import { candidateFileGaps, FileGap, liveAcross, LiveSpan } from './source/file-gaps';
import type { Connection } from './flow/connection';
import { FlowRecord, toFlowRecord } from './flow/flow-record';
import type { NatTwin } from './flow/nat-twins';
import { RELEASED_AT_CAP } from './flow/released-tuples';
import { releasedEarlyText } from './report/released-early';
import { ConnectionObserver, DEFAULT_TRACKER_OPTIONS, TcpTracker, TrackerOptions } from './flow/tcp-tracker';
import type { HttpExchange } from './http/exchange';
import { HttpCounters } from './http/http-counters';
import { FastcgiBridge, startsLikeFastcgi } from './http/fastcgi';
import { HttpSession, HttpSessionOptions, PendingBudget } from './http/session';
import { startsLikeHttp2Preface, startsLikeRequest, startsLikeResponse } from './http/sniff';
import { readProxyHeader } from './http/proxy-protocol';
import { startsLikeClientHello, TlsRecords } from './http/tls-records';
import { formatDuration } from './report/format-time';
import { snaplenFramingWarning } from './report/unread-traffic';
import { MergeInput, MergeResult, readCapturesMerged } from './source/capture-merge';
import { CaptureOrder, inCaptureOrder } from './source/capture-order';
import { readCapture } from './source/open-capture';
import type { CaptureFileInfo, RawPacket } from './source/raw-packet';

/**
 * Where the look at a connection's first bytes stands (ConnectionHttp.firstBytes). A frozen object,
 * not an enum: compiled with isolatedModules, an enum is an object read at run time, while a frozen
 * one's members fold into the compiled code; this is read for every payload segment.
 */
const FirstBytes = Object.freeze({ NotYet: 0, ServerSpokeFirst: 1, Decided: 2 } as const);

/**
 * A connection's HTTP attachment, every field written twice: V8 takes a field written only once
 * for a constant and compiles the packet path on that belief, then throws the code away at the
 * field's first change (the first released connection's `tls = null`, the first session) and
 * compiles it again.
 */
function newConnectionHttp(): ConnectionHttp {
  const app: ConnectionHttp = { session: null, exchangeCount: 0, recent: recentList(), tls: null, fastcgi: null, firstBytes: FirstBytes.NotYet, proxyHeader: null, proxyHeaderFrame: 0, proxyHeaderLeft: 0 };
  app.session = null;
  app.exchangeCount = 0;
  app.tls = null;
  app.fastcgi = null;
  app.firstBytes = FirstBytes.NotYet;
  app.proxyHeader = null;
  app.proxyHeaderFrame = 0;
  app.proxyHeaderLeft = 0;
  return app;
}

export interface AnalyzeOptions {
  tracker?: Partial<TrackerOptions>;
  detect?: Partial<DetectOptions>;
  /** Detectors to run (default: all registered). */
  detectors?: readonly DetectorDefinition[];
  /**
   * Kinds not reported (findings, diagnoses, counts). Their detectors still run: the others ask
   * what they found (a reset the keep-alive race explained is no crashed worker).
   */
  ignore?: readonly AnomalyKind[];
  /** Keep 1 in N connections, chosen by a symmetric hash of the 4-tuple (whole connections). */
  sample?: number;
  /** Only packets of these hosts / ports / capture-time range are analyzed. */
  filter?: PacketFilter;
  /** Only these connections (by flow id) appear in the result; the rest are still tracked. */
  flowIds?: readonly number[];
  /** Keep flows and exchanges in the result (false streams them through the callbacks only). */
  collect?: boolean;
  /**
   * false: payload is not read at all (no HTTP, TLS or PROXY protocol parsing, so no exchanges and
   * no findings that rest on them); connections, handshakes, closes, resets and windows are still
   * analyzed. For TCP-level use, and for `npm run bench`, which measures the stages with and
   * without the HTTP stage. Default true.
   */
  http?: boolean;
  onFlow?: (flow: FlowRecord) => void;
  /** Each exchange as it is decided, with the connection's endpoints. */
  onExchange?: (exchange: HttpExchange, endpoints: { client: string; server: string }) => void;
  onFinding?: (finding: Finding) => void;
  /** Reading progress of files (not of stdin), after each chunk read. */
  onProgress?: (progress: ReadProgress) => void;
}

export interface ReadProgress {
  /** The input being read, as given. */
  input: string;
  /** Position of the input among those given (0-based). */
  index: number;
  /** Bytes of this input read so far (compressed bytes for gzip). */
  bytesRead: number;
  /** Packets read so far, over all inputs. */
  packets: number;
}

/** A hole between files, with what it cost. */
export interface FileGapFound extends FileGap {
  /** Connections live across it (packets on both sides) that miss data, and the bytes they miss. */
  lostConnections: number;
  lostBytes: number;
  /** Connections not closed whose last packet came before it (and after any earlier hole): closed in it or not is unknown. */
  openBefore: number;
}

export interface InputSummary {
  files: Array<Omit<CaptureFileInfo, 'name'> & { name: string }>;
  packets: number;
  /** Capture time of the earliest and latest packet (epoch seconds), null when there were none. */
  firstTs: number | null;
  lastTs: number | null;
  duration: number;
  /**
   * True when several files were read in the order of their first packets rather than as given
   * (see source/capture-order.ts); `files` lists them in the order read, frames numbered so.
   */
  filesReordered: boolean;
  /**
   * True when files overlapped in time (two interfaces or two hosts captured at once) and their
   * packets were merged by time (see source/capture-merge.ts): frames number the merged capture,
   * as `mergecap -w merged.pcap` of `files` in this order numbers it. Not with stdin among the inputs.
   */
  filesMerged: boolean;
  /**
   * Holes in time between files (a rotated file left out), only where connections live across
   * them lost data (see source/file-gaps.ts); absent unless several files were merged and one was found.
   */
  fileGaps?: FileGapFound[];
  /** Present for live captures: the interface, filter and the capture engine's own counters. */
  live?: LiveInputInfo;
  /**
   * With --since or --until: the bounds given (null: none) and the packets within them, the only
   * ones analyzed (firstTs…lastTs above span every packet read). Absent without a time bound.
   */
  window?: TimeWindow;
}

export interface TimeWindow {
  since: number | null;
  until: number | null;
  packets: number;
  firstTs: number | null;
  lastTs: number | null;
}

export interface LiveInputInfo {
  interface: string;
  filter: string | null;
  captured: number | null;
  receivedByFilter: number | null;
  /** Packets the kernel dropped: a lossy capture (findings may be incomplete). */
  droppedByKernel: number | null;
}

export interface AnalysisStats {
  packets: number;
  tcpPackets: number;
  /**
   * TCP packets without payload (handshakes, pure ACKs, bare FINs and RSTs), and TCP packets
   * without SYN, FIN or RST: real traffic always has both, so a capture with none of one was
   * filtered (report/capture-coverage.ts: filteredCapture).
   */
  tcpWithoutPayload: number;
  tcpWithoutControl: number;
  notTcp: number;
  fragments: number;
  truncated: number;
  malformed: number;
  unsupportedLink: number;
  /** Packets per decode issue id (see decode/decode-issue.ts). */
  decodeIssues: Record<string, number>;
  /**
   * TCP packets found inside a tunnel, by encapsulation (`vxlan`, `geneve`, `gre`, `erspan`,
   * `ip-in-ip`; the outermost when they nest): analyzed under their inner addresses. Empty when none.
   */
  tunneled: Record<string, number>;
  /** Records whose capture was cut by snaplen. */
  snaplenCut: number;
  /** Packets whose timestamp is earlier than one before them. */
  timestampsBackwards: number;
  /**
   * TCP packets the capture held twice (the same segment on two interfaces: `tcpdump -i any` on a
   * host that bridges or routes the traffic): counted in their flow's packets, not tracked again.
   */
  duplicates: number;
  connections: number;
  connectionsByState: Partial<Record<ConnStateLabel, number>>;
  /**
   * Connections the capture holds one direction of (flow/unseen-side.ts): `clientOnly`, only the
   * client's packets, though they acknowledged the server's (a filter such as `dst port 8080`, a
   * tap or mirror port that sees one direction, replies routed another way); `serverOnly`, the
   * reverse. Nothing the unseen side did can be judged on them. Address-translated second
   * sightings (natTwins) are not counted.
   */
  oneWay: { clientOnly: number; serverOnly: number };
  /**
   * Payload bytes sent that the capture does not hold (acknowledged by their receiver, or shown
   * missing by the data after them), and the connections they were on: packets the capture dropped
   * (tcpdump's "packets dropped by kernel", a mirror port past its rate). Bytes a snaplen cut off
   * captured segments are not counted (snaplenCut), nor holes given up because the reassembly
   * bound refused the segment behind them before the receiver acknowledged them (reassemblyRefused:
   * the capture may hold them, retransmitted), nor holes the receiver never acknowledged (the path
   * lost them). Exchanges any of these touched are `uncertain`. Address-translated second
   * sightings are not counted.
   */
  captureLoss: {
    connections: number;
    bytes: number;
    /** Of those, the connections live across a hole between files (InputSummary.fileGaps) and their bytes: no drops of the capturing tool. */
    inFileGaps?: { connections: number; bytes: number };
    /**
     * Of those, the connections of which the capture holds no payload packet at all, its opens and
     * closes only (and their bytes): the shape of a capture filter, not of drops (absent when none).
     */
    noPayloadSeen?: { connections: number; bytes: number };
    /**
     * FINs the capture does not hold though their receivers acknowledged them (Endpoint.finLostByCapture:
     * an acknowledgement one past the sender's last byte, the number only a FIN takes), absent when
     * none. Dropped as data is; not counted in `connections` or `bytes`, which are data's. Such a
     * close is timed at the acknowledgement that proves it.
     */
    fins?: number;
  };
  /**
   * Most connections the analysis held at once: its flow table, which keeps a closed or reset
   * connection a while for its late packets (a refused attempt too), so connections that never
   * overlapped may count together. The memory bound (--max-connections) is on this number.
   */
  peakLiveConnections: number;
  /**
   * Connections seen a second time after address translation (`tcpdump -i any` on a host that
   * NATs, e.g. a Kubernetes node): listed, with `sameConnectionAs`, not analyzed again.
   */
  natTwins: number;
  /**
   * Which addresses were seen translated to which ("client host → server endpoint"), and on how
   * many connections (the first NAT_TRANSLATIONS_KEPT pairs).
   */
  natTranslations: Array<{ seenAs: string; translatedTo: string; connections: number }>;
  /**
   * 4-tuples reused by a new connection whose SYN and SYN-ACK the capture lost: a segment outside
   * both sequence spaces of a closed or idle connection started a new one, seen mid-stream
   * (directionInferred), rather than being read as a hole of that many missing bytes.
   */
  portReusesUnseen: number;
  /** Connections released early because the connection cap was reached. */
  connectionsEvicted: number;
  /**
   * ICMP errors (destination unreachable, time exceeded) that quoted a TCP segment, counted in
   * notTcp too: `toConnections`, noted on the live connection the quote named (a SYN rejected on
   * the way, connection-rejected-icmp); `unmatched`, naming no connection the analysis tracks (it
   * ended, or was never in the capture, or --flow / --filter left it out). Absent when none.
   */
  icmpErrors?: { toConnections: number; unmatched: number };
  /**
   * Present only when the analysis let live connections go early and some came back: released at
   * the connection cap (`atCap`, of connectionsEvicted; `maxConnections` the cap) or forgotten after
   * `idleTimeout` seconds idle (`idle`), and how many of each came back (`resumed`: packets on the
   * same 4-tuple, each listed as a connection of its own, not analyzed: Connection.resumedAfterRelease).
   * `warning`: the coverage warning saying so (capture-coverage.ts releasedEarlyWarning).
   */
  releasedEarly?: {
    atCap: number;
    maxConnections: number;
    idle: number;
    idleTimeout: number;
    resumed: { atCap: number; idle: number };
    warning: string;
  };
  /** Out-of-order segments not buffered because a reassembly bound was reached. */
  reassemblyRefused: number;
  sampledOut: number;
  /** Packets left out by --host / --port / --since / --until. */
  filteredOut: number;
  exchanges: number;
  httpConnections: number;
  /** What the HTTP stage could not parse or pair, by kind (give-ups, gaps, resyncs, tunnels). */
  http: HttpCounters;
  /**
   * Every finding reported, by severity, including those past the bound of findings kept. With
   * `flowIds` (--flow), those on the connections reported only, as `anomalies` and the exit code.
   */
  findingsBySeverity: Record<Severity, number>;
  /** Findings reported but not kept in `anomalies` (past `maxFindingsKept`), by kind; streamed all the same. With `flowIds`, likewise those on the connections reported. */
  findingsNotKept: Record<string, number>;
  /** Only with `flowIds` (--flow): what was asked for, and what the whole capture found. */
  flowFilter?: FlowFilterStats;
}

/** What --flow asked for and what it left out (stats.flowFilter). */
export interface FlowFilterStats {
  /** The flow ids asked for, ascending. */
  flowIds: number[];
  /** Those that matched no connection of the analysis (the CLI refuses them: exit 2). */
  unmatched: number[];
  /** Every finding of the whole capture, by severity, as findingsBySeverity counts without --flow. */
  captureFindingsBySeverity: Record<Severity, number>;
}

export interface AnalysisResult {
  input: InputSummary;
  stats: AnalysisStats;
  flows: FlowRecord[];
  exchanges: HttpExchange[];
  anomalies: Finding[];
  diagnoses: Diagnosis[];
}

/** TUNNEL_NONE as a module constant, which V8 folds into the packet path (an imported one is a property read). */
const NOT_TUNNELED = TUNNEL_NONE;
/** SYN, FIN and RST: the flags that open and close connections. */
const CONTROL_FLAGS = 0x01 | 0x02 | 0x04;
/** DecodeStatus.Tcp likewise (an enum member, even a const enum's, is two property reads here). */
const DECODED_TCP = DecodeStatus.Tcp;

/** Pairs of addresses kept in stats.natTranslations; further pairs are counted in natTwins only. */
const NAT_TRANSLATIONS_KEPT = 32;
/** Released connections' sessions and attachments kept for reuse; more are left to the GC. */
const SPARE_KEPT = 1024;

/**
 * An empty array V8 already knows to hold objects. A `[]` starts out as an array of small
 * integers: the spare lists' `pop()` was compiled on that map while they stayed empty (the first
 * connections), and the first release that pushed into one changed its map and threw the
 * compiled code of every new connection's path away.
 */
function objectList<T extends object>(): T[] {
  const list: object[] = [{}];
  list.pop();
  return list as T[];
}

/** Stands in for an exchange in recentList's literal (never read: the list is emptied at once). */
const NO_EXCHANGE = Object.freeze({});

/**
 * An empty list of recent exchanges whose store already holds the RECENT_EXCHANGES_KEPT + 1 the
 * list ever holds (onExchange pushes, then shifts). A `[]` got 17 slots at its first push, and
 * `length = 0` at a connection's release gave them back, so each reused connection grew them
 * again; a store of 5 is kept by `length = 0` (V8 trims only a store of 16 or more) and never
 * grows: no allocation per connection, 96 bytes less per connection held (0.65 MB of live heap on
 * the 2 M benchmark packets).
 */
function recentList(): HttpExchange[] {
  const list: object[] = [NO_EXCHANGE, NO_EXCHANGE, NO_EXCHANGE, NO_EXCHANGE, NO_EXCHANGE];
  emptyKeepingStore(list);
  return list as HttpExchange[];
}

/** Empties a list without giving its store back: `length = 0` does (V8 drops the store at 0), pop() does not. */
function emptyKeepingStore(list: object[]): void {
  while (list.length > 0) list.pop();
}

/** A zeroed statistics block. */
function emptyStats(): AnalysisStats {
  return {
    packets: 0, tcpPackets: 0, tcpWithoutPayload: 0, tcpWithoutControl: 0, notTcp: 0, fragments: 0, truncated: 0, malformed: 0, unsupportedLink: 0,
    decodeIssues: {}, tunneled: {}, snaplenCut: 0, timestampsBackwards: 0, duplicates: 0,
    connections: 0, connectionsByState: {}, oneWay: { clientOnly: 0, serverOnly: 0 }, captureLoss: { connections: 0, bytes: 0 }, peakLiveConnections: 0, natTwins: 0, natTranslations: [], portReusesUnseen: 0, connectionsEvicted: 0, reassemblyRefused: 0,
    sampledOut: 0, filteredOut: 0, exchanges: 0, httpConnections: 0, http: new HttpCounters(),
    findingsBySeverity: { info: 0, warning: 0, error: 0 }, findingsNotKept: {},
  };
}

/** Connection states that are not closed (S1 established, S2/S3 one side closed): "still open" at the capture's end. */
const NOT_CLOSED: ReadonlySet<ConnStateLabel> = new Set<ConnStateLabel>(['S1', 'S2', 'S3']);

/** Spans kept per list for the holes between files (Analyzer.lossySpans, openSpans): about 5 MB at most. */
const SPANS_KEPT = 100_000;

/** A connection that missed data, with its span (for the holes between files). */
type LossySpan = LiveSpan & { bytes: number };

/**
 * An analysis in progress. Packets come in from any source (files, stdin, live capture);
 * `finish` releases every connection and returns the result.
 */
export class Analyzer {
  private readonly view = new PacketView();
  private readonly tracker: TcpTracker<ConnectionHttp>;
  private readonly trackerOptions: TrackerOptions;
  private readonly engine: DetectionEngine;
  private readonly stats = emptyStats();
  private readonly files: InputSummary['files'] = [];
  /** Set by analyzeFiles when it read the files in capture order rather than as given. */
  filesReordered = false;
  /** Set by analyzeFiles when it merged overlapping files by time. */
  filesMerged = false;
  /** Holes between files that may have cost data (set before finish when several files are merged). */
  candidateGaps: FileGap[] = [];
  /** Whether connections' spans are kept for the holes between files (several files merged). */
  watchFileGaps = false;
  /**
   * Connections that missed data, and connections left open, with their spans (only with
   * watchFileGaps), each list bounded (SPANS_KEPT): memory follows live connections, not the
   * capture's length; past the bound a hole's counts are lower bounds.
   */
  private readonly lossySpans: LossySpan[] = [];
  private readonly openSpans: LiveSpan[] = [];
  private readonly flows: FlowRecord[] = [];
  private readonly exchanges: HttpExchange[] = [];
  private readonly issueCounts = new Map<DecodeIssue, number>();
  /** Server endpoints seen again after a destination translation: where a diagnosis's checks belong. */
  private readonly translatedServers = new TranslatedServers();
  /** TCP packets per encapsulation (decode/tunnel.ts TUNNEL_*), for stats.tunneled. */
  private readonly tunneledCounts = new Float64Array(TUNNEL_NAMES.length);
  /**
   * Connections by final state, in the order states were first seen (the order of
   * stats.connectionsByState's keys). A Map: each new key added to a plain object changed its
   * map under onClose's compiled code, which was thrown away at a state's first connection.
   */
  private readonly stateCounts = new Map<ConnStateLabel, number>();
  private readonly httpCounters = new HttpCounters();
  /** What all HTTP sessions of this analysis may hold in pending exchanges. */
  private readonly pendingBudget = new PendingBudget();
  /**
   * Sessions and attachments of released connections, reused for new ones (bounded): made anew
   * for every connection, they lived long enough for the garbage collector to copy each twice.
   */
  private readonly spareSessions: HttpSession[] = objectList();
  private readonly spareApps: ConnectionHttp[] = objectList();
  private readonly spareTls: TlsRecords[] = objectList();
  private readonly reuseObjects: boolean;
  private readonly collect: boolean;
  /** AnalyzeOptions.http. */
  private readonly parseHttp: boolean;
  private readonly sample: number;
  private firstTs = Infinity;
  private lastTs = -Infinity;
  /** Packets within --since/--until, and the first and last of them (TimeWindow). */
  private windowPackets = 0;
  private windowFirstTs = Infinity;
  private windowLastTs = -Infinity;
  private previousTs = -Infinity;
  private finished: AnalysisResult | null = null;
  private readonly filter: PacketFilter | null;
  private readonly flowIds: Set<number> | null;
  /** With flowIds: the findings on those connections by severity and kind (kept or not), and the ids seen. */
  private readonly shownBySeverity: Record<Severity, number> = { info: 0, warning: 0, error: 0 };
  private readonly shownByKind = new Map<string, number>();
  private readonly matchedFlowIds = new Set<number>();

  constructor(private readonly options: AnalyzeOptions = {}) {
    this.collect = options.collect ?? true;
    this.parseHttp = options.http ?? true;
    this.sample = Math.max(1, Math.floor(options.sample ?? 1));
    this.filter = options.filter && !options.filter.isEmpty ? options.filter : null;
    this.flowIds = options.flowIds && options.flowIds.length > 0 ? new Set(options.flowIds) : null;
    const detectors = options.detectors ?? DETECTORS;
    const flowIds = this.flowIds;
    const onFinding = options.onFinding;
    const shownBySeverity = this.shownBySeverity;
    const shownByKind = this.shownByKind;
    this.engine = new DetectionEngine(detectors, { ...DEFAULT_DETECT_OPTIONS, ...options.detect }, (f) => {
      if (!flowIds) onFinding?.(f);
      else if (f.flowId !== null && flowIds.has(f.flowId)) {
        // Counted here, not from `anomalies`: findings past the bound kept are streamed, never listed.
        shownBySeverity[f.severity]++;
        shownByKind.set(f.kind, (shownByKind.get(f.kind) ?? 0) + 1);
        onFinding?.(f);
      }
    }, new Set(options.ignore ?? []));
    const trackerOptions: TrackerOptions = {
      ...DEFAULT_TRACKER_OPTIONS,
      // Nothing here keeps a connection past its onClose: flow records and findings are copies.
      reuseConnections: true,
      ...options.tracker,
    };
    // Sessions and attachments are reused under the same terms as the connections they belong to.
    this.reuseObjects = trackerOptions.reuseConnections;
    this.trackerOptions = trackerOptions;
    this.tracker = new TcpTracker<ConnectionHttp>(this.observer(), trackerOptions);
  }

  /** Feeds one captured packet. Never throws for bad packet data: it is counted and skipped. */
  packet(p: RawPacket): void {
    const stats = this.stats;
    stats.packets++;
    const ts = p.ts;
    if (ts < this.firstTs) this.firstTs = ts;
    if (ts > this.lastTs) this.lastTs = ts;
    if (ts < this.previousTs) stats.timestampsBackwards++;
    this.previousTs = ts;
    if (p.caplen < p.origLen) stats.snaplenCut++;
    const filter = this.filter;
    if (filter !== null) {
      if (!filter.inTime(ts)) {
        stats.filteredOut++;
        return;
      }
      this.windowPackets++;
      if (ts < this.windowFirstTs) this.windowFirstTs = ts;
      if (ts > this.windowLastTs) this.windowLastTs = ts;
    }
    const view = this.view;
    // Decode in place inside the reader's buffer when it offers it: no view object per packet.
    const bytes = p.bytes ?? p.data;
    const inPlace = p.bytes !== undefined;
    const start = inPlace ? (p.offset ?? 0) : 0;
    const status = decodePacket(p.linkType, bytes, p.caplen, p.origLen, view, start, inPlace ? p.dataView : undefined);
    if (status !== DECODED_TCP) {
      this.countIssue(view.issue);
      if (status === DecodeStatus.NotTcp) stats.notTcp++;
      else if (status === DecodeStatus.IcmpError) {
        // Still counted as not TCP (the packet is no segment); its news goes to its connection.
        stats.notTcp++;
        this.icmpError(view, ts, p.frame);
      } else if (status === DecodeStatus.Fragment) stats.fragments++;
      else if (status === DecodeStatus.Truncated) stats.truncated++;
      else if (status === DecodeStatus.Malformed) stats.malformed++;
      else stats.unsupportedLink++;
      return;
    }
    if (view.issue !== 'none') this.countIssue(view.issue);
    stats.tcpPackets++;
    // What real TCP traffic always has and a filtered export may not (report/capture-coverage.ts).
    if (view.payloadLen === 0) stats.tcpWithoutPayload++;
    if ((view.flags & CONTROL_FLAGS) === 0) stats.tcpWithoutControl++;
    if (view.tunnel !== NOT_TUNNELED) this.tunneledCounts[view.tunnel]++;
    if (filter !== null && !filter.matches(view)) {
      stats.filteredOut++;
      return;
    }
    if (this.sample > 1 && flowHash(view) % this.sample !== 0) {
      stats.sampledOut++;
      return;
    }
    this.tracker.segment(view, bytes, ts, p.frame, p.origLen);
  }

  /** An ICMP error quoting a TCP segment (view: DecodeStatus.IcmpError): to the connection it names, if tracked. */
  private icmpError(view: PacketView, ts: number, frame: number): void {
    const counts = (this.stats.icmpErrors ??= { toConnections: 0, unmatched: 0 });
    const filter = this.filter;
    // The quote's 4-tuple stands in the view where a segment's would: the filter and sampling judge it alike.
    const kept = (filter === null || filter.matches(view)) && (this.sample <= 1 || flowHash(view) % this.sample === 0);
    if (kept && this.tracker.icmpError(view, ts, frame)) counts.toConnections++;
    else counts.unmatched++;
  }

  /** Records facts about an input file once it has been read. */
  addFile(info: CaptureFileInfo): void {
    this.files.push({ ...info, name: info.name === '-' ? '-' : path.basename(info.name) });
    // Before finish: the detectors' end-of-capture judgements weigh what the capture dropped.
    if (info.droppedByCapture !== null && info.droppedByCapture > 0) this.engine.noteRecordedDrops(info.droppedByCapture);
  }

  /** Advances the capture clock with no packet (live capture: time passes on a quiet link). */
  tick(ts: number): void {
    this.tracker.advanceClock(ts);
    this.engine.onClock(ts, this.tracker.closedSettledBefore);
  }

  /** Packets seen so far. */
  get packets(): number {
    return this.stats.packets;
  }

  /** Findings so far (live views). */
  get findingCount(): number {
    return this.engine.findingCount;
  }

  get liveConnections(): number {
    return this.tracker.liveConnections;
  }

  /** Connections finished so far that the capture held one way only (live metrics). */
  get oneWayConnections(): number {
    return this.stats.oneWay.clientOnly + this.stats.oneWay.serverOnly;
  }

  /** Data bytes the capture missed on connections finished so far (live metrics). */
  get captureLossBytes(): number {
    return this.stats.captureLoss.bytes;
  }

  /**
   * Gives up on an analysis whose input failed part-way: frees what the process shares with other
   * analyses (held out-of-order bytes count against one reassembly budget). Nothing is reported.
   */
  abandon(): void {
    if (!this.finished) this.tracker.discardHeld();
  }

  /**
   * The holes between files that cost data: those some connection live across missed bytes on
   * (a gap wider than the traffic's pauses but with nothing lost is a quiet stretch, not a hole).
   * The loss of those connections is put down to the hole, not to the capturing tool's drops.
   */
  private confirmFileGaps(): FileGapFound[] {
    const found: FileGapFound[] = [];
    const blamed = new Set<LossySpan>();
    let since = -Infinity;
    for (const gap of this.candidateGaps) {
      let lostConnections = 0;
      let lostBytes = 0;
      for (const conn of this.lossySpans) {
        if (!liveAcross(conn, gap)) continue;
        lostConnections++;
        lostBytes += conn.bytes;
        blamed.add(conn);
      }
      if (lostConnections === 0) continue;
      const openBefore = this.openSpans.filter((c) => c.last <= gap.from && c.last > since).length;
      since = gap.from;
      found.push({ ...gap, lostConnections, lostBytes, openBefore });
    }
    if (blamed.size > 0) {
      let bytes = 0;
      for (const conn of blamed) bytes += conn.bytes;
      this.stats.captureLoss.inFileGaps = { connections: blamed.size, bytes };
    }
    return found;
  }

  finish(): AnalysisResult {
    if (this.finished) return this.finished;
    this.tracker.finish();
    const { anomalies, diagnoses } = this.engine.finish();
    const stats = this.stats;
    stats.connections = this.tracker.stats.connections;
    stats.peakLiveConnections = this.tracker.stats.peakConnections;
    stats.connectionsEvicted = this.tracker.stats.evicted;
    const resumed = this.tracker.stats.resumed;
    if (resumed.atCap + resumed.idle > 0) {
      const early = {
        atCap: this.tracker.stats.evicted, maxConnections: this.trackerOptions.maxConnections,
        idle: this.tracker.stats.idleExpired, idleTimeout: this.trackerOptions.idleTimeout, resumed: { ...resumed },
      };
      stats.releasedEarly = { ...early, warning: releasedEarlyText(early) };
    }
    stats.reassemblyRefused = this.tracker.stats.reassemblyRefused;
    stats.duplicates = this.tracker.stats.captureCopies;
    stats.natTwins = this.tracker.stats.natTwins;
    stats.portReusesUnseen = this.tracker.stats.unseenPortReuses;
    stats.findingsBySeverity = { ...this.engine.reportedBySeverity };
    stats.findingsNotKept = { ...this.engine.notKept };
    const issues: Record<string, number> = {};
    for (const [issue, n] of [...this.issueCounts].sort((a, b) => a[0].localeCompare(b[0]))) issues[issue] = n;
    stats.decodeIssues = issues;
    const tunneled: Record<string, number> = {};
    for (let kind = 1; kind < TUNNEL_NAMES.length; kind++) if (this.tunneledCounts[kind] > 0) tunneled[TUNNEL_NAMES[kind]] = this.tunneledCounts[kind];
    stats.tunneled = tunneled;
    const byState: AnalysisStats['connectionsByState'] = {};
    for (const [state, n] of this.stateCounts) byState[state] = n;
    stats.connectionsByState = byState;
    stats.http = this.httpCounters;
    const fileGaps = this.confirmFileGaps();
    // What the snaplen's cut cost the HTTP reading, with each file's other input warnings: every
    // format (and a JSON reader) finds it where the file's warnings are (report formats print those).
    for (const file of this.files) {
      const warning = snaplenFramingWarning(stats, file);
      if (warning !== null) file.warnings = [...file.warnings, warning.replace(/^warning: /, '')]; // not the reader's array
    }
    const hasPackets = stats.packets > 0;
    const keep = this.flowIds;
    const shown = <T extends { flowId: number | null }>(items: T[]): T[] => (keep ? items.filter((x) => x.flowId !== null && keep.has(x.flowId)) : items);
    const shownAnomalies = shown(anomalies);
    if (keep) this.narrowFindingCounts(keep, shownAnomalies);
    this.finished = {
      input: {
        files: this.files,
        filesReordered: this.filesReordered,
        filesMerged: this.filesMerged,
        ...(fileGaps.length > 0 ? { fileGaps } : {}),
        packets: stats.packets,
        firstTs: hasPackets ? this.firstTs : null,
        lastTs: hasPackets ? this.lastTs : null,
        duration: hasPackets ? this.lastTs - this.firstTs : 0,
        ...(this.filter !== null && this.filter.timeBounded ? { window: this.timeWindow(this.filter) } : {}),
      },
      stats,
      flows: this.flows.filter((f) => !keep || keep.has(f.id)).sort((a, b) => a.id - b.id),
      exchanges: shown(this.exchanges).sort((a, b) => a.flowId - b.flowId || a.index - b.index),
      anomalies: shownAnomalies,
      diagnoses: this.annotateTranslated(keep ? diagnosesOfShown(diagnoses, shownAnomalies) : diagnoses, anomalies),
    };
    return this.finished;
  }

  private timeWindow(filter: PacketFilter): TimeWindow {
    const inWindow = this.windowPackets > 0;
    return {
      since: Number.isFinite(filter.since) ? filter.since : null,
      until: Number.isFinite(filter.until) ? filter.until : null,
      packets: this.windowPackets,
      firstTs: inWindow ? this.windowFirstTs : null,
      lastTs: inWindow ? this.windowLastTs : null,
    };
  }

  /**
   * With --flow the report is about those connections: its counts of findings (which the exit code
   * reads) become theirs, and the whole capture's move to stats.flowFilter.
   */
  private narrowFindingCounts(keep: ReadonlySet<number>, shownAnomalies: readonly Finding[]): void {
    const stats = this.stats;
    const keptByKind = new Map<string, number>();
    for (const a of shownAnomalies) keptByKind.set(a.kind, (keptByKind.get(a.kind) ?? 0) + 1);
    const notKept: Record<string, number> = {};
    for (const [kind, n] of this.shownByKind) if (n > (keptByKind.get(kind) ?? 0)) notKept[kind] = n - (keptByKind.get(kind) ?? 0);
    const ids = [...keep].sort((a, b) => a - b);
    stats.flowFilter = { flowIds: ids, unmatched: ids.filter((id) => !this.matchedFlowIds.has(id)), captureFindingsBySeverity: stats.findingsBySeverity };
    stats.findingsBySeverity = { ...this.shownBySeverity };
    stats.findingsNotKept = notKept;
  }

  /**
   * How many of these client bytes (at the start of the client's stream) are a PROXY protocol
   * header, reading it at the first segment and skipping the rest of a long one in later ones.
   */
  private proxyHeaderBytes(app: ConnectionHttp, data: Uint8Array, offset: number, length: number, frame: number): number {
    if (app.proxyHeader === null) {
      const header = readProxyHeader(data, offset, length);
      if (header === null) return 0;
      app.proxyHeader = header;
      app.proxyHeaderFrame = frame;
      app.proxyHeaderLeft = header.length;
      this.httpCounters.proxyProtocolConnections++;
    }
    const skip = app.proxyHeaderLeft < length ? app.proxyHeaderLeft : length;
    app.proxyHeaderLeft -= skip;
    return skip;
  }

  /** Diagnoses whose server was translated, with where their own connections went (translated-servers.ts). */
  private annotateTranslated(diagnoses: Diagnosis[], anomalies: readonly Finding[]): Diagnosis[] {
    if (!this.translatedServers.any) return diagnoses;
    const byId = new Map(anomalies.map((a) => [a.id, a]));
    return diagnoses.map((d) => this.translatedServers.annotate(d, byId));
  }

  /** A TLS record reader for a new connection (a released one's when there is one). */
  private tlsRecords(): TlsRecords {
    const spare = this.spareTls.pop();
    return spare !== undefined ? spare.reset() : new TlsRecords();
  }

  /**
   * One more connection seen as `seenAs` and again, translated, as `translatedTo` ("client host →
   * server endpoint": a DNAT changes the server, a masquerade the client; bounded list of pairs).
   */
  private noteTranslation(seenAs: string, translatedTo: string, firstId: number): void {
    const list = this.stats.natTranslations;
    this.translatedServers.note(seenAs.slice(seenAs.indexOf(' → ') + 3), translatedTo.slice(translatedTo.indexOf(' → ') + 3), firstId);
    const known = list.find((t) => t.seenAs === seenAs && t.translatedTo === translatedTo);
    if (known !== undefined) known.connections++;
    else if (list.length < NAT_TRANSLATIONS_KEPT) list.push({ seenAs, translatedTo, connections: 1 });
  }

  private countIssue(issue: DecodeIssue): void {
    this.issueCounts.set(issue, (this.issueCounts.get(issue) ?? 0) + 1);
  }

  private observer(): ConnectionObserver<ConnectionHttp> {
    // Only detectors read a connection's recent exchanges. Kept there, every exchange outlived the
    // young generation (its connection lives on) and the collector copied and promoted it; an
    // analysis without detectors keeps none, and its exchanges die young.
    const keepRecent = this.engine.hasDetectors;
    const onExchange = (conn: AnalyzedConnection, exchange: HttpExchange): void => {
      const app = conn.app;
      if (app === null) return;
      app.exchangeCount++;
      // The server will send nothing after this response but its FIN (Connection.serverCloseAnnounced).
      if (exchange.responseClose && exchange.responseEnd !== null && exchange.responseCloseUnknown !== true) conn.serverCloseAnnounced = true;
      // An exchange read from FastCGI records says so (its version fields are the bridge's HTTP/1.1).
      if (app.fastcgi !== null) exchange.protocol = 'fastcgi';
      if (keepRecent) {
        app.recent.push(exchange);
        if (app.recent.length > RECENT_EXCHANGES_KEPT) app.recent.shift();
      }
      this.stats.exchanges++;
      this.engine.onExchange(exchange, conn);
      if (this.flowIds && !this.flowIds.has(conn.id)) return;
      this.options.onExchange?.(exchange, { client: conn.clientName, server: conn.serverName });
      if (this.collect) this.exchanges.push(exchange);
    };
    /** The session's exchange callback for one connection (a closure per connection, made only here). */
    const deliverTo =
      (conn: AnalyzedConnection) =>
      (ex: HttpExchange): void =>
        onExchange(conn, ex);
    /**
     * The HTTP session of a connection, created at its first payload. A connection seen mid-stream
     * had its roles guessed from the ports; when the guessed server sends a request line first (or
     * the guessed client a status line), the guess was backwards and the roles are swapped here,
     * before any byte is parsed. Returns whether `fromClient` must be read the other way round
     * for this one packet (the tracker computed it before the swap). Called only while the
     * connection has no session; it creates no closure itself (deliverTo does), since a function
     * whose parameters an inner closure captures allocates a context at every call, and this
     * used to run for every payload segment.
     */
    const fromStartSession: HttpSessionOptions = { midstream: false, counters: this.httpCounters, budget: this.pendingBudget };
    const midstreamSession: HttpSessionOptions = { ...fromStartSession, midstream: true };
    const startSession = (conn: AnalyzedConnection, app: ConnectionHttp, fromClient: boolean, data: Uint8Array, offset: number, length: number): boolean => {
      let swapped = false;
      if (conn.directionInferred) {
        const backwards = fromClient ? startsLikeResponse(data, offset, length) : startsLikeRequest(data, offset, length);
        if (backwards) {
          conn.swapRoles();
          swapped = true;
        }
      }
      const establishedAt = conn.server.synAckTimes.length > 0 ? conn.server.synAckTimes[0] : conn.startTs;
      const sessionOptions = conn.client.synCount === 0 && conn.server.synAckCount === 0 ? midstreamSession : fromStartSession;
      // reset() runs on new sessions too: had it run only on reused ones, the first reuse (once
      // connections start being released) would have thrown this compiled path away.
      const deliver = deliverTo(conn);
      const session = this.spareSessions.pop() ?? new HttpSession(conn.id, establishedAt, deliver, sessionOptions, conn);
      app.session = session.reset(conn.id, establishedAt, deliver, sessionOptions, conn);
      return swapped;
    };
    const analyzeConnection = (conn: Connection<ConnectionHttp>): void => {
      const app = this.spareApps.pop();
      conn.app = app ?? newConnectionHttp();
      this.engine.onOpen(conn);
    };
    const noteTwin = (conn: Connection<ConnectionHttp>, first: NatTwin): void => {
      this.noteTranslation(`${hostOfEndpoint(first.clientName)} → ${first.serverName}`, `${conn.clientHost} → ${conn.serverName}`, first.connectionId);
    };
    return {
      onOpen: (conn) => {
        // The rest of a connection the analysis let go early (Connection.resumedAfterRelease): its
        // beginning is not here, so it is listed, not analyzed (stats.releasedEarly counts it).
        if (conn.resumedAfterRelease !== 0) return;
        if (conn.natTwinOf !== null) {
          // The same connection seen again after address translation: analyzed once, as first
          // seen. A candidate waits for the server's confirmation (onNatTwinDecided).
          if (!conn.natTwinPending) noteTwin(conn, conn.natTwinOf);
          return;
        }
        analyzeConnection(conn);
      },
      onNatTwinDecided: (conn, twin) => {
        if (twin && conn.natTwinOf !== null) noteTwin(conn, conn.natTwinOf);
        else if (!twin) analyzeConnection(conn);
      },
      onPayload: (conn, fromClient, data, offset, length, ts, frame) => {
        const app = conn.app;
        if (app === null || !this.parseHttp) return;
        const clientSide = app.session === null && startSession(conn, app, fromClient, data, offset, length) ? !fromClient : fromClient;
        // The client's first bytes say what it speaks. A ClientHello: TLS, whose record headers are
        // then read; only when the client spoke first, as a TLS client does. HTTP/2's cleartext
        // preface (gRPC without TLS): counted, not parsed; its server may send its SETTINGS first.
        // Anything else is the HTTP session's to judge. Once decided, this test is all the cost.
        if (app.firstBytes !== FirstBytes.Decided) {
          if (!clientSide) {
            app.firstBytes = FirstBytes.ServerSpokeFirst;
          } else {
            // A proxy's PROXY protocol header comes before anything the client it serves sent.
            const header = app.firstBytes === FirstBytes.NotYet ? this.proxyHeaderBytes(app, data, offset, length, frame) : 0;
            if (header > 0) {
              if (header === length) return; // the header alone (or its continuation): nothing for the session
              offset += header;
              length -= header;
            }
            if (app.firstBytes === FirstBytes.NotYet && startsLikeClientHello(data, offset, length)) {
              app.tls = this.tlsRecords();
              this.httpCounters.tlsConnections++;
            } else if (startsLikeHttp2Preface(data, offset, length)) {
              this.httpCounters.http2Connections++;
              app.session?.otherProtocol();
            } else if (app.firstBytes === FirstBytes.NotYet && startsLikeFastcgi(data, offset, length)) {
              app.fastcgi = new FastcgiBridge();
              this.httpCounters.fastcgiConnections++;
            }
            app.firstBytes = FirstBytes.Decided;
          }
        }
        if (app.tls !== null) app.tls.data(clientSide, data, offset, length, ts, frame);
        const session = app.session;
        if (!session) return;
        if (app.fastcgi !== null) app.fastcgi.data(session, clientSide, data, offset, length, ts, frame);
        else if (clientSide) session.clientData(data, offset, length, ts, frame);
        else session.serverData(data, offset, length, ts, frame);
      },
      onGap: (conn, fromClient, length, cut) => {
        const app = conn.app;
        if (app === null) return;
        if (app.tls !== null) {
          // A cut tail follows the captured bytes of its segment, which the endpoint's last data is.
          const ep = fromClient ? conn.client : conn.server;
          app.tls.gap(fromClient, length, cut, ep.lastDataTs, ep.lastDataFrame);
        }
        const session = app.session;
        if (!session) return;
        if (app.fastcgi !== null) app.fastcgi.gap(session);
        else if (fromClient) session.clientGap(length, cut);
        else session.serverGap(length, cut);
      },
      onEndOfStream: (conn, fromClient, ts, frame) => {
        const session = conn.app?.session;
        if (!session) return;
        if (fromClient) session.clientEnd(ts, frame);
        else session.serverEnd(ts, frame);
      },
      onClose: (conn) => {
        const app = conn.app;
        if (app?.session) {
          app.session.finish(conn.lastTs);
          if (app.session.isHttp) this.stats.httpConnections++;
        }
        // Analyzed: not a second view of a translated connection, nor the rest of one let go early.
        const analyzed = conn.natTwinOf === null && conn.resumedAfterRelease === 0;
        if (analyzed) this.engine.onConnectionEnd(conn);
        else if (conn.natTwinOf !== null && !conn.natTwinPending && conn.resumedAfterRelease === 0) this.engine.onTranslatedViewEnd(conn, conn.natTwinOf.connectionId);
        const shown = !this.flowIds || this.flowIds.has(conn.id);
        if (shown && this.flowIds) this.matchedFlowIds.add(conn.id);
        // The full record only when someone keeps or hears it; the statistics need just the state.
        const record = shown && (this.collect || this.options.onFlow) ? toFlowRecord(conn, app?.exchangeCount ?? 0) : null;
        const state = record !== null ? record.state : connState(conn.client, conn.server, conn.history);
        this.stateCounts.set(state, (this.stateCounts.get(state) ?? 0) + 1);
        if (analyzed) {
          const unseen = conn.unseenSide();
          if (unseen === 'server') this.stats.oneWay.clientOnly++;
          else if (unseen === 'client') this.stats.oneWay.serverOnly++;
          const lost = conn.client.captureLostBytes + conn.server.captureLostBytes;
          const finsLost = (conn.client.finLostByCapture ? 1 : 0) + (conn.server.finLostByCapture ? 1 : 0);
          if (finsLost > 0) this.stats.captureLoss.fins = (this.stats.captureLoss.fins ?? 0) + finsLost;
          if (lost > 0) {
            this.stats.captureLoss.connections++;
            this.stats.captureLoss.bytes += lost;
            // Drops scarcely take every data packet of a connection and none of its opens and closes; a filter does.
            // (Delivered in order or held out of order: a segment held behind a hole never delivered is still a payload packet seen.)
            if (conn.client.payloadBytes + conn.server.payloadBytes === 0 && conn.client.outOfOrder + conn.server.outOfOrder === 0) {
              const seen = (this.stats.captureLoss.noPayloadSeen ??= { connections: 0, bytes: 0 });
              seen.connections++;
              seen.bytes += lost;
            } else if (this.watchFileGaps && this.lossySpans.length < SPANS_KEPT) this.lossySpans.push({ start: conn.startTs, last: conn.lastTs, bytes: lost });
          }
          if (this.watchFileGaps && NOT_CLOSED.has(state) && this.openSpans.length < SPANS_KEPT) this.openSpans.push({ start: conn.startTs, last: conn.lastTs });
        }
        if (record !== null) {
          const header = app?.proxyHeader ?? null;
          if (header !== null && app !== null) {
            record.proxyProtocol = { version: header.version, source: header.source, destination: header.destination, frame: app.proxyHeaderFrame };
          }
          if (conn.resumedAfterRelease !== 0) record.resumedAfterRelease = conn.resumedAfterRelease === RELEASED_AT_CAP ? 'connection-cap' : 'idle-timeout';
          const tunnel = app?.session?.tunnelKind ?? null;
          if (tunnel !== null) record.tunnel = tunnel;
          this.options.onFlow?.(record);
          if (this.collect) this.flows.push(record);
        }
        if (app) {
          const session = app.session;
          const tls = app.tls;
          app.session = null;
          app.tls = null;
          app.fastcgi = null;
          app.firstBytes = FirstBytes.NotYet;
          app.proxyHeader = null;
          app.proxyHeaderFrame = 0;
          app.proxyHeaderLeft = 0;
          if (this.reuseObjects) {
            // Nothing refers to them past this point (see TrackerOptions.reuseConnections): reused.
            app.exchangeCount = 0;
            emptyKeepingStore(app.recent);
            if (tls !== null && this.spareTls.length < SPARE_KEPT) this.spareTls.push(tls);
            if (session !== null && this.spareSessions.length < SPARE_KEPT) this.spareSessions.push(session);
            if (this.spareApps.length < SPARE_KEPT) this.spareApps.push(app);
          } else {
            app.recent = [];
          }
        }
      },
    };
  }
}

/**
 * Analyzes capture files (paths, or "-" for stdin) as one capture: files in the order of their
 * first packets, merged by time where they overlap (see source/capture-order.ts and capture-merge.ts).
 */
export async function analyzeFiles(inputs: readonly string[], options: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const analyzer = new Analyzer(options);
  const onProgress = options.onProgress;
  const order = await inCaptureOrder(inputs);
  analyzer.filesReordered = order.reordered;
  if (mergeable(order)) {
    analyzer.watchFileGaps = true;
    let merged: MergeResult;
    try {
      merged = await readCapturesMerged(
        mergeInputs(order),
        (p) => analyzer.packet(p),
        {
          onProgress: onProgress && ((i, bytesRead) => onProgress({ input: order.inputs[i], index: order.given[i], bytesRead, packets: analyzer.packets })),
        },
      );
    } catch (err) {
      analyzer.abandon();
      throw err;
    }
    analyzer.filesMerged = merged.interleaved;
    analyzer.candidateGaps = candidateFileGaps(order.inputs.map((input) => path.basename(input)), merged.spans);
    for (const info of merged.files) analyzer.addFile(info);
    return analyzer.finish();
  }
  let nextFrame = 1;
  /** The latest packet of the files read so far, to tell when a file overlaps them in time. */
  let latest = -Infinity;
  for (let i = 0; i < order.inputs.length; i++) {
    const input = order.inputs[i];
    const index = order.given[i];
    const progress =
      onProgress && input !== '-' ? (bytesRead: number) => onProgress({ input, index, bytesRead, packets: analyzer.packets }) : undefined;
    let info: CaptureFileInfo;
    // The file's time span in an object's fields, not in variables of this function: a number
    // written into a closure's variable is boxed anew at every write (a heap number per packet,
    // 32 MB of garbage on 2 M packets), a double field of an object is updated in place.
    const span = { first: Infinity, last: -Infinity };
    try {
      info = await readCapture(
        input,
        (p) => {
          const ts = p.ts;
          if (ts < span.first) span.first = ts;
          if (ts > span.last) span.last = ts;
          analyzer.packet(p);
        },
        { firstFrame: nextFrame, onProgress: progress },
      );
    } catch (err) {
      analyzer.abandon();
      throw err;
    }
    const { first, last } = span;
    if (first < latest) {
      // With stdin among the inputs files are concatenated, not merged: the overlap's packets reach the analysis out of time order.
      info.warnings.push(
        `starts ${formatDuration(latest - first)} before the inputs read before it end: with standard input among the inputs, the inputs are read in the order given, neither sorted nor merged by time, and connections across them may be misread (give them in time order, or merge them first: mergecap -w merged.pcap FILES)`,
      );
    }
    if (last > latest) latest = last;
    nextFrame += info.records;
    analyzer.addFile(info);
  }
  return analyzer.finish();
}

/** Several files and no stdin: read merged by time. One file, or stdin among them (it cannot wait its turn), one after the other. */
function mergeable(order: CaptureOrder): boolean {
  return order.inputs.length > 1 && !order.inputs.includes('-');
}

/** The files in capture order, each with the time of its first packet, for the merge. */
function mergeInputs(order: CaptureOrder): MergeInput[] {
  return order.inputs.map((input, i) => ({ input, start: order.starts[i] }));
}

/** Reads capture files again (frames numbered as analyzeFiles numbers them), calling `onTcp` for every TCP packet. */
async function forEachTcpPacket(inputs: readonly string[], onTcp: (view: PacketView, frame: number, ts: number) => void): Promise<void> {
  const view = new PacketView();
  const onPacket = (p: RawPacket): void => {
    if (decodePacket(p.linkType, p.data, p.caplen, p.origLen, view) === DecodeStatus.Tcp) onTcp(view, p.frame, p.ts);
  };
  const order = await inCaptureOrder(inputs);
  if (mergeable(order)) {
    await readCapturesMerged(mergeInputs(order), onPacket);
    return;
  }
  let nextFrame = 1;
  for (const input of order.inputs) nextFrame += (await readCapture(input, onPacket, { firstFrame: nextFrame })).records;
}

/**
 * The packets of a few connections an analysis found, for ladder diagrams: a second read of
 * the same files (not stdin), bounded per connection (see decode/flow-packets.ts).
 */
export async function collectFlowPackets(
  inputs: readonly string[],
  requests: readonly FlowPacketRequest[],
  limits: Partial<CollectLimits> = {},
): Promise<Map<number, FlowPackets>> {
  const copies = new CaptureCopies();
  const collector = new FlowPacketCollector(requests, limits, (flowId, fromClient, view, ts, peerSegments) => copies.isCopy(flowId, fromClient, view, ts, peerSegments));
  if (requests.length > 0) await forEachTcpPacket(inputs, (view, frame, ts) => collector.offer(view, frame, ts));
  return collector.finish();
}

/** The endpoints and times of a few frames (a second read of the same files). */
export async function locateFrames(inputs: readonly string[], frames: readonly number[]): Promise<Map<number, FrameLocation>> {
  const locator = new FrameLocator(frames);
  if (frames.length > 0) await forEachTcpPacket(inputs, (view, frame, ts) => locator.offer(view, frame, ts));
  return locator.finish();
}

export { DECODE_ISSUES };

/**
 * The diagnoses that cite a finding on the connections shown, each citing only those. A diagnosis
 * speaks of its server as a whole: one that covers more findings than are shown says how many
 * (`anomaliesInCapture`), and its explanation is still the whole capture's.
 */
function diagnosesOfShown(diagnoses: readonly Diagnosis[], shownAnomalies: readonly Finding[]): Diagnosis[] {
  const shownIds = new Set(shownAnomalies.map((a) => a.id));
  const out: Diagnosis[] = [];
  for (const d of diagnoses) {
    const cited = d.anomalyIds.filter((id) => shownIds.has(id));
    if (cited.length === 0) continue;
    out.push(cited.length === d.anomalyIds.length ? d : { ...d, anomalyIds: cited, anomaliesInCapture: d.anomalyIds.length });
  }
  return out;
}
