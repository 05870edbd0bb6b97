import * as fs from 'node:fs';
import type { RawPacket } from './raw-packet';

/**
 * Saves packets to a pcapng file (`capture -w FILE.pcapng`): one section, one interface per
 * link type met, nanosecond timestamps. Classic pcap output needs no writer: the live capture
 * tees tcpdump's own pcap bytes to the file unchanged.
 */
export class PcapngWriter {
  private readonly fd: number;
  private readonly interfaces = new Map<number, number>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(path: string, private readonly snaplen: number) {
    this.fd = fs.openSync(path, 'w');
    this.queue(this.sectionHeader());
  }

  write(p: RawPacket): void {
    let id = this.interfaces.get(p.linkType);
    if (id === undefined) {
      id = this.interfaces.size;
      this.interfaces.set(p.linkType, id);
      this.queue(this.interfaceDescription(p.linkType));
    }
    const padded = (p.caplen + 3) & ~3;
    const total = 32 + padded;
    const b = Buffer.alloc(total);
    b.writeUInt32LE(0x00000006, 0);
    b.writeUInt32LE(total, 4);
    b.writeUInt32LE(id, 8);
    // Whole seconds and nanoseconds of the double: read back as sec + ns / 1e9, this gives the very
    // same double (its spacing is ~240 ns today), so re-analysing the file gives identical times.
    const sec = Math.floor(p.ts);
    const ns = BigInt(sec) * 1_000_000_000n + BigInt(Math.round((p.ts - sec) * 1e9));
    b.writeUInt32LE(Number(ns >> 32n), 12);
    b.writeUInt32LE(Number(ns & 0xffffffffn), 16);
    b.writeUInt32LE(p.caplen, 20);
    b.writeUInt32LE(p.origLen, 24);
    b.set(p.data.subarray(0, p.caplen), 28);
    b.writeUInt32LE(total, total - 4);
    this.queue(b);
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }

  private queue(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    fs.writeSync(this.fd, Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  private sectionHeader(): Buffer {
    const b = Buffer.alloc(28);
    b.writeUInt32LE(0x0a0d0d0a, 0);
    b.writeUInt32LE(28, 4);
    b.writeUInt32LE(0x1a2b3c4d, 8);
    b.writeUInt16LE(1, 12);
    b.writeUInt16LE(0, 14);
    b.writeInt32LE(-1, 16); // section length unknown
    b.writeInt32LE(-1, 20);
    b.writeUInt32LE(28, 24);
    return b;
  }

  private interfaceDescription(linkType: number): Buffer {
    // if_tsresol = 9 (nanoseconds), then opt_endofopt.
    const b = Buffer.alloc(32);
    b.writeUInt32LE(0x00000001, 0);
    b.writeUInt32LE(32, 4);
    b.writeUInt16LE(linkType, 8);
    b.writeUInt16LE(0, 10);
    b.writeUInt32LE(this.snaplen, 12);
    b.writeUInt16LE(9, 16); // if_tsresol
    b.writeUInt16LE(1, 18);
    b.writeUInt8(9, 20);
    b.writeUInt16LE(0, 24); // opt_endofopt
    b.writeUInt16LE(0, 26);
    b.writeUInt32LE(32, 28);
    return b;
  }
}
