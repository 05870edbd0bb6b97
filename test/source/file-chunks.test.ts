import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileChunks } from '../../src/source/file-chunks';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'conncheck-chunks-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `n` bytes whose byte i is i mod 251 (a prime: chunk boundaries never line up with the pattern). */
function patterned(name: string, n: number): { file: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = i % 251;
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return { file, bytes };
}

/** Reads every chunk, copying each before asking for the next (the contract: valid until the next call). */
async function readAll(chunks: FileChunks): Promise<{ data: Uint8Array; sizes: number[] }> {
  const parts: Uint8Array[] = [];
  for (let c = await chunks.next(); c !== null; c = await chunks.next()) parts.push(c.slice());
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, sizes: parts.map((p) => p.length) };
}

describe('FileChunks', () => {
  test.each([
    ['empty', 0],
    ['smaller than a chunk', 100],
    ['exactly one chunk', 4096],
    ['exactly three chunks', 3 * 4096],
    ['three chunks and a tail', 3 * 4096 + 17],
  ])('reads a file %s whole and in order, in chunks of at most the chunk size', async (name, n) => {
    const { file, bytes } = patterned(`f-${n}`, n);
    const { data, sizes } = await readAll(new FileChunks(file, 4096));
    expect(Buffer.from(data).equals(Buffer.from(bytes))).toBe(true);
    expect(sizes.every((s) => s > 0 && s <= 4096)).toBe(true);
  });

  test('a chunk stays intact while the next one is read ahead, and progress counts bytes read', async () => {
    const { file, bytes } = patterned('ahead', 10 * 1000 + 3);
    const seen: number[] = [];
    const chunks = new FileChunks(file, 1000, (n) => seen.push(n));
    let offset = 0;
    for (let c = await chunks.next(); c !== null; c = await chunks.next()) {
      // Let the read of the following chunk (into the other buffer) complete before checking this one.
      await new Promise((resolve) => setImmediate(resolve));
      expect(Buffer.from(c).equals(Buffer.from(bytes.subarray(offset, offset + c.length)))).toBe(true);
      offset += c.length;
    }
    expect(offset).toBe(bytes.length);
    expect(seen[seen.length - 1]).toBe(bytes.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  test('closing part-way ends the chunks (a read in flight is waited for, not reported)', async () => {
    const { file } = patterned('close', 50_000);
    const chunks = new FileChunks(file, 1000);
    expect(await chunks.next()).not.toBeNull();
    chunks.close();
    expect(await chunks.next()).toBeNull();
    chunks.close(); // twice is fine
  });

  test('a missing file rejects with the system error (the reader turns it into one line)', async () => {
    await expect(new FileChunks(path.join(dir, 'nope'), 1000).next()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('a directory rejects at the first read', async () => {
    const chunks = new FileChunks(dir, 1000);
    await expect(chunks.next()).rejects.toMatchObject({ code: 'EISDIR' });
    // The failed read closed the file itself: a later call ends the chunks, it does not read again.
    await expect(chunks.next()).resolves.toBeNull();
  });
});
