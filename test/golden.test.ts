/**
 * Reviewed golden outputs: the analyzer's canonical JSON for every sample capture.
 * Regenerate after a reviewed change with `npm run golden` (CONNCHECK_UPDATE_GOLDEN=1), then read the diff.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../src/analyze';
import { renderJson, writeJson } from '../src/report/json';
import { GOLDEN_DIR, listSamples } from './samples';

const update = process.env.CONNCHECK_UPDATE_GOLDEN === '1';
const samples = listSamples();

describe('golden outputs of samples/', () => {
  test('there are samples', () => {
    expect(samples.length).toBeGreaterThan(0);
  });

  test.each(samples.map((s) => [s.name, s.file] as const))('%s', async (name, file) => {
    const result = await analyzeFiles([file]);
    const json = renderJson(result);
    // The CLI writes the document in pieces (writeJson): the same text.
    const pieces: string[] = [];
    writeJson(result, (text) => pieces.push(text));
    expect(pieces.join('')).toBe(json);
    // Every error and warning belongs to a diagnosis: the summary leads with diagnoses, and a
    // finding outside one shows only as its row (s2c's reset, Squid's upstream waits did).
    const covered = new Set(result.diagnoses.flatMap((d) => d.anomalyIds));
    expect(result.anomalies.filter((f) => f.severity !== 'info' && !covered.has(f.id)).map((f) => f.id)).toEqual([]);
    const golden = path.join(GOLDEN_DIR, `${name}.json`);
    if (update || !fs.existsSync(golden)) {
      if (!update) throw new Error(`no golden output for ${name}: run npm run golden and review it`);
      fs.writeFileSync(golden, json);
      return;
    }
    expect(JSON.parse(json)).toEqual(JSON.parse(fs.readFileSync(golden, 'utf8')));
  });

  test('every golden output belongs to a sample (no orphans)', () => {
    const names = new Set(samples.map((s) => `${s.name}.json`));
    const orphans = fs.existsSync(GOLDEN_DIR) ? fs.readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.json') && !names.has(f)) : [];
    if (update) for (const f of orphans) fs.unlinkSync(path.join(GOLDEN_DIR, f));
    else expect(orphans).toEqual([]);
  });
});
