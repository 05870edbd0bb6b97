/**
 * What a TLS hello says in clear, read from the first handshake record of each direction (RFC 8446
 * §4.1.2–4.1.3, RFC 5246 §7.4.1, RFC 7301): the application protocols the client offers (ALPN), the
 * one the server chose when that is in clear (a TLS 1.2 ServerHello; TLS 1.3 sends its choice
 * encrypted), and whether the server chose TLS 1.3 (its supported_versions extension).
 *
 * Why: an application-data turn of the client is an HTTP/1.x request only when the connection
 * speaks HTTP/1.x. On HTTP/2 a client also sends frames nobody answers (WINDOW_UPDATE, a PING's
 * ACK, RST_STREAM), so a client turn with no server data after it proves nothing there. The client
 * offering no `h2`, or a server choosing `http/1.1`, settles it.
 *
 * The bytes are read as they come, in any segmentation, without buffering: each field is either
 * accumulated (at most 3 bytes: a length) or skipped, and ALPN names are compared byte by byte
 * against the two that matter. Only the first handshake message of the first record is read; a
 * hello that runs past its record (one larger than 16 KiB) is read as far as the record goes.
 */

/** What the ALPN extension named: bits, so that a client's offer of several protocols is one number. */
export const Alpn = Object.freeze({
  /** The hello carried an ALPN extension. */
  Present: 1,
  H2: 2,
  Http11: 4,
  /** Another protocol (http/1.0, h3, acme-tls/1, a private one). */
  Other: 8,
} as const);

const HANDSHAKE_CLIENT_HELLO = 1;
const HANDSHAKE_SERVER_HELLO = 2;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;
const TLS13 = 0x0304;

const H2 = [0x68, 0x32]; // "h2"
const HTTP11 = [0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31]; // "http/1.1"

// Steps, in the order the fields come. Accumulating steps read `need` bytes into `acc`.
const HS_HEADER = 0; // type (1) and length (3)
const VERSION_RANDOM = 1; // legacy_version (2) and random (32): skipped
const SESSION_ID_LEN = 2;
const SESSION_ID = 3;
const SUITES_LEN = 4; // client: a length; server: the chosen suite (2)
const SUITES = 5;
const COMPRESSION_LEN = 6; // client: a length; server: the chosen method (1)
const COMPRESSION = 7;
const EXTENSIONS_LEN = 8;
const EXT_HEADER = 9; // type (2) and length (2)
const EXT_SKIP = 10;
const ALPN_LIST_LEN = 11;
const ALPN_NAME_LEN = 12;
const ALPN_NAME = 13;
const VERSIONS_LEN = 14; // client: a 1-byte list length
const VERSION_ITEM = 15; // a 2-byte version (the server's choice, or one of the client's list)
const DONE = 16;

export class TlsHello {
  /** ALPN bits (Alpn): offered by a client, chosen by a server; 0 when the hello had no ALPN or was not read. */
  alpn = 0;
  /** A server that chose TLS 1.3 (supported_versions), or a client that offered it. */
  tls13 = false;
  /** The hello was read to the end of its extensions. */
  complete = false;
  /** A server's chosen cipher suite (its ServerHello says it in clear), or -1 when not read. */
  cipherSuite = -1;

  private step = HS_HEADER;
  /** Bytes still to accumulate (accumulating steps) or to skip (skipping steps). */
  private need = 4;
  private acc = 0;
  /** Bytes of the handshake message, then of the extensions block, still to come. */
  private messageLeft = 0;
  /** Bytes of the handshake message read so far, its 4-byte header included. */
  private read = 0;
  private extensionsLeft = 0;
  private extensionType = 0;
  private extensionLeft = 0;
  private listLeft = 0;
  /** The ALPN name being read: how far into it, whether it still matches "h2" and "http/1.1". */
  private nameAt = 0;
  private maybeH2 = false;
  private maybeHttp11 = false;
  private isClient = true;

  reset(isClient: boolean): void {
    this.alpn = 0;
    this.tls13 = false;
    this.complete = false;
    this.cipherSuite = -1;
    this.step = HS_HEADER;
    this.need = 4;
    this.acc = 0;
    this.messageLeft = 0;
    this.read = 0;
    this.extensionsLeft = 0;
    this.extensionType = 0;
    this.extensionLeft = 0;
    this.listLeft = 0;
    this.nameAt = 0;
    this.maybeH2 = false;
    this.maybeHttp11 = false;
    this.isClient = isClient;
  }

  /** Nothing more is read (the hello ended, or it did not parse). */
  get done(): boolean {
    return this.step === DONE;
  }

  /** Stop reading (the record ended, or its bytes went missing): what was read stands. */
  stop(): void {
    this.step = DONE;
  }

  /** Bytes [from, to) of the first handshake record's body. */
  push(data: Uint8Array, from: number, to: number): void {
    let i = from;
    while (i < to && this.step !== DONE) {
      const step = this.step;
      if (step === VERSION_RANDOM || step === SESSION_ID || step === SUITES || step === COMPRESSION || step === EXT_SKIP) {
        const take = Math.min(this.need, to - i);
        this.need -= take;
        this.read += take;
        i += take;
        if (this.need === 0) this.skipped(step);
        continue;
      }
      const b = data[i++];
      this.read++;
      if (step === ALPN_NAME) {
        this.nameByte(b);
        continue;
      }
      this.acc = (this.acc << 8) | b;
      if (--this.need === 0) {
        const value = this.acc;
        this.acc = 0;
        this.accumulated(step, value);
      }
    }
  }

