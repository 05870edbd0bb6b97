import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

/**
 * The Java 17 clients of the Apache/lighttpd samples (compiled into a temporary directory by the
 * recorders). One JSON object per line on stdout, so the meta scripts can read what the client saw.
 *
 *   race-pairs BASE_URL METHOD:GAP_MS...  one pair per argument, each with a new
 *       java.net.http.HttpClient (its own connection pool): GET /cart.json, sleep GAP_MS, then METHOD
 *       on the same client (GET /cart.json?second, or POST /cgi-bin/post.sh with a small JSON body).
 *       HttpClient retries a GET silently on a new connection when the reused one yields EOF; it
 *       never retries a POST.
 *   jhc-healthy BASE_URL   one HttpClient, a mixed healthy run (HEAD, 204, chunked, large body, 404,
 *       POST 201; twice, 120 ms apart; then HEAD and a conditional GET answered 304): the pool keeps
 *       reusing one connection.
 *   huc-healthy BASE_URL   the same through HttpURLConnection (JDK-wide KeepAliveCache), then one
 *       request with Connection: close and two more on a new connection.
 */
public class JavaHttpClients {
  private static final long T0 = System.nanoTime();
  private static final String POST_BODY = "{\"sku\":42,\"qty\":1}";

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static synchronized void log(String tag, String method, String url, String outcome, long startNs) {
    long now = System.nanoTime();
    System.out.println("{\"t\":" + String.format("%.6f", (now - T0) / 1e9) + ",\"tag\":" + quote(tag) + ",\"method\":" + quote(method)
        + ",\"url\":" + quote(url) + ",\"outcome\":" + quote(outcome) + ",\"ms\":" + (now - startNs) / 1_000_000 + "}");
    System.out.flush();
  }

  /** The failure and its causes, innermost last: what HttpClient reports when a reused connection gave EOF. */
  private static String describe(Throwable t) {
    StringBuilder b = new StringBuilder("FAIL");
    for (; t != null; t = t.getCause()) b.append(" <- ").append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
    return b.toString();
  }

  private static HttpClient newClient() {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }

  private static HttpRequest request(String url, String method, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
    headers.forEach(b::header);
    switch (method) {
      case "POST": b.POST(HttpRequest.BodyPublishers.ofString(POST_BODY)).header("Content-Type", "application/json"); break;
      case "HEAD": b.method("HEAD", HttpRequest.BodyPublishers.noBody()); break;
      default: b.GET();
    }
    return b.build();
  }

  private static void viaHttpClient(HttpClient c, String tag, String url, String method, Map<String, String> headers) {
    long t = System.nanoTime();
    try {
      HttpResponse<byte[]> r = c.send(request(url, method, headers), HttpResponse.BodyHandlers.ofByteArray());
      log(tag, method, url, r.statusCode() + " len=" + r.body().length, t);
    } catch (Exception e) {
      log(tag, method, url, describe(e), t);
    }
  }

  private static void viaUrlConnection(String tag, String url, String method, Map<String, String> headers) {
    long t = System.nanoTime();
    try {
      HttpURLConnection h = (HttpURLConnection) new URL(url).openConnection();
      h.setRequestMethod(method);
      headers.forEach(h::setRequestProperty);
      if (method.equals("POST")) {
        h.setDoOutput(true);
        h.setRequestProperty("Content-Type", "application/json");
        try (OutputStream o = h.getOutputStream()) { o.write(POST_BODY.getBytes()); }
      }
      int code = h.getResponseCode();
      long n = 0;
      // Reading each body to its end (error bodies too) is what lets HttpURLConnection pool the connection.
      InputStream in = code >= 400 ? h.getErrorStream() : h.getInputStream();
      if (in != null) {
        byte[] buf = new byte[8192];
        for (int k; (k = in.read(buf)) > 0; ) n += k;
        in.close();
      }
      log(tag, method, url, code + " len=" + n, t);
    } catch (Exception e) {
      log(tag, method, url, describe(e), t);
    }
  }

  private static final String[][] HEALTHY_PLAN = {
    {"GET", "/index.html"}, {"GET", "/cart.json"}, {"HEAD", "/big.txt"}, {"GET", "/cgi-bin/nocontent.sh"},
    {"POST", "/cgi-bin/post.sh"}, {"GET", "/cgi-bin/chunked.sh"}, {"GET", "/big.txt"}, {"GET", "/missing"},
  };

  /** A conditional GET that must get 304: If-Modified-Since is the Last-Modified the server just sent. */
  private static Map<String, String> notModifiedSince(String url) throws Exception {
    HttpURLConnection h = (HttpURLConnection) new URL(url).openConnection();
    h.setRequestMethod("HEAD");
    String lastModified = h.getHeaderField("Last-Modified");
    h.getInputStream().close();
    return Map.of("If-Modified-Since", lastModified == null ? "" : lastModified);
  }

  public static void main(String[] a) throws Exception {
    switch (a[0]) {
      case "race-pairs": {
        String base = a[1];
        for (int i = 2; i < a.length; i++) {
          String method = a[i].split(":")[0];
          long gap = Long.parseLong(a[i].split(":")[1]);
          String second = method.equals("POST") ? base + "/cgi-bin/post.sh" : base + "/cart.json?second";
          HttpClient c = newClient();
          viaHttpClient(c, method + " pair gap=" + gap + " first", base + "/cart.json", "GET", Map.of());
          Thread.sleep(gap);
          viaHttpClient(c, method + " pair gap=" + gap + " second", second, method, Map.of());
        }
        break;
      }
      case "jhc-healthy": {
        HttpClient c = newClient();
        for (int round = 0; round < 2; round++) {
          for (String[] p : HEALTHY_PLAN) { viaHttpClient(c, "jhc r" + round, a[1] + p[1], p[0], Map.of()); Thread.sleep(120); }
        }
        HttpResponse<Void> head = c.send(request(a[1] + "/cart.json", "HEAD", Map.of()), HttpResponse.BodyHandlers.discarding());
        String lastModified = head.headers().firstValue("Last-Modified").orElse("");
        viaHttpClient(c, "jhc ims", a[1] + "/cart.json", "GET", Map.of("If-Modified-Since", lastModified));
        break;
      }
      case "huc-healthy": {
        for (int round = 0; round < 2; round++) {
          for (String[] p : HEALTHY_PLAN) { viaUrlConnection("huc r" + round, a[1] + p[1], p[0], Map.of()); Thread.sleep(120); }
        }
        viaUrlConnection("huc close", a[1] + "/cart.json", "GET", Map.of("Connection", "close"));
        Thread.sleep(100);
        viaUrlConnection("huc ims", a[1] + "/cart.json", "GET", notModifiedSince(a[1] + "/cart.json"));
        Thread.sleep(100);
        viaUrlConnection("huc after", a[1] + "/index.html", "GET", Map.of());
        break;
      }
      default:
        System.err.println("usage: JavaHttpClients race-pairs|jhc-healthy|huc-healthy BASE_URL ...");
        System.exit(2);
    }
    System.exit(0);
  }
}
