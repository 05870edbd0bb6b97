import { CarryBuffer } from './carry-buffer';
import { CaptureError } from './capture-error';
import { hexBytes, type CaptureParser, type ParserOptions } from './capture-parser';
import type { CaptureFileInfo, PacketHandler } from './raw-packet';
import { maxPcapCaplen } from './record-limits';
import { JitterWindow, jitterNotes, jitterWarnings, packetsPastWindow, roomFor } from './jitter-window';
import { plainBytes, ReusedRawPacket } from './reused-raw-packet';

const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

/** The four classic pcap magics, as read big-endian from the first four bytes. */
const MAGIC_US_BE = 0xa1b2c3d4;
const MAGIC_NS_BE = 0xa1b23c4d;
const MAGIC_US_LE = 0xd4c3b2a1;
const MAGIC_NS_LE = 0x4d3cb2a1;

/** True when the first four bytes are one of the classic pcap magics. */
export function isPcapMagic(first4: number): boolean {
  return first4 === MAGIC_US_BE || first4 === MAGIC_NS_BE || first4 === MAGIC_US_LE || first4 === MAGIC_NS_LE;
}

/**
 * Bits 16-25 of the link-type field are reserved; bits 26-31 carry the FCS length
 * (libpcap's LT_FCS_* macros), which we ignore because the link decoder finds the FCS
 * from the frame anyway.
 */
const LINKTYPE_RESERVED_BITS = 0x03ff0000;

/**
 * Push parser for classic libpcap files: both byte orders, microsecond and nanosecond
 * magic. Records inside a chunk are walked in place; only a record cut by the chunk
 * boundary is copied (its tail, into a CarryBuffer).
 */
export class PcapReader implements CaptureParser {
  private readonly packet = new ReusedRawPacket();
  private readonly carry = new CarryBuffer();
  private headerDone = false;
  private littleEndian = true;
  private nano = false;
  private fracPerSecond = 1e6;
  private snaplen = 0;
  private linkType = 0;
  private maxCaplen = 0;
  private nextFrame: number;
  /** File offset of the first byte of the current chunk, for damage messages. */
  private chunkBase = 0;
  private records = 0;
  private snaplenCut = 0;
  private fractionOutOfRange = 0;
  private caplenOverOrigLen = 0;
  private readonly warnings: string[] = [];
  private damaged = false;
  /** Link types of the file's headers, the first and those of later files concatenated to it (see nextFileHeaderAt). */
  private readonly linkTypes: number[] = [];
  /** The same for their timestamp resolutions. */
  private readonly resolutions: Array<'us' | 'ns'> = [];
  /** Headers of further files met among the records (`cat a.pcap b.pcap`). */
  private filesJoined = 0;
  /** Set by walk when it met a further file's header and parsed it: the walk starts again after it, in that file's byte order. */
  private resumeAt = -1;
  /** Puts packets stamped slightly out of order back in time order (see jitter-window.ts); null: file order. */
  private readonly jitter: JitterWindow | null;
  /** Records of the current chunk still to hand on past the jitter window (see directRecords). */
  private directLeft = 0;
  /** The times of the current chunk's whole records, as directRecords read them, and their count. */
  private scanTimes = new Float64Array(4096);
  private scanCount = 0;

  constructor(
    private readonly options: ParserOptions,
    private readonly onPacket: PacketHandler,
  ) {
    this.nextFrame = options.firstFrame;
    this.jitter = options.reorder ? new JitterWindow(onPacket) : null;
  }

  get stopped(): boolean {
    return this.damaged;
  }

  push(input: Uint8Array): void {
    if (this.damaged) return;
    const chunk = plainBytes(input);
    let pos = 0;
    if (!this.headerDone) {
      pos = this.takeFileHeader(chunk);
      if (pos < 0) return;
    }
    if (this.carry.length > 0) {
      pos = this.completeCarried(chunk, pos);
      if (pos < 0) return;
    }
    pos = this.walk(chunk, pos);
    // A further file's header met: walk on in its byte order and resolution (bounded by the chunk's headers).
    while (this.resumeAt >= 0) {
      const at = this.resumeAt;
      this.resumeAt = -1;
      pos = this.walk(chunk, at);
    }
    if (!this.damaged && pos < chunk.length) this.carry.append(chunk, pos, chunk.length);
    this.chunkBase += chunk.length;
    this.jitter?.chunkEnd();
  }

  releaseHeld(): void {
    this.jitter?.flush();
  }

