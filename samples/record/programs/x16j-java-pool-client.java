import java.io.FileOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Java 17 java.net.http.HttpClient clients of the x16j (Eclipse Jetty 9.4) recorders, compiled at
 * run time into a scratch directory as X16jJavaPoolClient.java. One JSON object per line to LOG
 * (epoch seconds), the same events as x16j-pool-client.py: send, response (status, port: the client
 * port the server saw, echoed in the body, since HttpClient does not tell its local port), error
 * (the exception and its causes; port: the port of the round's warm connection, which the request
 * was meant to reuse).
 *
 *   healthy BASE LOG STEP...       one HttpClient (HTTP/1.1), steps GET:/p, POST:/p, sleep:SECONDS
 *   sweep BASE LOG THREADS TAG GAP_MS...   each round: a new HttpClient (its own pool), a warm GET,
 *       sleep GAP ms after its response, then a GET or a POST (alternating by round) on it; rounds
 *       spread over THREADS threads. HttpClient retries a GET (idempotent) once on a new connection
 *       when a reused one yields EOF before any response byte: the response's port then differs from
 *       the warm one (logged as retriedOnNewConnection; so it also does when the pool saw the server's
 *       FIN before the request and opened a new connection). A POST is not retried. Before the rounds,
 *       30 GETs on one client warm the JIT.
 * Bounded: every request has a 10 s timeout, the whole run 45 s.
 */
public class X16jJavaPoolClient {
  private static PrintStream out;
  private static final long START = System.nanoTime();
  private static final Pattern CLIENT = Pattern.compile("\"client\":\"[^\"]*:(\\d+)\"");
  private static final String VERSION = System.getProperty("java.version");

  private static String q(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
  }

  private static synchronized void log(String event, String rest) {
    Instant now = Instant.now();
    out.println("{\"t\":" + String.format("%d.%06d", now.getEpochSecond(), now.getNano() / 1000) + ",\"lib\":\"java.net.http\",\"thread\":"
        + q(Thread.currentThread().getName()) + ",\"event\":" + q(event) + (rest.isEmpty() ? "" : "," + rest) + "}");
    out.flush();
  }

  private static String describe(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (; t != null; t = t.getCause()) b.append(b.length() == 0 ? "" : " <- ").append(t.getClass().getName()).append(": ").append(t.getMessage());
    return b.toString();
  }

  private static HttpClient newClient() {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }

  /** Sends one request; returns the client port the server saw (from the body), or -1 on error. */
  private static int one(HttpClient c, String base, String method, String uri, String extra, int expectPort) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + uri)).timeout(java.time.Duration.ofSeconds(10));
    if (method.equals("POST")) b.POST(HttpRequest.BodyPublishers.ofString("{\"uri\":" + q(uri) + ",\"qty\":1}")).header("Content-Type", "application/json");
    else b.GET();
    log("send", "\"method\":" + q(method) + ",\"uri\":" + q(uri) + (expectPort > 0 ? ",\"reusePort\":" + expectPort : "") + extra);
    try {
      HttpResponse<String> r = c.send(b.build(), HttpResponse.BodyHandlers.ofString());
      Matcher m = CLIENT.matcher(r.body());
      int port = m.find() ? Integer.parseInt(m.group(1)) : -1;
      log("response", "\"method\":" + q(method) + ",\"uri\":" + q(uri) + ",\"status\":" + r.statusCode() + ",\"port\":" + port
          + (expectPort > 0 && port != expectPort ? ",\"retriedOnNewConnection\":true,\"firstPort\":" + expectPort : "") + extra);
      return port;
    } catch (Exception e) {
      log("error", "\"method\":" + q(method) + ",\"uri\":" + q(uri) + (expectPort > 0 ? ",\"port\":" + expectPort : "")
          + ",\"error\":" + q(e.getClass().getSimpleName()) + ",\"text\":" + q(describe(e)) + extra);
      return -1;
    }
  }

  /** One round of a sweep: round N (GET when even, POST when odd: METHOD), its pause GAP ms, EXTRA
   *  (its round and gap, for the log lines). */
  public interface Round {
    void run(int n, int gap, String method, String extra) throws InterruptedException;
  }

  /**
   * The sweep shared with x19t-java-clients.java: the rounds (each gap in GAPS from index FIRST, numbered
   * from 0) dealt to THREADS threads named TAG0, TAG1..., started STAGGER ms apart, each taking the next
   * round until none is left or the DEADLINE (System.nanoTime) has passed; returns when all are done.
   */
  public static void sweep(String[] gaps, int first, int threads, String tag, long stagger, long deadline, Round round)
      throws InterruptedException {
    ArrayDeque<int[]> rounds = new ArrayDeque<>();
    for (int i = first; i < gaps.length; i++) rounds.add(new int[] {i - first, Integer.parseInt(gaps[i])});
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread th = new Thread(() -> {
        while (System.nanoTime() < deadline) {
          int[] r;
          synchronized (rounds) { r = rounds.poll(); }
          if (r == null) return;
          int n = r[0], gap = r[1];
          try {
            round.run(n, gap, n % 2 == 1 ? "POST" : "GET", ",\"round\":" + n + ",\"gapMs\":" + gap);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, tag + t);
      th.start();
      ts.add(th);
      Thread.sleep(stagger);
    }
    for (Thread th : ts) th.join();
  }

  public static void main(String[] a) throws Exception {
    String mode = a[0], base = a[1];
    out = new PrintStream(new FileOutputStream(a[2], true), true, "UTF-8");
    log("versions", "\"java\":" + q(VERSION));
    long deadline = START + 45_000_000_000L;
    if (mode.equals("healthy")) {
      HttpClient c = newClient();
      for (int i = 3; i < a.length && System.nanoTime() < deadline; i++) {
        String[] s = a[i].split(":", 2);
        if (s[0].equals("sleep")) Thread.sleep((long) (Double.parseDouble(s[1]) * 1000));
        else one(c, base, s[0], s[1] + "?i=" + (i - 3), "", -1);
      }
      log("done", "");
      return;
    }
    int threads = Integer.parseInt(a[3]);
    String tag = a[4];
    // Warm the JIT first (one connection, 30 quick GETs): a cold JVM hands the response to the
    // application 100 ms and more after it arrived, which would shift the measured gaps.
    HttpClient warm = newClient();
    for (int i = 0; i < 30; i++) one(warm, base, "GET", "/items/" + tag + "-jit-" + i, "", -1);
    sweep(a, 5, threads, tag, 151, deadline, (n, gap, method, extra) -> {
      HttpClient c = newClient();
      int port = one(c, base, "GET", "/items/" + tag + "-" + n + "-warm", extra, -1);
      Thread.sleep(gap);
      one(c, base, method, "/items/" + tag + "-" + n + "-" + method.toLowerCase() + "-gap" + gap, extra, port);
    });
    log("done", "");
    System.exit(0);
  }
}
