import type { AnalysisResult, AnalysisStats, FileGapFound } from '../analyze';
import { formatBytes, formatDuration, formatUtc } from './format-time';
import { snaplenFramingWarning } from './unread-traffic';

/** Connections the capture holds one direction of (AnalysisStats.oneWay). */
export function oneWayCount(stats: AnalysisStats): number {
  return stats.oneWay.clientOnly + stats.oneWay.serverOnly;
}

/** Connections analyzed at all: address-translated second sightings are analyzed once, as first seen. */
function analyzedCount(stats: AnalysisStats): number {
  return stats.connections - stats.natTwins;
}

/**
 * A warning when the capture holds connections in one direction only, or null. Such a capture
 * (`tcpdump dst port 8080`, a tap or mirror port that sees one direction, replies routed another
 * way) shows no answer, close or reset of the unseen side, so nothing is found on those
 * connections: without this line it reads as a clean capture.
 */
export function oneWayWarning(stats: AnalysisStats): string | null {
  const n = oneWayCount(stats);
  if (n === 0) return null;
  const { clientOnly, serverOnly } = stats.oneWay;
  const sides = [
    clientOnly > 0 ? `${clientOnly} with only the client's packets` : '',
    serverOnly > 0 ? `${serverOnly} with only the server's` : '',
  ].filter((s) => s !== '');
  return (
    `warning: ${n} of ${analyzedCount(stats)} connections are in the capture one way only (${sides.join(', ')}): ` +
    'the side seen acknowledged packets that the capture does not hold. ' +
    'What the other side sent (its requests or answers, closes and resets) cannot be seen, so those connections are not judged. ' +
    'A filter on one direction (such as dst port 80), a tap or mirror port that sees one direction, or replies routed another way does this: ' +
    'capture both directions (port 80, on an interface both directions cross)'
  );
}

/** TCP packets below which a capture's make-up says nothing about a filter. */
const MIN_PACKETS_FOR_SHAPE = 20;

/**
 * A capture that a filter cut down to some kinds of packets, told by what real TCP traffic always
 * has: `data-only` holds no packet without payload (no handshake, pure ACK, bare FIN or RST: what a
 * Wireshark or tshark display filter such as `http` keeps, or Export Specified Packets);
 * `control-only` holds only SYNs, FINs and RSTs while their acknowledgement numbers show data the
 * capture does not hold (`tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0`, taken on busy hosts). A
 * port scan's capture is SYNs and RSTs too, but carries no data at all. Null otherwise.
 */
export function filteredCapture(stats: AnalysisStats): 'data-only' | 'control-only' | null {
  if (stats.tcpPackets < MIN_PACKETS_FOR_SHAPE) return null;
  if (stats.tcpWithoutPayload === 0) return 'data-only';
  if (stats.tcpWithoutControl === 0 && stats.captureLoss.bytes > 0) return 'control-only';
  return null;
}

/** A warning when the capture was filtered down to some kinds of packets (filteredCapture), or null. */
export function filteredCaptureWarning(stats: AnalysisStats): string | null {
  const filtered = filteredCapture(stats);
  if (filtered === null) return null;
  return filtered === 'data-only'
    ? `warning: every one of the ${stats.tcpPackets} TCP packets carries data: the capture holds no handshake, pure ACK, FIN or RST, which real traffic always has. ` +
        'It was filtered down to the packets a dissector keeps (a Wireshark or tshark display filter such as `http`, or Export Specified Packets of one). ' +
        'Connection opens, closes and resets cannot be seen, so refusals, keep-alive races, resets and timeouts cannot be found, and every connection reads as begun mid-stream: analyze the capture as it was recorded'
    : `warning: every one of the ${stats.tcpPackets} TCP packets is a SYN, FIN or RST, and their acknowledgement numbers show data the capture does not hold: ` +
        "it was filtered down to connection opens and closes (tcpdump 'tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0'). " +
        'Refusals, unanswered SYNs and resets can be seen; requests, responses, keep-alive races and timeouts cannot, and a handshake whose last ACK was filtered out reads as never completed (REJ, S0)';
}

/**
 * The headline when nothing was found: qualified when connections seen one way only could not be
 * judged, when the capture was filtered down to some kinds of packets, or when the capturing tool
 * recorded that it dropped packets.
 */
