import type { AnalyzedConnection } from './analyzed-connection';
import { CLIENT_IDLE_SETTING_LIST, CLIENT_IDLE_SETTINGS, ClientProduct, clientProduct } from './known-timeouts';

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

/**
 * The clients of a set of connections (a server's races, say) as their first requests name them
 * (HttpSession.clientSoftware: `User-Agent`, unless a proxy forwarded the request), so that a
 * remedy names the setting of the client that holds the pool rather than every client's.
 */
export class ClientAgents {
  private readonly agents = new Map<string, ClientProduct>();
  /** Connections whose client is not named: no agent, a proxy's, one not listed, or encrypted. */
  unnamed = 0;
  /** Connections whose client is named. */
  named = 0;

  note(conn: AnalyzedConnection): void {
    const agent = conn.app?.session?.clientSoftware ?? null;
    const product = productOf(agent);
    if (agent === null || product === null || (!this.agents.has(agent) && this.agents.size >= MAX_AGENTS)) {
      this.unnamed++;
      return;
    }
    this.agents.set(agent, product);
    this.named++;
  }

  /**
   * The client idle settings for a remedy, without parentheses: those of the agents named (each
   * product once), then, when some connections named none, how many, and every other common
   * client's (keepalive-race-yaws: 15 of 23 races were Node's http.Agent, which sends no agent).
   */
  settings(): string {
    if (this.agents.size === 0) return CLIENT_IDLE_SETTINGS;
    const names = [...this.agents.keys()].map((a) => `\`${a}\``).join(', ');
    const named = [...new Set(this.agents.values())].map((p) => p.idleSetting);
    const text = `their User-Agent says ${names} (unless a proxy in front passed its client's on): ${named.join('; ')}`;
    if (this.unnamed === 0) return text;
    const others = CLIENT_IDLE_SETTING_LIST.filter((setting) => !named.includes(setting)).join('; ');
    return (
      `${text}; ${this.unnamed} of ${this.unnamed + this.named} connections named no client listed here ` +
      `(Node's http module and PHP's curl send no User-Agent), whose setting may be any of: ${others}`
    );
  }
}
