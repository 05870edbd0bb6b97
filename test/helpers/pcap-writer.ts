/**
 * Tiny writers for synthetic capture files in tests: classic pcap and pcapng, with knobs
 * for the odd cases readers must survive (wrong lengths, bad versions, cut files).
 */

// ---------------------------------------------------------------- pcap

export interface PcapFileOptions {
  /** LINKTYPE_* value; may carry FCS bits in the upper 16 bits (written as given). */
  linkType: number;
  /** Nanosecond magic (a1b23c4d) instead of microseconds. */
  nano?: boolean;
  bigEndian?: boolean;
  /** Default 262144. */
  snaplen?: number;
  /** Default 2.4. */
  versionMajor?: number;
  versionMinor?: number;
}

export interface PcapRecord {
  /** Whole seconds. */
  sec: number;
  /** Fraction in the file's unit (us or ns); may be out of range on purpose. */
  frac?: number;
  /** Captured bytes. */
  data: Uint8Array;
  /** Length on the wire; default data.length. */
  origLen?: number;
  /** Value written in the caplen field instead of data.length (to fake damaged headers). */
  caplenField?: number;
}

export function pcapHeader(options: PcapFileOptions): Buffer {
  const header = Buffer.alloc(24);
  const le = options.bigEndian !== true;
  const magic = options.nano === true ? 0xa1b23c4d : 0xa1b2c3d4;
  writeU32(header, 0, magic, le);
  writeU16(header, 4, options.versionMajor ?? 2, le);
  writeU16(header, 6, options.versionMinor ?? 4, le);
  writeU32(header, 16, options.snaplen ?? 262144, le);
  writeU32(header, 20, options.linkType >>> 0, le);
  return header;
}

export function pcapRecord(options: PcapFileOptions, record: PcapRecord): Buffer {
  const le = options.bigEndian !== true;
  const header = Buffer.alloc(16);
  writeU32(header, 0, record.sec, le);
  writeU32(header, 4, record.frac ?? 0, le);
  writeU32(header, 8, record.caplenField ?? record.data.length, le);
  writeU32(header, 12, record.origLen ?? record.data.length, le);
  return Buffer.concat([header, record.data]);
}

/** A whole pcap file. */
export function writePcap(options: PcapFileOptions, records: PcapRecord[]): Buffer {
  return Buffer.concat([pcapHeader(options), ...records.map((r) => pcapRecord(options, r))]);
}

// ---------------------------------------------------------------- pcapng

export interface PcapngOption {
  code: number;
  value: Uint8Array;
}

export type PcapngBlock =
  | { type: 'shb'; bigEndian?: boolean; versionMajor?: number; versionMinor?: number; options?: PcapngOption[] }
  | {
      type: 'idb';
      linkType: number;
      snaplen?: number;
      /** Raw if_tsresol byte: 6 = 10^-6, 9 = 10^-9, 0x80 | n = 2^-n. */
      tsresol?: number;
      /** if_tsoffset in seconds. */
      tsoffset?: number;
      options?: PcapngOption[];
    }
  | {
      type: 'epb';
      interfaceId: number;
      /** Timestamp in the interface's units. */
      timestamp: bigint;
      data: Uint8Array;
      origLen?: number;
      options?: PcapngOption[];
    }
  | { type: 'spb'; data: Uint8Array; origLen?: number }
  /** Obsolete Packet Block (type 2). */
  | { type: 'opb'; interfaceId: number; timestamp: bigint; data: Uint8Array; origLen?: number; dropCount?: number }
  /** Interface Statistics Block (type 5) with the counters given, as 64-bit options (ifrecv 4, ifdrop 5, osdrop 7). */
  | { type: 'isb'; interfaceId: number; ifrecv?: bigint; ifdrop?: bigint; osdrop?: bigint }
  /** Any block by number; lengths may be overridden to fake damage. */
  | { type: 'raw'; blockType: number; body: Uint8Array; totalLength?: number; trailingLength?: number };

/** A pcapng file; each block is written in the byte order of the section header before it. */
export function writePcapng(blocks: PcapngBlock[]): Buffer {
  let le = true;
  const parts: Buffer[] = [];
  for (const block of blocks) {
    if (block.type === 'shb') le = block.bigEndian !== true;
    parts.push(pcapngBlock(block, le));
  }
  return Buffer.concat(parts);
}

/** A pcapng timestamp: whole seconds plus a fraction, in `unitsPerSecond` units (e.g. 1_000_000n). */
export function ngTime(sec: number, fraction: number, unitsPerSecond: bigint): bigint {
  return BigInt(sec) * unitsPerSecond + BigInt(fraction);
}

