import type { DetectorDefinition } from './detector';
import { connectionRefused } from './detectors/connection-refused';
import { connectionRejectedIcmp } from './detectors/connection-rejected-icmp';
import { synUnanswered } from './detectors/syn-unanswered';
import { acceptQueueOverflow } from './detectors/accept-queue-overflow';
import { portReuse } from './detectors/port-reuse';
import { zeroWindowStall } from './detectors/zero-window-stall';
import { rstOnClose } from './detectors/rst-on-close';
import { keepaliveRace } from './detectors/keepalive-race';
import { middleboxIdleTimeout } from './detectors/middlebox-idle-timeout';
import { requestAfterCloseNotice } from './detectors/request-after-close-notice';
import { unansweredRequest } from './detectors/unanswered-request';
import { resetBeforeResponse } from './detectors/reset-before-response';
import { gatewayTimeout } from './detectors/gateway-timeout';
import { noUpstreamConnect } from './detectors/no-upstream-connect';
import { intermittent5xx } from './detectors/intermittent-5xx';
import { rateLimited } from './detectors/rate-limited';
import { retriedRequest } from './detectors/retried-request';
import { idleTimeoutMismatch } from './detectors/idle-timeout-mismatch';
import { connectionChurn } from './detectors/connection-churn';
import { slowClientTimeout } from './detectors/slow-client-timeout';
import { tunnelIdleTimeout } from './detectors/tunnel-idle-timeout';
import { responseTruncated } from './detectors/response-truncated';
import { responseAbandoned } from './detectors/response-abandoned';
import { pmtuBlackhole } from './detectors/pmtu-blackhole';
import { tlsHandshakeFailed } from './detectors/tls-handshake-failed';
import { synackLost } from './detectors/synack-lost';
import { tcpKeepaliveDeadPeer } from './detectors/tcp-keepalive-dead-peer';

/**
 * Every detector, in the order they run. An explicit, type-checked list: a detector that is
 * not here does not exist, and a test checks each has docs, samples and a golden output.
 * Order matters in onFinish: detectors that read other kinds' findings (intermittent-5xx skips
 * gateway failures and a proxy's 502s for failed TLS handshakes, retried-request and idle-timeout-mismatch cite races, unanswered-request counts the
 * resends retried-request reports, some only at its end) come after them.
 */
export const DETECTORS: readonly DetectorDefinition[] = [
  connectionRefused,
  connectionRejectedIcmp,
  synUnanswered,
  acceptQueueOverflow,
  portReuse,
  zeroWindowStall,
  rstOnClose,
  keepaliveRace,
  middleboxIdleTimeout,
  requestAfterCloseNotice,
  retriedRequest,
  unansweredRequest,
  resetBeforeResponse,
  gatewayTimeout,
  noUpstreamConnect,
  tlsHandshakeFailed,
  intermittent5xx,
  rateLimited,
  idleTimeoutMismatch,
  connectionChurn,
  slowClientTimeout,
  tunnelIdleTimeout,
  responseTruncated,
  responseAbandoned,
  pmtuBlackhole,
  synackLost,
  tcpKeepaliveDeadPeer,
];
