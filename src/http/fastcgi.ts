import type { HttpSession } from './session';

/**
 * FastCGI (the protocol nginx, Apache mod_proxy_fcgi and others speak to PHP-FPM and other
 * application servers), read into the HTTP session as the HTTP/1.1 exchanges it carries, so that a
 * proxy's FastCGI legs pair with its clients' requests as its HTTP legs do: a request's method and
 * URI are its REQUEST_METHOD and REQUEST_URI parameters, its response the CGI output of its STDOUT
 * records (a `Status:` header, 200 without one), ended by its END_REQUEST record.
 *
 * Each direction is a stream of records: an 8-byte header (version 1, type, request id, content
 * length, padding length) and its content. The bridge rebuilds, for each request, an HTTP/1.1
 * request head (with Content-Length from CONTENT_LENGTH, and `Connection: close` unless the web
 * server set FCGI_KEEP_CONN, with which the application closes the connection after the response)
 * followed by the STDIN bytes; and a response head followed by the STDOUT bytes as chunks, the last
 * chunk at END_REQUEST. Those bytes go to the session at the time and frame of the segment that
 * completed the record, so that the exchange's times and frames are the wire's.
 *
 * One request at a time, as nginx and PHP-FPM use it (request id 1, one connection per request
 * unless `fastcgi_keep_conn`). Records of another request id while one is open (multiplexing), a
 * capture gap or a malformed header stop the bridge: the session then sees a gap on both sides, and
 * what was pending is uncertain, not unanswered.
 *
 * Spec: FastCGI Specification 1.0 (Open Market, 1996), sections 3 (records), 5 (application
 * records: BEGIN_REQUEST, PARAMS, STDIN, STDOUT, STDERR, END_REQUEST) and 3.4 (name-value pairs).
 */

const HEADER_LEN = 8;
const VERSION_1 = 1;
const BEGIN_REQUEST = 1;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;
const STDERR = 7;
const GET_VALUES = 9;
const GET_VALUES_RESULT = 10;
/** FCGI_KEEP_CONN in BEGIN_REQUEST's flags: the web server keeps the connection for more requests. */
const KEEP_CONN = 1;

/** PARAMS content kept per request (nginx sends 1-2 KB); past it the parameters are not read. */
const MAX_PARAMS_BYTES = 64 * 1024;
/** CGI header bytes kept before the blank line that ends them; past it the head is taken as ended. */
const MAX_CGI_HEAD_BYTES = 16 * 1024;

