import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import okhttp3.Call;
import okhttp3.Connection;
import okhttp3.ConnectionPool;
import okhttp3.EventListener;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.impl.DefaultHttpRequestRetryStrategy;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.socket.ConnectionSocketFactory;
import org.apache.hc.client5.http.socket.PlainConnectionSocketFactory;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.config.RegistryBuilder;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.apache.hc.core5.util.TimeValue;

/**
 * The Java clients of the x19t recorders, compiled at run time into a scratch directory as
 * X19tJavaClients.java against Debian's jars: OkHttp 3.13 (libokhttp-java, with okio) and Apache
 * HttpClient 5.2 (libhttpclient5-java, libhttpcore5-java, slf4j-api + slf4j-nop). Both with their
 * defaults: OkHttp's ConnectionPool (5 idle connections, kept 5 min), retryOnConnectionFailure
 * true; HttpClient 5's PoolingHttpClientConnectionManager (validateAfterInactivity 2 s: a
 * connection idle longer is checked for a FIN/EOF before reuse) and DefaultHttpRequestRetryStrategy
 * (1 retry, idempotent methods only). One JSON object per line to LOG (epoch seconds):
 *   send      method, uri, reusePort (the local port of the round's warm connection)
 *   connect   a new connection (local port), opened for the request being sent by this thread
 *   acquired  (OkHttp) the connection a call attempt got from the pool or a connect (local port)
 *   attempt-failed  one attempt of a request failed on a connection (OkHttp: a network
 *             interceptor sees the exception; HttpClient 5: the retry strategy is asked, and
 *             says whether it retries); port, exception, text
 *   response  status, port (the client port the server saw, echoed in the body), ports (every
 *             connection the request used, in order), retriedOnNewConnection with firstPort when
 *             an attempt failed on the reused connection and another connection answered,
 *             newConnectionWithoutError when the library opened a new connection before sending
 *             (its stale check or pool saw the close)
 *   error     the exception the application got (class, text with its causes), port
 *
 *   healthy okhttp|hc5 BASE LOG STEP...   one client, steps GET:/p, POST:/p, sleep:SECONDS
 *   sweep okhttp|hc5 BASE LOG THREADS TAG GAP_MS...   each round: a new client (its own pool), a
 *       warm GET, sleep GAP ms after its response, then a GET or a POST (alternating by round)
 *       on it, then the client is closed; rounds spread over THREADS threads. Before the rounds
 *       30 GETs (one client) warm the JIT.
 * Bounded: every request has 10 s timeouts, the whole run 45 s.
 */
public class X19tJavaClients {
  private static PrintStream out;
  private static final long START = System.nanoTime();
  private static final Pattern CLIENT = Pattern.compile("\"client\":\\s*\"[^\"]*:(\\d+)\"");
  private static final MediaType JSON = MediaType.parse("application/json");
  private static String lib;
  /** The local ports of the connections each thread's current request used. */
  private static final ThreadLocal<List<Integer>> PORTS = ThreadLocal.withInitial(ArrayList::new);
  private static final ThreadLocal<List<String>> FAILED = ThreadLocal.withInitial(ArrayList::new);
  private static final ThreadLocal<Integer> CONNECTS = ThreadLocal.withInitial(() -> 0);

  static String q(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
  }

  static synchronized void log(String event, String rest) {
    Instant now = Instant.now();
    out.println("{\"t\":" + String.format("%d.%06d", now.getEpochSecond(), now.getNano() / 1000) + ",\"lib\":" + q(lib) + ",\"thread\":"
        + q(Thread.currentThread().getName()) + ",\"event\":" + q(event) + (rest.isEmpty() ? "" : "," + rest) + "}");
    out.flush();
  }

  static String describe(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (; t != null; t = t.getCause()) b.append(b.length() == 0 ? "" : " <- ").append(t.getClass().getName()).append(": ").append(t.getMessage());
    return b.toString();
  }

  static void usedPort(int port) {
    List<Integer> p = PORTS.get();
    if (p.isEmpty() || p.get(p.size() - 1) != port) p.add(port);
  }

  /** A client: sends one request, returns the response body and status, or throws. */
  interface Client {
    String[] send(String method, String url, String body) throws Exception;