export function noFindingsText(stats: AnalysisStats, input?: AnalysisResult['input']): string {
  // An empty file, or filters that kept nothing (a mistyped --host): nothing was judged, which a
  // nightly job must not read as a clean bill (blind round 12).
  if (stats.connections === 0) {
    return stats.filteredOut > 0 || stats.sampledOut > 0
      ? `Nothing to judge: the filters kept no TCP connection (${stats.filteredOut + stats.sampledOut} packets filtered or sampled out); check --host, --port, --since, --until and --sample.`
      : `Nothing to judge: the capture holds no TCP connection${stats.packets === 0 ? ' (no packets at all)' : ''}.`;
  }
  if (filteredCapture(stats) !== null) return 'No connection-reuse problems found, but this capture cannot show most of them: it was filtered (see the warning).';
  const dropped = input === undefined ? null : droppedByCapture(input);
  const droppedTail = dropped !== null && dropped > 0 ? ` The capturing tool dropped ${dropped} packet${dropped === 1 ? '' : 's'}, so this covers only what it kept (see the warning).` : '';
  const tail = droppedTail + releasedEarlyTail(stats);
  const n = oneWayCount(stats);
  if (n === 0) return `No connection-reuse problems found.${tail}`;
  const judged = analyzedCount(stats) - n;
  if (judged <= 0) return 'No connection-reuse problems found, but none could be: every connection is in the capture one way only (see the warning).';
  return `No connection-reuse problems found on the ${judged} connection${judged === 1 ? '' : 's'} captured both ways; the ${n} captured one way only could not be judged.${tail}`;
}

/** The headline's qualification when connections the analysis let go came back (AnalysisStats.releasedEarly), or ''. */
function releasedEarlyTail(stats: AnalysisStats): string {
  const early = stats.releasedEarly;
  if (early === undefined) return '';
  const n = early.resumed.atCap + early.resumed.idle;
  return ` ${n} connection${n === 1 ? '' : 's'} that came back after the analysis let ${n === 1 ? 'it' : 'them'} go (${early.resumed.atCap > 0 ? '--max-connections' : '--idle-timeout'}) could not be judged (see the warning).`;
}

/** Packets the capturing tool recorded as dropped, over the files that record a count (CaptureFileInfo.droppedByCapture); null when none does. */
export function droppedByCapture(input: AnalysisResult['input']): number | null {
  let total: number | null = null;
  for (const file of input.files) if (file.droppedByCapture !== null) total = (total ?? 0) + file.droppedByCapture;
  return total;
}

/**
 * A warning when the capturing tool recorded dropped packets (a pcapng file's interface
 * statistics, as dumpcap and Wireshark write them; a live capture's kernel drops), or null. The
 * count says nothing of which packets: a connection whose every later packet was dropped looks
 * open and quiet, and its last request unanswered, with no trace of the loss in what is left.
 */
export function recordedDropsWarning(input: AnalysisResult['input']): string | null {
  const dropped = droppedByCapture(input);
  if (dropped === null || dropped === 0) return null;
  return (
    `warning: the capturing tool recorded ${dropped} packet${dropped === 1 ? '' : 's'} dropped while capturing (${
      input.live !== undefined ? "tcpdump's kernel drop count" : 'the file\'s interface statistics'
    }), and not which ones: a connection may miss its answers, closes or resets, so a failure there may go unreported ` +
    'and a request may read as unanswered. Capture with a larger buffer (dumpcap -B, tcpdump -B) and a filter on the port'
  );
}

/** Every warning about what the capture does not hold, in the order the reports lead with them. */
export function coverageWarnings(result: Pick<AnalysisResult, 'stats' | 'input'>): string[] {
  return [
    filteredCaptureWarning(result.stats), oneWayWarning(result.stats), ...fileGapWarnings(result.input), captureLossWarning(result.stats, result.input),
    reassemblyRefusedWarning(result.stats), releasedEarlyWarning(result.stats),
    recordedDropsWarning(result.input),
  ].filter((w): w is string => w !== null);
}

/**
 * A warning when the analysis let live connections go early (the connection cap, the idle
 * timeout) and their packets came back (AnalysisStats.releasedEarly), or null. Made with the stats
 * (released-early.ts), so the JSON document carries the same text.
 */
