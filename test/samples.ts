import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../src/analyze';
import { DETECTORS } from '../src/detect/registry';

export const SAMPLES_DIR = path.resolve(__dirname, '../samples');
export const GOLDEN_DIR = path.resolve(__dirname, 'golden');

export interface SampleExpectation {
  kind: string | null;
  client?: string;
  server?: string;
  notes?: string;
  /** The recording shows this finding but conncheck does not make it yet: why (sample-expectations.test.ts). */
  knownMiss?: string;
  [extra: string]: unknown;
}

export interface SampleMeta {
  scenario: string;
  description: string;
  /**
   * Timeouts set in the recording, by the name a diagnosis infers them under: a number holds for
   * every diagnosis that infers that name; `{ value, server }` for that server's only (a recording of
   * several servers whose timers differ in kind); a list of those where one name takes a value per
   * server (clients whose timeouts differ, each talking to its own server).
   */
  configured?: Record<string, number | string | boolean | ConfiguredAt | ConfiguredAt[]>;
  expect?: SampleExpectation[];
  silent?: boolean;
  facts?: Record<string, unknown>;
}

/** A timeout configured on one server (each diagnosis of that server must infer it). */
export interface ConfiguredAt {
  value: number;
  server: string;
}

export interface Sample {
  name: string;
  file: string;
  meta: SampleMeta | null;
}

const CAPTURE = /\.(pcap|pcapng)(\.gz)?$/;

/** Every capture in samples/, named by its scenario (file name without extensions). */
export function listSamples(): Sample[] {
  if (!fs.existsSync(SAMPLES_DIR)) return [];
  return fs
    .readdirSync(SAMPLES_DIR)
    .filter((f) => CAPTURE.test(f))
    .sort()
    .map((f) => {
      const name = f.replace(CAPTURE, '');
      const metaFile = path.join(SAMPLES_DIR, `${name}.meta.json`);
      const meta = fs.existsSync(metaFile) ? (JSON.parse(fs.readFileSync(metaFile, 'utf8')) as SampleMeta) : null;
      return { name: f.endsWith('.gz') ? `${name}.gz` : name, file: path.join(SAMPLES_DIR, f), meta };
    });
}

const analyses = new Map<string, Promise<AnalysisResult>>();

/** The analysis of one sample by scenario name, with every registered detector; cached per test file. */
export function analyzeSample(name: string): Promise<AnalysisResult> {
  let result = analyses.get(name);
  if (result === undefined) {
    const sample = listSamples().find((s) => s.name === name);
    if (!sample) throw new Error(`no sample named ${name}`);
    result = analyzeFiles([sample.file], { detectors: DETECTORS });
    analyses.set(name, result);
  }
  return result;
}