    /** Closes the client's pooled connections (the client's FIN), at the end of its round. */
    void close();
  }

  // ---- OkHttp 3.13 ----
  static Client okhttp() {
    OkHttpClient c = new OkHttpClient.Builder()
        .connectionPool(new ConnectionPool())
        .connectTimeout(java.time.Duration.ofSeconds(10)).readTimeout(java.time.Duration.ofSeconds(10))
        .eventListener(new EventListener() {
          @Override public void connectEnd(Call call, InetSocketAddress a, java.net.Proxy p, okhttp3.Protocol pr) {}
          @Override public void connectionAcquired(Call call, Connection conn) {
            int port = conn.socket().getLocalPort();
            usedPort(port);
            log("acquired", "\"port\":" + port + ",\"uri\":" + q(call.request().url().encodedPath()));
          }
          @Override public void connectStart(Call call, InetSocketAddress a, java.net.Proxy p) {
            CONNECTS.set(CONNECTS.get() + 1);
          }
        })
        .addNetworkInterceptor(chain -> {
          int port = chain.connection().socket().getLocalPort();
          try {
            return chain.proceed(chain.request());
          } catch (IOException e) {
            FAILED.get().add(port + " " + describe(e));
            log("attempt-failed", "\"port\":" + port + ",\"uri\":" + q(chain.request().url().encodedPath()) + ",\"method\":"
                + q(chain.request().method()) + ",\"error\":" + q(e.getClass().getSimpleName()) + ",\"text\":" + q(describe(e)));
            throw e;
          }
        })
        .build();
    return new Client() {
      public String[] send(String method, String url, String body) throws Exception {
        Request.Builder b = new Request.Builder().url(url);
        if (method.equals("POST")) b.post(RequestBody.create(JSON, body));
        try (Response r = c.newCall(b.build()).execute()) {
          return new String[] {r.body().string(), String.valueOf(r.code())};
        }
      }

      public void close() {
        c.connectionPool().evictAll();
        c.dispatcher().executorService().shutdown();
      }
    };
  }

  // ---- Apache HttpClient 5.2 ----
  static Client hc5() {
    ConnectionSocketFactory plain = new PlainConnectionSocketFactory() {
      @Override public Socket connectSocket(org.apache.hc.core5.util.TimeValue t, Socket s, HttpHost h, InetSocketAddress r,
          InetSocketAddress l, HttpContext ctx) throws IOException {
        Socket sock = super.connectSocket(t, s, h, r, l, ctx);
        CONNECTS.set(CONNECTS.get() + 1);
        usedPort(sock.getLocalPort());
        log("connect", "\"port\":" + sock.getLocalPort());
        return sock;
      }
    };
    PoolingHttpClientConnectionManager cm = new PoolingHttpClientConnectionManager(
        RegistryBuilder.<ConnectionSocketFactory>create().register("http", plain).build());
    CloseableHttpClient c = HttpClients.custom().setConnectionManager(cm)
        .setRetryStrategy(new DefaultHttpRequestRetryStrategy() {
          @Override public boolean retryRequest(HttpRequest req, IOException e, int execCount, HttpContext ctx) {
            boolean retry = super.retryRequest(req, e, execCount, ctx);
            List<Integer> p = PORTS.get();
            int port = p.isEmpty() ? -1 : p.get(p.size() - 1);
            FAILED.get().add(port + " " + describe(e));
            log("attempt-failed", "\"port\":" + port + ",\"uri\":" + q(req.getPath()) + ",\"method\":" + q(req.getMethod())
                + ",\"execCount\":" + execCount + ",\"retry\":" + retry + ",\"error\":" + q(e.getClass().getSimpleName()) + ",\"text\":" + q(describe(e)));
            return retry;
          }
        }).build();
    return new Client() {
      public String[] send(String method, String url, String body) throws Exception {
        HttpUriRequestBase r = method.equals("POST") ? new HttpPost(url) : new HttpGet(url);
        if (method.equals("POST")) r.setEntity(new StringEntity(body, ContentType.APPLICATION_JSON));
        return c.execute(r, resp -> new String[] {EntityUtils.toString(resp.getEntity()), String.valueOf(resp.getCode())});
      }

      public void close() {
        try { c.close(); } catch (IOException e) { log("close-failed", "\"text\":" + q(describe(e))); }
      }
    };
  }