export function releasedEarlyWarning(stats: AnalysisStats): string | null {
  return stats.releasedEarly?.warning ?? null;
}

/**
 * A warning when the reassembly bound refused out-of-order segments (AnalysisStats.reassemblyRefused),
 * or null. The holes before them were given up unread; the capture itself may hold every byte (the
 * path lost them and they came back retransmitted), so this is no capture loss and no reason to
 * raise tcpdump's buffer.
 */
export function reassemblyRefusedWarning(stats: AnalysisStats): string | null {
  const refused = stats.reassemblyRefused;
  if (refused === 0) return null;
  return (
    `warning: ${refused} out-of-order segment${refused === 1 ? ' was' : 's were'} past the analysis's reassembly bound (1 024 segments or 2 MiB ` +
    'held per direction): the bytes missing before them were not waited for, and the exchanges they belong to are not taken as evidence. ' +
    'This is a bound of the analysis on a path that loses or reorders much data, not packets the capture dropped'
  );
}

/**
 * A warning when the capture dropped packets that carried data, or FINs (AnalysisStats.captureLoss),
 * or null. The exchanges such bytes belonged to are uncertain and the detectors do not take them as
 * evidence, so a lossy capture can read as clean where its losses were.
 */
export function captureLossWarning(stats: AnalysisStats, input?: AnalysisResult['input']): string | null {
  const { connections, bytes } = stats.captureLoss;
  const fins = stats.captureLoss.fins ?? 0;
  // A filter took those bytes (filteredCaptureWarning says so), not the capture's drops.
  if ((connections === 0 && fins === 0) || filteredCapture(stats) !== null) return null;
  // A FIN takes a sequence number: an acknowledgement one past a sender's last byte shows the one
  // the capture dropped (blind round 16, S12: tcpdump dropped 3 packets, one of them a proxy's FIN
  // that cut a response; nothing said the capture had lost anything).
  const finsText =
    fins === 0
      ? ''
      : `${fins} FIN${fins === 1 ? '' : 's'} (a connection's close) that ${fins === 1 ? 'its receiver' : 'their receivers'} acknowledged`;
  if (connections === 0) {
    return (
      `warning: the capture misses ${finsText}: it dropped packets, as tcpdump does when it reports "packets dropped by kernel". ` +
      'Such a close is timed at the acknowledgement that shows it, and what else was dropped (the packets around it may hold no data) cannot be told, so a failure may go unreported: ' +
      'capture with a larger buffer (tcpdump -B 16384) and a filter on the port'
    );
  }
  const gaps = input?.fileGaps ?? [];
  const inGaps = gaps.length > 0 ? stats.captureLoss.inFileGaps ?? NONE_LOST : NONE_LOST;
  const noPayload = stats.captureLoss.noPayloadSeen ?? NONE_LOST;
  const dropped = { connections: connections - inGaps.connections - noPayload.connections, bytes: bytes - inGaps.bytes - noPayload.bytes };
  // Each cause its own share: the share of all of it says no more than the cause.
  const share = (part: { connections: number; bytes: number }, that: string): string =>
    part.connections === connections ? `they ${that}` : `${formatBytes(part.bytes)} of it on ${part.connections} connection${part.connections === 1 ? '' : 's'} that ${that}`;
  const causes: string[] = [];
  if (inGaps.connections > 0) {
    causes.push(share(inGaps, `were live across ${gaps.length === 1 ? `the gap the files leave (${gapSpan(gaps[0])}: a missing file?)` : `the ${gaps.length} gaps the files leave (a missing file?)`}`));
  }
  if (noPayload.connections > 0) {
    const filter =
      "a capture filter kept only those (such as tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0, alone or or'ed with another), which drops scarcely do";
    causes.push(
      noPayload.connections === connections
        ? `the capture holds no payload packet of any of them, only their opens and closes: ${filter}`
        : `${formatBytes(noPayload.bytes)} of it on ${noPayload.connections} connection${noPayload.connections === 1 ? '' : 's'} of which the capture holds no payload packet, only opens and closes: ${filter}`,
    );
  }
  const remedies = [inGaps.connections > 0 ? 'analyze every file of the capture' : '', noPayload.connections > 0 ? 'capture without that filter' : ''].filter((r) => r !== '');
  const head =
    `warning: the capture misses ${formatBytes(bytes)} of data sent on ${connections} of ${analyzedCount(stats)} connections ` +
    '(their receivers acknowledged them, or the bytes after them show them missing)' +
    (fins > 0 ? `, and ${finsText}` : '');
  const notEvidence = 'The exchanges those bytes belonged to are not taken as evidence, so a failure there may go unreported';
  if (dropped.connections <= 0) return `${head}: ${causes.join('; ')}, not packets the capturing tool dropped. ${notEvidence}: ${remedies.join(', and ')}`;
  const rest = causes.length === 0 ? '' : `: ${causes.join('; ')}; ${formatBytes(dropped.bytes)} on ${dropped.connections} other connection${dropped.connections === 1 ? '' : 's'}`;
  return (
    `${head}${rest}: it dropped packets, as tcpdump does when it reports "packets dropped by kernel". ${notEvidence}: ` +
    `${remedies.map((r) => `${r}, `).join('')}capture with a larger buffer (tcpdump -B 16384) and a filter on the port`
  );
}

