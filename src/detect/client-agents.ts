import type { AnalyzedConnection } from './analyzed-connection';
import { forwardedByProxy } from './proxy-tells';
import {
  CLIENT_IDLE_SETTINGS, CLIENT_REQUEST_TIMEOUTS, clientRaceErrors, ClientProduct, clientProduct, type FirstClose, NO_AGENT_IDLE_SETTINGS, noAgentRaceErrors, UNREAD_CLIENT_IDLE_SETTINGS,
  CASE_PROXY_POOL_IDLE_SETTINGS, NO_AGENT_REQUEST_TIMEOUTS, PROXY_POOL_IDLE_SETTING_TEXT, raceErrorFor, wholeSecondsText,
} from './known-timeouts';

/**
 * The `User-Agent` of a connection's own client, as its first request named it ('' for none), or
 * null when it is not known as its own: no request head was read, or a proxy said it forwarded the
 * request (`Via`, `Forwarded`, `X-Forwarded-For`: the agent is its client's).
 */
export function ownAgent(conn: AnalyzedConnection): string | null {
  const session = conn.app?.session ?? null;
  if (session === null || session.clientForwarded !== false) return null;
  return session.clientSoftware ?? '';
}

/** Distinct agents kept per set (more are counted as unnamed). */
const MAX_AGENTS = 8;

/**
 * clientProduct by agent, remembered: noted once per reused connection, and a client sends the same
 * agent on every connection (interned by the HTTP stage), where clientProduct tries a dozen patterns.
 */
const PRODUCT_OF_AGENT = new Map<string, ClientProduct | null>();
const AGENTS_REMEMBERED = 256;

function productOf(agent: string | null): ClientProduct | null {
  if (agent === null) return null;
  const known = PRODUCT_OF_AGENT.get(agent);
  if (known !== undefined) return known;
  const product = clientProduct(agent);
  if (PRODUCT_OF_AGENT.size < AGENTS_REMEMBERED) PRODUCT_OF_AGENT.set(agent, product);
  return product;
}

/** Distinct agents not listed here kept per set, to be quoted. */
const MAX_UNLISTED_KEPT = 3;

/**
 * The clients of a set of connections (a server's races, say) as their first requests name them
 * (HttpSession.clientSoftware: `User-Agent`, unless a proxy forwarded the request), so that a
 * remedy names the setting of the client that holds the pool rather than every client's.
 */
export class ClientAgents {
  private readonly agents = new Map<string, ClientProduct>();
  /** Agents sent that no listed product matches (a few kept, to be quoted). */
  private readonly unlistedAgents = new Set<string>();
  /** Connections whose client is named. */
  named = 0;
  /** Connections whose first request sent no `User-Agent` (and said no proxy forwarded it). */
  noAgent = 0;
  /** Connections whose first request a proxy said it forwarded (`Via`, `X-Forwarded-For`): the proxy's pool. */
  forwarded = 0;
  /**
   * Of those, connections whose request named its client by a `User-Agent` a proxy passed on, told
   * only by its field name in lower case (proxy-tells.ts forwardedByProxy): HAProxy 2.x or Envoy.
   */
  forwardedByCase = 0;
  /** Connections whose agent is not listed here (or beyond the agents kept). */
  unlisted = 0;
  /** Connections with no request read: encrypted, another protocol, or none sent. */
  unread = 0;

  /** Connections whose client is not named: no agent, a proxy's, one not listed, or none read. */
  get unnamed(): number {
    return this.noAgent + this.forwarded + this.unlisted + this.unread;
  }

  /** Words after "N of M connections" where the connections noted are a sample of those concerned (e.g. the longest reuses kept). */
  sampleNote = '';

  note(conn: AnalyzedConnection): void {
    const session = conn.app?.session ?? null;
    this.noteIdentity(session?.clientSoftware ?? null, forwardedByProxy(session));
  }

  /**
   * One connection's client as its first request named it (HttpSession.clientSoftware and
   * clientForwarded), for a detector that kept them past the connection's end.
   */
  noteIdentity(agent: string | null, forwarded: boolean | null): void {
    if (forwarded === null) {
      this.unread++;
      return;
    }
    if (forwarded) {
      this.forwarded++;
      // A forwarded request keeps its agent only where nothing but its field names' case told (HttpSession.clientSoftware).
      if (agent !== null) this.forwardedByCase++;
      return;
    }
    if (agent === null) {
      this.noAgent++;
      return;
    }
    const product = productOf(agent);
    if (product === null || (!this.agents.has(agent) && this.agents.size >= MAX_AGENTS)) {
      if (this.unlistedAgents.size < MAX_UNLISTED_KEPT) this.unlistedAgents.add(agent);
      this.unlisted++;
      return;
    }
    this.agents.set(agent, product);
    this.named++;
  }

  /**
   * What the clients reported for a request that met the server's idle close, without parentheses:
   * the named clients' (each product once), then those of the clients that send no agent, and every
   * common client's when some connections named none that can be told (encrypted, or an agent not
   * listed) or nothing was noted. Each as the client reports what it received first (`first`: the
   * FIN, a RST with none before it, or both kinds among the races): Go returns EOF after the FIN,
   * "read: connection reset by peer" after a bare RST. `tls`: every race was over TLS, where some
   * clients' TLS layer reports the end instead (raceErrorOverTls).
   */
  raceErrors(first: FirstClose = 'mixed', tls = false): string {
    return this.perClient((p) => raceErrorFor(p, first, tls), noAgentRaceErrors(first, tls), "a proxy that forwarded them, as here: an error of its own to its clients, often a 502", clientRaceErrors(first, tls));
  }

