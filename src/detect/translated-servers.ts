import { hostOfEndpoint } from '../decode/address';
import type { Diagnosis, Finding } from './finding';

/** Translated server endpoints remembered, and targets per endpoint (a Service's pods). */
const SERVER_TRANSLATIONS_KEPT = 4096;
const TRANSLATED_TARGETS_KEPT = 4;
/** Connections whose translated server is remembered (only captures holding both sides of a DNAT). */
const CONNECTION_TRANSLATIONS_KEPT = 65_536;

/** Where the checks of a diagnosis belong: on the one host named, or on the hosts behind the address. */
function whereChecks(targets: readonly string[]): string {
  return targets.length === 1 ? `on ${hostOfEndpoint(targets[0])} (port ${targets[0].slice(targets[0].lastIndexOf(':') + 1)})` : 'on the hosts behind it';
}

/**
 * A diagnosis of a server endpoint the capture shows translated to others: its checks belong on
 * the host behind the translation, which answered (its RST, its FIN, its timeouts), not on the
 * address the clients used (blind 12 scene 2: nothing listening on 10.12.1.1:82 sent the reader to
 * the router, while the RST came from 10.12.2.2:9999 behind its DNAT).
 */
export function translatedServerNote(server: string, targets: readonly string[]): string {
  const host = hostOfEndpoint(server);
  const shown = targets.slice(0, 3);
  return (
    ` ${server} is translated to ${shown.join(', ')}${targets.length > shown.length ? ' and more' : ''}: the capture shows these connections again after ` +
    `the address translation (a DNAT, a port mapping, a Service address), and the server that answered them is there. ` +
    `What the above asks of ${server} (its listener, its logs, its timeouts) is to be done ${whereChecks(shown)}, not on ${host}.`
  );
}

/**
 * The note when the diagnosis's own connections went to some of the translation's targets only, or
 * were not seen past it at all: a load balancer's round robin sends each connection to one backend,
 * and the diagnosis is about the backend its failing connections went to, not the healthy ones its
 * other connections show (blind round 17: s05, every 2nd connect refused by the one backend with
 * nothing listening; s06, a backend absent, whose connections never appear past the translation,
 * while the note named the healthy one).
 */
export function translatedConnectionsNote(server: string, targets: readonly string[], went: ReadonlyMap<string, number>, unseen: number): string {
  const host = hostOfEndpoint(server);
  const seen = [...went.keys()].slice(0, 3);
  const others = targets.filter((t) => !went.has(t)).slice(0, 3);
  const total = unseen + [...went.values()].reduce((a, b) => a + b, 0);
  const these = total === 1 ? 'the connection of these findings' : `the ${total} connections of these findings`;
  const counts = [...went.entries()].slice(0, 3).map(([t, n]) => `${n} to ${t}`).join(', ');
  const wentText = went.size === 1 && unseen === 0 ? `${total === 1 ? 'the connection of these findings' : `all ${total} connections of these findings`} went to ${seen[0]}` : `of ${these}, ${counts} went`;
  let text = ` ${server} is translated to ${targets.slice(0, 3).join(', ')}${targets.length > 3 ? ' and more' : ''} (a DNAT, a load balancer, a Service address); `;
  if (seen.length > 0) {
    text +=
      `${wentText}${unseen > 0 ? `, and ${unseen} ${unseen === 1 ? 'is' : 'are'} not seen past the translation` : ''}: the server that answered them is there` +
      `${others.length > 0 ? ` (none went to ${others.join(', ')}, where other connections went)` : ''}. ` +
      `What the above asks of ${server} (its listener, its logs, its timeouts) is to be done ${whereChecks(seen)}, not on ${host}.`;
    return text;
  }
  return (
    text +
    `none of ${these} is seen past the translation, while others to ${server} are: the translation sent them to a target the ` +
    `capture does not show, or they were stopped before it (a backend that is down or does not answer ARP, a rule on the translating ` +
    `host), or the capture past the translation was not running then. Check the translation's targets (\`nft list ruleset\`, ` +
    `\`iptables -t nat -S\`, the Service's endpoints) and whether each is up and reachable from the translating host; ` +
    `${targets.slice(0, 3).join(', ')} took other connections, not these.`
  );
}

/**
 * Server endpoints the capture shows again after a destination translation (a NAT twin whose
 * server differs: DNAT, a port mapping, a Service address), each with the endpoints it was
 * translated to, and each such connection's target: where a diagnosis's checks must be run. Bounded.
 */
export class TranslatedServers {
  private readonly targets = new Map<string, string[]>();
  /** The analyzed (first) view's id → the server its second view was translated to. */
  private readonly byConnection = new Map<number, string>();
  /** Some connection's target was not kept: a diagnosis's connections are then not judged one by one. */
  private connectionsLost = false;

  /**
   * A connection to `seenServer` (the analyzed view `firstId`) seen again, translated, to
   * `translatedServer` (a masquerade keeps the server: nothing).
   */
  note(seenServer: string, translatedServer: string, firstId = -1): void {
    if (seenServer === translatedServer) return;
    const targets = this.targets.get(seenServer);
    if (targets === undefined) {
      if (this.targets.size < SERVER_TRANSLATIONS_KEPT) this.targets.set(seenServer, [translatedServer]);
    } else if (!targets.includes(translatedServer) && targets.length < TRANSLATED_TARGETS_KEPT) {
      targets.push(translatedServer);
    }
    if (firstId < 0) return;
    if (this.byConnection.size < CONNECTION_TRANSLATIONS_KEPT) this.byConnection.set(firstId, translatedServer);
    else this.connectionsLost = true;
  }

  /** Whether any server was seen translated (annotate changes nothing otherwise). */
  get any(): boolean {
    return this.targets.size > 0;
  }

  /**
   * `d`, its remedy ending with where its checks belong when its server was translated: where its
   * own findings' connections went (`findings` by id), when they did not go to every target alike
   * (translatedConnectionsNote); else the targets of its server (translatedServerNote).
   */
  annotate(d: Diagnosis, findings?: ReadonlyMap<string, Finding>): Diagnosis {
    const targets = this.targets.get(d.server);
    if (targets === undefined) return d;
    if (findings !== undefined && !this.connectionsLost) {
      const went = new Map<string, number>();
      let unseen = 0;
      for (const id of d.anomalyIds) {
        const flowId = findings.get(id)?.flowId;
        if (flowId === undefined || flowId === null) continue;
        const target = this.byConnection.get(flowId);
        if (target === undefined) unseen++;
        else went.set(target, (went.get(target) ?? 0) + 1);
      }
      const alike = unseen === 0 && went.size === targets.length;
      if (!alike && (unseen > 0 || went.size > 0)) return { ...d, remedy: d.remedy + translatedConnectionsNote(d.server, targets, went, unseen) };
    }
    return { ...d, remedy: d.remedy + translatedServerNote(d.server, targets) };
  }
}