  finish(): CaptureFileInfo {
    const jitter = this.jitter;
    if (jitter !== null) jitter.flush();
    const warnings = this.warnings.slice();
    if (jitter !== null) warnings.push(...jitterWarnings(jitter));
    const notes = jitter !== null ? jitterNotes(jitter) : [];
    let truncated = false;
    if (!this.headerDone) {
      throw new CaptureError(
        `${this.options.name}: pcap file header cut short (${this.carry.length} of ${FILE_HEADER_BYTES} bytes)`,
      );
    }
    if (!this.damaged && this.carry.length > 0) {
      truncated = true;
      const have = this.carry.length;
      const frame = this.nextFrame;
      if (have < RECORD_HEADER_BYTES) {
        warnings.push(`file cut short in the header of frame ${frame} (${have} of ${RECORD_HEADER_BYTES} bytes)`);
      } else {
        const need = RECORD_HEADER_BYTES + this.carry.view.getUint32(8, this.littleEndian);
        warnings.push(`file cut short in the middle of frame ${frame} (${have} of ${need} record bytes present); frame dropped`);
      }
    }
    if (this.fractionOutOfRange > 0) {
      const unit = this.nano ? 'nanoseconds >= 10^9' : 'microseconds >= 10^6';
      warnings.push(`${this.fractionOutOfRange} record(s) with a timestamp fraction out of range (${unit}); time computed anyway`);
    }
    if (this.caplenOverOrigLen > 0) {
      warnings.push(`${this.caplenOverOrigLen} record(s) with captured length above original length; original length raised`);
    }
    if (this.filesJoined > 0) {
      notes.push(
        `${this.filesJoined + 1} pcap files one after another in this input (as \`cat a.pcap b.pcap\` makes them): each file's header was read where it began, ` +
          'and its packets taken in turn (frame numbers count on across them; to open a frame in Wireshark, pass the files to conncheck as separate arguments)',
      );
    }
    return {
      name: this.options.name,
      format: 'pcap',
      gzip: false,
      linkTypes: this.linkTypes.slice(),
      tsResolution: this.resolutions.slice(),
      snaplen: this.snaplen,
      records: this.records,
      snaplenCut: this.snaplenCut,
      // The pcap format has no field for drops (tcpdump prints its count on stderr only).
      droppedByCapture: null,
      warnings,
      notes,
      truncated,
    };
  }

  /** Accumulate and parse the 24-byte file header; returns the chunk position after it, or -1 if more bytes are needed. */
  private takeFileHeader(chunk: Uint8Array): number {
    const take = Math.min(FILE_HEADER_BYTES - this.carry.length, chunk.length);
    this.carry.append(chunk, 0, take);
    if (this.carry.length < FILE_HEADER_BYTES) {
      this.chunkBase += chunk.length;
      return -1;
    }
    this.parseFileHeader(this.carry.bytes, this.carry.view);
    this.carry.clear();
    this.headerDone = true;
    return take;
  }

  private parseFileHeader(bytes: Uint8Array, view: DataView): void {
    const name = this.options.name;
    const magic = view.getUint32(0, false);
    if (!isPcapMagic(magic)) {
      throw new CaptureError(`${name}: not a pcap file (starts with ${hexBytes(bytes, 4)})`);
    }
    this.littleEndian = magic === MAGIC_US_LE || magic === MAGIC_NS_LE;
    this.nano = magic === MAGIC_NS_LE || magic === MAGIC_NS_BE;
    this.fracPerSecond = this.nano ? 1e9 : 1e6;
    const le = this.littleEndian;
    const major = view.getUint16(4, le);
    const minor = view.getUint16(6, le);
    // libpcap and Wireshark both refuse major versions other than 2 (1.x is the archaic
    // pre-1994 layout); minor versions vary in the wild and are accepted.
    if (major !== 2) throw new CaptureError(`${name}: unsupported pcap version ${major}.${minor}`);
    this.snaplen = view.getUint32(16, le);
    const linkField = view.getUint32(20, le);
    this.linkType = linkField & 0xffff;
    if ((linkField & LINKTYPE_RESERVED_BITS) !== 0) {
      this.warnings.push(
        `reserved bits set in the pcap link-type field (0x${linkField.toString(16).padStart(8, '0')}); using link type ${this.linkType}`,
      );
    }
    this.maxCaplen = maxPcapCaplen(this.snaplen);
    this.packet.linkType = this.linkType;
    if (!this.linkTypes.includes(this.linkType)) this.linkTypes.push(this.linkType);
    const resolution = this.nano ? 'ns' : 'us';
    if (!this.resolutions.includes(resolution)) this.resolutions.push(resolution);
  }