const NONE_LOST = { connections: 0, bytes: 0 };

/** "from T1 to T2 (D), between file A and file B". */
function gapSpan(gap: FileGapFound): string {
  return `from ${formatUtc(gap.from)} to ${formatUtc(gap.to)} (${formatDuration(gap.to - gap.from)}), between ${gap.before} and ${gap.after}`;
}

/**
 * A warning for each hole in time between files that cost data (InputSummary.fileGaps): a rotated
 * file left out reads otherwise as packets the capture dropped, and connections that closed in the
 * hole as still open.
 */
export function fileGapWarnings(input: AnalysisResult['input']): string[] {
  return (input.fileGaps ?? []).map((gap) => {
    const open =
      gap.openBefore > 0
        ? ` ${gap.openBefore} connection${gap.openBefore === 1 ? '' : 's'} whose last packet came before it ${gap.openBefore === 1 ? 'reads' : 'read'} as not closed: whether ${gap.openBefore === 1 ? 'it' : 'they'} closed in the gap is unknown.`
        : '';
    return (
      `warning: the files leave a gap ${gapSpan(gap)}: a missing file? It is longer than any pause inside the files, and ` +
      `${gap.lostConnections} connection${gap.lostConnections === 1 ? '' : 's'} live across it miss${gap.lostConnections === 1 ? 'es' : ''} data (${formatBytes(gap.lostBytes)} in all): no drop of the capturing tool explains it, and no larger capture buffer would have kept it.${open}`
    );
  });
}

/**
 * The coverage warnings and the snaplen's (headers cut: messages still read, but what the cut
 * fields said is unseen): what JUnit's capture-coverage case says, and the first reasons
 * `--require-coverage` fails on.
 */
export function coverageAndSnaplenWarnings(result: Pick<AnalysisResult, 'stats' | 'input'>): string[] {
  const warnings = coverageWarnings(result);
  const cut = snaplenFramingWarning(result.stats);
  if (cut !== null) warnings.push(cut);
  return warnings;
}

/**
 * Why the capture cannot show all it should, for `--require-coverage` (the CLI's exit code and
 * JUnit's capture-coverage case), one line each without the "warning: " lead: the coverage warnings,
 * headers the snaplen cut, input files cut short or damaged, and an analysis that had no TCP
 * connection to judge at all (an empty capture, one of other traffic only, or filters such as
 * `--since` past its end that kept nothing): a nightly job fed nothing must not pass on it.
 */
export function uncoveredReasons(result: Pick<AnalysisResult, 'stats' | 'input'>): string[] {
  const reasons = coverageAndSnaplenWarnings(result);
  for (const file of result.input.files) {
    if (file.truncated) reasons.push(`${file.name} is cut short: packets after the cut are not in it`);
  }
  if (result.stats.connections === 0) {
    reasons.push(
      result.stats.packets === 0
        ? 'no packet was analyzed (the capture is empty, or the filters --since, --until, --host, --port kept nothing)'
        : 'no TCP connection was analyzed (the capture holds none, or the filters kept none)',
    );
  }
  return reasons.map((r) => r.replace(/^warning: /, ''));
}