/** Whether a client's first bytes open a FastCGI request: a BEGIN_REQUEST record of version 1 for a request id other than 0. */
export function startsLikeFastcgi(data: Uint8Array, offset: number, length: number): boolean {
  if (length < HEADER_LEN) return false;
  const requestId = (data[offset + 2] << 8) | data[offset + 3];
  const contentLength = (data[offset + 4] << 8) | data[offset + 5];
  if (data[offset] !== VERSION_1 || data[offset + 1] !== BEGIN_REQUEST || requestId === 0 || contentLength !== 8) return false;
  if (length < HEADER_LEN + 3) return true;
  // The role: responder (1), authorizer (2) or filter (3).
  const role = (data[offset + HEADER_LEN] << 8) | data[offset + HEADER_LEN + 1];
  return role >= 1 && role <= 3;
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
const encode = (text: string): Uint8Array => Buffer.from(text, 'latin1');

/** One direction's record reader: the header being read, then the content and padding left of the record. */
class RecordReader {
  readonly header = new Uint8Array(HEADER_LEN);
  headerHave = 0;
  type = 0;
  requestId = 0;
  contentLeft = 0;
  /** Content bytes of the current record already handed on. */
  contentRead = 0;
  paddingLeft = 0;
  /** Whether the current record's header is complete (its content and padding are being read). */
  inRecord = false;
}

/** One FastCGI connection's translation into HTTP/1.1 for its session. */
export class FastcgiBridge {
  private readonly client = new RecordReader();
  private readonly server = new RecordReader();
  private stopped = false;
  /** The request id being served, or 0 between requests. */
  private requestId = 0;
  private keepConn = false;
  private params: Uint8Array[] = [];
  private paramsBytes = 0;
  /** The request head was handed to the session (its PARAMS ended). */
  private requestSent = false;
  /** Request body bytes announced by CONTENT_LENGTH and not yet handed over. */
  private bodyLeft = 0;
  private cgiHead: Uint8Array[] = [];
  private cgiHeadBytes = 0;
  /** The response head was handed to the session (the CGI headers ended). */
  private responseSent = false;
  private responseEnded = false;

  /** Bytes of one direction, in order. */
  data(session: HttpSession, fromClient: boolean, data: Uint8Array, offset: number, length: number, ts: number, frame: number): void {
    if (this.stopped) return;
    const r = fromClient ? this.client : this.server;
    let at = offset;
    const end = offset + length;
    while (at < end && !this.stopped) {
      if (!r.inRecord) {
        const take = Math.min(HEADER_LEN - r.headerHave, end - at);
        r.header.set(data.subarray(at, at + take), r.headerHave);
        r.headerHave += take;
        at += take;
        if (r.headerHave < HEADER_LEN) break;
        const h = r.header;
        if (h[0] !== VERSION_1) {
          this.stop(session);
          return;
        }
        r.type = h[1];
        r.requestId = (h[2] << 8) | h[3];
        r.contentLeft = (h[4] << 8) | h[5];
        r.contentRead = 0;
        r.paddingLeft = h[6];
        r.inRecord = true;
        r.headerHave = 0;
        if (r.contentLeft === 0) this.content(session, fromClient, r, data, at, 0, true, ts, frame);
      } else if (r.contentLeft > 0) {
        const take = Math.min(r.contentLeft, end - at);
        r.contentLeft -= take;
        this.content(session, fromClient, r, data, at, take, r.contentLeft === 0, ts, frame);
        r.contentRead += take;
        at += take;
      } else {
        const take = Math.min(r.paddingLeft, end - at);
        r.paddingLeft -= take;
        at += take;
      }
      if (r.inRecord && r.contentLeft === 0 && r.paddingLeft === 0) r.inRecord = false;
    }
  }

  /** Bytes of one direction the capture does not hold: the records cannot be followed past them. */
  gap(session: HttpSession): void {
    this.stop(session);
  }

  /** A piece of a record's content (`last`: the record's content ends with it; an empty record comes once, with length 0). */
  private content(session: HttpSession, fromClient: boolean, r: RecordReader, data: Uint8Array, at: number, length: number, last: boolean, ts: number, frame: number): void {
    const type = r.type;
    const id = r.requestId;
    if (id === 0 || type === GET_VALUES || type === GET_VALUES_RESULT) return; // management records
    if (fromClient) {
      if (type === BEGIN_REQUEST) {
        if (r.contentRead === 0) {
          if (this.requestId !== 0 && !this.responseEnded) {
            this.stop(session); // a second request while one is open: multiplexed
            return;
          }
          this.beginRequest(id);
        }
        // The flags are the body's third byte, in whichever piece of the record holds it.
        const flagsAt = 2 - r.contentRead;
        if (flagsAt >= 0 && flagsAt < length) this.keepConn = (data[at + flagsAt] & KEEP_CONN) !== 0;
        return;
      }
      if (id !== this.requestId) {
        this.stop(session);
        return;
      }
      if (type === PARAMS) {
        if (length > 0 && this.paramsBytes < MAX_PARAMS_BYTES) {
          this.params.push(data.slice(at, at + length));
          this.paramsBytes += length;
        }
        if (length === 0 && last && !this.requestSent) this.sendRequestHead(session, ts, frame);
      } else if (type === STDIN) {
        if (!this.requestSent) this.sendRequestHead(session, ts, frame);
        const take = Math.min(length, this.bodyLeft);
        if (take > 0) {
          this.bodyLeft -= take;
          session.clientData(data, at, take, ts, frame);
        }
      }
      // ABORT_REQUEST (2): the web server gave up; the application answers it with END_REQUEST.
      return;
    }
    if (id !== this.requestId || this.responseEnded) {
      this.stop(session);
      return;
    }
    if (type === STDOUT) {
      if (length > 0) this.stdout(session, data, at, length, ts, frame);
    } else if (type === END_REQUEST) {
      if (last) this.endResponse(session, ts, frame);
    } else if (type !== STDERR) {
      this.stop(session);
    }
  }

  private beginRequest(id: number): void {
    this.requestId = id;
    this.keepConn = false;
    this.params = [];
    this.paramsBytes = 0;
    this.requestSent = false;
    this.bodyLeft = 0;
    this.cgiHead = [];
    this.cgiHeadBytes = 0;
    this.responseSent = false;
    this.responseEnded = false;
  }

  /** The request's parameters, read into an HTTP/1.1 request head for the session. */
  private sendRequestHead(session: HttpSession, ts: number, frame: number): void {
    this.requestSent = true;
    const p = readParams(this.params);
    this.params = [];
    const method = p.get('REQUEST_METHOD') ?? 'GET';
    let uri = p.get('REQUEST_URI');
    if (uri === undefined) {
      const script = p.get('SCRIPT_NAME') ?? '/';
      const query = p.get('QUERY_STRING') ?? '';
      uri = query !== '' ? `${script}?${query}` : script;
    }
    const length = Number(p.get('CONTENT_LENGTH') ?? '0');
    this.bodyLeft = Number.isFinite(length) && length > 0 ? length : 0;
    const lines = [`${safeToken(method)} ${safeTarget(uri)} HTTP/1.1`];
    const host = p.get('HTTP_HOST') ?? p.get('SERVER_NAME');
    if (host !== undefined) lines.push(`Host: ${safeValue(host)}`);
    const agent = p.get('HTTP_USER_AGENT');
    if (agent !== undefined) lines.push(`User-Agent: ${safeValue(agent)}`);
    // The web server forwards its client's request: say so, as an HTTP proxy's X-Forwarded-For does.
    const remote = p.get('REMOTE_ADDR');
    if (remote !== undefined) lines.push(`X-Forwarded-For: ${safeValue(remote)}`);
    const key = p.get('HTTP_IDEMPOTENCY_KEY');
    if (key !== undefined) lines.push(`Idempotency-Key: ${safeValue(key)}`);
    lines.push(`Content-Length: ${this.bodyLeft}`);
    if (!this.keepConn) lines.push('Connection: close');
    const bytes = encode(`${lines.join('\r\n')}\r\n\r\n`);
    session.clientData(bytes, 0, bytes.length, ts, frame);
  }

  /** CGI output: its header block, then its body, handed over as an HTTP/1.1 response with a chunked body. */
  private stdout(session: HttpSession, data: Uint8Array, at: number, length: number, ts: number, frame: number): void {
    if (this.responseSent) {
      sendChunk(session, data, at, length, ts, frame);
      return;
    }
    this.cgiHead.push(data.slice(at, at + length));
    this.cgiHeadBytes += length;
    const head = concat(this.cgiHead);
    const blank = headEnd(head);
    if (blank === null && this.cgiHeadBytes < MAX_CGI_HEAD_BYTES) return;
    const headerEnd = blank === null ? head.length : blank.end;
    this.sendResponseHead(session, latin1(head.subarray(0, blank === null ? head.length : blank.start)), ts, frame);
    if (headerEnd < head.length) sendChunk(session, head, headerEnd, head.length - headerEnd, ts, frame);
  }

  private sendResponseHead(session: HttpSession, cgiHeaders: string, ts: number, frame: number): void {
    this.responseSent = true;
    this.cgiHead = [];
    let status = 200;
    let reason = 'OK';
    let location = false;
    const lines: string[] = [];
    for (const line of cgiHeaders.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'status') {
        const m = /^(\d{3})\s*(.*)$/.exec(value);
        if (m !== null) {
          status = Number(m[1]);
          reason = m[2] !== '' ? m[2] : reason;
        }
        continue;
      }
      // The bridge frames the body itself (chunks up to END_REQUEST) and says how the connection ends.
      if (name === 'content-length' || name === 'transfer-encoding' || name === 'connection') continue;
      if (name === 'location') location = true;
      lines.push(`${line.slice(0, colon).trim()}: ${safeValue(value)}`);
    }
    // CGI: a Location header without a Status is a redirect (RFC 3875 6.2.3).
    if (location && !/^status:/im.test(cgiHeaders)) {
      status = 302;
      reason = 'Found';
    }
    const head = [`HTTP/1.1 ${status} ${safeValue(reason)}`, ...lines, 'Transfer-Encoding: chunked'];
    if (!this.keepConn) head.push('Connection: close');
    const bytes = encode(`${head.join('\r\n')}\r\n\r\n`);
    session.serverData(bytes, 0, bytes.length, ts, frame);
  }

  private endResponse(session: HttpSession, ts: number, frame: number): void {
    if (!this.responseSent) {
      // END_REQUEST with output that never ended its headers, or none at all.
      if (this.cgiHeadBytes > 0) {
        const head = concat(this.cgiHead);
        this.sendResponseHead(session, latin1(head), ts, frame);
      } else {
        this.sendResponseHead(session, '', ts, frame);
      }
    }
    this.responseEnded = true;
    session.serverData(LAST_CHUNK, 0, LAST_CHUNK.length, ts, frame);
  }

  private stop(session: HttpSession): void {
    if (this.stopped) return;
    this.stopped = true;
    // Whatever is pending can no longer be followed: a gap on both sides makes it uncertain.
    session.clientGap(1);
    session.serverGap(1);
  }
}

