import java.io.FileOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * java.net.http.HttpClient (JDK 17, HTTP/1.1 forced) lanes of keepalive-race-jdk-httpserver.sh,
 * compiled at record time into the scratch directory as X23jLanes.java. The same lanes as
 * reuse_lanes.py (x17p-requests-lanes.py's): LANES threads at once, lane i starting i * STAGGER s
 * later, each with its own HttpClient (its own pool: one pooled connection per lane, the lane's
 * requests being sequential). A lane sends a "warm" GET /warm/TAGl<lane>-r<round>, then per round
 * sleeps GAP s (from the moment the previous response was fully read) and sends the round's request:
 * POST /orders?attempt=TAGl<lane>-r<round> (JSON body) when lane + round is even, else
 * GET /items/TAGl<lane>-r<round>; after a failure a new warm GET before the next pause. GAPS are
 * dealt to the lanes round-robin. Nothing is configured on the client but HTTP/1.1 and a 10 s
 * request timeout: its pool keeps idle connections jdk.httpclient.keepalive.timeout (1200 s by
 * default), and it retries a request that failed on a reused connection as it does by default
 * (MultiExchange: once, on a new connection, when the request is idempotent, GET or HEAD, unless
 * jdk.httpclient.enableAllMethodRetry) without telling the caller.
 *
 *   java X23jLanes BASE LOG LANES ROUNDS GAPS STAGGER TAG MAX_SECONDS
 *
 * One JSON object per line to LOG (t: epoch seconds), the fields of x17p-requests-lanes.py's log:
 * "response" (status; port: the client port the server saw, from the response body, since
 * HttpClient does not tell its local port; kind warm/reuse, gapAsked, idleMeasured, prevPort) and
 * "error" (error: the exception class, message, rootCause: the innermost cause; port: prevPort, the
 * pooled connection the request was meant to go on; sentAt, elapsedMs). A "reuse" response whose
 * port differs from prevPort went on a new connection: the pool had seen the server's FIN first, or
 * HttpClient retried the request after it failed on the pooled one (the capture tells which).
 */
public class X23jLanes {
  private static PrintStream log;
  private static final Pattern PORT = Pattern.compile("\"clientPort\":(\\d+)");
  private static final String LIB = "java.net.http.HttpClient " + System.getProperty("java.runtime.version") + " (HTTP/1.1)";

  private static String now() {
    Instant i = Instant.now();
    return String.format("%d.%06d", i.getEpochSecond(), i.getNano() / 1000);
  }

  private static String q(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
  }

  private static synchronized void event(String json) {
    log.println("{\"t\":" + now() + ",\"lib\":" + q(LIB) + "," + json + "}");
    log.flush();
  }

  /** One request; returns the port the server saw (null on failure). ev: the fields logged with it. */
  private static Integer send(HttpClient client, String base, String ev, Integer pooled, String method, String path, String body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10));
    if (body != null) {
      b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.GET();
    }
    String sentAt = now();
    long t0 = System.nanoTime();
    String common = ev + ",\"method\":" + q(method) + ",\"uri\":" + q(path);
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
      Matcher m = PORT.matcher(r.body());
      Integer port = m.find() ? Integer.valueOf(m.group(1)) : null;
      event("\"event\":\"response\"," + common + ",\"status\":" + r.statusCode() + ",\"port\":" + port
          + ",\"version\":" + q(r.version().toString()) + ",\"elapsedMs\":" + String.format("%.3f", (System.nanoTime() - t0) / 1e6));
      return port;
    } catch (Exception e) {
      Throwable root = e;
      StringBuilder chain = new StringBuilder();
      for (Throwable c = e; c != null; c = c.getCause()) {
        root = c;
        chain.append(chain.length() == 0 ? "" : " <- ").append(c.getClass().getName()).append(": ").append(c.getMessage());
        if (c.getCause() == c) break;
      }
      event("\"event\":\"error\"," + common + ",\"port\":" + pooled + ",\"error\":" + q(e.getClass().getName()) + ",\"message\":" + q(String.valueOf(e.getMessage()))
          + ",\"rootCause\":" + q(root.getClass().getName()) + ",\"causes\":" + q(chain.toString()) + ",\"sentAt\":" + sentAt
          + ",\"elapsedMs\":" + String.format("%.3f", (System.nanoTime() - t0) / 1e6));
      return null;
    }
  }

  private static void lane(int l, List<Double> gaps, String base, String tag) throws InterruptedException {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    Integer port = null;
    long released = 0;
    for (int rnd = 0; rnd < gaps.size(); rnd++) {
      if (port == null) {
        port = send(client, base, "\"lane\":" + l + ",\"round\":" + rnd + ",\"kind\":\"warm\"", null, "GET", "/warm/" + tag + "l" + l + "-r" + rnd, null);
        released = System.nanoTime();
        if (port == null) continue;
      }
      long wait = (long) (gaps.get(rnd) * 1e9) - (System.nanoTime() - released);
      if (wait > 0) Thread.sleep(wait / 1000000, (int) (wait % 1000000));
      double idle = (System.nanoTime() - released) / 1e9;
      String ev = "\"lane\":" + l + ",\"round\":" + rnd + ",\"kind\":\"reuse\",\"gapAsked\":" + gaps.get(rnd)
          + ",\"idleMeasured\":" + String.format("%.6f", idle) + ",\"prevPort\":" + port;
      String id = tag + "l" + l + "-r" + rnd;
      if ((l + rnd) % 2 == 0) {
        port = send(client, base, ev, port, "POST", "/orders?attempt=" + id,
            "{\"lane\": " + l + ", \"round\": " + rnd + ", \"item\": \"" + "x".repeat(40) + "\"}");
      } else {
        port = send(client, base, ev, port, "GET", "/items/" + id, null);
      }
      released = System.nanoTime();
    }
    event("\"event\":\"lane-done\",\"lane\":" + l);
  }

  public static void main(String[] a) throws Exception {
    String base = a[0];
    log = new PrintStream(new FileOutputStream(a[1], true), true, StandardCharsets.UTF_8);
    int lanes = Integer.parseInt(a[2]), rounds = Integer.parseInt(a[3]);
    String[] g = a[4].split(",");
    double stagger = Double.parseDouble(a[5]);
    String tag = a[6];
    double maxSeconds = Double.parseDouble(a[7]);
    event("\"event\":\"start\",\"lanes\":" + lanes + ",\"rounds\":" + rounds);
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < lanes; i++) {
      List<Double> mine = new ArrayList<>();
      for (int k = i; k < g.length && mine.size() < rounds; k += lanes) mine.add(Double.valueOf(g[k]));
      final int l = i;
      Thread t = new Thread(() -> {
        try {
          Thread.sleep((long) (l * stagger * 1000));
          lane(l, mine, base, tag);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
    long deadline = System.nanoTime() + (long) (maxSeconds * 1e9);
    for (Thread t : threads) t.join(Math.max(1, (deadline - System.nanoTime()) / 1000000));
    if (threads.stream().anyMatch(Thread::isAlive)) {
      event("\"event\":\"max-seconds\"");
      System.exit(4);
    }
    event("\"event\":\"done\"");
  }
}
