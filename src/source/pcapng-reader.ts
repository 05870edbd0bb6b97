import { CarryBuffer } from './carry-buffer';
import { CaptureError } from './capture-error';
import { hexBytes, type CaptureParser, type ParserOptions } from './capture-parser';
import { DEFAULT_SCALE, pcapngSeconds, scaleFromTsresol, type TimestampScale } from './pcapng-timestamp';
import type { CaptureFileInfo, PacketHandler } from './raw-packet';
import { MAX_PCAPNG_BLOCK } from './record-limits';
import { JitterWindow, jitterNotes, jitterWarnings, packetsPastWindow, roomFor } from './jitter-window';
import { ReorderWindow } from './reorder-window';
import { plainBytes, ReusedRawPacket } from './reused-raw-packet';

/** Block types (pcapng spec, section 11.1). */
export const SHB_TYPE = 0x0a0d0d0a;
const IDB_TYPE = 0x00000001;
const OBSOLETE_PACKET_TYPE = 0x00000002;
const SPB_TYPE = 0x00000003;
const ISB_TYPE = 0x00000005;
const EPB_TYPE = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;

/** Type, total length and (for a section header) the byte-order magic: enough to size any block. */
const BLOCK_PEEK_BYTES = 12;
const MIN_SHB_LENGTH = 28;
const MIN_IDB_LENGTH = 20;
const MIN_EPB_LENGTH = 32;
const MIN_SPB_LENGTH = 16;
const MIN_ISB_LENGTH = 24;