  /**
   * Whether the bytes at `at` are the header of a further pcap file rather than a record:
   * `cat a.pcap b.pcap` (or `cat a.pcap.gz b.pcap.gz | gunzip`) puts the second file's 24-byte
   * header where a record would start. Read as a record it is a zero-length one (its caplen is the
   * header's `thiszone`, always 0 as libpcap writes it) stamped in 2055, then a record claiming
   * the next packet's time as its length. Asked only of a record whose caplen is 0 or too long, so
   * the per-record walk pays nothing. A magic, version 2 (the header libpcap writes), and 24 bytes.
   */
  private isFileHeaderAt(view: DataView, at: number, end: number): boolean {
    if (at + FILE_HEADER_BYTES > end || !isPcapMagic(view.getUint32(at, false))) return false;
    const magic = view.getUint32(at, false);
    const le = magic === MAGIC_US_LE || magic === MAGIC_NS_LE;
    return view.getUint16(at + 4, le) === 2;
  }

  /** Takes the further file header at `at` (see isFileHeaderAt): its byte order, resolution, snaplen and link type from here on. */
  private joinFile(chunk: Uint8Array, view: DataView, at: number): void {
    this.parseFileHeader(chunk.subarray(at, at + FILE_HEADER_BYTES), new DataView(view.buffer, view.byteOffset + at, FILE_HEADER_BYTES));
    this.filesJoined++;
  }

  /**
   * Finish the record whose head is in the carry buffer with bytes from the new chunk.
   * Returns the chunk position after the record, or -1 if the chunk ran out (or damage).
   */
  private completeCarried(chunk: Uint8Array, pos: number): number {
    const carry = this.carry;
    if (carry.length < RECORD_HEADER_BYTES) {
      const take = Math.min(RECORD_HEADER_BYTES - carry.length, chunk.length - pos);
      carry.append(chunk, pos, pos + take);
      pos += take;
      if (carry.length < RECORD_HEADER_BYTES) return this.chunkExhausted(chunk);
    }
    const caplen = carry.view.getUint32(8, this.littleEndian);
    if ((caplen === 0 || caplen > this.maxCaplen) && isPcapMagic(carry.view.getUint32(0, false))) {
      // Perhaps a further file's header cut by the chunk boundary: its last 8 bytes first.
      const take = Math.min(FILE_HEADER_BYTES - carry.length, chunk.length - pos);
      if (take > 0) carry.append(chunk, pos, pos + take);
      pos += take;
      if (carry.length < FILE_HEADER_BYTES) return this.chunkExhausted(chunk);
      if (this.isFileHeaderAt(carry.view, 0, FILE_HEADER_BYTES)) {
        this.joinFile(carry.bytes, carry.view, 0);
        carry.clear();
        return pos;
      }
      // Not one: the 8 bytes taken belong to the record (a zero-length record is only its header).
      if (caplen === 0) {
        pos -= take;
        carry.truncate(RECORD_HEADER_BYTES);
      }
    }
    if (caplen > this.maxCaplen) {
      this.stopDamaged(caplen, this.chunkBase + pos - carry.length);
      return -1;
    }
    const total = RECORD_HEADER_BYTES + caplen;
    const take = Math.min(total - carry.length, chunk.length - pos);
    carry.append(chunk, pos, pos + take);
    pos += take;
    if (carry.length < total) return this.chunkExhausted(chunk);
    this.packet.rebase(carry.bytes, carry.view);
    this.emit(carry.view, 0, caplen, this.littleEndian === true);
    carry.clear();
    return pos;
  }

  private chunkExhausted(chunk: Uint8Array): number {
    this.chunkBase += chunk.length;
    return -1;
  }

