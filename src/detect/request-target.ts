/**
 * Matching a request with its copy on the other side of a proxy. A reverse proxy often strips or
 * adds a path prefix (nginx `location /api/ { proxy_pass http://backend/; }` sends `/api/x?y` on
 * as `/x?y`; HAProxy `http-request set-path /v1%[path]` the other way), and a forward proxy gets
 * the absolute form (`http://host/x?y`) and sends the path: the two targets then agree in their
 * tail, from a `/` on. Detectors that pair a proxy's two legs by request compare targets this way,
 * and group them by the part every such rewrite keeps: the last path segment and the query.
 */

/** The last path segment of a request target with its query (`/b?q` of `/a/b?q`): what prefix rewrites keep. */
export function targetTail(uri: string): string {
  const query = uri.indexOf('?');
  const pathEnd = query < 0 ? uri.length : query;
  const slash = pathEnd > 0 ? uri.lastIndexOf('/', pathEnd - 1) : -1;
  return slash <= 0 ? uri : uri.slice(slash);
}

/** A key that a request and its rewritten copy share (method and targetTail); compare with sameTarget within a key. */
export function proxyKey(method: string | null, uri: string | null): string {
  return `${method} ${uri === null ? uri : targetTail(uri)}`;
}

/**
 * Whether two request targets can be one request before and after a proxy: the same, or one the
 * other's tail from a `/` on (a stripped or added prefix, an absolute form). A bare `/` matches
 * only itself: every path ends in a segment, so it would pair anything.
 */
export function sameTarget(a: string | null, b: string | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  // Not by destructuring a pair: the scans of a failure's copies call this for thousands of entries.
  const shorter = a.length <= b.length ? a : b;
  const longer = shorter === a ? b : a;
  return shorter.length > 1 && shorter.charCodeAt(0) === 47 /* / */ && longer.endsWith(shorter);
}

/** A request line ("METHOD target", see facts.requestLine) as a method and a target. */
function split(line: string): [string, string] {
  const space = line.indexOf(' ');
  return space < 0 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)];
}

/** proxyKey of a request line. */
export function requestLineKey(line: string): string {
  const [method, uri] = split(line);
  return proxyKey(method, uri);
}

/** sameTarget for two request lines, which must also have the same method. */
export function sameRequestLine(a: string, b: string): boolean {
  if (a === b) return true;
  const [ma, ua] = split(a);
  const [mb, ub] = split(b);
  return ma === mb && sameTarget(ua, ub);
}

/**
 * The mount prefix by which a bare root `/` and a directory target differ (`/b` for `/` and `/b/`),
 * or null when the two are not such a pair. A proxy that maps a path prefix onto a backend's root
 * (Apache `ProxyPass /b/ http://backend/`, nginx `location /b/ { proxy_pass http://backend/; }`)
 * sends the mount point itself, `/b/`, on as `/`; one that adds a prefix sends `/` on as `/v1/`.
 * sameTarget cannot pair these (a bare `/` would pair every directory), so the prefix must be
 * seen rewritten on another request of the same proxy (ProxyLegs' mount check).
 */
export function rootMountPrefix(a: string | null, b: string | null): string | null {
  const dir = a === '/' ? b : b === '/' ? a : null;
  if (dir === null || dir.length < 3 || dir.charCodeAt(0) !== 47 /* / */ || !dir.endsWith('/') || dir.includes('?')) return null;
  return dir.slice(0, -1);
}
