/**
 * pcapng timestamps: a 64-bit count of interface-specific units (if_tsresol) since the
 * epoch, plus the interface's if_tsoffset in seconds.
 */
export interface TimestampScale {
  /** Units per second: 10^N or 2^N. */
  unitsPerSecond: number;
  /** if_tsoffset, whole seconds added to every timestamp of the interface. */
  offsetSeconds: number;
  /** Short label: 'us', 'ns', 'ms', 's', or '10^-N' / '2^-N'. */
  label: string;
}

export const DEFAULT_SCALE: TimestampScale = { unitsPerSecond: 1e6, offsetSeconds: 0, label: 'us' };

const TWO_POW_32 = 4294967296;
/** Below this `high` word, high * 2^32 + low is an exact double (< 2^53). */
const EXACT_HIGH_LIMIT = 0x200000;
/** Long division in base 2^16 stays exact while remainder * 2^16 < 2^53. */
const LONG_DIVISION_UNIT_LIMIT = 2 ** 36;

/**
 * Parse the one-byte if_tsresol option: MSB clear → 10^-value s, MSB set → 2^-(value & 0x7f) s.
 * Returns null for resolutions no capture clock has (finer than 10^-15 s or 2^-60 s), which
 * the reader reports and replaces by the default.
 */
export function scaleFromTsresol(value: number): TimestampScale | null {
  const exponent = value & 0x7f;
  if ((value & 0x80) !== 0) {
    if (exponent > 60) return null;
    return { unitsPerSecond: 2 ** exponent, offsetSeconds: 0, label: `2^-${exponent}` };
  }
  if (exponent > 15) return null;
  return { unitsPerSecond: 10 ** exponent, offsetSeconds: 0, label: decimalLabel(exponent) };
}

function decimalLabel(exponent: number): string {
  switch (exponent) {
    case 0:
      return 's';
    case 3:
      return 'ms';
    case 6:
      return 'us';
    case 9:
      return 'ns';
    default:
      return `10^-${exponent}`;
  }
}

/**
 * Seconds since the epoch for a timestamp of `high`/`low` 32-bit words in `units` per second.
 * Allocation-free. Microsecond timestamps of our era fit a double exactly and take the
 * first branch; nanosecond ones (about 1.7e18) need the base-2^16 long division so that
 * the whole seconds stay exact and the fraction is rounded only once.
 */
export function pcapngSeconds(high: number, low: number, units: number): number {
  if (high < EXACT_HIGH_LIMIT || units > LONG_DIVISION_UNIT_LIMIT) return (high * TWO_POW_32 + low) / units;
  let quotient = 0;
  let remainder = 0;
  for (let i = 0; i < 4; i++) {
    // Digits of the 64-bit value in base 2^16, most significant first.
    const word = i < 2 ? high : low;
    const digit16 = (i & 1) === 0 ? word >>> 16 : word & 0xffff;
    const cur = remainder * 65536 + digit16;
    let q = Math.floor(cur / units);
    remainder = cur - q * units;
    // The division is rounded; a quotient rounded up to the next integer shows as a negative remainder.
    if (remainder < 0) {
      q -= 1;
      remainder += units;
    } else if (remainder >= units) {
      q += 1;
      remainder -= units;
    }
    quotient = quotient * 65536 + q;
  }
  return quotient + remainder / units;
}