const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** Interface statistics: packets dropped by the interface (dumpcap writes libpcap's kernel drops here) and by the OS. */
const OPT_ISB_IFDROP = 5;
const OPT_ISB_OSDROP = 7;
/** An obsolete packet block's drop count when the capturing system did not know it. */
const DROPS_UNKNOWN = 0xffff;

interface Interface {
  linkType: number;
  snaplen: number;
  scale: TimestampScale;
}

/**
 * Push parser for pcapng: any number of sections in either byte order, per-interface
 * link type, snaplen, if_tsresol and if_tsoffset; enhanced, simple and obsolete packet
 * blocks; every other block skipped by its length. Blocks inside a chunk are parsed in
 * place; only a block cut by the chunk boundary is copied.
 *
 * When a section declares more than one interface, packets go through a ReorderWindow,
 * because dumpcap writes such captures in per-interface batches.
 */
export class PcapngReader implements CaptureParser {
  private readonly packet = new ReusedRawPacket();
  private readonly carry = new CarryBuffer();
  private littleEndian = true;
  private sections = 0;
  private interfaces: Interface[] = [];
  private readonly linkTypes: number[] = [];
  private readonly resolutions: string[] = [];
  private maxSnaplen = 0;
  /** Simple packet blocks carry no time: they get the time of the packet before them. */
  private lastTs = 0;
  private nextFrame: number;
  private chunkBase = 0;
  private records = 0;
  private snaplenCut = 0;
  private caplenOverOrigLen = 0;
  private badOptions = 0;
  /**
   * Packets the capturing tool recorded as dropped: per interface of the current section, the
   * largest count its statistics blocks gave (they are running totals, written at the end and
   * sometimes along the way); those of earlier sections, and obsolete packet blocks' counts,
   * summed. Null until the file records a count at all.
   */
  private sectionDrops = new Map<number, number>();
  private earlierDrops = 0;
  private dropsRecorded = false;
  private beforeEpoch = 0;
  private readonly warnings: string[] = [];
  private damaged = false;
  private window: ReorderWindow | null = null;
  /**
   * One interface's packets stamped slightly out of order (see jitter-window.ts), put back in time
   * order; a chunk in time order hands most of its packets on past it (directPackets). Once a
   * second interface makes the ReorderWindow needed, that one orders everything.
   */
  private readonly jitter: JitterWindow | null;
  /** Packets of the current chunk still to hand on past the jitter window (see directPackets). */
  private directLeft = 0;
  /** The times of the current chunk's packets, as directPackets read them. */
  private scanTimes = new Float64Array(4096);

  constructor(
    private readonly options: ParserOptions,
    private readonly onPacket: PacketHandler,
  ) {
    this.nextFrame = options.firstFrame;
    this.jitter = options.reorder ? new JitterWindow(onPacket) : null;
  }

  private deliver(p: ReusedRawPacket): void {
    if (this.window !== null) this.window.push(p);
    else if (this.directLeft > 0) {
      this.directLeft--;
      this.onPacket(p);
    } else if (this.jitter !== null) this.jitter.push(p);
    else this.onPacket(p);
  }

  get stopped(): boolean {
    return this.damaged;
  }

  push(input: Uint8Array): void {
    if (this.damaged) return;
    const chunk = plainBytes(input);
    let pos = 0;
    if (this.carry.length > 0) {
      pos = this.completeCarried(chunk);
      if (pos < 0) return;
    }
    pos = this.walk(chunk, pos);
    if (!this.damaged && pos < chunk.length) this.carry.append(chunk, pos, chunk.length);
    this.chunkBase += chunk.length;
    this.jitter?.chunkEnd();
  }

  releaseHeld(): void {
    this.jitter?.flush();
    this.window?.flush();
  }

  finish(): CaptureFileInfo {
    const name = this.options.name;
    if (this.sections === 0) {
      throw new CaptureError(`${name}: pcapng section header cut short (${this.carry.length} bytes)`);
    }
    const warnings = this.warnings.slice();
    let truncated = false;
    if (!this.damaged && this.carry.length > 0) {
      truncated = true;
      const have = this.carry.length;
      if (have < BLOCK_PEEK_BYTES) {
        warnings.push(`file cut short in a block header at byte ${this.chunkBase - have} (${have} bytes)`);
      } else {
        const need = this.carry.view.getUint32(4, this.littleEndian);
        warnings.push(`file cut short in a block at byte ${this.chunkBase - have} (${have} of ${need} bytes present); block dropped`);
      }
    }
    const jitter = this.jitter;
    const notes: string[] = [];
    if (jitter !== null) {
      jitter.flush();
      warnings.push(...jitterWarnings(jitter));
      notes.push(...jitterNotes(jitter));
    }
    if (this.window !== null) {
      this.window.flush();
      if (this.window.late > 0) {
        warnings.push(`${this.window.late} packet(s) still out of time order after the reorder window`);
      }
    }
    if (this.caplenOverOrigLen > 0) {
      warnings.push(`${this.caplenOverOrigLen} packet(s) with captured length above original length; original length raised`);
    }
    if (this.beforeEpoch > 0) {
      warnings.push(`${this.beforeEpoch} packet(s) stamped before 1970 (negative if_tsoffset); their time was set to 0`);
    }
    if (this.badOptions > 0) {
      warnings.push(`${this.badOptions} interface description(s) with options running past the block; options ignored`);
    }
    // Reported with the capture's other coverage warnings (report/capture-coverage.ts), not here.
    const droppedByCapture = this.dropsRecorded ? this.earlierDrops + sumOf(this.sectionDrops) : null;
    return {
      name,
      format: 'pcapng',
      gzip: false,
      linkTypes: this.linkTypes.slice(),
      tsResolution: this.resolutions.slice(),
      snaplen: this.maxSnaplen,
      records: this.records,
      snaplenCut: this.snaplenCut,
      droppedByCapture,
      warnings,
      notes,
      truncated,
    };
  }

  /** Finish the block whose head is in the carry buffer; returns the chunk position after it, or -1. */
  private completeCarried(chunk: Uint8Array): number {
    const carry = this.carry;
    let pos = 0;
    if (carry.length < BLOCK_PEEK_BYTES) {
      const take = Math.min(BLOCK_PEEK_BYTES - carry.length, chunk.length);
      carry.append(chunk, 0, take);
      pos = take;
      if (carry.length < BLOCK_PEEK_BYTES) return this.chunkExhausted(chunk);
    }
    const blockStart = this.chunkBase + pos - carry.length;
    const length = this.blockLength(carry.bytes, carry.view, 0, blockStart);
    if (length < 0) return -1;
    const take = Math.min(length - carry.length, chunk.length - pos);
    carry.append(chunk, pos, pos + take);
    pos += take;
    if (carry.length < length) return this.chunkExhausted(chunk);
    this.packet.rebase(carry.bytes, carry.view);
    this.processBlock(carry.bytes, carry.view, 0, length, blockStart);
    carry.clear();
    return this.damaged ? -1 : pos;
  }

  private chunkExhausted(chunk: Uint8Array): number {
    this.chunkBase += chunk.length;
    return -1;
  }

  /** Process whole blocks in place; returns the position of the first incomplete block. */
  private walk(chunk: Uint8Array, start: number): number {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = chunk.length;
    // Once per chunk, not per record (see ReusedRawPacket.rebase).
    this.packet.rebase(chunk, view);
    const jitter = this.jitter;
    const firstFrame = this.nextFrame;
    let direct = 0;
    if (jitter !== null) {
      jitter.beginChunk(chunk, view);
      if (this.window === null) {
        direct = this.directPackets(view, start, end, jitter);
        // The packets held are older than every one of this chunk's (it checked): they go first.
        if (direct > 0) jitter.flush();
        this.directLeft = direct;
      }
    }
    let pos = start;
    while (pos + BLOCK_PEEK_BYTES <= end) {
      const length = this.blockLength(chunk, view, pos, this.chunkBase + pos);
      if (length < 0) return pos;
      if (pos + length > end) break;
      this.processBlock(chunk, view, pos, length, this.chunkBase + pos);
      if (this.damaged) return pos;
      pos += length;
    }
    if (jitter !== null && direct > 0) jitter.passedBy(this.scanTimes[direct - 1], firstFrame + direct - 1);
    return pos;
  }

  /**
   * How many of the chunk's first packets can be handed on at once, past the jitter window
   * (packetsPastWindow), as PcapReader.directRecords does for pcap: their times as packetBlock and
   * simplePacket will compute them. None in a chunk with a section header or an interface
   * description (a new section, or a second interface and so the ReorderWindow); the scan stops
   * at anything the walk would call damaged, and what follows goes through the window.
   */
  private directPackets(view: DataView, start: number, end: number, jitter: JitterWindow): number {
    const le = this.littleEndian;
    let times = this.scanTimes;
    let previous = jitter.newest;
    let lastTs = this.lastTs;
    let inOrder = true;
    let pos = start;
    let n = 0;
    while (pos + BLOCK_PEEK_BYTES <= end) {
      const type = view.getUint32(pos, le);
      if (type === SHB_TYPE || type === IDB_TYPE) return 0;
      const length = view.getUint32(pos + 4, le);
      if (length < BLOCK_PEEK_BYTES || length % 4 !== 0 || pos + length > end) break;
      if (type === EPB_TYPE || type === OBSOLETE_PACKET_TYPE) {
        if (length < MIN_EPB_LENGTH) break;
        const iface = this.interfaces[type === EPB_TYPE ? view.getUint32(pos + 8, le) : view.getUint16(pos + 8, le)];
        if (iface === undefined) break;
        const scale = iface.scale;
        const ts = pcapngSeconds(view.getUint32(pos + 12, le), view.getUint32(pos + 16, le), scale.unitsPerSecond) + scale.offsetSeconds;
        lastTs = ts < 0 ? 0 : ts;
      } else if (type !== SPB_TYPE) {
        pos += length; // no packet: statistics, names, custom blocks
        continue;
      } else if (this.interfaces[0] === undefined) {
        break;
      }
      // A simple packet block has no time of its own: the one before it (simplePacket).
      if (lastTs < previous) inOrder = false;
      previous = lastTs;
      times = roomFor(times, n);
      times[n++] = lastTs;
      pos += length;
    }
    this.scanTimes = times;
    return packetsPastWindow(times, n, inOrder, jitter);
  }

  /**
   * Total length of the block at `at`, read in the byte order it will be parsed in
   * (a section header announces its own). Returns -1 after stopping on a bad length.
   */
  private blockLength(bytes: Uint8Array, view: DataView, at: number, fileOffset: number): number {
    const type = view.getUint32(at, true);
    let le = this.littleEndian;
    if (type === SHB_TYPE) {
      const magic = view.getUint32(at + 8, true);
      if (magic === BYTE_ORDER_MAGIC) le = true;
      else if (magic === BYTE_ORDER_MAGIC_SWAPPED) le = false;
      else {
        this.damage(fileOffset, `section header with a bad byte-order magic (${hexBytes(bytes.subarray(at + 8), 4)})`);
        return -1;
      }
    } else if (this.sections === 0) {
      throw new CaptureError(`${this.options.name}: not a pcapng file (starts with ${hexBytes(bytes.subarray(at), 4)})`);
    }
    const length = view.getUint32(at + 4, le);
    const min = type === SHB_TYPE ? MIN_SHB_LENGTH : BLOCK_PEEK_BYTES;
    if (length < min || length % 4 !== 0 || length > MAX_PCAPNG_BLOCK) {
      this.damage(fileOffset, `block of type 0x${type.toString(16)} with an impossible length ${length}`);
      return -1;
    }
    return length;
  }

  private processBlock(bytes: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): void {
    const type = view.getUint32(at, this.littleEndian);
    if (type === EPB_TYPE) {
      this.packetBlock(bytes, view, at, length, fileOffset, view.getUint32(at + 8, this.littleEndian));
      return;
    }
    if (type === SHB_TYPE) {
      this.sectionHeader(view, at, length, fileOffset);
      return;
    }
    if (view.getUint32(at + length - 4, this.littleEndian) !== length) {
      this.damage(fileOffset, `block of type 0x${type.toString(16)} whose leading and trailing lengths differ`);
      return;
    }
    switch (type) {
      case IDB_TYPE:
        this.interfaceDescription(view, at, length, fileOffset);
        return;
      case SPB_TYPE:
        this.simplePacket(bytes, view, at, length, fileOffset);
        return;
      case OBSOLETE_PACKET_TYPE: {
        // Same layout as an EPB except a 16-bit interface id followed by a 16-bit drop count:
        // the packets lost between this one and the one before.
        const drops = view.getUint16(at + 10, this.littleEndian);
        if (length >= MIN_EPB_LENGTH && drops !== DROPS_UNKNOWN) {
          this.earlierDrops += drops;
          this.dropsRecorded = true;
        }
        this.packetBlock(bytes, view, at, length, fileOffset, view.getUint16(at + 8, this.littleEndian));
        return;
      }
      case ISB_TYPE:
        this.interfaceStatistics(view, at, length);
        return;
      default:
        // Name resolution, decryption secrets, custom and unknown blocks: nothing for us.
        return;
    }
  }

  private sectionHeader(view: DataView, at: number, length: number, fileOffset: number): void {
    const le = view.getUint32(at + 8, true) === BYTE_ORDER_MAGIC;
    if (view.getUint32(at + length - 4, le) !== length) {
      this.damage(fileOffset, 'section header whose leading and trailing lengths differ');
      return;
    }
    const major = view.getUint16(at + 12, le);
    const minor = view.getUint16(at + 14, le);
    // libpcap and Wireshark read 1.0 and 1.2 (written by some old tools) and refuse the rest.
    if (major !== 1 || (minor !== 0 && minor !== 2)) {
      if (this.sections === 0) {
        throw new CaptureError(`${this.options.name}: unsupported pcapng version ${major}.${minor}`);
      }
      this.damage(fileOffset, `section ${this.sections + 1} with unsupported pcapng version ${major}.${minor}`);
      return;
    }
    this.littleEndian = le;
    this.sections++;
    this.interfaces = [];
    this.earlierDrops += sumOf(this.sectionDrops);
    this.sectionDrops.clear();
  }

  private interfaceDescription(view: DataView, at: number, length: number, fileOffset: number): void {
    if (length < MIN_IDB_LENGTH) {
      this.damage(fileOffset, `interface description block too short (${length} bytes)`);
      return;
    }
    const le = this.littleEndian;
    const linkType = view.getUint16(at + 8, le);
    const snaplen = view.getUint32(at + 12, le);
    let scale = DEFAULT_SCALE;
    let offsetSeconds = 0;
    const optionsEnd = at + length - 4;
    let o = at + 16;
    while (o + 4 <= optionsEnd) {
      const code = view.getUint16(o, le);
      const optionLength = view.getUint16(o + 2, le);
      if (code === OPT_END) break;
      if (o + 4 + optionLength > optionsEnd) {
        this.badOptions++;
        break;
      }
      if (code === OPT_IF_TSRESOL && optionLength >= 1) {
        const raw = view.getUint8(o + 4);
        const parsed = scaleFromTsresol(raw);
        if (parsed === null) this.warnings.push(`interface ${this.interfaces.length} has an unusable if_tsresol 0x${raw.toString(16)}; microseconds assumed`);
        else scale = parsed;
      } else if (code === OPT_IF_TSOFFSET && optionLength === 8) {
        const high = view.getInt32(o + (le ? 8 : 4), le);
        const low = view.getUint32(o + (le ? 4 : 8), le);
        offsetSeconds = high * 4294967296 + low;
      }
      o += 4 + ((optionLength + 3) & ~3);
    }
    if (offsetSeconds !== 0) scale = { ...scale, offsetSeconds };
    this.interfaces.push({ linkType, snaplen, scale });
    if (!this.linkTypes.includes(linkType)) this.linkTypes.push(linkType);
    if (!this.resolutions.includes(scale.label)) this.resolutions.push(scale.label);
    if (snaplen > this.maxSnaplen) this.maxSnaplen = snaplen;
    if (this.interfaces.length > 1 && this.window === null && this.options.reorder) {
      // The packets held for jitter go first; the interfaces' window orders what follows.
      this.jitter?.flush();
      this.window = new ReorderWindow(this.onPacket);
    }
  }

  /**
   * An interface statistics block: what dumpcap (Wireshark's capture engine) writes at the end of
   * a capture, with the packets libpcap reported dropped (isb_ifdrop); other writers add the OS's
   * drops (isb_osdrop). A block that makes no sense is passed over: it carries no packet.
   */
  private interfaceStatistics(view: DataView, at: number, length: number): void {
    const le = this.littleEndian;
    if (length < MIN_ISB_LENGTH) return;
    const interfaceId = view.getUint32(at + 8, le);
    if (interfaceId >= this.interfaces.length) return;
    const optionsEnd = at + length - 4;
    let dropped = -1;
    let o = at + 20;
    while (o + 4 <= optionsEnd) {
      const code = view.getUint16(o, le);
      const optionLength = view.getUint16(o + 2, le);
      if (code === OPT_END || o + 4 + optionLength > optionsEnd) break;
      if ((code === OPT_ISB_IFDROP || code === OPT_ISB_OSDROP) && optionLength === 8) {
        const count = uint64(view, o + 4, le);
        if (count >= 0) dropped = (dropped < 0 ? 0 : dropped) + count;
      }
      o += 4 + ((optionLength + 3) & ~3);
    }
    if (dropped < 0) return;
    this.dropsRecorded = true;
    if (dropped > (this.sectionDrops.get(interfaceId) ?? 0)) this.sectionDrops.set(interfaceId, dropped);
  }

  /** Enhanced (type 6) and obsolete (type 2) packet blocks. */
  private packetBlock(bytes: Uint8Array, view: DataView, at: number, length: number, fileOffset: number, interfaceId: number): void {
    const le = this.littleEndian;
    if (length < MIN_EPB_LENGTH || view.getUint32(at + length - 4, le) !== length) {
      this.damage(fileOffset, `packet block with inconsistent lengths (${length} bytes)`);
      return;
    }
    const caplen = view.getUint32(at + 20, le);
    if (caplen > length - MIN_EPB_LENGTH) {
      this.damage(fileOffset, `packet block claims ${caplen} captured bytes in a ${length}-byte block`);
      return;
    }
    const iface = this.interfaces[interfaceId];
    if (iface === undefined) {
      // Wireshark stops here too: without the interface there is no link type or clock.
      this.damage(fileOffset, `packet block for undefined interface ${interfaceId}`);
      return;
    }
    const scale = iface.scale;
    let ts = pcapngSeconds(view.getUint32(at + 12, le), view.getUint32(at + 16, le), scale.unitsPerSecond) + scale.offsetSeconds;
    // Only a negative if_tsoffset gets here. Times before 1970 would read as the flow stage's
    // "never seen" (-1), so they are pinned to 0 and reported rather than mislabel closes and resets.
    if (ts < 0) {
      this.beforeEpoch++;
      ts = 0;
    }
    this.emit(at + 28, caplen, view.getUint32(at + 24, le), ts, iface.linkType);
  }

  private simplePacket(bytes: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): void {
    const iface = this.interfaces[0];
    if (length < MIN_SPB_LENGTH || iface === undefined) {
      this.damage(fileOffset, iface === undefined ? 'simple packet block before any interface' : 'simple packet block too short');
      return;
    }
    const origLen = view.getUint32(at + 8, this.littleEndian);
    // The block holds min(original length, interface snaplen) bytes plus padding.
    let caplen = Math.min(origLen, length - MIN_SPB_LENGTH);
    if (iface.snaplen > 0 && caplen > iface.snaplen) caplen = iface.snaplen;
    this.emit(at + 12, caplen, origLen, this.lastTs, iface.linkType);
  }

  /** The record at `dataAt` of the buffer the packet was last rebased on. */
  private emit(dataAt: number, caplen: number, origLen: number, ts: number, linkType: number): void {
    if (origLen < caplen) {
      this.caplenOverOrigLen++;
      origLen = caplen;
    } else if (caplen < origLen) {
      this.snaplenCut++;
    }
    const p = this.packet;
    p.frame = this.nextFrame++;
    p.ts = ts;
    p.caplen = caplen;
    p.origLen = origLen;
    p.linkType = linkType;
    p.seek(dataAt);
    this.lastTs = ts;
    this.records++;
    this.deliver(p);
  }

  /**
   * Stop at damage, keeping what was read. Damage inside the very first section header
   * means there is nothing to read at all, so that is a CaptureError instead.
   */
  private damage(fileOffset: number, what: string): void {
    if (this.sections === 0) throw new CaptureError(`${this.options.name}: damaged pcapng file: ${what}`);
    this.damaged = true;
    this.carry.clear();
    this.warnings.push(`damaged file: ${what} at byte ${fileOffset}; stopped reading there, ${this.records} record(s) before it kept`);
  }
}

function sumOf(counts: Map<number, number>): number {
  let sum = 0;
  for (const n of counts.values()) sum += n;
  return sum;
}

/** An unsigned 64-bit option value, or -1 when it is past what a double holds exactly (all ones: unknown). */
function uint64(view: DataView, at: number, le: boolean): number {
  const high = view.getUint32(le ? at + 4 : at, le);
  const low = view.getUint32(le ? at : at + 4, le);
  if (high >= 0x200000) return -1;
  return high * 4294967296 + low;
}