  /** Sets the next step: accumulate `need` bytes, or skip them. */
  private next(step: number, need: number): void {
    this.step = step;
    this.need = need;
    if (need === 0) {
      // Zero-length fields: move on at once.
      if (step === SESSION_ID || step === SUITES || step === COMPRESSION || step === EXT_SKIP) this.skipped(step);
      else if (step === ALPN_NAME) this.nameDone();
    }
  }

  private accumulated(step: number, value: number): void {
    switch (step) {
      case HS_HEADER: {
        const type = value >>> 24;
        if (type !== (this.isClient ? HANDSHAKE_CLIENT_HELLO : HANDSHAKE_SERVER_HELLO)) {
          this.step = DONE;
          return;
        }
        this.messageLeft = value & 0xffffff;
        this.next(VERSION_RANDOM, 34);
        return;
      }
      case SESSION_ID_LEN:
        this.next(SESSION_ID, value);
        return;
      case SUITES_LEN:
        if (this.isClient) this.next(SUITES, value);
        else {
          this.cipherSuite = value;
          this.next(COMPRESSION_LEN, 1);
        }
        return;
      case COMPRESSION_LEN:
        if (this.isClient) this.next(COMPRESSION, value);
        else this.afterCompression();
        return;
      case EXTENSIONS_LEN:
        this.extensionsLeft = value;
        this.nextExtension();
        return;
      case EXT_HEADER:
        this.extensionType = value >>> 16;
        this.extensionLeft = value & 0xffff;
        this.extensionsLeft -= 4 + this.extensionLeft;
        if (this.extensionType === EXT_ALPN && this.extensionLeft >= 2) {
          this.alpn |= Alpn.Present;
          this.next(ALPN_LIST_LEN, 2);
        } else if (this.extensionType === EXT_SUPPORTED_VERSIONS && this.extensionLeft >= 2) {
          if (this.isClient) this.next(VERSIONS_LEN, 1);
          else {
            this.listLeft = 0;
            this.next(VERSION_ITEM, 2);
          }
        } else {
          this.next(EXT_SKIP, this.extensionLeft);
        }
        return;
      case ALPN_LIST_LEN:
        this.listLeft = Math.min(value, this.extensionLeft - 2);
        this.extensionLeft -= 2;
        this.nextAlpnName();
        return;
      case ALPN_NAME_LEN:
        this.listLeft--;
        this.extensionLeft--;
        this.nameAt = 0;
        this.maybeH2 = value === H2.length;
        this.maybeHttp11 = value === HTTP11.length;
        if (value > this.listLeft) {
          this.step = DONE; // a name longer than its list: not a hello after all
          return;
        }
        this.next(ALPN_NAME, value);
        return;
      case VERSIONS_LEN:
        this.extensionLeft--;
        this.listLeft = Math.min(value, this.extensionLeft);
        this.nextVersion();
        return;
      case VERSION_ITEM:
        this.extensionLeft -= 2;
        if (value === TLS13) this.tls13 = true;
        if (this.isClient) {
          this.listLeft -= 2;
          this.nextVersion();
        } else {
          this.afterExtension();
        }
        return;
    }
  }

  private skipped(step: number): void {
    switch (step) {
      case VERSION_RANDOM:
        this.next(SESSION_ID_LEN, 1);
        return;
      case SESSION_ID:
        this.next(SUITES_LEN, 2);
        return;
      case SUITES:
        this.next(COMPRESSION_LEN, 1);
        return;
      case COMPRESSION:
        this.afterCompression();
        return;
      case EXT_SKIP:
        this.extensionLeft = 0;
        this.nextExtension();
        return;
    }
  }

  /** After the compression methods: the extensions block, if the message has one. */
  private afterCompression(): void {
    // The message length says whether extensions follow; a hello without them has no ALPN.
    if (this.read - 4 >= this.messageLeft) {
      this.complete = true;
      this.step = DONE;
    } else {
      this.next(EXTENSIONS_LEN, 2);
    }
  }

  private nextExtension(): void {
    if (this.extensionsLeft <= 0) {
      this.complete = true;
      this.step = DONE;
      return;
    }
    this.next(EXT_HEADER, 4);
  }

  /** The current extension is read: skip what is left of it, then the next one. */
  private afterExtension(): void {
    if (this.extensionLeft > 0) this.next(EXT_SKIP, this.extensionLeft);
    else this.nextExtension();
  }

  private nextAlpnName(): void {
    if (this.listLeft <= 0 || (!this.isClient && this.alpn !== Alpn.Present)) this.afterExtension();
    else this.next(ALPN_NAME_LEN, 1);
  }

  private nextVersion(): void {
    if (this.listLeft < 2) this.afterExtension();
    else this.next(VERSION_ITEM, 2);
  }

  private nameByte(b: number): void {
    const at = this.nameAt++;
    if (this.maybeH2 && H2[at] !== b) this.maybeH2 = false;
    if (this.maybeHttp11 && HTTP11[at] !== b) this.maybeHttp11 = false;
    this.listLeft--;
    this.extensionLeft--;
    if (--this.need === 0) this.nameDone();
  }

  private nameDone(): void {
    this.alpn |= this.maybeH2 ? Alpn.H2 : this.maybeHttp11 ? Alpn.Http11 : Alpn.Other;
    this.nextAlpnName();
  }
}