const LAST_CHUNK = encode('0\r\n\r\n');
const CRLF = encode('\r\n');

function sendChunk(session: HttpSession, data: Uint8Array, at: number, length: number, ts: number, frame: number): void {
  const size = encode(`${length.toString(16)}\r\n`);
  session.serverData(size, 0, size.length, ts, frame);
  session.serverData(data, at, length, ts, frame);
  session.serverData(CRLF, 0, CRLF.length, ts, frame);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  return Buffer.concat(parts);
}

/** Where a CGI header block ends: its blank line (CRLF CRLF, or LF LF), the start of that line break and the first body byte. */
function headEnd(bytes: Uint8Array): { start: number; end: number } | null {
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) return { start: i, end: i + 2 };
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a && i + 3 < bytes.length && bytes[i + 2] === 0x0d && bytes[i + 3] === 0x0a) return { start: i, end: i + 4 };
  }
  return null;
}

/** FastCGI name-value pairs (spec 3.4): each length one byte below 128, else four with the top bit set. */
export function readParams(parts: readonly Uint8Array[]): Map<string, string> {
  const bytes = concat(parts.length === 0 ? [new Uint8Array(0)] : parts);
  const out = new Map<string, string>();
  let at = 0;
  const length = (): number => {
    if (at >= bytes.length) return -1;
    const b = bytes[at];
    if (b < 0x80) {
      at += 1;
      return b;
    }
    if (at + 4 > bytes.length) return -1;
    const n = ((b & 0x7f) * 0x1000000) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
    at += 4;
    return n;
  };
  while (at < bytes.length) {
    const nameLength = length();
    const valueLength = length();
    if (nameLength < 0 || valueLength < 0 || at + nameLength + valueLength > bytes.length) break;
    const name = latin1(bytes.subarray(at, at + nameLength));
    at += nameLength;
    out.set(name, latin1(bytes.subarray(at, at + valueLength)));
    at += valueLength;
  }
  return out;
}

// What goes into the rebuilt head must not break its framing: no line breaks, no spaces in the
// request line's method and target.
const safeValue = (text: string): string => text.replace(/[\r\n]+/g, ' ');
const safeToken = (text: string): string => (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(text) ? text : 'GET');
const safeTarget = (text: string): string => (text === '' ? '/' : text.replace(/[\s]+/g, '%20'));
