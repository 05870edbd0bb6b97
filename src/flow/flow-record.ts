import type { Connection, ConnectionEndReason } from './connection';
import { CloseKind, ConnStateLabel, connState, firstClose } from './conn-state';
import { ENDPOINT_STATE_NAMES } from './endpoint-state';
import { CapturePoint, handshakeCapturePosition } from './capture-point';
import { ownTtlWhereReset, resetFromOtherHost } from './reset-origin';

interface PerSide<V> {
  client: V;
  server: V;
}

/** One connection in the JSON contract's `flows[]` (the shape of Zeek's conn.log, per endpoint). */
export interface FlowRecord {
  id: number;
  client: string;
  server: string;
  directionInferred: boolean;
  start: number;
  end: number;
  duration: number;
  state: ConnStateLabel;
  history: string;
  closedBy: 'client' | 'server' | null;
  close: CloseKind;
  /**
   * Present only when that close is a RST in closedBy's name that closedBy's host did not send:
   * its IP TTL (`rstTtl`) is not the one closedBy's own packets have at the capture point
   * (`ownTtl`: one host sends every packet with one initial TTL, and each router takes one off).
   * A NAT gateway, firewall or load balancer on the path sent it, nearer the capture point (a
   * masquerading router that forgot the connection answers the server's keep-alive probe in the
   * client's name). closedBy still names the side whose address the RST carried.
   */
  resetFromPath?: { rstTtl: number; ownTtl: number };
  packets: PerSide<number>;
  /** Payload bytes, each byte counted once. */
  bytes: PerSide<number>;
  requests: number;
  retransmissions: PerSide<number>;
  /**
   * Packets the capture held twice (the same segment seen on two interfaces: `tcpdump -i any` on a
   * host that bridges or routes the traffic, a SPAN session of two ports). Included in `packets`;
   * not retransmissions, and not tracked twice.
   */
  duplicates: PerSide<number>;
  zeroWindows: PerSide<number>;
  /** Payload bytes missing from the capture. */
  gapBytes: PerSide<number>;
  /** Connection-attempt SYNs the client sent (1 normally; more are retries). */
  syns: number;
  /** Each endpoint's final TCP state (Zeek's endpoint states). */
  endpointStates: PerSide<string>;
  /** When each side first sent FIN / RST (capture time), or null. */
  fin: PerSide<number | null>;
  rst: PerSide<number | null>;
  endReason: ConnectionEndReason | null;
  /**
   * The id of the connection this one is, seen again after address translation (a NAT on the
   * capturing host: the same initial sequence number, IPv4 identification and timestamp): this view
   * is listed, not analyzed (no exchanges, no findings). Null for most connections.
   */
  sameConnectionAs: number | null;
  /**
   * The PROXY protocol header (HAProxy send-proxy, AWS NLB, nginx proxy_protocol) the client opened
   * the connection with: the client is a proxy or load balancer, `source` the client it serves
   * (null for a health check's LOCAL or UNKNOWN header), `frame` the packet that carried (the
   * start of) the header. Null for most connections. Set by the analysis, which reads the header
   * off the client's first bytes.
   */
  proxyProtocol: { version: 1 | 2; source: string | null; destination: string | null; frame: number } | null;
  /**
   * Present only on a connection that became a tunnel: `upgrade` after a 101 Switching Protocols
   * (a WebSocket), `connect` after a 2xx to CONNECT. Its bytes after that were not read as HTTP.
   */
  tunnel?: 'upgrade' | 'connect';
  /**
   * Present only on a connection seen mid-stream that continues one the analysis let go while it
   * was live: released at the connection cap (`connection-cap`, --max-connections) or forgotten
   * after the idle timeout (`idle-timeout`, --idle-timeout). Listed, not analyzed.
   */
  resumedAfterRelease?: 'connection-cap' | 'idle-timeout';
  /**
   * Present only on a connection that one side reset after its TCP keep-alive probes went
   * unanswered (Endpoint.keepAliveGaveUp): that side's kernel found its peer or the path dead, so
   * its RST is a verdict on the other side, not a fault of its own (tcp-keepalive-dead-peer).
   */
  keepAliveGaveUp?: 'client' | 'server';
  /**
   * Where the capture was taken, from the handshake's two round trips (null without a complete
   * handshake): `near` is client, server or between.
   */
  capture: { near: CapturePoint; clientRtt: number; serverRtt: number } | null;
}

/** Final facts of a connection, as labels derived purely from its endpoints. */
export function toFlowRecord<T>(conn: Connection<T>, requests: number): FlowRecord {
  const c = conn.client;
  const s = conn.server;
  const closed = firstClose(c, s);
  const record: FlowRecord = {
    id: conn.id,
    client: conn.clientName,
    server: conn.serverName,
    directionInferred: conn.directionInferred,
    start: conn.startTs,
    end: conn.lastTs,
    duration: Math.max(0, conn.lastTs - conn.startTs),
    state: connState(c, s, conn.history),
    history: conn.history,
    closedBy: closed.by,
    close: closed.how,
    packets: { client: c.packets, server: s.packets },
    bytes: { client: c.payloadBytes, server: s.payloadBytes },
    requests,
    retransmissions: { client: c.retransmissions, server: s.retransmissions },
    duplicates: { client: c.captureCopies, server: s.captureCopies },
    zeroWindows: { client: c.zeroWindowCount, server: s.zeroWindowCount },
    gapBytes: { client: c.gapBytes, server: s.gapBytes },
    syns: c.synCount,
    endpointStates: { client: ENDPOINT_STATE_NAMES[c.state], server: ENDPOINT_STATE_NAMES[s.state] },
    fin: { client: c.finTs >= 0 ? c.finTs : null, server: s.finTs >= 0 ? s.finTs : null },
    rst: { client: c.rstTs >= 0 ? c.rstTs : null, server: s.rstTs >= 0 ? s.rstTs : null },
    endReason: conn.endReason,
    sameConnectionAs: conn.natTwinOf !== null ? conn.natTwinOf.connectionId : null,
    proxyProtocol: null,
    capture: handshakeCapturePosition(conn),
  };
  // The first side to reset after its probes (both resetting so is two dead ends of one path).
  if (c.keepAliveGaveUpReset && (!s.keepAliveGaveUpReset || c.rstTs <= s.rstTs)) record.keepAliveGaveUp = 'client';
  else if (s.keepAliveGaveUpReset) record.keepAliveGaveUp = 'server';
  const closer = closed.by === 'client' ? c : closed.by === 'server' ? s : null;
  if (closer !== null && closed.how === 'rst' && resetFromOtherHost(closer)) record.resetFromPath = { rstTtl: closer.rstTtl, ownTtl: ownTtlWhereReset(closer) };
  return record;
}
