/**
 * Every detector is complete: a kebab-case id that names its file, its test and its docs; a
 * description; at least one recorded sample where it must fire (whose golden output exists);
 * and no file in detectors/ that the registry forgot.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DETECTORS } from '../../src/detect/registry';
import { GOLDEN_DIR, listSamples } from '../samples';

const ROOT = path.resolve(__dirname, '../..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const samples = listSamples();

describe.each(DETECTORS.map((d) => [d.id, d] as const))('%s', (id, def) => {
  test('has a kebab-case id, a file and a unit test named by it', () => {
    expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(fs.existsSync(path.join(ROOT, 'src/detect/detectors', `${id}.ts`))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, 'test/detect', `${id}.test.ts`))).toBe(true);
  });

  test('has a description and a default severity, and the README lists it', () => {
    expect(def.meta.description.length).toBeGreaterThan(40);
    expect(['error', 'warning', 'info']).toContain(def.meta.severity);
    expect(readme).toContain(`| \`${id}\` | ${def.meta.severity} |`);
  });

  test('has a recorded sample where it must fire, with a golden output', () => {
    const firing = samples.filter((s) => s.meta?.expect?.some((e) => e.kind === id));
    expect(firing.map((s) => s.name)).not.toEqual([]);
    for (const s of firing) expect(fs.existsSync(path.join(GOLDEN_DIR, `${s.name}.json`))).toBe(true);
  });
});

test('the registry lists every detector file, once', () => {
  const files = fs.readdirSync(path.join(ROOT, 'src/detect/detectors')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
  const ids = DETECTORS.map((d) => d.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(files.sort());
});

test('silent samples cover the catalogue traps', () => {
  const silent = samples.filter((s) => s.meta?.silent).map((s) => s.name);
  for (const trap of ['half-close', 'tcp-keepalive-probes', 'retransmitted-fin', 'abortive-close-after-response', 'midstream-start', 'client-closes-idle-first', 'clean-keepalive-reuse', 'http10-keepalive-and-close', 'connection-close-curl', 'healthy-apache-lighttpd-java']) {
    expect(silent).toContain(trap);
  }
});