  /** Every connection's client is named, and each one's total timeout covers the connect (ClientProduct.timeoutCoversConnect). */
  timeoutsCoverConnect(): boolean {
    return this.named > 0 && this.unnamed === 0 && [...this.agents.values()].every((p) => p.timeoutCoversConnect === true);
  }

  /** The request timeouts of the clients, without parentheses, listed as raceErrors lists their errors. */
  requestTimeouts(): string {
    return this.perClient((p) => p.requestTimeout, NO_AGENT_REQUEST_TIMEOUTS, null, CLIENT_REQUEST_TIMEOUTS);
  }

  /**
   * One fact per client: the named products' (`of`), the clients' that send no agent, the proxies'
   * (`forwardedText`; null: unknown, so every client's), or `every` client's when some connection's
   * client cannot be told.
   */
  private perClient(of: (p: ClientProduct) => string, noAgent: string, forwardedText: string | null, every: string): string {
    const parts = [...new Set([...this.agents.values()].map(of))];
    if (this.noAgent > 0) parts.push(noAgent);
    if (this.forwarded > 0 && forwardedText !== null) parts.push(forwardedText);
    const unknown = this.unlisted + this.unread + (forwardedText === null ? this.forwarded : 0);
    return unknown > 0 || parts.length === 0 ? every : parts.join('; ');
  }

  /**
   * Who the clients said they were, for an explanation: "its User-Agent says `Ruby`", "User-Agents
   * `curl/7.88.1`, `python-requests/2.28.1`, and none on 3 connections", "it sent no User-Agent";
   * '' when nothing was read.
   */
  describe(): string {
    // Agents of no product listed here (wget, a tool of one's own) are named all the same: they are what the client said.
    const names = [...this.agents.keys(), ...this.unlistedAgents].map((a) => `\`${a}\``);
    const others = this.unnamed - this.noAgent;
    if (names.length === 0) return this.noAgent > 0 && others === 0 ? 'it sent no User-Agent' : '';
    if (names.length === 1 && this.unnamed === 0) return `its User-Agent says ${names[0]}`;
    const none = this.noAgent > 0 ? `, and none on ${this.noAgent} connection${this.noAgent === 1 ? '' : 's'}` : '';
    return `User-Agents ${names.join(', ')}${none}`;
  }

  /**
   * The client idle settings for a remedy, without parentheses: those of the agents named (each
   * product once), then, for the connections that named none, whose pools they may be: those of
   * the clients that send no agent (keepalive-race-yaws: 15 of 23 races were Node's http.Agent),
   * of the proxies that said they forwarded, or every common client's when nothing tells. With
   * `limit` (the client idle limit the remedy suggests, and the server's timeout), a setting that
   * takes whole seconds says which whole second to set (wholeSecondsText).
   */
  settings(limit?: { safer: number; timeout: number }): string {
    const total = this.named + this.unnamed;
    const parts: string[] = [];
    if (this.agents.size > 0) {
      const names = [...this.agents.keys()].map((a) => `\`${a}\``).join(', ');
      const named = [...new Set(this.agents.values())].map((p) =>
        p.wholeSeconds === true && limit !== undefined ? p.idleSetting + wholeSecondsText(limit.safer, limit.timeout) : p.idleSetting,
      );
      parts.push(`their User-Agent says ${names} (unless a proxy in front passed its client's on): ${named.join('; ')}`);
    }
    if (this.noAgent > 0) {
      parts.push(
        `${this.noAgent} of ${total} connections${this.sampleNote} sent no User-Agent (Node's http module, Erlang's httpc, Python's http.client and libcurl, as in PHP's curl or pycurl, send none unless given one, ` +
          `and nginx and HAProxy pass such requests on without a word of their own by default): ${NO_AGENT_IDLE_SETTINGS}`,
      );
    }
    if (this.forwarded > 0 && this.forwardedByCase === this.forwarded) {
      parts.push(
        `${this.forwarded} of ${total} connections${this.sampleNote} carried requests a proxy forwarded: their field names came in lower case (\`user-agent\`) where the client their User-Agent names writes \`User-Agent\`, ` +
          `as HAProxy 2.x and Envoy send them on, so the idle connections are the proxy's pool's: ${CASE_PROXY_POOL_IDLE_SETTINGS}; another proxy: its pool's own idle limit`,
      );
    } else if (this.forwarded > 0) {
      parts.push(`${this.forwarded} of ${total} connections${this.sampleNote} carried requests a proxy forwarded (Via or X-Forwarded-For), from its pool: ${PROXY_POOL_IDLE_SETTING_TEXT}`);
    }
    const unknown = this.unlisted + this.unread;
    if (unknown > 0 || parts.length === 0) {
      const quoted = this.unlistedAgents.size > 0 ? ` (${[...this.unlistedAgents].map((a) => `\`${a}\``).join(', ')})` : '';
      // Requests none of which could be read (TLS): the common clients' settings, not every one's.
      const every = this.unlisted === 0 ? UNREAD_CLIENT_IDLE_SETTINGS : CLIENT_IDLE_SETTINGS;
      const any = `whose setting may be any of: ${every}`;
      if (parts.length === 0 && this.unlisted === 0) return every;
      parts.push(
        this.unlisted > 0 && this.unread === 0
          ? `${this.unlisted} of ${total} connections${this.sampleNote} named a client not listed here${quoted}: its own setting for idle pooled connections`
          : `${unknown} of ${total} connections${this.sampleNote} named no client that can be read${quoted}, ${any}`,
      );
    }
    return parts.join('; ');
  }
}