  /** Sends one request; returns the client port the server saw (from the body), or -1 on error. */
  static int one(Client c, String base, String method, String uri, String extra, int expectPort) {
    PORTS.get().clear();
    FAILED.get().clear();
    CONNECTS.set(0);
    if (expectPort > 0) PORTS.get().add(expectPort);
    log("send", "\"method\":" + q(method) + ",\"uri\":" + q(uri) + (expectPort > 0 ? ",\"reusePort\":" + expectPort : "") + extra);
    try {
      String[] r = c.send(method, base + uri, "{\"uri\":" + q(uri) + ",\"qty\":1}");
      Matcher m = CLIENT.matcher(r[0]);
      int port = m.find() ? Integer.parseInt(m.group(1)) : -1;
      boolean failedFirst = !FAILED.get().isEmpty();
      String how = "";
      if (expectPort > 0 && port != expectPort) {
        how = failedFirst ? ",\"retriedOnNewConnection\":true,\"firstPort\":" + expectPort + ",\"firstError\":" + q(FAILED.get().get(0))
            : ",\"newConnectionWithoutError\":true,\"firstPort\":" + expectPort;
      }
      log("response", "\"method\":" + q(method) + ",\"uri\":" + q(uri) + ",\"status\":" + r[1] + ",\"port\":" + port
          + ",\"ports\":" + PORTS.get() + ",\"connects\":" + CONNECTS.get() + how + extra);
      return port;
    } catch (Exception e) {
      log("error", "\"method\":" + q(method) + ",\"uri\":" + q(uri) + (expectPort > 0 ? ",\"port\":" + expectPort : "")
          + ",\"ports\":" + PORTS.get() + ",\"attempts\":" + (FAILED.get().size())
          + ",\"error\":" + q(e.getClass().getSimpleName()) + ",\"text\":" + q(describe(e)) + extra);
      return -1;
    }
  }

  static Client newClient() {
    return lib.equals("okhttp") ? okhttp() : hc5();
  }

  public static void main(String[] a) throws Exception {
    String mode = a[0], base = a[2];
    lib = a[1];
    out = new PrintStream(new FileOutputStream(a[3], true), true, "UTF-8");
    log("versions", "\"java\":" + q(System.getProperty("java.version")) + ",\"okhttp\":" + q(okhttp3.internal.Version.userAgent())
        + ",\"httpclient5\":" + q(org.apache.hc.core5.util.VersionInfo.getSoftwareInfo("Apache-HttpClient", "org.apache.hc.client5", X19tJavaClients.class)));
    long deadline = START + 45_000_000_000L;
    if (mode.equals("healthy")) {
      Client c = newClient();
      int port = -1;
      for (int i = 4; i < a.length && System.nanoTime() < deadline; i++) {
        String[] s = a[i].split(":", 2);
        if (s[0].equals("sleep")) Thread.sleep((long) (Double.parseDouble(s[1]) * 1000));
        else port = one(c, base, s[0], s[1] + "-" + (i - 4), "", port);
      }
      c.close();
      log("done", "");
      System.exit(0);
    }
    int threads = Integer.parseInt(a[4]);
    String tag = a[5];
    Client warm = newClient();
    for (int i = 0; i < 30; i++) one(warm, base, "GET", "/items/" + tag + "-jit-" + i, "", -1);
    warm.close();
    // the rounds' threads: X16jJavaPoolClient.sweep (x16j-java-pool-client.java, compiled with this file)
    X16jJavaPoolClient.sweep(a, 6, threads, tag, 97, deadline, (n, gap, method, extra) -> {
      Client c = newClient();
      int port = one(c, base, "GET", "/items/" + tag + "-" + n + "-warm", extra, -1);
      Thread.sleep(gap);
      one(c, base, method, "/items/" + tag + "-" + n + "-" + method.toLowerCase() + "-gap" + gap, extra, port);
      c.close();   // not left to the garbage collector, whose socket cleaner closes many at once
    });
    log("done", "");
    System.exit(0);
  }
}