export function pcapngBlock(block: PcapngBlock, le: boolean): Buffer {
  switch (block.type) {
    case 'shb': {
      const body = Buffer.alloc(16);
      writeU32(body, 0, 0x1a2b3c4d, le);
      writeU16(body, 4, block.versionMajor ?? 1, le);
      writeU16(body, 6, block.versionMinor ?? 0, le);
      // Section length -1: not specified.
      body.fill(0xff, 8, 16);
      return frame(0x0a0d0d0a, Buffer.concat([body, options(block.options, le)]), le);
    }
    case 'idb': {
      const body = Buffer.alloc(8);
      writeU16(body, 0, block.linkType, le);
      writeU32(body, 4, block.snaplen ?? 0, le);
      const opts = [...(block.options ?? [])];
      if (block.tsresol !== undefined) opts.push({ code: 9, value: Uint8Array.of(block.tsresol) });
      if (block.tsoffset !== undefined) {
        const v = Buffer.alloc(8);
        if (le) v.writeBigInt64LE(BigInt(block.tsoffset));
        else v.writeBigInt64BE(BigInt(block.tsoffset));
        opts.push({ code: 14, value: v });
      }
      return frame(1, Buffer.concat([body, options(opts, le)]), le);
    }
    case 'epb':
    case 'opb': {
      const head = Buffer.alloc(20);
      if (block.type === 'epb') writeU32(head, 0, block.interfaceId, le);
      else {
        writeU16(head, 0, block.interfaceId, le);
        writeU16(head, 2, block.dropCount ?? 0, le);
      }
      writeU32(head, 4, Number(block.timestamp >> 32n), le);
      writeU32(head, 8, Number(block.timestamp & 0xffffffffn), le);
      writeU32(head, 12, block.data.length, le);
      writeU32(head, 16, block.origLen ?? block.data.length, le);
      const opts = block.type === 'epb' ? options(block.options, le) : Buffer.alloc(0);
      return frame(block.type === 'epb' ? 6 : 2, Buffer.concat([head, padded(block.data), opts]), le);
    }
    case 'spb': {
      const head = Buffer.alloc(4);
      writeU32(head, 0, block.origLen ?? block.data.length, le);
      return frame(3, Buffer.concat([head, padded(block.data)]), le);
    }
    case 'isb': {
      const head = Buffer.alloc(12);
      writeU32(head, 0, block.interfaceId, le);
      const counter = (code: number, value: bigint | undefined): PcapngOption[] => {
        if (value === undefined) return [];
        const v = Buffer.alloc(8);
        if (le) v.writeBigUInt64LE(value);
        else v.writeBigUInt64BE(value);
        return [{ code, value: v }];
      };
      const opts = [...counter(4, block.ifrecv), ...counter(5, block.ifdrop), ...counter(7, block.osdrop)];
      return frame(5, Buffer.concat([head, options(opts, le)]), le);
    }
    case 'raw':
      return frame(block.blockType, Buffer.from(block.body), le, block.totalLength, block.trailingLength);
  }
}

function frame(type: number, body: Buffer, le: boolean, totalLength?: number, trailingLength?: number): Buffer {
  const length = 12 + body.length;
  const head = Buffer.alloc(8);
  writeU32(head, 0, type, le);
  writeU32(head, 4, totalLength ?? length, le);
  const tail = Buffer.alloc(4);
  writeU32(tail, 0, trailingLength ?? totalLength ?? length, le);
  return Buffer.concat([head, body, tail]);
}

function options(list: PcapngOption[] | undefined, le: boolean): Buffer {
  if (list === undefined || list.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (const option of list) {
    const head = Buffer.alloc(4);
    writeU16(head, 0, option.code, le);
    writeU16(head, 2, option.value.length, le);
    parts.push(head, padded(option.value));
  }
  parts.push(Buffer.alloc(4)); // opt_endofopt
  return Buffer.concat(parts);
}

function padded(data: Uint8Array): Buffer {
  const pad = (4 - (data.length % 4)) % 4;
  return Buffer.concat([Buffer.from(data), Buffer.alloc(pad)]);
}

// ---------------------------------------------------------------- shared

function writeU32(buf: Buffer, at: number, value: number, le: boolean): void {
  if (le) buf.writeUInt32LE(value >>> 0, at);
  else buf.writeUInt32BE(value >>> 0, at);
}

function writeU16(buf: Buffer, at: number, value: number, le: boolean): void {
  if (le) buf.writeUInt16LE(value, at);
  else buf.writeUInt16BE(value, at);
}

/** Deterministic packet bytes (payload i of length n), so tests can check content survived. */
export function fakePacket(i: number, length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let k = 0; k < length; k++) data[k] = (i * 31 + k * 7) & 0xff;
  return data;
}

/**
 * A classic pcap (its bytes) cut into `pieces` files of as many records each, as `tcpdump -C`
 * rotates one: each piece is the file header and its records.
 */
export function splitPcap(data: Buffer, pieces: number): Buffer[] {
  const records: Buffer[] = [];
  for (let o = 24; o + 16 <= data.length; ) {
    const caplen = data.readUInt32LE(o + 8);
    records.push(data.subarray(o, o + 16 + caplen));
    o += 16 + caplen;
  }
  const per = Math.ceil(records.length / pieces);
  return Array.from({ length: pieces }, (_, i) => Buffer.concat([data.subarray(0, 24), ...records.slice(i * per, (i + 1) * per)]));
}
