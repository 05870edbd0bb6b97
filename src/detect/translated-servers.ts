import { hostOfEndpoint } from '../decode/address';
import type { Diagnosis } from './finding';

/** Translated server endpoints remembered, and targets per endpoint (a Service's pods). */
const SERVER_TRANSLATIONS_KEPT = 4096;
const TRANSLATED_TARGETS_KEPT = 4;

/**
 * A diagnosis of a server endpoint the capture shows translated to others: its checks belong on
 * the host behind the translation, which answered (its RST, its FIN, its timeouts), not on the
 * address the clients used (blind 12 scene 2: nothing listening on 10.12.1.1:82 sent the reader to
 * the router, while the RST came from 10.12.2.2:9999 behind its DNAT).
 */
export function translatedServerNote(server: string, targets: readonly string[]): string {
  const host = hostOfEndpoint(server);
  const shown = targets.slice(0, 3);
  const there = shown.length === 1 ? `on ${hostOfEndpoint(shown[0])} (port ${shown[0].slice(shown[0].lastIndexOf(':') + 1)})` : 'on the hosts behind it';
  return (
    ` ${server} is translated to ${shown.join(', ')}${targets.length > shown.length ? ' and more' : ''}: the capture shows these connections again after ` +
    `the address translation (a DNAT, a port mapping, a Service address), and the server that answered them is there. ` +
    `What the above asks of ${server} (its listener, its logs, its timeouts) is to be done ${there}, not on ${host}.`
  );
}

/**
 * Server endpoints the capture shows again after a destination translation (a NAT twin whose
 * server differs: DNAT, a port mapping, a Service address), each with the endpoints it was
 * translated to: where a diagnosis's checks must be run. Bounded.
 */
export class TranslatedServers {
  private readonly targets = new Map<string, string[]>();

  /** A connection to `seenServer` seen again, translated, to `translatedServer` (a masquerade keeps the server: nothing). */
  note(seenServer: string, translatedServer: string): void {
    if (seenServer === translatedServer) return;
    const targets = this.targets.get(seenServer);
    if (targets === undefined) {
      if (this.targets.size < SERVER_TRANSLATIONS_KEPT) this.targets.set(seenServer, [translatedServer]);
    } else if (!targets.includes(translatedServer) && targets.length < TRANSLATED_TARGETS_KEPT) {
      targets.push(translatedServer);
    }
  }

  /** `d`, its remedy ending with where its checks belong when its server was translated (translatedServerNote). */
  annotate(d: Diagnosis): Diagnosis {
    const targets = this.targets.get(d.server);
    return targets === undefined ? d : { ...d, remedy: d.remedy + translatedServerNote(d.server, targets) };
  }
}
