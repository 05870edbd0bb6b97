/**
 * Reviewed golden outputs of the report renderers, under test/golden/report/<kind>/.
 * Regenerate after a reviewed change with `npm run golden:report` (CONNCHECK_UPDATE_GOLDEN=1),
 * then read the diff. Each kind checks its own folder for orphans.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';
import { SAMPLES_DIR } from '../samples';

export const REPORT_GOLDEN_DIR = path.resolve(__dirname, '../golden/report');
export const updateGolden = process.env.CONNCHECK_UPDATE_GOLDEN === '1';

export function samplePath(name: string): string {
  return path.join(SAMPLES_DIR, `${name}.pcap`);
}

/** The analysis every report test starts from: everything kept, as `--format json/html` run it. */
export function analyzeSample(name: string): Promise<AnalysisResult> {
  return analyzeFiles([samplePath(name)], { collect: true });
}

/** Compares `actual` with the golden file (writes it when updating). */
export function expectGolden(kind: string, file: string, actual: string): void {
  const dir = path.join(REPORT_GOLDEN_DIR, kind);
  const golden = path.join(dir, file);
  if (updateGolden) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(golden, actual);
    return;
  }
  if (!fs.existsSync(golden)) throw new Error(`no golden output ${kind}/${file}: run npm run golden:report and review it`);
  expect(actual).toBe(fs.readFileSync(golden, 'utf8'));
}

/** Golden files of a kind that no test case produces (removed when updating). */
export function checkOrphans(kind: string, expected: readonly string[]): void {
  const dir = path.join(REPORT_GOLDEN_DIR, kind);
  const present = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const orphans = present.filter((f) => !expected.includes(f));
  if (updateGolden) for (const f of orphans) fs.unlinkSync(path.join(dir, f));
  else expect(orphans).toEqual([]);
}