  /** Walk whole records in place; returns the position of the first incomplete record. */
  private walk(chunk: Uint8Array, start: number): number {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = chunk.length;
    // Compared with true: a field V8 does not know to be a boolean costs a full truthiness test
    // (about ten instructions) at every DataView read it is passed to.
    const le = this.littleEndian === true;
    const maxCaplen = this.maxCaplen;
    // Once per chunk, not per record (see ReusedRawPacket.rebase).
    this.packet.rebase(chunk, view);
    const jitter = this.jitter;
    let direct = 0;
    if (jitter !== null) {
      jitter.beginChunk(chunk, view);
      direct = this.directRecords(view, start, end, jitter);
      // The packets held are older than every one of this chunk's (it checked): they go first.
      if (direct > 0) jitter.flush();
      this.directLeft = direct;
    }
    let pos = start;
    while (pos + RECORD_HEADER_BYTES <= end) {
      const caplen = view.getUint32(pos + 8, le);
      if (caplen === 0 || caplen > maxCaplen) {
        if (this.isFileHeaderAt(view, pos, end)) {
          this.joinFile(chunk, view, pos);
          this.resumeAt = pos + FILE_HEADER_BYTES;
          return pos + FILE_HEADER_BYTES;
        }
        // A header the chunk cuts: the next chunk completes it (completeCarried).
        if (pos + FILE_HEADER_BYTES > end && isPcapMagic(view.getUint32(pos, false))) break;
        if (caplen > maxCaplen) {
          this.stopDamaged(caplen, this.chunkBase + pos);
          return pos;
        }
      }
      const next = pos + RECORD_HEADER_BYTES + caplen;
      if (next > end) break;
      this.emit(view, pos, caplen, le);
      pos = next;
    }
    if (jitter !== null && direct > 0) jitter.passedBy(this.scanTimes[direct - 1], this.nextFrame - this.scanCount + direct - 1);
    return pos;
  }

  /**
   * How many of the chunk's first whole records can be handed on at once, past the jitter window
   * (packetsPastWindow). So a capture in time order costs a scan of its record headers and the
   * window's work for the last 2 ms (at most 32 packets) of each chunk; every packet through the
   * window cost about 0.3 G instructions more on the benchmark's first 500 000 packets.
   */
  private directRecords(view: DataView, start: number, end: number, jitter: JitterWindow): number {
    const le = this.littleEndian === true;
    const maxCaplen = this.maxCaplen;
    const fracPerSecond = this.fracPerSecond;
    let times = this.scanTimes;
    let previous = jitter.newest;
    let inOrder = true;
    let pos = start;
    let n = 0;
    while (pos + RECORD_HEADER_BYTES <= end) {
      const caplen = view.getUint32(pos + 8, le);
      if (caplen > maxCaplen || (caplen === 0 && isPcapMagic(view.getUint32(pos, false)))) break;
      const next = pos + RECORD_HEADER_BYTES + caplen;
      if (next > end) break;
      // The time as emit computes it: equal stamps compare equal, an out-of-range fraction orders as it is read.
      const ts = view.getUint32(pos, le) + view.getUint32(pos + 4, le) / fracPerSecond;
      if (ts < previous) inOrder = false;
      previous = ts;
      times = roomFor(times, n);
      times[n++] = ts;
      pos = next;
    }
    this.scanTimes = times;
    this.scanCount = n;
    return packetsPastWindow(times, n, inOrder, jitter);
  }

  /** The record at `at` of the buffer the packet was last rebased on (`view` spans that buffer); `le`: the file's byte order. */
  private emit(view: DataView, at: number, caplen: number, le: boolean): void {
    const sec = view.getUint32(at, le);
    const frac = view.getUint32(at + 4, le);
    let origLen = view.getUint32(at + 12, le);
    // Out-of-range fractions (tcpdump's timestamp_invalid_* tests) still give a usable,
    // monotonic-enough time; Wireshark shows them the same way.
    if (frac >= this.fracPerSecond) this.fractionOutOfRange++;
    if (origLen < caplen) {
      this.caplenOverOrigLen++;
      origLen = caplen;
    } else if (caplen < origLen) {
      this.snaplenCut++;
    }
    const p = this.packet;
    p.frame = this.nextFrame++;
    p.ts = sec + frac / this.fracPerSecond;
    p.caplen = caplen;
    p.origLen = origLen;
    p.seek(at + RECORD_HEADER_BYTES);
    this.records++;
    if (this.directLeft > 0) {
      this.directLeft--;
      this.onPacket(p);
    } else if (this.jitter === null) {
      this.onPacket(p);
    } else {
      this.jitter.push(p);
    }
  }

  private stopDamaged(caplen: number, fileOffset: number): void {
    this.damaged = true;
    this.carry.clear();
    this.warnings.push(
      `damaged file: the record header at byte ${fileOffset} (frame ${this.nextFrame}) claims ${caplen} captured bytes ` +
        `(limit ${this.maxCaplen}); stopped reading there, ${this.records} record(s) before it kept`,
    );
  }
}
