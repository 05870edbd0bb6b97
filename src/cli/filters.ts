import { PacketFilter, parseAddress, AddressWords } from '../decode/packet-filter';
import { UsageError } from './output';

export interface FilterArgs {
  host: string[];
  /** Ports as given (comma-separated lists too); buildFilter checks them. */
  port: readonly (string | number)[];
  /** Flow ids as given (comma-separated lists too); buildFilter checks them. */
  flow: readonly string[];
  since: string | undefined;
  until: string | undefined;
}

/** Capture time from "1795299660.5" (epoch seconds) or an ISO 8601 date ("2026-11-21T22:13:33Z"). */
export function parseCaptureTime(value: string, option: string): number {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const ms = Date.parse(trimmed);
  if (Number.isNaN(ms)) throw new UsageError(`${option} takes epoch seconds or an ISO 8601 time (e.g. 2026-11-21T22:13:33Z), got '${value}'`);
  return ms / 1000;
}

/**
 * A whole number >= min from an option's value as typed ("abc", "1.5" and "-1" are refused with
 * what was given: yargs's own number type would have made "abc" NaN).
 */
export function parseWholeNumber(value: string | number, option: string, min: number, what = `a whole number >= ${min}`): number {
  const text = String(value).trim();
  const n = /^[+]?\d+$/.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(n) && n >= min)) throw new UsageError(`${option} takes ${what}, got '${value}'`);
  return n;
}

export function buildFilter(a: FilterArgs): { filter: PacketFilter; flowIds: number[] } {
  const hosts: AddressWords[] = a.host.flatMap((h) => h.split(',')).filter(Boolean).map((h) => {
    const parsed = parseAddress(h.trim());
    if (!parsed) throw new UsageError(`--host takes IP addresses, got '${h}'`);
    return parsed;
  });
  const ports = a.port.flatMap((p) => String(p).split(',')).filter((p) => p.trim() !== '').map((p) => {
    const port = parseWholeNumber(p, '--port', 0, 'ports 0-65535');
    if (port > 65535) throw new UsageError(`--port takes ports 0-65535, got '${p}'`);
    return port;
  });
  const flowIds = a.flow.flatMap((f) => String(f).split(',')).filter((f) => f.trim() !== '').map((f) => parseWholeNumber(f, '--flow', 1, 'flow ids (whole numbers >= 1, see analyze --flows)'));
  const since = a.since !== undefined ? parseCaptureTime(a.since, '--since') : -Infinity;
  const until = a.until !== undefined ? parseCaptureTime(a.until, '--until') : Infinity;
  if (since > until) throw new UsageError('--since is after --until');
  return { filter: new PacketFilter(hosts, ports, since, until), flowIds: [...new Set(flowIds)] };
}
