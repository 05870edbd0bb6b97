/**
 * One captured record as a source hands it on. Sources reuse a single RawPacket
 * object and a view into their read buffer for every record, so consumers must
 * copy anything they keep beyond the callback (the per-packet path allocates nothing).
 */
export interface RawPacket {
  /** 1-based position in the input, as Wireshark numbers frames (continues across files of one run). */
  frame: number;
  /** Capture time, epoch seconds. The capture clock is the only clock the analysis uses. */
  ts: number;
  /** Bytes present in `data` (may be less than origLen: snaplen cut). */
  caplen: number;
  /** Length of the packet on the wire. */
  origLen: number;
  /** libpcap LINKTYPE_* value (low 16 bits of the pcap link-type field). */
  linkType: number;
  /** The captured bytes; valid only until the callback returns. Readers create this view lazily. */
  data: Uint8Array;
  /**
   * The buffer the record lies in and where it starts (`data` is bytes[offset, offset + caplen)).
   * The analysis decodes packets in place through these, so the per-packet path allocates nothing.
   * Sources that cannot offer them leave them out; `data` is used then.
   */
  bytes?: Uint8Array;
  offset?: number;
  /**
   * A DataView over exactly `bytes` (same buffer, offset and length), when the source has one (the
   * readers make one per chunk): the decoder reads header fields through it instead of making and
   * caching its own.
   */
  dataView?: DataView;
}

export type PacketHandler = (packet: RawPacket) => void;

/** Facts about one input file, reported in the result's `input` section. */
export interface CaptureFileInfo {
  /** Path as the user gave it, or "-" for stdin. */
  name: string;
  format: 'pcap' | 'pcapng';
  gzip: boolean;
  /** Distinct link types seen (pcapng may have several interfaces). */
  linkTypes: number[];
  /** 'us' | 'ns' for pcap; for pcapng the per-interface resolutions, e.g. ['ns', 'us']. */
  tsResolution: string[];
  snaplen: number;
  records: number;
  /** Records whose caplen < origLen (snaplen cut). */
  snaplenCut: number;
  /**
   * Packets the capturing tool recorded as dropped: a pcapng file's interface statistics
   * (isb_ifdrop + isb_osdrop, the last count of each interface; dumpcap and Wireshark write the
   * kernel's drops there) and obsolete packet blocks' drop counts; for a live capture, tcpdump's
   * "dropped by kernel". Null when the input records no count: classic pcap never does.
   */
  droppedByCapture: number | null;
  /** Non-fatal problems met while reading (one line each), e.g. a cut last record. */
  warnings: string[];
  /**
   * How the file was read where that changes nothing in the analysis (one line each): packets a
   * multi-core capture wrote a few milliseconds out of time order, put back in order. Normal for
   * `tcpdump -i any`, so not a warning: CI logs grepped for "warning" must not trip on every such file.
   */
  notes: string[];
  /** True when the file ended in the middle of a record or block. */
  truncated: boolean;
}
