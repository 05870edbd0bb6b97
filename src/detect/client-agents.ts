import type { AnalyzedConnection } from './analyzed-connection';
import { CLIENT_IDLE_SETTINGS, ClientProduct, clientProduct } from './known-timeouts';

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

  note(conn: AnalyzedConnection): void {
    const agent = conn.app?.session?.clientSoftware ?? null;
    const product = productOf(agent);
    if (agent === null || product === null || (!this.agents.has(agent) && this.agents.size >= MAX_AGENTS)) {
      this.unnamed++;
      return;
    }
    this.agents.set(agent, product);
  }

  /**
   * The client idle settings for a remedy, without parentheses: those of the agents named (each
   * product once), then, when some connections named none, every common client's.
   */
  settings(): string {
    if (this.agents.size === 0) return CLIENT_IDLE_SETTINGS;
    const names = [...this.agents.keys()].map((a) => `\`${a}\``).join(', ');
    const products = [...new Set(this.agents.values())].map((p) => p.idleSetting).join('; ');
    const named = `their User-Agent says ${names} (unless a proxy in front passed its client's on): ${products}`;
    return this.unnamed === 0 ? named : `${named}; other clients: ${CLIENT_IDLE_SETTINGS}`;
  }
}
