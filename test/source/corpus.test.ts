import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CaptureError } from '../../src/source/capture-error';
import { readCapture } from '../../src/source/open-capture';
import type { CaptureFileInfo } from '../../src/source/raw-packet';

/**
 * Reads every capture of the shared public corpus and compares what the reader finds
 * with the corpus' own strict container scan (`container` in reference/index.json).
 */
const CORPUS = path.resolve(__dirname, '../../../shared/corpus');
const INDEX = path.join(CORPUS, 'reference/index.json');

interface PcapScan {
  container: 'pcap';
  ts_resolution: string;
  snaplen: number;
  linktype: number;
  records: number;
  last_record_truncated: boolean;
  trailing_bytes: number;
}
interface PcapngScan {
  container: 'pcapng';
  sections: Array<{ version: string; interfaces: Array<{ linktype: number; snaplen: number; ts_resolution: string }> }>;
  block_counts: Record<string, number>;
  problems?: string[];
}
interface IndexEntry {
  path: string;
  container: PcapScan | PcapngScan;
  tshark_exit_code: number;
  snaplen_truncated_frames: number;
}

/** What we expect our reader to report, derived from the scan. */
interface Expected {
  format: 'pcap' | 'pcapng';
  records: number;
  linkTypes: number[];
  tsResolution: string[];
  truncated: boolean;
}

/**
 * Files where the reader deliberately differs from the container scan, and why.
 * 'reject' means the reader refuses the file with a CaptureError.
 */
const KNOWN_DIFFERENCES: Record<string, { reason: string; expect: 'reject' | Partial<Expected> }> = {
  'libpcap/pcap-invalid-version-1.pcap': {
    reason: 'pcap major version 1 (pre-1994 layout): refused like libpcap and tshark; the scan reads it as 2.x',
    expect: 'reject',
  },
  'libpcap/pcapng-invalid-vers-1.pcapng': { reason: 'pcapng version 0.1: refused like libpcap and tshark', expect: 'reject' },
  'libpcap/pcapng-invalid-vers-2.pcapng': {
    reason: 'pcapng version 1.1 (only 1.0 and 1.2 exist): refused like libpcap and tshark',
    expect: 'reject',
  },
  'libpcap/shb-option-too-long.pcapng': {
    reason: 'section header trailing length differs from its leading length: nothing trustworthy, refused like tshark',
    expect: 'reject',
  },
  'gopacket/pcapng-le/test901.pcapng': {
    reason: 'second section has version 2.0: stop there with a warning, keeping the 1 packet before (tshark: 1 frame then error)',
    expect: { records: 1 },
  },
  'gopacket/pcapng-be/test901.pcapng': {
    reason: 'second section has version 2.0: stop there with a warning, keeping the 1 packet before (tshark: 1 frame then error)',
    expect: { records: 1 },
  },
  'suricata-verify/bug-1450-04.pcap': {
    reason: 'record 7 claims a 4 MB packet: reported as damage (warning), not as a file cut short',
    expect: { truncated: false },
  },
  'suricata-verify/bug-6875-01.pcap': {
    reason: 'record 2 claims a 1.4 GB packet: reported as damage (warning), not as a file cut short (tshark reads 2 odd frames by trying other pcap variants)',
    expect: { truncated: false },
  },
  'suricata-verify/smtp-to-comma.pcap': {
    reason: 'record 19 claims a 3.9 GB packet: reported as damage (warning), not as a file cut short',
    expect: { truncated: false },
  },
};

function resolutionLabel(scan: string): string {
  if (scan === 'us (default)') return 'us';
  const decimal = /^10\^-(\d+) s$/.exec(scan);
  if (decimal !== null) return ({ '0': 's', '3': 'ms', '6': 'us', '9': 'ns' } as Record<string, string>)[decimal[1]] ?? `10^-${decimal[1]}`;
  const binary = /^2\^-(\d+) s$/.exec(scan);
  if (binary !== null) return `2^-${binary[1]}`;
  throw new Error(`unknown resolution in index: ${scan}`);
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function expectedFrom(scan: PcapScan | PcapngScan): Expected {
  if (scan.container === 'pcap') {
    return {
      format: 'pcap',
      records: scan.records,
      linkTypes: [scan.linktype],
      tsResolution: [scan.ts_resolution],
      truncated: scan.last_record_truncated || scan.trailing_bytes > 0,
    };
  }
  const interfaces = scan.sections.flatMap((s) => s.interfaces);
  const counts = scan.block_counts;
  return {
    format: 'pcapng',
    records: (counts.EPB ?? 0) + (counts.SPB ?? 0) + (counts.PB ?? 0) + (counts.OPB ?? 0),
    linkTypes: unique(interfaces.map((i) => i.linktype)),
    tsResolution: unique(interfaces.map((i) => resolutionLabel(i.ts_resolution))),
    truncated: (scan.problems ?? []).some((p) => /truncat|cut short/i.test(p)),
  };
}

function observed(info: CaptureFileInfo): Expected {
  return {
    format: info.format,
    records: info.records,
    linkTypes: info.linkTypes,
    tsResolution: info.tsResolution,
    truncated: info.truncated,
  };
}

const corpusPresent = existsSync(INDEX);
if (!corpusPresent) {
  console.log(`corpus test skipped: ${INDEX} not found (the shared corpus is not checked out next to the repo)`);
}
const describeCorpus = corpusPresent ? describe : describe.skip;

describeCorpus('public capture corpus against its container scan', () => {
  const entries: IndexEntry[] = corpusPresent ? (JSON.parse(readFileSync(INDEX, 'utf8')) as { files: IndexEntry[] }).files : [];

  it('every known difference names a file that exists in the index', () => {
    const paths = new Set(entries.map((e) => e.path));
    for (const file of Object.keys(KNOWN_DIFFERENCES)) expect(paths.has(file)).toBe(true);
  });

  it('reads every capture as the scan describes (except the listed, explained differences)', async () => {
    expect(entries.length).toBeGreaterThan(1000);
    const mismatches: string[] = [];
    let packets = 0;
    let bytes = 0;
    for (const entry of entries) {
      const file = path.join(CORPUS, 'public', entry.path);
      const known = KNOWN_DIFFERENCES[entry.path];
      let info: CaptureFileInfo;
      try {
        info = await readCapture(file, (p) => {
          packets++;
          bytes += p.caplen;
        });
      } catch (err) {
        if (!(err instanceof CaptureError)) throw err;
        expect(err.message).not.toMatch(/\n/);
        if (known?.expect !== 'reject') mismatches.push(`${entry.path}: rejected: ${err.message}`);
        continue;
      }
      if (known?.expect === 'reject') {
        mismatches.push(`${entry.path}: read, but expected a rejection (${known.reason})`);
        continue;
      }
      const want = { ...expectedFrom(entry.container), ...(known?.expect ?? {}) };
      const got = observed(info);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        mismatches.push(`${entry.path}: got ${JSON.stringify(got)}, scan says ${JSON.stringify(want)}`);
      }
      // Wireshark's count of cut frames agrees wherever tshark could read the whole file.
      if (entry.tshark_exit_code === 0 && info.snaplenCut !== entry.snaplen_truncated_frames) {
        mismatches.push(`${entry.path}: ${info.snaplenCut} snaplen-cut records, tshark says ${entry.snaplen_truncated_frames}`);
      }
      if (info.warnings.some((w) => w.includes('\n'))) mismatches.push(`${entry.path}: multi-line warning`);
    }
    expect(mismatches).toEqual([]);
    expect(packets).toBeGreaterThan(100_000);
    expect(bytes).toBeGreaterThan(20_000_000);
  });
});
