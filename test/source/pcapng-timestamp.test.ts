import { pcapngSeconds, scaleFromTsresol } from '../../src/source/pcapng-timestamp';

/** The correctly rounded double of value / units, computed exactly with BigInt. */
function exactSeconds(value: bigint, units: bigint): number {
  const whole = value / units;
  const rest = value % units;
  // Scale the remainder to 2^-60 steps: far finer than a double near 1e9 can show.
  const frac = Number((rest << 60n) / units) / 2 ** 60;
  return Number(whole) + frac;
}

describe('pcapng timestamps', () => {
  it('parses if_tsresol powers of 10 and of 2', () => {
    expect(scaleFromTsresol(6)).toMatchObject({ unitsPerSecond: 1e6, label: 'us' });
    expect(scaleFromTsresol(9)).toMatchObject({ unitsPerSecond: 1e9, label: 'ns' });
    expect(scaleFromTsresol(3)).toMatchObject({ unitsPerSecond: 1e3, label: 'ms' });
    expect(scaleFromTsresol(0)).toMatchObject({ unitsPerSecond: 1, label: 's' });
    expect(scaleFromTsresol(12)).toMatchObject({ unitsPerSecond: 1e12, label: '10^-12' });
    expect(scaleFromTsresol(0x80 | 8)).toMatchObject({ unitsPerSecond: 256, label: '2^-8' });
    expect(scaleFromTsresol(0x80 | 30)).toMatchObject({ unitsPerSecond: 2 ** 30, label: '2^-30' });
    expect(scaleFromTsresol(16)).toBeNull();
    expect(scaleFromTsresol(0x80 | 61)).toBeNull();
  });

  it('matches exact arithmetic for random 64-bit timestamps in common units', () => {
    let x = 12345;
    const next = (): number => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x;
    };
    for (const units of [1_000n, 1_000_000n, 1_000_000_000n, 1n << 20n, 1n << 32n, 10_000_000_000n]) {
      for (let i = 0; i < 500; i++) {
        // Seconds up to 2^32 or as far as 64 bits allow, fraction anywhere.
        const sec = BigInt(next()) % ((1n << 64n) / units);
        const value = sec * units + (BigInt(next()) * BigInt(next())) % units;
        const high = Number(value >> 32n);
        const low = Number(value & 0xffffffffn);
        const got = pcapngSeconds(high, low, Number(units));
        const want = exactSeconds(value, units);
        // Correctly rounded: within half a unit in the last place (a plain 64-bit-as-double
        // division is off by up to a whole unit for nanosecond values).
        const halfUlp = want > 0 ? 2 ** (Math.floor(Math.log2(want)) - 53) : 0;
        expect(Math.abs(got - want)).toBeLessThanOrEqual(halfUlp * 1.001 + 1e-15);
        expect(Math.floor(got + 1e-7)).toBeGreaterThanOrEqual(Number(value / units));
      }
    }
  });

  it('keeps whole seconds exact for nanosecond timestamps just below a second boundary', () => {
    const value = 1_700_000_000n * 1_000_000_000n + 999_999n;
    expect(pcapngSeconds(Number(value >> 32n), Number(value & 0xffffffffn), 1e9)).toBe(1_700_000_000.000999999);
  });
});
